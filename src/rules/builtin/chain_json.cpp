// The chain rule's policy object: the first rule and one sub-rule per tier of it.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/chain.hpp"

namespace tierkit {

using nlohmann::json;

std::unique_ptr<Rule> ChainRule::from_json(const json& p, const std::string& path, std::size_t tiers) {
    for (auto it = p.begin(); it != p.end(); ++it)
        if (it.key() != "kind" && it.key() != "first" && it.key() != "then" && it.key() != "tier_names")
            throw PolicyError(path + "." + it.key() + ": unknown key; expected one of: kind, first, then");
    const auto policy_tiers = p.at("tier_names").get<std::vector<std::string>>();
    if (!p.contains("first")) throw PolicyError(path + ".first: required: the rule applied first");
    NestedRule first = make_nested_rule(p.at("first"), path + ".first", policy_tiers);
    std::vector<NestedRule> then(first.to_policy.size());
    if (p.contains("then")) {
        const json& t = p.at("then");
        if (!t.is_object()) throw PolicyError(path + ".then: must be an object: tier name -> rule");
        for (auto it = t.begin(); it != t.end(); ++it) {
            const std::string sub = path + ".then." + it.key();
            std::size_t k = 0;
            while (k < first.to_policy.size() && policy_tiers[static_cast<std::size_t>(first.to_policy[k])] != it.key())
                ++k;
            if (k == first.to_policy.size())
                throw PolicyError(sub + ": '" + it.key() + "' is not a tier of the first rule");
            then[k] = make_nested_rule(it.value(), sub, policy_tiers);
        }
    }
    return std::make_unique<ChainRule>(std::move(first), std::move(then), tiers);
}

std::vector<std::string> ChainRule::inputs() const {
    std::vector<std::string> out = first_.rule->inputs();
    for (const auto& t : then_)
        if (t.rule) append_new(out, t.rule->inputs());
    return out;
}

bool ChainRule::reads_every_column() const {
    if (first_.rule->reads_every_column()) return true;
    for (const auto& t : then_)
        if (t.rule && t.rule->reads_every_column()) return true;
    return false;
}

std::vector<std::string> ChainRule::group_columns() const {
    std::vector<std::string> out = first_.rule->group_columns();
    for (const auto& t : then_)
        if (t.rule) append_new(out, t.rule->group_columns());
    return out;
}

std::vector<std::string> ChainRule::warnings() const {
    std::vector<std::string> out = first_.rule->warnings();
    for (const auto& t : then_)
        if (t.rule)
            for (auto& w : t.rule->warnings()) out.push_back(std::move(w));
    return out;
}

bool ChainRule::needs_criteria() const {
    if (first_.rule->needs_criteria()) return true;
    for (const auto& t : then_)
        if (t.rule && t.rule->needs_criteria()) return true;
    return false;
}

void ChainRule::fit(const RuleInput& input) {
    // The rules' reports continue one another (a kmeans first, then kmeans sub-rules).
    SequentialProgress progress(input.progress);
    RuleInput first = input;
    first.progress = progress.get();
    first_.rule->fit(first);
    progress.next();
    const std::size_t n = input.table.rows();
    std::vector<std::int32_t> tier(n), reason(n);
    first_.rule->assign(input, tier, reason);
    for (std::size_t k = 0; k < then_.size(); ++k) {
        if (!then_[k].rule) continue;
        std::vector<std::size_t> rows;
        for (std::size_t i = 0; i < n; ++i)
            if (tier[i] == static_cast<std::int32_t>(k)) rows.push_back(i);
        if (rows.empty())
            throw InvalidInput("chain: no customer is in tier '" + std::to_string(k) +
                               "' of the first rule, so its sub-rule cannot be fitted");
        RuleSubset sub = subset_input(input, rows);
        sub.progress = progress.get();
        then_[k].rule->fit(sub.input());
        progress.next();
    }
}

std::vector<std::string> ChainRule::reasons() const {
    std::vector<std::string> out;
    for (const auto& r : first_.rule->reasons()) out.push_back("chain: " + r);
    for (std::size_t k = 0; k < then_.size(); ++k)
        if (then_[k].rule)
            for (const auto& r : then_[k].rule->reasons())
                out.push_back("chain: first tier " + std::to_string(k) + ", then " + r);
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> ChainRule::parameters() const {
    auto out = first_.rule->parameters();
    for (auto& [name, v] : out) name = "first." + name;
    for (std::size_t k = 0; k < then_.size(); ++k)
        if (then_[k].rule)
            for (auto& [name, v] : then_[k].rule->parameters())
                out.emplace_back("then[" + std::to_string(k) + "]." + name, v);
    return out;
}

std::unique_ptr<Rule> ChainRule::clone() const {
    auto copy = std::make_unique<ChainRule>(*this);
    copy->first_.rule = first_.rule->clone();
    for (auto& t : copy->then_)
        if (t.rule) t.rule = t.rule->clone();
    return copy;
}

}  // namespace tierkit
