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

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::GroupedRule, 0)
