#pragma once
/// @file override.hpp
/// `override`: conditions that put a customer in a given tier whatever the base
/// rule says, for risk control (a customer whose credit risk is high goes to a
/// "watch" tier, however valuable).
///
/// @code{.json}
/// {"kind": "override",
///  "base": {"kind": "quantiles", "score": "value", "shares": [0.05, 0.15, 0.5],
///           "tiers": ["key", "high-value", "ordinary", "potential"]},
///  "overrides": [{"when": "credit_risk >= 0.8", "tier": "watch", "reason": "credit risk"},
///                {"when": "complaints >= 3 and nps < 0", "tier": "watch"}]}
/// @endcode
/// Conditions use the `expression` language and are tried in order; the first
/// that holds decides, and its reason ("override: credit risk", or the condition
/// itself) is the customer's. Customers no condition catches get the base rule's
/// tier and reason.
#include <algorithm>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tierkit/rules/nested.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

class OverrideRule : public Rule {
public:
    OverrideRule() = default;
    /// @param conditions an expression rule over tiers + 1 tiers whose else tier
    ///   (== tiers) means "no override"; @param labels reason text per condition.
    OverrideRule(NestedRule base, std::shared_ptr<Rule> conditions, std::vector<std::string> labels, std::size_t tiers)
        : base_(std::move(base)), conditions_(std::move(conditions)), labels_(std::move(labels)), tiers_(tiers) {}
    std::string kind() const override { return "override"; }
    std::size_t tiers() const override { return tiers_; }
    void fit(const RuleInput& input) override {
        base_.rule->fit(input);
        conditions_->fit(input);
    }
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        const std::size_t n = input.table.rows();
        std::vector<std::int32_t> tc(n), rc(n), tb(n), rb(n);
        conditions_->assign(input, tc, rc);
        base_.rule->assign(input, tb, rb);
        const auto none = static_cast<std::int32_t>(tiers_);
        const auto offset = static_cast<std::int32_t>(labels_.size());
        for (std::size_t i = 0; i < n; ++i) {
            if (tc[i] != none) {
                tier[i] = tc[i];
                reason[i] = rc[i];
            } else {
                tier[i] = base_.to_policy[static_cast<std::size_t>(tb[i])];
                reason[i] = offset + rb[i];
            }
        }
    }
    std::vector<std::string> reasons() const override {
        std::vector<std::string> out;
        for (const auto& l : labels_) out.push_back("override: " + l);
        for (const auto& r : base_.rule->reasons()) out.push_back(r);
        return out;
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override {
        auto out = base_.rule->parameters();
        for (auto& [k, v] : out) k = "base." + k;
        return out;
    }
    std::unique_ptr<Rule> clone() const override {
        NestedRule base{std::shared_ptr<Rule>(base_.rule->clone()), base_.to_policy};
        return std::make_unique<OverrideRule>(std::move(base), std::shared_ptr<Rule>(conditions_->clone()), labels_,
                                              tiers_);
    }
    bool needs_criteria() const override { return base_.rule->needs_criteria(); }
    bool reads_every_column() const override {
        return conditions_->reads_every_column() || base_.rule->reads_every_column();
    }
    std::vector<std::string> group_columns() const override {
        auto out = conditions_->group_columns();
        append_new(out, base_.rule->group_columns());
        return out;
    }
    std::vector<std::string> inputs() const override {
        auto out = conditions_->inputs();
        append_new(out, base_.rule->inputs());
        return out;
    }

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("base", base_);
        ar& boost::serialization::make_nvp("conditions", conditions_);
        ar& boost::serialization::make_nvp("labels", labels_);
        ar& boost::serialization::make_nvp("tiers", tiers_);
    }

private:
    NestedRule base_;
    std::shared_ptr<Rule> conditions_;
    std::vector<std::string> labels_;
    std::size_t tiers_ = 0;
};

/// Factory for the registry. @throws PolicyError naming the JSON path.
std::unique_ptr<Rule> make_override_rule(const nlohmann::json& params, const std::string& path, std::size_t tiers);

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::OverrideRule, 0)
