// Group-wise fitting of any rule. See tierkit/rules/builtin/group_by.hpp.
#include "tierkit/rules/builtin/group_by.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/core/json_checks.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

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

std::vector<std::string> GroupedRule::group_columns() const {
    std::vector<std::string> out{column_};
    append_new(out, prototype_->group_columns());
    return out;
}

std::vector<std::string> GroupedRule::inputs() const {
    std::vector<std::string> out{column_};
    append_new(out, prototype_->inputs());
    return out;
}

}  // namespace tierkit

namespace {

using nlohmann::json;

// Any rule object with "group_by" is fitted per group of that categorical column.
[[maybe_unused]] const bool group_by_registered = tierkit::register_rule_wrapper(
    "group_by", {"group_by", "unseen_group"},
    [](const json& params, const std::string& path,
       std::unique_ptr<tierkit::Rule> inner) -> std::unique_ptr<tierkit::Rule> {
        using tierkit::json_checks::fail;
        const json& g = params.at("group_by");
        if (!g.is_string() || g.get<std::string>().empty())
            fail(path + ".group_by", "must be the name of a categorical column, got " + tierkit::json_checks::show(g));
        std::string unseen = "error";
        if (params.contains("unseen_group")) {
            const json& u = params.at("unseen_group");
            if (!u.is_string()) fail(path + ".unseen_group", "must be a string, got " + tierkit::json_checks::show(u));
            unseen = u.get<std::string>();
        }
        if (unseen != "error" && unseen != "global")
            fail(path + ".unseen_group", "must be error or global, got '" + unseen + "'");
        return std::make_unique<tierkit::GroupedRule>(std::shared_ptr<tierkit::Rule>(std::move(inner)),
                                                      g.get<std::string>(), unseen == "global");
    });

}  // namespace

TIERKIT_EXPORT_RULE(tierkit::GroupedRule, "grouped")
