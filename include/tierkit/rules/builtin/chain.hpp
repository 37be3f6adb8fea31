#pragma once
/// @file chain.hpp
/// `chain`: a first rule, then per-tier sub-rules.
///
/// @code{.json}
/// {"kind": "chain",
///  "first": {"kind": "abc", "tiers": ["key", "ordinary", "potential"]},
///  "then": {"key": {"kind": "quantiles", "shares": [0.3], "tiers": ["key", "high-value"]}}}
/// @endcode
/// The first rule puts each customer in one of its tiers; a tier listed in
/// "then" is split again by its sub-rule, fitted only on the customers the first
/// rule put there; other tiers stay as the first rule left them. Nested rule
/// objects are described in rules/nested.hpp.
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/vector.hpp>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tierkit/rules/nested.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

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
    std::vector<std::string> group_columns() const override;
    bool reads_every_column() const override;
    /// The policy factory: {"first": rule, "then": {tier: rule}}. @throws PolicyError naming `path`.
    static std::unique_ptr<Rule> from_json(const nlohmann::json& params, const std::string& path, std::size_t tiers);

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

// ---- the assign kernel (inline: a host compiles it into its own code) ----------------

inline void ChainRule::assign(const RuleInput& input, std::span<std::int32_t> tier,
                              std::span<std::int32_t> reason) const {
    const std::size_t n = input.table.rows();
    std::vector<std::int32_t> t1(n), r1(n);
    first_.rule->assign(input, t1, r1);
    // Reason codes: the first rule's, then each sub-rule's in order.
    std::vector<std::int32_t> offset(then_.size(), 0);
    std::int32_t next = static_cast<std::int32_t>(first_.rule->reasons().size());
    for (std::size_t k = 0; k < then_.size(); ++k)
        if (then_[k].rule) {
            offset[k] = next;
            next += static_cast<std::int32_t>(then_[k].rule->reasons().size());
        }
    std::vector<std::int32_t> t2(n), r2(n);
    for (std::size_t k = 0; k < then_.size(); ++k) {
        if (!then_[k].rule) continue;
        // Sub-rules are row-wise: applying them to every row and keeping the rows in
        // tier k gives the same result as applying them to those rows alone. A rule that
        // reads every column (a host's callable) may read every row too: it gets tier k's
        // rows alone, as at fit.
        if (then_[k].rule->reads_every_column()) {
            std::vector<std::size_t> rows;
            for (std::size_t i = 0; i < n; ++i)
                if (t1[i] == static_cast<std::int32_t>(k)) rows.push_back(i);
            if (rows.empty()) continue;
            RuleSubset sub = subset_input(input, rows);
            std::vector<std::int32_t> ts(rows.size()), rs(rows.size());
            then_[k].rule->assign(sub.input(), ts, rs);
            for (std::size_t j = 0; j < rows.size(); ++j) t2[rows[j]] = ts[j], r2[rows[j]] = rs[j];
        } else {
            then_[k].rule->assign(input, t2, r2);
        }
        for (std::size_t i = 0; i < n; ++i)
            if (t1[i] == static_cast<std::int32_t>(k)) {
                tier[i] = then_[k].to_policy[static_cast<std::size_t>(t2[i])];
                reason[i] = offset[k] + r2[i];
            }
    }
    for (std::size_t i = 0; i < n; ++i)
        if (!then_[static_cast<std::size_t>(t1[i])].rule) {
            tier[i] = first_.to_policy[static_cast<std::size_t>(t1[i])];
            reason[i] = r1[i];
        }
}

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::ChainRule, 0)
