#pragma once
/// @file group_by.hpp
/// `"group_by": "<categorical column>"` on any rule object: the rule is fitted once
/// per group of the column (separate cut points per region).
///
/// @code{.json}
/// {"kind": "quantiles", "shares": [0.05, 0.15, 0.5], "group_by": "region", "unseen_group": "global"}
/// @endcode
/// "unseen_group" says what happens to a group not seen at fit: "error" (default)
/// or "global" (a rule fitted on every customer). The wrapper registers itself with
/// register_rule_wrapper, so the registry builds it around any kind.
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/string.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/nested.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

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
    /// The group column, then the prototype's group columns.
    std::vector<std::string> group_columns() const override;
    bool reads_every_column() const override { return prototype_->reads_every_column(); }
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

// ---- the assign kernel (inline: a host compiles it into its own code) ----------------

inline void GroupedRule::assign(const RuleInput& input, std::span<std::int32_t> tier,
                                std::span<std::int32_t> reason) const {
    if (fitted_.empty()) throw Error("rule '" + kind() + "' grouped by '" + column_ + "': assign before fit");
    const auto [codes, labels] = input.table.category(column_);
    // Each label of this table -> its fitted rule and the offset of its reasons.
    // Reason codes: each fitted group's reasons in label order, then the global rule's.
    std::map<std::string, std::int32_t> offset_by_label;
    std::int32_t total = 0;
    for (const auto& [label, r] : fitted_) {
        offset_by_label[label] = total;
        total += static_cast<std::int32_t>(r->reasons().size());
    }
    std::vector<std::shared_ptr<Rule>> rule_of(labels->size());
    std::vector<std::int32_t> offset_of(labels->size(), 0);
    for (std::size_t g = 0; g < labels->size(); ++g) {
        auto it = fitted_.find((*labels)[g]);
        if (it != fitted_.end()) {
            rule_of[g] = it->second;
            offset_of[g] = offset_by_label[it->first];
        } else if (global_) {
            rule_of[g] = global_;
            offset_of[g] = total;
        }
    }
    std::vector<std::vector<std::size_t>> rows(labels->size());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        if (codes[i] < 0)
            throw InvalidInput("column '" + column_ + "', row " + std::to_string(i) + ": group is missing");
        const auto g = static_cast<std::size_t>(codes[i]);
        if (!rule_of[g]) {
            std::string seen;
            for (const auto& [label, r] : fitted_) seen += (seen.empty() ? "" : ", ") + label;
            throw InvalidInput("column '" + column_ + "', row " + std::to_string(i) + ": group '" + (*labels)[g] +
                               "' was not seen at fit (seen: " + seen +
                               "); set \"unseen_group\": \"global\" to use a rule fitted on every customer");
        }
        rows[g].push_back(i);
    }
    for (std::size_t g = 0; g < labels->size(); ++g) {
        if (rows[g].empty()) continue;
        const RuleSubset sub = subset_input(input, rows[g]);
        std::vector<std::int32_t> t(rows[g].size()), r(rows[g].size());
        rule_of[g]->assign(sub.input(), t, r);
        for (std::size_t k = 0; k < rows[g].size(); ++k) {
            tier[rows[g][k]] = t[k];
            reason[rows[g][k]] = offset_of[g] + r[k];
        }
    }
}

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::GroupedRule, 0)
