#pragma once
/// @file compose.hpp
/// Rules built from rules: `chain` (a first rule, then per-tier sub-rules) and
/// group-wise fitting (`"group_by": "region"` on any rule).
///
/// A nested rule object may name the subset of the policy's tiers it produces,
/// in its own order: {"kind": "quantiles", "shares": [0.5], "tiers": ["key", "high-value"]}.
/// Without "tiers" it produces all the policy's tiers.
///
/// chain:
/// @code{.json}
/// {"kind": "chain",
///  "first": {"kind": "abc", "tiers": ["key", "ordinary", "potential"]},
///  "then": {"key": {"kind": "quantiles", "shares": [0.3], "tiers": ["key", "high-value"]}}}
/// @endcode
/// The first rule puts each customer in one of its tiers; a tier listed in
/// "then" is split again by its sub-rule, fitted only on the customers the first
/// rule put there; other tiers stay as the first rule left them.
///
/// group_by:
/// @code{.json}
/// {"kind": "quantiles", "shares": [0.05, 0.15, 0.5], "group_by": "region", "unseen_group": "global"}
/// @endcode
/// The rule is fitted once per group of the categorical column (separate cut
/// points per region); "unseen_group" says what happens to a group not seen at
/// fit: "error" (default) or "global" (a rule fitted on every customer).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/serialization/base_object.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <nlohmann/json_fwd.hpp>

#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// A rule's input restricted to some rows (owned copies).
struct RuleSubset {
    FeatureTable table;
    std::vector<std::string> score_names;
    std::vector<std::vector<double>> scores;
    std::vector<CriteriaBlock> criteria;
    bool has_criteria = false;
    std::size_t min_group = 1;
    /// Where the sub-rule's fit reports (see SequentialProgress); null = no reports.
    const Progress* progress = nullptr;
    RuleInput input() const {
        return RuleInput{table, score_names, scores, has_criteria ? &criteria : nullptr, min_group, progress};
    }
};
RuleSubset subset_input(const RuleInput& input, std::span<const std::size_t> rows);

/// A rule inside another, with the map from its tier indices to the policy's.
struct NestedRule {
    std::shared_ptr<Rule> rule;
    std::vector<std::int32_t> to_policy;  ///< rule tier -> policy tier
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", rule);
        ar& boost::serialization::make_nvp("to_policy", to_policy);
    }
};

/// Build a nested rule from its JSON object. @throws PolicyError naming `path`.
NestedRule make_nested_rule(const nlohmann::json& object, const std::string& path,
                            const std::vector<std::string>& policy_tiers);

class ChainRule : public Rule {
public:
    ChainRule() = default;
    ChainRule(NestedRule first, std::vector<NestedRule> then, std::size_t tiers)
        : first_(std::move(first)), then_(std::move(then)), tiers_(tiers) {}
    std::string kind() const override { return "chain"; }
    std::size_t tiers() const override { return tiers_; }
    void fit(const RuleInput& input) override;
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override;
    std::vector<std::string> reasons() const override;
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override;
    std::unique_ptr<Rule> clone() const override;
    bool needs_criteria() const override;
    /// The first rule's and the sub-rules' warnings.
    std::vector<std::string> warnings() const override;
    std::vector<std::string> inputs() const override;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("first", first_);
        ar& boost::serialization::make_nvp("then", then_);
        ar& boost::serialization::make_nvp("tiers", tiers_);
    }

private:
    NestedRule first_;
    std::vector<NestedRule> then_;  ///< per first-rule tier; rule null = keep
    std::size_t tiers_ = 0;
};

class GroupedRule : public Rule {
public:
    GroupedRule() = default;
    GroupedRule(std::shared_ptr<Rule> prototype, std::string column, bool global_fallback)
        : prototype_(std::move(prototype)), column_(std::move(column)), global_fallback_(global_fallback) {}
    std::string kind() const override { return prototype_->kind(); }
    std::size_t tiers() const override { return prototype_->tiers(); }
    void fit(const RuleInput& input) override;
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override;
    std::vector<std::string> reasons() const override;
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override;
    std::unique_ptr<Rule> clone() const override;
    bool needs_criteria() const override { return prototype_->needs_criteria(); }
    /// Each group gets the prototype's quotas.
    std::vector<double> target_shares() const override { return prototype_->target_shares(); }
    std::vector<std::string> warnings() const override { return prototype_->warnings(); }
    /// The group column (categorical), then the prototype's inputs.
    std::vector<std::string> inputs() const override;
    /// Group labels seen at fit, in order.
    std::vector<std::string> groups() const;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("prototype", prototype_);
        ar& boost::serialization::make_nvp("column", column_);
        ar& boost::serialization::make_nvp("global_fallback", global_fallback_);
        ar& boost::serialization::make_nvp("fitted", fitted_);
        ar& boost::serialization::make_nvp("global", global_);
    }

private:
    std::shared_ptr<Rule> prototype_;
    std::string column_;
    bool global_fallback_ = false;
    std::map<std::string, std::shared_ptr<Rule>> fitted_;
    std::shared_ptr<Rule> global_;
};

}  // namespace tierkit

BOOST_CLASS_EXPORT_KEY2(tierkit::ChainRule, "tierkit.rule.chain")
BOOST_CLASS_EXPORT_KEY2(tierkit::GroupedRule, "tierkit.rule.grouped")
BOOST_CLASS_VERSION(tierkit::ChainRule, 0)
BOOST_CLASS_VERSION(tierkit::GroupedRule, 0)
BOOST_CLASS_VERSION(tierkit::NestedRule, 0)
