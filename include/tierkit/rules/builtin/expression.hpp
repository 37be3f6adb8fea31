#pragma once
/// @file expression.hpp
/// `expression`: an ordered decision list of conditions written in a small
/// expression language. The first branch whose condition holds places the
/// customer, and is the customer's reason.
///
/// Policy:
/// @code{.json}
/// {"kind": "expression",
///  "branches": [
///    {"when": "monetary_value >= 1000 and frequency >= 12", "tier": "key"},
///    {"when": "pct(monetary_value) >= 0.8 or between(frequency, 6, 11)", "tier": "high-value"},
///    {"when": "recency_days > 365 and not segment in [3, 4]", "tier": 3},
///    {"when": "industry in ['retail', 'energy'] and region != 'north'", "tier": 3},
///    {"else": "ordinary"}]}
/// @endcode
/// `tier` is a tier name of the policy or a tier index (0 = best). The branches
/// are tried in order; exactly one final `{"else": tier}` catches everyone else.
/// Reasons: "expression: <the condition as written>" per branch, then
/// "expression: else"; the reason code of a customer is the index of its branch
/// (the else branch is the last code).
///
/// ## Language
/// | form | meaning |
/// |---|---|
/// | `12`, `1.5`, `.5`, `2e3` | number literals (no sign; `-` is an operator) |
/// | `frequency`, `` `net margin %` `` | a score or feature column (scores are searched first); backquotes allow any
/// other characters | | `+ - * /`, unary `-` | arithmetic on numbers | | `< <= > >= == !=` | compare two numbers,
/// giving a condition; comparisons do not chain | | `not`, `and`, `or` | logic on conditions | | `x in [1, 2, -3]`, `x
/// not in [...]` | membership in a list of number literals | | `'retail'`, `"retail"` | a label: text in single or
/// double quotes (no escapes), only in the two forms below | | `industry == 'retail'`, `industry != 'retail'` | a
/// labelled (categorical) column compared with a label | | `industry in ['retail', 'energy']`, `industry not in [...]`
/// | a labelled column's label in a list of labels | | `log(x)`, `abs(x)` | natural logarithm, absolute value | |
/// `min(a, b, ...)`, `max(a, b, ...)` | two or more numbers | | `between(x, lo, hi)` | `lo <= x and x <= hi`
/// (inclusive) | | `pct(column)` | the value's percentile in the column as seen at fit, in [0, 1] |
///
/// Precedence, loosest first: `or`; `and`; `not`; comparisons, `in`, `not in`;
/// `+ -`; `* /`; unary `-`; function calls and parentheses. Binary operators are
/// left-associative. `not` binds looser than a comparison (as in Python and
/// SQL): `not x > 5` is `not (x > 5)`. Keywords (`and or not in`) are lower case
/// and reserved; a column with such a name needs backquotes. A name followed by
/// `(` is a function call.
///
/// Every expression has a type, number or condition, checked when the rule is
/// built: arithmetic, comparisons and functions take numbers, `and or not` take
/// conditions, and a `when` must be a condition.
///
/// ## Labelled columns
/// A column of labels (a categorical column of the FeatureTable: a pandas
/// categorical or string column from Python) is read only by a label comparison:
/// the column name on the left, a label or a list of labels on the right. A missing
/// label makes `==`, `!=`, `in` and `not in` all false, as NaN does. Labels are
/// matched against the table's own labels at each assign, so a label the fit data
/// lacked matches when it appears later; labels the column does not have at fit are
/// reported by warnings() after fit (a typo matches nobody; a loaded model does not
/// keep them). Reading a labelled column as a
/// number, or a numeric column as labels, is an InvalidInput naming the branch, the
/// column and the position.
///
/// ## Missing values and IEEE arithmetic
/// - NaN stands for a missing value. Every comparison with a NaN operand is
///   false, `!=` included; `between`, `in` and `not in` are false for NaN. `not` only
///   inverts a condition, so `not (x > 5)` holds for a missing x.
/// - Arithmetic follows IEEE 754: x / 0 is +-inf (0 / 0 is NaN), log(0) is -inf,
///   log of a negative number is NaN, and NaN propagates through + - * /, abs,
///   min and max (min(NaN, 1) is NaN; between equal arguments such as -0 and
///   +0, min and max return the first).
/// - pct(x) is NaN for a missing x; +inf gives 1 and -inf gives 0.
///
/// ## pct and fitting
/// fit() learns one FittedCriterion with the percentile normalizer per column
/// named in pct(): y = (average rank - 1) / (n - 1) over the column's non-missing
/// fit values (ties share their average rank); new values between fitted values
/// are interpolated, values below the fitted minimum give 0 and above the maximum
/// give 1 (see scoring/criterion.hpp). A missing fit value is skipped; an
/// infinite one is an error. A rule without pct() needs no fit, one with pct()
/// must be fitted before assign().
///
/// ## Evaluation
/// Each condition is parsed once into a Tree (expr::parse), then compiled into a
/// small register program (expr::compile) whose registers are blocks of
/// kBlock doubles or condition bytes; constants are folded. assign() runs each
/// program over the table kBlock rows at a time, column by column, with no
/// per-customer interpretation, and stops evaluating later branches for a block
/// once every row in it has a tier.
///
/// ## Errors
/// A syntax or type error is a PolicyError when the rule is built: the JSON path
/// of the condition, what was expected, the 1-based character position, and the
/// text with a caret under the offending position:
/// @code{.unparsed}
/// rule.branches[0].when: expected a number, column or '(', got 'and' at position 19
///   monetary_value >= and x
///                     ^
/// @endcode
/// An unknown column is an UnknownColumn at fit or assign, in the same form,
/// listing the scores and columns available; every column the text names is
/// checked, also in a part that constant folding removes (`1 > 2 and typo > 0`).
///
/// Thread safety: after fit, assign() is const and may run from many threads at
/// once (each call has its own scratch blocks).
///
/// Serialization: the branches' text, tiers and the fitted pct curves are saved;
/// loading parses and compiles the text again.
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "tierkit/rules/builtin/expression/eval.hpp"
#include "tierkit/rules/builtin/expression/program.hpp"
#include "tierkit/rules/rule.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/serialize.hpp"

