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

#include "tierkit/rules/rule.hpp"
#include "tierkit/scoring/criterion.hpp"

namespace tierkit {
namespace expr {

/// Rows per evaluation block.
inline constexpr std::size_t kBlock = 1024;
/// Deepest nesting of parentheses, calls and operators a text may have.
inline constexpr std::size_t kMaxDepth = 100;

enum class Type : std::uint8_t { number, condition };

/// Node kinds of the syntax tree.
enum class Op : std::uint8_t {
    number,  ///< literal: Node::value
    column,  ///< score or column: Node::name
    pct,     ///< pct(Node::name)
    neg,
    log,
    abs,
    add,
    sub,
    mul,
    div,
    min,  ///< two or more args
    max,  ///< two or more args
    lt,
    le,
    gt,
    ge,
    eq,
    ne,
    between,  ///< args: x, lo, hi
    in,       ///< args: x; Node::set
    not_in,   ///< args: x; Node::set
    not_,
    and_,
    or_,
    label_in,      ///< labelled column Node::name has one of Node::labels (`==`, `in`)
    label_not_in,  ///< labelled column Node::name has a label, not one of Node::labels (`!=`, `not in`)
};

struct Node {
    Op op = Op::number;
    Type type = Type::number;
    std::uint32_t position = 0;       ///< byte offset of the node's first character in the text
    std::uint32_t op_position = 0;    ///< byte offset of its operator, keyword or function name
    double value = 0;                 ///< Op::number
    std::string name;                 ///< Op::column, Op::pct
    std::vector<std::uint32_t> args;  ///< child node indices (always lower than this node's)
    std::vector<double> set;          ///< Op::in, Op::not_in
    std::vector<std::string> labels;  ///< Op::label_in, Op::label_not_in
};

/// A parsed, type-checked expression. Children precede their parents in `nodes`.
struct Tree {
    std::string text;
    std::vector<Node> nodes;
    std::uint32_t root = 0;
    const Node& root_node() const { return nodes.at(root); }
};

/// Parse and type-check `text` (either type at the root).
/// @param path JSON path of the text, the prefix of error messages.
/// @throws PolicyError "<path>: <what was expected>, got <what was found> at
///   position <n>" followed by the text and a caret line.
Tree parse(std::string_view text, const std::string& path);

/// An instruction's input: a literal, a register of the program, or a column.
struct Operand {
    enum class Kind : std::uint8_t { constant, slot, column };
    Kind kind = Kind::constant;
    std::uint32_t index = 0;  ///< register or column index
    double value = 0;         ///< Kind::constant (a condition: 0 or 1)
};

/// Operations of the register machine. Number registers and condition registers
/// are separate files; `out` and the operands name registers of the file the
/// operation reads or writes.
enum class Code : std::uint8_t {
    neg,
    log,
    abs,  ///< number a -> number
    add,
    sub,
    mul,
    div,
    min,
    max,  ///< numbers a, b -> number
    pct,  ///< column a -> number (aux: curve)
    lt,
    le,
    gt,
    ge,
    eq,
    ne,       ///< numbers a, b -> condition
    between,  ///< numbers a, b, c -> condition
    in,
    not_in,  ///< number a -> condition (aux: set)
    not_,    ///< condition a -> condition
    and_,
    or_,  ///< conditions a, b -> condition
    label_in,
    label_not_in,  ///< labelled column a -> condition (aux: label set)
};

struct Instruction {
    Code code = Code::add;
    std::uint32_t out = 0;
    Operand a, b, c;
    std::uint32_t aux = 0;
};

/// A compiled condition. An instruction never writes a register it reads.
struct Program {
    std::vector<Instruction> code;
    std::vector<std::vector<double>> sets;             ///< `in` lists, sorted, without duplicates
    std::vector<std::vector<std::string>> label_sets;  ///< label lists, sorted, without duplicates
    Operand result;                                    ///< a condition register or a constant
    std::uint32_t number_slots = 0;
    std::uint32_t condition_slots = 0;
};

/// Compile a condition tree. Column operands index `columns` (numbers) or, for the
/// label instructions, `label_columns`; pct curves index `pct_columns`; names not yet
/// listed are appended.
Program compile(const Tree& tree, std::vector<std::string>& columns, std::vector<std::string>& pct_columns,
                std::vector<std::string>& label_columns);

}  // namespace expr

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

/// The policy factory of `expression` (registered as "expression").
/// `params` holds "branches" and "tier_names" (the policy's tier names, filled in
/// by the policy before the factory is called).
/// @throws PolicyError naming the JSON path: a missing or malformed branch, an
///   unknown tier, a missing or misplaced else, a syntax or type error.
std::unique_ptr<Rule> make_expression_rule(const nlohmann::json& params, const std::string& path, std::size_t tiers);

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::ExpressionRule, 0)
BOOST_CLASS_VERSION(tierkit::ExpressionRule::Branch, 0)
