#pragma once
/// @file nested.hpp
/// Rules inside rules (chain, override, group_by): a nested rule object may name the
/// subset of the policy's tiers it produces, in its own order:
/// {"kind": "quantiles", "shares": [0.5], "tiers": ["key", "high-value"]}.
/// Without "tiers" it produces all the policy's tiers. Without "score" or
/// "column", a rule that reads a score reads the policy's main score, as at the
/// top level (Rule::defaults_to_main_score).
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

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
inline RuleSubset subset_input(const RuleInput& input, std::span<const std::size_t> rows) {
    RuleSubset s;
    s.table = input.table.subset(rows);
    s.score_names = input.score_names;
    s.min_group = input.min_group;
    for (const auto& sc : input.scores) {
        std::vector<double> v(rows.size());
        for (std::size_t k = 0; k < rows.size(); ++k) v[k] = sc[rows[k]];
        s.scores.push_back(std::move(v));
    }
    if (input.criteria) {
        s.has_criteria = true;
        for (const auto& block : *input.criteria) {
            CriteriaBlock b{block.score, block.names, {}, block.weights};
            for (const auto& col : block.normalized) {
                std::vector<double> v(rows.size());
                for (std::size_t k = 0; k < rows.size(); ++k) v[k] = col[rows[k]];
                b.normalized.push_back(std::move(v));
            }
            s.criteria.push_back(std::move(b));
        }
    }
    return s;
}

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

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::NestedRule, 0)
