// Nested rule objects from the policy JSON. See tierkit/rules/nested.hpp (where a
// rule's input on a subset of rows is inline).
#include "tierkit/rules/nested.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/registry.hpp"

namespace tierkit {

using nlohmann::json;

NestedRule make_nested_rule(const json& object, const std::string& path, const std::vector<std::string>& policy_tiers) {
    if (!object.is_object()) throw PolicyError(path + ": must be a rule object with a kind, got " + object.dump());
    if (!object.contains("kind") || !object.at("kind").is_string())
        throw PolicyError(path + ".kind: required: the name of a registered rule");
    std::vector<std::string> names = policy_tiers;
    json params = object;
    if (object.contains("tiers")) {
        const json& t = object.at("tiers");
        if (!t.is_array() || t.empty()) throw PolicyError(path + ".tiers: must be a non-empty array of tier names");
        names.clear();
        for (std::size_t k = 0; k < t.size(); ++k) {
            if (!t[k].is_string()) throw PolicyError(path + ".tiers[" + std::to_string(k) + "]: must be a tier name");
            names.push_back(t[k].get<std::string>());
        }
        params.erase("tiers");
    }
    NestedRule nested;
    for (std::size_t k = 0; k < names.size(); ++k) {
        auto it = std::find(policy_tiers.begin(), policy_tiers.end(), names[k]);
        if (it == policy_tiers.end()) {
            std::string list;
            for (const auto& n : policy_tiers) list += (list.empty() ? "" : ", ") + n;
            throw PolicyError(path + ".tiers[" + std::to_string(k) + "]: unknown tier '" + names[k] +
                              "'; the policy's tiers: " + list);
        }
        nested.to_policy.push_back(static_cast<std::int32_t>(it - policy_tiers.begin()));
    }
    params["tier_names"] = names;
    nested.rule = std::shared_ptr<Rule>(make_rule(object.at("kind").get<std::string>(), params, path, names.size()));
    return nested;
}

}  // namespace tierkit