namespace tierkit {

class ExpressionRule : public Rule {
public:
    struct Branch {
        std::string when;       ///< condition text
        std::int32_t tier = 0;  ///< tier index
        template <class Archive>
        void serialize(Archive& ar, unsigned /*version*/) {
            ar& boost::serialization::make_nvp("when", when);
            ar& boost::serialization::make_nvp("tier", tier);
        }
    };

    ExpressionRule() = default;  ///< for loading
    /// @param branches conditions in order with their tier indices.
    /// @param else_tier the tier of customers no condition matches.
    /// @param tiers number of tiers; @param path JSON path of the rule (messages
    ///   name "<path>.branches[k].when").
    /// @throws PolicyError for a syntax or type error, a condition that is not a
    ///   condition, a tier index outside [0, tiers), or 65535 branches or more.
    ExpressionRule(std::vector<Branch> branches, std::int32_t else_tier, std::size_t tiers, std::string path = "rule");

    std::string kind() const override { return "expression"; }
    std::size_t tiers() const override { return tiers_; }
    /// Check that every column exists and learn the pct() curves.
    /// @throws UnknownColumn for a column neither a score nor in the table;
    ///   InvalidInput for an infinite value or no non-missing value in a pct() column.
    void fit(const RuleInput& input) override;
    /// @throws UnknownColumn as fit; InvalidInput when a column's length is not
    ///   tier.size(); PolicyError when pct() is used and the rule was not fitted.
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override;
    std::vector<std::string> reasons() const override;
    /// "branch_tiers" (each branch's tier, the else tier last) and, per pct()
    /// column, "pct(<column>).knots".
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override;
    std::unique_ptr<Rule> clone() const override { return std::make_unique<ExpressionRule>(*this); }
    /// The numeric columns, then the labelled ones.
    std::vector<std::string> inputs() const override;
    /// Labels a label comparison names that its column did not have at fit.
    std::vector<std::string> warnings() const override { return unseen_labels_; }

