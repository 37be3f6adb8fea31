// The override rule's policy object: the base rule and its conditions.
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/expression.hpp"
#include "tierkit/rules/builtin/override.hpp"

namespace tierkit {

using nlohmann::json;

std::unique_ptr<Rule> make_override_rule(const json& p, const std::string& path, std::size_t tiers) {
    for (auto it = p.begin(); it != p.end(); ++it)
        if (it.key() != "kind" && it.key() != "base" && it.key() != "overrides" && it.key() != "tier_names")
            throw PolicyError(path + "." + it.key() + ": unknown key; expected one of: kind, base, overrides");
    const auto tier_names = p.at("tier_names").get<std::vector<std::string>>();
    if (!p.contains("base")) throw PolicyError(path + ".base: required: the rule used when no override applies");
    NestedRule base = make_nested_rule(p.at("base"), path + ".base", tier_names);
    if (!p.contains("overrides") || !p.at("overrides").is_array() || p.at("overrides").empty())
        throw PolicyError(path + ".overrides: required: a non-empty array of {\"when\": ..., \"tier\": ...}");
    std::vector<ExpressionRule::Branch> branches;
    std::vector<std::string> labels;
    const json& list = p.at("overrides");
    for (std::size_t k = 0; k < list.size(); ++k) {
        const std::string op = path + ".overrides[" + std::to_string(k) + "]";
        const json& o = list[k];
        if (!o.is_object()) throw PolicyError(op + ": must be an object with when and tier");
        for (auto it = o.begin(); it != o.end(); ++it)
            if (it.key() != "when" && it.key() != "tier" && it.key() != "reason")
                throw PolicyError(op + "." + it.key() + ": unknown key; expected one of: when, tier, reason");
        if (!o.contains("when") || !o.at("when").is_string()) throw PolicyError(op + ".when: required: a condition");
        if (!o.contains("tier") || !o.at("tier").is_string()) throw PolicyError(op + ".tier: required: a tier name");
        const std::string name = o.at("tier").get<std::string>();
        auto found = std::find(tier_names.begin(), tier_names.end(), name);
        if (found == tier_names.end()) {
            std::string all;
            for (const auto& t : tier_names) all += (all.empty() ? "" : ", ") + t;
            throw PolicyError(op + ".tier: unknown tier '" + name + "'; tiers: " + all);
        }
        branches.push_back({o.at("when").get<std::string>(), static_cast<std::int32_t>(found - tier_names.begin())});
        labels.push_back(o.contains("reason") && o.at("reason").is_string() ? o.at("reason").get<std::string>()
                                                                            : o.at("when").get<std::string>());
    }
    // Tier index `tiers` (one past the policy's) is the "no override" else branch.
    auto conditions = std::make_shared<ExpressionRule>(std::move(branches), static_cast<std::int32_t>(tiers), tiers + 1,
                                                       path + ".overrides");
    return std::make_unique<OverrideRule>(std::move(base), std::move(conditions), std::move(labels), tiers);
}

}  // namespace tierkit
