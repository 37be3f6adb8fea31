// The expression rule's policy object: its branches, parsed into an ExpressionRule.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/expression.hpp"

namespace tierkit {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw PolicyError(path + ": " + what); }

std::string show(const json& j) {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::int32_t tier_index(const json& j, const std::string& path, const std::vector<std::string>& names) {
    if (j.is_string()) {
        const auto name = j.get<std::string>();
        const auto it = std::find(names.begin(), names.end(), name);
        if (it != names.end()) return static_cast<std::int32_t>(it - names.begin());
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        fail(path, "unknown tier '" + expr::printable(name) + "'; tiers: " + list);
    }
    if (j.is_number_integer()) {
        const auto v = j.get<long long>();
        if (v >= 0 && static_cast<std::size_t>(v) < names.size()) return static_cast<std::int32_t>(v);
    }
    fail(path, "must be a tier name or a tier index 0.." + std::to_string(names.size() - 1) + ", got " + show(j));
}

}  // namespace

std::unique_ptr<Rule> make_expression_rule(const json& params, const std::string& path, std::size_t tiers) {
    if (!params.is_object()) fail(path, "must be an object, got " + show(params));
    for (auto it = params.begin(); it != params.end(); ++it) {
        const std::string& key = it.key();
        if (key != "kind" && key != "branches" && key != "tier_names" && key != "score")
            fail(path + "." + key, "unknown key; expected one of: kind, branches");
    }
    // The policy fills in "tier_names"; a host calling the factory directly must too.
    const std::string names_path = path + ".tier_names";
    if (!params.contains("tier_names")) fail(names_path, "required: the policy's tier names, best first");
    const json& tn = params.at("tier_names");
    if (!tn.is_array() || tn.size() != tiers || tiers == 0)
        fail(names_path, "must be an array of the " + std::to_string(tiers) + " tier names, got " + show(tn));
    std::vector<std::string> names;
    for (std::size_t k = 0; k < tn.size(); ++k) {
        if (!tn[k].is_string())
            fail(names_path + "[" + std::to_string(k) + "]", "must be a string, got " + show(tn[k]));
        names.push_back(tn[k].get<std::string>());
    }

    const std::string bp = path + ".branches";
    if (!params.contains("branches"))
        fail(bp, "required: an ordered list of {\"when\": condition, \"tier\": tier} ending with {\"else\": tier}");
    const json& bs = params.at("branches");
    if (!bs.is_array() || bs.empty()) fail(bp, "must be a non-empty array, got " + show(bs));
    std::vector<ExpressionRule::Branch> branches;
    std::int32_t else_tier = -1;
    for (std::size_t k = 0; k < bs.size(); ++k) {
        const std::string p = bp + "[" + std::to_string(k) + "]";
        const json& b = bs[k];
        if (!b.is_object()) fail(p, "must be an object, got " + show(b));
        if (b.contains("else")) {
            for (auto it = b.begin(); it != b.end(); ++it)
                if (it.key() != "else") fail(p + "." + it.key(), "unknown key; an else branch has only \"else\"");
            if (k + 1 != bs.size()) {
                const std::size_t more = bs.size() - k - 1;
                fail(p + ".else", "must be the last branch, but " + std::to_string(more) +
                                      (more == 1 ? " branch follows" : " branches follow"));
            }
            else_tier = tier_index(b.at("else"), p + ".else", names);
            continue;
        }
        for (auto it = b.begin(); it != b.end(); ++it)
            if (it.key() != "when" && it.key() != "tier")
                fail(p + "." + it.key(), "unknown key; expected one of: when, tier (or else, in the last branch)");
        if (!b.contains("when")) fail(p + ".when", "required: the condition of this branch");
        if (!b.contains("tier")) fail(p + ".tier", "required: the tier of customers matching \"when\"");
        const json& w = b.at("when");
        if (!w.is_string()) fail(p + ".when", "must be a string, got " + show(w));
        branches.push_back({w.get<std::string>(), tier_index(b.at("tier"), p + ".tier", names)});
    }
    if (else_tier < 0)
        fail(bp, "must end with {\"else\": tier} so that every customer gets a tier, got " + show(bs.back()) + " last");
    return std::make_unique<ExpressionRule>(std::move(branches), else_tier, tiers, path);
}

}  // namespace tierkit