    const std::vector<Branch>& branches() const noexcept { return branches_; }
    std::int32_t else_tier() const noexcept { return else_tier_; }
    const std::vector<expr::Tree>& trees() const noexcept { return trees_; }
    const std::vector<expr::Program>& programs() const noexcept { return programs_; }
    /// Columns read, in order of first use.
    const std::vector<std::string>& columns() const noexcept { return columns_; }
    const std::vector<std::string>& pct_columns() const noexcept { return pct_columns_; }
    /// Labelled columns read by label comparisons, in order of first use.
    const std::vector<std::string>& label_columns() const noexcept { return label_columns_; }
    /// Fitted percentile curves, parallel to pct_columns() (empty before fit).
    const std::vector<FittedCriterion>& pct_curves() const noexcept { return curves_; }
    bool fitted() const noexcept { return fitted_; }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& make_nvp("path", path_);
        ar& make_nvp("tiers", tiers_);
        ar& make_nvp("branches", branches_);
        ar& make_nvp("else_tier", else_tier_);
        ar& make_nvp("fitted", fitted_);
        ar& make_nvp("pct_curves", curves_);
        if constexpr (Archive::is_loading::value) build(true);
    }

private:
    /// Parse and compile every branch; after loading, also check the saved curves.
    void build(bool loaded);
    /// Spans of columns_ in `input` (UnknownColumn in the documented form).
    std::vector<std::span<const double>> resolve(const RuleInput& input) const;
    /// Codes and labels of label_columns_ in `input.table` (errors as resolve).
    std::vector<std::pair<std::span<const std::int32_t>, const std::vector<std::string>*>> resolve_labels(
        const RuleInput& input) const;
    /// The UnknownColumn / InvalidInput for a column read in the wrong way, located at
    /// its first use.
    [[noreturn]] void column_error(const RuleInput& input, const std::string& name, bool as_labels) const;

    std::string path_ = "rule";
    std::size_t tiers_ = 0;
    std::vector<Branch> branches_;
    std::int32_t else_tier_ = 0;
    bool fitted_ = false;
    std::vector<FittedCriterion> curves_;
    // Derived from the above by build(); not saved.
    std::vector<expr::Tree> trees_;
    std::vector<expr::Program> programs_;
    std::vector<std::string> columns_;
    std::vector<std::string> pct_columns_;
    std::vector<std::string> label_columns_;
    /// Per name of columns_ and label_columns_: branch and byte offset of its first use.
    std::vector<std::tuple<std::string, std::size_t, std::uint32_t>> first_use_;
    std::vector<std::string> unseen_labels_;  ///< found by fit; not saved
};

// ---- the assign kernel (inline: a host compiles it into its own code) ----------------

inline std::vector<std::string> ExpressionRule::inputs() const {
    std::vector<std::string> out = columns_;
    for (const auto& name : label_columns_)
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    return out;
}

inline std::vector<std::span<const double>> ExpressionRule::resolve(const RuleInput& input) const {
    std::vector<std::span<const double>> out;
    for (const std::string& name : columns_) {
        bool found = false;
        for (std::size_t k = 0; k < input.score_names.size() && !found; ++k) found = input.score_names[k] == name;
        if (!found && !input.table.has(name)) column_error(input, name, false);
        out.push_back(input.values(name));
    }
    return out;
}

inline std::vector<std::pair<std::span<const std::int32_t>, const std::vector<std::string>*>>
ExpressionRule::resolve_labels(const RuleInput& input) const {
    std::vector<std::pair<std::span<const std::int32_t>, const std::vector<std::string>*>> out;
    for (const std::string& name : label_columns_) {
        if (!input.table.has_category(name)) column_error(input, name, true);
        const auto [codes, labels] = input.table.category(name);
        out.emplace_back(codes, labels);
    }
    return out;
}

