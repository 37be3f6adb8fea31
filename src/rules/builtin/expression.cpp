// The `expression` rule: building the programs from the branches' texts, fit, the
// messages and the registration. The policy object is parsed in expression_json.cpp,
// the texts in expression_parse.cpp and expression_compile.cpp; assign is inline in
// the header.
#include "tierkit/rules/builtin/expression.hpp"

#include <algorithm>
#include <cmath>

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

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::ExpressionRule, "expression", tierkit::make_expression_rule)
