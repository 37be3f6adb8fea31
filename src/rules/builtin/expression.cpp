// The `expression` rule: building the programs from the branches' texts, fit, the
// messages, the policy factory and the registration. Parsing and compiling are in
// expression_parse.cpp and expression_compile.cpp; assign is inline in the header.
#include "tierkit/rules/builtin/expression.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

// ---- the rule ---------------------------------------------------------------------

namespace {

/// A condition as a reason: tabs and line breaks as spaces, without surrounding blanks.
std::string reason_text(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    std::string out = s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '\t' || c == '\r' || c == '\n'; }, ' ');
    return expr::printable(out);
}

}  // namespace

ExpressionRule::ExpressionRule(std::vector<Branch> branches, std::int32_t else_tier, std::size_t tiers,
                               std::string path)
    : path_(std::move(path)), tiers_(tiers), branches_(std::move(branches)), else_tier_(else_tier) {
    const auto check_tier = [&](std::int32_t t, const std::string& where) {
        if (t < 0 || static_cast<std::size_t>(t) >= tiers_)
            throw PolicyError(where + ": must be a tier index 0.." +
                              std::to_string(static_cast<long long>(tiers_) - 1) + ", got " + std::to_string(t));
    };
    if (branches_.size() >= 65535)
        throw PolicyError(path_ + ".branches: at most 65535 branches, got " + std::to_string(branches_.size() + 1));
    for (std::size_t k = 0; k < branches_.size(); ++k)
        check_tier(branches_[k].tier, path_ + ".branches[" + std::to_string(k) + "].tier");
    check_tier(else_tier_, path_ + ".branches[" + std::to_string(branches_.size()) + "].else");
    build(false);
}

void ExpressionRule::build(bool loaded) {
    trees_.clear();
    programs_.clear();
    columns_.clear();
    pct_columns_.clear();
    label_columns_.clear();
    first_use_.clear();
    for (std::size_t k = 0; k < branches_.size(); ++k) {
        const std::string where = expr::branch_path(path_, k);
        expr::Tree tree = expr::parse(branches_[k].when, where);
        const expr::Node& root = tree.root_node();
        if (root.type != expr::Type::condition)
            throw PolicyError(
                expr::located(where, tree.text, root.position, "must be a condition (true or false), got a number"));
        // Every column the text names is listed (so checked at fit and assign, and
        // pct() fitted) even where constant folding drops its code: "1 > 2 and
        // typo > 0" still reports the typo. The compiler then finds them listed.
        for (const auto& n : tree.nodes) {
            const bool labels = n.op == expr::Op::label_in || n.op == expr::Op::label_not_in;
            if (n.op != expr::Op::column && n.op != expr::Op::pct && !labels) continue;
            auto& names = labels ? label_columns_ : columns_;
            if (std::find(names.begin(), names.end(), n.name) == names.end()) {
                names.push_back(n.name);
                if (std::none_of(first_use_.begin(), first_use_.end(),
                                 [&](const auto& u) { return std::get<0>(u) == n.name; }))
                    first_use_.emplace_back(n.name, k, n.position);  // for messages at fit and assign
            }
            if (labels) continue;
            if (n.op == expr::Op::pct &&
                std::find(pct_columns_.begin(), pct_columns_.end(), n.name) == pct_columns_.end())
                pct_columns_.push_back(n.name);
        }
        programs_.push_back(expr::compile(tree, columns_, pct_columns_, label_columns_));
        trees_.push_back(std::move(tree));
    }
    if (loaded && fitted_) {
        bool match = curves_.size() == pct_columns_.size();
        for (std::size_t k = 0; match && k < curves_.size(); ++k) match = curves_[k].spec.column == pct_columns_[k];
        if (!match) throw FormatError("expression rule: the saved pct() curves do not match the conditions");
    }
}

