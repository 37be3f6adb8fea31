// chain and group-wise rules. See include/tierkit/rules/compose.hpp.
#include "tierkit/rules/compose.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/registry.hpp"

BOOST_CLASS_EXPORT_IMPLEMENT(tierkit::ChainRule)
BOOST_CLASS_EXPORT_IMPLEMENT(tierkit::GroupedRule)

namespace tierkit {

using nlohmann::json;

RuleSubset subset_input(const RuleInput& input, std::span<const std::size_t> rows) {
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
            throw PolicyError(path + ".tiers[" + std::to_string(k) + "]: unknown tier '" + names[k] + "'; the policy's tiers: " + list);
        }
        nested.to_policy.push_back(static_cast<std::int32_t>(it - policy_tiers.begin()));
    }
    params["tier_names"] = names;
    nested.rule = std::shared_ptr<Rule>(make_rule(object.at("kind").get<std::string>(), params, path, names.size()));
    return nested;
}

std::unique_ptr<Rule> make_chain_rule(const json& p, const std::string& path, std::size_t tiers) {
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
            while (k < first.to_policy.size() && policy_tiers[static_cast<std::size_t>(first.to_policy[k])] != it.key()) ++k;
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
        if (t.rule)
            for (auto& name : t.rule->inputs())
                if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    return out;
}

std::vector<std::string> GroupedRule::inputs() const {
    std::vector<std::string> out{column_};
    for (auto& name : prototype_->inputs())
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    return out;
}

bool ChainRule::needs_criteria() const {
    if (first_.rule->needs_criteria()) return true;
    for (const auto& t : then_)
        if (t.rule && t.rule->needs_criteria()) return true;
    return false;
}

std::vector<std::string> ChainRule::warnings() const {
    std::vector<std::string> out = first_.rule->warnings();
    for (const auto& t : then_)
        if (t.rule)
            for (auto& w : t.rule->warnings()) out.push_back(std::move(w));
    return out;
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

void ChainRule::assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const {
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
        // tier k gives the same result as applying them to those rows alone.
        then_[k].rule->assign(input, t2, r2);
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

std::vector<std::string> ChainRule::reasons() const {
    std::vector<std::string> out;
    for (const auto& r : first_.rule->reasons()) out.push_back("chain: " + r);
    for (std::size_t k = 0; k < then_.size(); ++k)
        if (then_[k].rule)
            for (const auto& r : then_[k].rule->reasons()) out.push_back("chain: first tier " + std::to_string(k) + ", then " + r);
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> ChainRule::parameters() const {
    auto out = first_.rule->parameters();
    for (auto& [name, v] : out) name = "first." + name;
    for (std::size_t k = 0; k < then_.size(); ++k)
        if (then_[k].rule)
            for (auto& [name, v] : then_[k].rule->parameters()) out.emplace_back("then[" + std::to_string(k) + "]." + name, v);
    return out;
}

std::unique_ptr<Rule> ChainRule::clone() const {
    auto copy = std::make_unique<ChainRule>(*this);
    copy->first_.rule = first_.rule->clone();
    for (auto& t : copy->then_)
        if (t.rule) t.rule = t.rule->clone();
    return copy;
}

// ---- group_by ---------------------------------------------------------------------

void GroupedRule::fit(const RuleInput& input) {
    const auto [codes, labels] = input.table.category(column_);
    fitted_.clear();
    std::vector<std::vector<std::size_t>> rows(labels->size());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        if (codes[i] < 0)
            throw InvalidInput("column '" + column_ + "', row " + std::to_string(i) + ": group is missing");
        rows[static_cast<std::size_t>(codes[i])].push_back(i);
    }
    // One rule per group, then the global one: their reports continue one another.
    SequentialProgress progress(input.progress);
    for (std::size_t g = 0; g < labels->size(); ++g) {
        if (rows[g].empty()) continue;
        std::shared_ptr<Rule> r = prototype_->clone();
        RuleSubset sub = subset_input(input, rows[g]);
        sub.progress = progress.get();
        r->fit(sub.input());
        progress.next();
        fitted_[(*labels)[g]] = std::move(r);
    }
    if (global_fallback_) {
        global_ = prototype_->clone();
        RuleInput all = input;
        all.progress = progress.get();
        global_->fit(all);
    }
}

void GroupedRule::assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const {
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
        if (codes[i] < 0) throw InvalidInput("column '" + column_ + "', row " + std::to_string(i) + ": group is missing");
        const auto g = static_cast<std::size_t>(codes[i]);
        if (!rule_of[g]) {
            std::string seen;
            for (const auto& [label, r] : fitted_) seen += (seen.empty() ? "" : ", ") + label;
            throw InvalidInput("column '" + column_ + "', row " + std::to_string(i) + ": group '" + (*labels)[g] +
                               "' was not seen at fit (seen: " + seen + "); set \"unseen_group\": \"global\" to use a rule fitted on every customer");
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

std::vector<std::string> GroupedRule::reasons() const {
    std::vector<std::string> out;
    for (const auto& [label, r] : fitted_)
        for (const auto& text : r->reasons()) out.push_back(column_ + " " + label + ": " + text);
    if (global_)
        for (const auto& text : global_->reasons()) out.push_back(column_ + " unseen at fit: " + text);
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> GroupedRule::parameters() const {
    std::vector<std::pair<std::string, std::vector<double>>> out;
    for (const auto& [label, r] : fitted_)
        for (auto& [name, v] : r->parameters()) out.emplace_back(label + "." + name, v);
    if (global_)
        for (auto& [name, v] : global_->parameters()) out.emplace_back("global." + name, v);
    return out;
}

std::unique_ptr<Rule> GroupedRule::clone() const {
    auto copy = std::make_unique<GroupedRule>(prototype_->clone(), column_, global_fallback_);
    for (const auto& [label, r] : fitted_) copy->fitted_[label] = r->clone();
    if (global_) copy->global_ = global_->clone();
    return copy;
}

std::vector<std::string> GroupedRule::groups() const {
    std::vector<std::string> out;
    for (const auto& [label, r] : fitted_) out.push_back(label);
    return out;
}

}  // namespace tierkit