inline void ExpressionRule::assign(const RuleInput& input, std::span<std::int32_t> tier,
                                   std::span<std::int32_t> reason) const {
    if (!pct_columns_.empty() && !fitted_) {
        std::size_t k = 0;
        while (k < trees_.size() && std::none_of(trees_[k].nodes.begin(), trees_[k].nodes.end(),
                                                 [](const expr::Node& n) { return n.op == expr::Op::pct; }))
            ++k;
        std::uint32_t at = 0;
        for (const auto& n : trees_[k].nodes)
            if (n.op == expr::Op::pct) {
                at = n.position;
                break;
            }
        throw PolicyError(expr::located(expr::branch_path(path_, k), branches_[k].when, at,
                                        "pct() needs the rule to be fitted first (call fit before assign)"));
    }
    const std::size_t rows = tier.size();
    if (reason.size() != rows)
        throw InvalidInput("expression: tier and reason outputs differ in length (" + std::to_string(rows) + " and " +
                           std::to_string(reason.size()) + ")");
    const auto cols = resolve(input);
    for (std::size_t c = 0; c < cols.size(); ++c)
        if (cols[c].size() != rows)
            throw InvalidInput("column '" + expr::printable(columns_[c]) + "': expected " + std::to_string(rows) +
                               " rows, got " + std::to_string(cols[c].size()));
    // Labelled columns: their codes, and per program, per label set, which of the
    // table's labels are in the set (the table's labels, so labels unseen at fit match).
    const auto label_cols = resolve_labels(input);
    std::vector<std::span<const std::int32_t>> codes;
    for (std::size_t c = 0; c < label_cols.size(); ++c) {
        const auto column = label_cols[c].first;
        if (column.size() != rows)
            throw InvalidInput("column '" + expr::printable(label_columns_[c]) + "': expected " + std::to_string(rows) +
                               " rows, got " + std::to_string(column.size()));
        codes.push_back(column);  // codes are -1 or index labels (checked by FeatureTable)
    }
    std::vector<std::vector<std::vector<std::uint8_t>>> member(programs_.size());
    for (std::size_t k = 0; k < programs_.size(); ++k) {
        member[k].resize(programs_[k].label_sets.size());
        for (const auto& in : programs_[k].code) {
            if (in.code != expr::Code::label_in && in.code != expr::Code::label_not_in) continue;
            const std::vector<std::string>& have = *label_cols[in.a.index].second;
            const std::vector<std::string>& set = programs_[k].label_sets[in.aux];
            auto& m = member[k][in.aux];
            m.resize(have.size());
            for (std::size_t j = 0; j < have.size(); ++j) m[j] = std::binary_search(set.begin(), set.end(), have[j]);
        }
    }

    expr::detail::Machine machine{&curves_, {}, {}};
    std::uint32_t number_slots = 0, condition_slots = 0;
    for (const auto& p : programs_) {
        number_slots = std::max(number_slots, p.number_slots);
        condition_slots = std::max(condition_slots, p.condition_slots);
    }
    machine.numbers.resize(std::size_t{number_slots} * expr::kBlock);
    machine.conditions.resize(std::size_t{condition_slots} * expr::kBlock);

    // Per block: `open` marks rows without a branch yet and `chosen` holds the
    // branch that took each row; both are narrow so the loops vectorize. Tiers and
    // reasons are written once per block at the end.
    const auto else_branch = static_cast<std::uint16_t>(branches_.size());
    std::vector<std::int32_t> tier_of_branch;
    for (const auto& b : branches_) tier_of_branch.push_back(b.tier);
    tier_of_branch.push_back(else_tier_);
    std::vector<std::uint8_t> open(expr::kBlock);
    std::vector<std::uint16_t> chosen(expr::kBlock);
    for (std::size_t start = 0; start < rows; start += expr::kBlock) {
        const std::size_t n = std::min(expr::kBlock, rows - start);
        std::fill(open.begin(), open.begin() + static_cast<std::ptrdiff_t>(n), std::uint8_t{1});
        std::fill(chosen.begin(), chosen.begin() + static_cast<std::ptrdiff_t>(n), else_branch);
        std::uint8_t any_open = 1;
        for (std::size_t k = 0; k < programs_.size() && any_open; ++k) {
            const expr::detail::Cond c = machine.run(programs_[k], cols, codes, member[k], start, n);
            const auto branch = static_cast<std::uint16_t>(k);
            if (!c.p) {
                if (!c.v) continue;
                for (std::size_t i = 0; i < n; ++i) chosen[i] = open[i] ? branch : chosen[i];
                any_open = 0;
                continue;
            }
            std::uint8_t still = 0;
            std::uint8_t* o = open.data();
            std::uint16_t* ch = chosen.data();
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint8_t take = o[i] & c.p[i];
                ch[i] = take ? branch : ch[i];
                o[i] = static_cast<std::uint8_t>(o[i] & ~take);
                still |= o[i];
            }
            any_open = still;
        }
        std::int32_t* t = tier.data() + start;
        std::int32_t* r = reason.data() + start;
        for (std::size_t i = 0; i < n; ++i) {
            r[i] = chosen[i];
            t[i] = tier_of_branch[chosen[i]];
        }
    }
}

/// The policy factory of `expression` (registered as "expression").
/// `params` holds "branches" and "tier_names" (the policy's tier names, filled in
/// by the policy before the factory is called).
/// @throws PolicyError naming the JSON path: a missing or malformed branch, an
///   unknown tier, a missing or misplaced else, a syntax or type error.
std::unique_ptr<Rule> make_expression_rule(const nlohmann::json& params, const std::string& path, std::size_t tiers);

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::ExpressionRule, 0)
BOOST_CLASS_VERSION(tierkit::ExpressionRule::Branch, 0)