void ExpressionRule::column_error(const RuleInput& input, const std::string& name, bool as_labels) const {
    const auto use =
        std::find_if(first_use_.begin(), first_use_.end(), [&](const auto& u) { return std::get<0>(u) == name; });
    const std::size_t branch = std::get<1>(*use);
    const std::uint32_t at = std::get<2>(*use);
    const std::string shown = "'" + expr::printable(name) + "'";
    const auto located = [&](const std::string& what) {
        return expr::located(expr::branch_path(path_, branch), branches_[branch].when, at, what);
    };
    const bool is_score =
        std::find(input.score_names.begin(), input.score_names.end(), name) != input.score_names.end();
    if (!as_labels && input.table.has_category(name) && !is_score)
        throw InvalidInput(located("column " + shown +
                                   " holds labels; compare it with labels: " + expr::printable(name) +
                                   " == 'label' or " + expr::printable(name) + " in ['a', 'b']"));
    if (as_labels && (is_score || input.table.has(name)))
        throw InvalidInput(
            located((is_score ? "score " : "column ") + shown + " holds numbers, not labels; compare it with numbers"));
    std::string what = (as_labels ? "unknown labelled column " : "unknown score or column ") + shown;
    std::string list;
    if (as_labels) {
        list = "; labelled columns: ";
        const auto cats = input.table.category_names();
        for (std::size_t k = 0; k < cats.size(); ++k) list += (k ? ", " : "") + cats[k];
        if (cats.empty()) list += "(none; pass labels as a categorical or string column)";
    } else {
        list = "; scores: ";
        for (std::size_t k = 0; k < input.score_names.size(); ++k) list += (k ? ", " : "") + input.score_names[k];
        if (input.score_names.empty()) list += "(none)";
        list += "; columns: ";
        const auto cols = input.table.names();
        for (std::size_t k = 0; k < cols.size(); ++k) list += (k ? ", " : "") + cols[k];
        if (cols.empty()) list += "(none)";
    }
    std::string msg = located(what);
    // Keep the caret lines last: insert the listing after the position.
    msg.insert(msg.find('\n'), list);
    throw UnknownColumn(msg);
}

void ExpressionRule::fit(const RuleInput& input) {
    const auto cols = resolve(input);
    const auto label_cols = resolve_labels(input);
    // Labels a comparison names that its column does not have: worth a warning (a
    // typo matches nobody), not an error (a later table may have them).
    std::vector<std::string> unseen;
    for (std::size_t k = 0; k < trees_.size(); ++k)
        for (const auto& n : trees_[k].nodes) {
            if (n.op != expr::Op::label_in && n.op != expr::Op::label_not_in) continue;
            const auto c = static_cast<std::size_t>(std::find(label_columns_.begin(), label_columns_.end(), n.name) -
                                                    label_columns_.begin());
            const std::vector<std::string>& have = *label_cols[c].second;
            for (const auto& label : n.labels)
                if (std::find(have.begin(), have.end(), label) == have.end()) {
                    std::string list;
                    for (std::size_t j = 0; j < have.size(); ++j) list += (j ? ", " : "") + expr::printable(have[j]);
                    unseen.push_back(expr::branch_path(path_, k) + ": column '" + expr::printable(n.name) +
                                     "' has no label '" + expr::printable(label) +
                                     "' in the fit data (labels: " + list + ")");
                }
        }
    std::vector<FittedCriterion> curves;
    for (const std::string& name : pct_columns_) {
        const auto it = std::find(columns_.begin(), columns_.end(), name);
        const auto values = cols[static_cast<std::size_t>(it - columns_.begin())];
        std::vector<double> present;
        present.reserve(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            const double v = values[i];
            if (std::isnan(v)) continue;
            if (std::isinf(v))
                throw InvalidInput("column '" + expr::printable(name) + "', row " + std::to_string(i) +
                                   ": pct() needs finite values to fit on, got " + (v > 0 ? "inf" : "-inf"));
            present.push_back(v);
        }
        if (present.empty())
            throw InvalidInput("column '" + expr::printable(name) +
                               "': pct() needs at least one value that is not NaN to fit on");
        CriterionSpec spec;
        spec.column = name;
        spec.normalizer = Normalizer::percentile;
        curves.push_back(fit_criterion(spec, present, input.min_group));
    }
    curves_ = std::move(curves);
    unseen_labels_ = std::move(unseen);
    fitted_ = true;
}

std::vector<std::string> ExpressionRule::reasons() const {
    std::vector<std::string> out;
    for (const auto& b : branches_) out.push_back("expression: " + reason_text(b.when));
    out.push_back("expression: else");
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> ExpressionRule::parameters() const {
    std::vector<double> tiers;
    for (const auto& b : branches_) tiers.push_back(b.tier);
    tiers.push_back(else_tier_);
    std::vector<std::pair<std::string, std::vector<double>>> out{{"branch_tiers", tiers}};
    for (std::size_t k = 0; k < curves_.size(); ++k)
        out.emplace_back("pct(" + pct_columns_[k] + ").knots", curves_[k].knots);
    return out;
}

// ---- factory ----------------------------------------------------------------------

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

TIERKIT_REGISTER_RULE(tierkit::ExpressionRule, "expression", tierkit::make_expression_rule)
