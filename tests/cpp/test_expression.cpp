// The `expression` rule: precedence, every operator and function, NaN and IEEE
// semantics, pct() with ties, the decision list and its reasons, error messages
// (syntax with carets, types, tiers, else), serialization round trips and the
// inputs the fuzzer found.
#include <gtest/gtest.h>

#include <boost/math/special_functions/nonfinite_num_facets.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <locale>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/model.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/rules/builtin/expression.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;
using nlohmann::json;

namespace {

const double NaN = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();

/// A feature table of named columns (all the same length) and optional scores.
struct Data {
    FeatureTable table;
    std::vector<std::string> score_names;
    std::vector<std::vector<double>> scores;

    explicit Data(const std::vector<std::pair<std::string, std::vector<double>>>& columns,
                  const std::vector<std::pair<std::string, std::vector<double>>>& score_columns = {}) {
        const std::size_t n = columns.empty() ? score_columns.at(0).second.size() : columns[0].second.size();
        std::vector<std::int64_t> ids(n);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);
        table = FeatureTable(ids);
        for (const auto& [name, values] : columns) table.add_column(name, values);
        for (const auto& [name, values] : score_columns) {
            score_names.push_back(name);
            scores.push_back(values);
        }
    }
    RuleInput input() const { return RuleInput{table, score_names, scores}; }
    std::size_t rows() const { return table.rows(); }
};

json policy_params(const json& branches, std::vector<std::string> tiers = {"key", "high", "ordinary"}) {
    return json{{"kind", "expression"}, {"branches", branches}, {"tier_names", tiers}};
}

std::unique_ptr<ExpressionRule> make(const json& branches,
                                     std::vector<std::string> tiers = {"key", "high", "ordinary"}) {
    const std::size_t n = tiers.size();
    auto rule = make_expression_rule(policy_params(branches, std::move(tiers)), "rule", n);
    return std::unique_ptr<ExpressionRule>(static_cast<ExpressionRule*>(rule.release()));
}

struct Result {
    std::vector<std::int32_t> tier, reason;
};

Result assign(const Rule& rule, const Data& d) {
    Result r{std::vector<std::int32_t>(d.rows(), -7), std::vector<std::int32_t>(d.rows(), -7)};
    rule.assign(d.input(), r.tier, r.reason);
    return r;
}

/// 1 where `condition` holds, per row of d (fitted on d).
std::vector<int> holds(const std::string& condition, const Data& d) {
    auto rule = make(json::array({{{"when", condition}, {"tier", 0}}, {{"else", 1}}}), {"yes", "no"});
    rule->fit(d.input());
    const auto r = assign(*rule, d);
    std::vector<int> out;
    for (auto t : r.tier) out.push_back(t == 0 ? 1 : 0);
    return out;
}

/// Check that the number expression `e` equals `want` per row: with x and y as
/// columns, `e` must equal the column w row by row (NaN where want is NaN).
void expect_values(const std::string& e, const std::vector<double>& x, const std::vector<double>& y,
                   const std::vector<double>& want) {
    Data d({{"x", x}, {"y", y}, {"w", want}});
    const std::string same = "(" + e + " == w) or (not (w == w) and not (" + e + " == " + e + "))";
    EXPECT_EQ(holds(same, d), std::vector<int>(x.size(), 1)) << e;
}

std::string error_of(const std::string& when) {
    try {
        make(json::array({{{"when", when}, {"tier", "key"}}, {{"else", "ordinary"}}}));
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "no error";
}

std::string factory_error(const json& params, std::size_t tiers = 3) {
    try {
        make_expression_rule(params, "rule", tiers);
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

// ---- precedence -----------------------------------------------------------------

TEST(ExpressionRule, ArithmeticPrecedenceAndAssociativity) {
    Data d({{"a", {1}}, {"b", {2}}, {"c", {3}}});
    EXPECT_EQ(holds("a + b * c == 7", d), std::vector<int>{1});  // not (1 + 2) * 3 = 9
    EXPECT_EQ(holds("a * b + c == 5", d), std::vector<int>{1});
    EXPECT_EQ(holds("c - b / b == 2", d), std::vector<int>{1});     // not (3 - 2) / 2
    EXPECT_EQ(holds("a - b - c == -4", d), std::vector<int>{1});    // left: (1 - 2) - 3
    EXPECT_EQ(holds("c / b / b == 0.75", d), std::vector<int>{1});  // left: (3 / 2) / 2
    EXPECT_EQ(holds("-a * b == -2", d), std::vector<int>{1});
    EXPECT_EQ(holds("- b * - c == 6", d), std::vector<int>{1});
    EXPECT_EQ(holds("-(a + b) == -3", d), std::vector<int>{1});
    EXPECT_EQ(holds("2 * (a + b) == 6", d), std::vector<int>{1});
    EXPECT_EQ(holds("- - a == 1", d), std::vector<int>{1});
    EXPECT_EQ(holds("a + b > c - 1", d), std::vector<int>{1});  // arithmetic binds tighter than comparison
}

TEST(ExpressionRule, LogicalPrecedence) {
    Data d({{"a", {1}}, {"b", {2}}, {"c", {3}}});
    // and binds tighter than or: true or (false and false) = true; (true or false) and false = false
    EXPECT_EQ(holds("a == 1 or b == 0 and c == 0", d), std::vector<int>{1});
    EXPECT_EQ(holds("(a == 1 or b == 0) and c == 0", d), std::vector<int>{0});
    // not binds tighter than and: (not true) and false = false; not (true and false) = true
    EXPECT_EQ(holds("not a == 1 and b == 5", d), std::vector<int>{0});
    EXPECT_EQ(holds("not (a == 1 and b == 5)", d), std::vector<int>{1});
    // not binds tighter than or: (not true) or true = true; not (true or true) = false
    EXPECT_EQ(holds("not a == 1 or b == 2", d), std::vector<int>{1});
    EXPECT_EQ(holds("not (a == 1 or b == 2)", d), std::vector<int>{0});
    // not binds looser than a comparison: not (a > 5)
    EXPECT_EQ(holds("not a > 5", d), std::vector<int>{1});
    EXPECT_EQ(holds("not not a > 5", d), std::vector<int>{0});
    // in binds like a comparison: not (a in [1])
    EXPECT_EQ(holds("not a in [1] or c in [3]", d), std::vector<int>{1});
    EXPECT_EQ(holds("not a in [1] and c in [3]", d), std::vector<int>{0});
    // left-associative and/or chains
    EXPECT_EQ(holds("a == 1 and b == 2 and c == 3", d), std::vector<int>{1});
    EXPECT_EQ(holds("a == 0 or b == 0 or c == 3", d), std::vector<int>{1});
}

// ---- operators and functions --------------------------------------------------

TEST(ExpressionRule, Arithmetic) {
    const std::vector<double> x{6, -3, 0, 2.5, NaN};
    const std::vector<double> y{3, 2, 4, -0.5, 1};
    expect_values("x + y", x, y, {9, -1, 4, 2, NaN});
    expect_values("x - y", x, y, {3, -5, -4, 3, NaN});
    expect_values("x * y", x, y, {18, -6, 0, -1.25, NaN});
    expect_values("x / y", x, y, {2, -1.5, 0, -5, NaN});
    expect_values("-x", x, y, {-6, 3, -0.0, -2.5, NaN});
}

TEST(ExpressionRule, DivisionByZeroIsIeee) {
    const std::vector<double> x{1, -1, 0, NaN};
    const std::vector<double> y{0, 0, 0, 0};
    expect_values("x / y", x, y, {inf, -inf, NaN, NaN});
    Data d({{"x", x}, {"y", y}});
    EXPECT_EQ(holds("x / y > 1e308", d), (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(holds("x / y < -1e308", d), (std::vector<int>{0, 1, 0, 0}));
}

TEST(ExpressionRule, Functions) {
    const std::vector<double> x{1, std::exp(1.0), 0, -1, 10, NaN};
    const std::vector<double> y{2, 2, 2, 2, 2, 2};
    std::vector<double> logs;
    for (double v : x) logs.push_back(std::log(v));
    expect_values("log(x)", x, y, logs);
    EXPECT_TRUE(std::isinf(logs[2]) && logs[2] < 0);
    EXPECT_TRUE(std::isnan(logs[3]));
    expect_values("abs(x - 5)", x, y, {4, 5 - std::exp(1.0), 5, 6, 5, NaN});
    expect_values("abs(-x)", {-2, 3, -0.0}, {0, 0, 0}, {2, 3, 0});

    const std::vector<double> a{1, 5, NaN, 3, -inf};
    const std::vector<double> b{2, 4, 1, NaN, 0};
    expect_values("min(x, y)", a, b, {1, 4, NaN, NaN, -inf});
    expect_values("max(x, y)", a, b, {2, 5, NaN, NaN, 0});
    expect_values("min(x, y, 0)", a, b, {0, 0, NaN, NaN, -inf});
    expect_values("max(x, y, 4.5, -1)", a, b, {4.5, 5, NaN, NaN, 4.5});
    expect_values("max(1, 2, 3) + min(x, 100)", a, b, {4, 8, NaN, 6, -inf});
}

TEST(ExpressionRule, ComparisonsAreFalseForNaN) {
    Data d({{"x", {1, 2, 3, NaN}}});
    EXPECT_EQ(holds("x < 2", d), (std::vector<int>{1, 0, 0, 0}));
    EXPECT_EQ(holds("x <= 2", d), (std::vector<int>{1, 1, 0, 0}));
    EXPECT_EQ(holds("x > 2", d), (std::vector<int>{0, 0, 1, 0}));
    EXPECT_EQ(holds("x >= 2", d), (std::vector<int>{0, 1, 1, 0}));
    EXPECT_EQ(holds("x == 2", d), (std::vector<int>{0, 1, 0, 0}));
    EXPECT_EQ(holds("x != 2", d), (std::vector<int>{1, 0, 1, 0}));  // false for NaN too
    EXPECT_EQ(holds("2 < x", d), (std::vector<int>{0, 0, 1, 0}));
    EXPECT_EQ(holds("not (x < 2)", d), (std::vector<int>{0, 1, 1, 1}));  // not inverts: true for NaN
    EXPECT_EQ(holds("x == x", d), (std::vector<int>{1, 1, 1, 0}));       // a NaN test
}

TEST(ExpressionRule, Between) {
    Data d({{"x", {0.5, 1, 1.5, 2, 2.5, NaN}}, {"lo", {0, 1, 2, 2, 3, 0}}, {"hi", {1, 1, 2, 1, 4, 9}}});
    EXPECT_EQ(holds("between(x, 1, 2)", d), (std::vector<int>{0, 1, 1, 1, 0, 0}));  // inclusive, NaN false
    EXPECT_EQ(holds("between(x, lo, hi)", d), (std::vector<int>{1, 1, 0, 0, 0, 0}));
    EXPECT_EQ(holds("between(2 * x, lo + 1, 4)", d), (std::vector<int>{1, 1, 1, 1, 0, 0}));
    EXPECT_EQ(holds("between(1.5, lo, hi)", d), (std::vector<int>{0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(holds("not between(x, 1, 2)", d), (std::vector<int>{1, 0, 0, 0, 1, 1}));
}

TEST(ExpressionRule, InLists) {
    Data d({{"x", {1, 2, 3, NaN, -1, 0}}});
    EXPECT_EQ(holds("x in [1, 3, -1]", d), (std::vector<int>{1, 0, 1, 0, 1, 0}));
    EXPECT_EQ(holds("x not in [1, 3, -1]", d), (std::vector<int>{0, 1, 0, 0, 0, 1}));  // false for NaN
    EXPECT_EQ(holds("x in [2, 2, 2]", d), (std::vector<int>{0, 1, 0, 0, 0, 0}));
    EXPECT_EQ(holds("x * 2 in [4, 6]", d), (std::vector<int>{0, 1, 1, 0, 0, 0}));
    EXPECT_EQ(holds("x in [-0]", d), (std::vector<int>{0, 0, 0, 0, 0, 1}));
    // Long lists take another kernel (binary search); same answers.
    std::string longer = "x in [-1";
    for (int v = 3; v <= 40; ++v) longer += ", " + std::to_string(v);
    EXPECT_EQ(holds(longer + "]", d), (std::vector<int>{0, 0, 1, 0, 1, 0}));
    EXPECT_EQ(holds("x not " + longer.substr(2) + "]", d), (std::vector<int>{1, 1, 0, 0, 0, 1}));
}

TEST(ExpressionRule, LogicTruthTables) {
    Data d({{"p", {0, 0, 1, 1}}, {"q", {0, 1, 0, 1}}});
    EXPECT_EQ(holds("p == 1 and q == 1", d), (std::vector<int>{0, 0, 0, 1}));
    EXPECT_EQ(holds("p == 1 or q == 1", d), (std::vector<int>{0, 1, 1, 1}));
    EXPECT_EQ(holds("not p == 1", d), (std::vector<int>{1, 1, 0, 0}));
    EXPECT_EQ(holds("not (p == 1 and q == 1)", d), (std::vector<int>{1, 1, 1, 0}));
}

TEST(ExpressionRule, ConstantsFoldAwayAndKeepTheirMeaning) {
    Data d({{"x", {-1, 1}}});
    EXPECT_EQ(holds("1 + 2 * 3 == 7", d), (std::vector<int>{1, 1}));
    EXPECT_EQ(holds("1 > 2", d), (std::vector<int>{0, 0}));
    EXPECT_EQ(holds("x > 0 and 2 > 1", d), (std::vector<int>{0, 1}));
    EXPECT_EQ(holds("x > 0 and 1 > 2", d), (std::vector<int>{0, 0}));
    EXPECT_EQ(holds("1 > 2 or x > 0", d), (std::vector<int>{0, 1}));
    EXPECT_EQ(holds("x > 0 or 2 > 1", d), (std::vector<int>{1, 1}));
    EXPECT_EQ(holds("not (0 / 0 == 0 / 0)", d), (std::vector<int>{1, 1}));  // NaN folds like it runs
    EXPECT_EQ(holds("log(0) < -1e308 and x > min(0, 0 / 0)", d), (std::vector<int>{0, 0}));

    auto rule = make(json::array({{{"when", "x > 0 and 2 > 1"}, {"tier", 0}},
                                  {{"when", "x > 0 and 1 > 2"}, {"tier", 1}},
                                  {{"when", "x * (2 + 3) >= -(4)"}, {"tier", 1}},
                                  {{"else", 2}}}));
    ASSERT_EQ(rule->programs().size(), 3u);
    EXPECT_EQ(rule->programs()[0].code.size(), 1u);  // just x > 0
    EXPECT_EQ(rule->programs()[1].code.size(), 0u);  // constant false: x > 0 removed again
    EXPECT_EQ(rule->programs()[1].result.kind, expr::Operand::Kind::constant);
    EXPECT_EQ(rule->programs()[1].result.value, 0.0);
    ASSERT_EQ(rule->programs()[2].code.size(), 2u);  // x * 5, >= -4
    EXPECT_EQ(rule->programs()[2].code[0].b.value, 5.0);
    EXPECT_EQ(rule->programs()[2].code[1].b.value, -4.0);
}

TEST(ExpressionRule, NoInstructionWritesARegisterItReads) {
    auto rule = make(json::array(
        {{{"when", "min(a + b * c, a - b, c / a, 4) > max(a, b) * 2 and (a > 1 or not b < 2)"}, {"tier", 0}},
         {{"else", 1}}}));
    const auto& p = rule->programs()[0];
    EXPECT_GT(p.code.size(), 8u);
    for (const auto& in : p.code) {
        const bool cond_in = in.code == expr::Code::not_ || in.code == expr::Code::and_ || in.code == expr::Code::or_;
        const bool cond_out = in.code >= expr::Code::lt;
        if (cond_in != cond_out) continue;  // different register files
        for (const auto* o : {&in.a, &in.b, &in.c})
            if (o->kind == expr::Operand::Kind::slot) EXPECT_NE(o->index, in.out);
    }
}

TEST(ExpressionRule, NamesScoresAndBackquotes) {
    Data d({{"value", {1, 2, 3}}, {"net margin %", {5, -1, 0}}, {"and", {1, 0, 1}}}, {{"value", {90, 10, 50}}});
    // A score shadows a column of the same name.
    EXPECT_EQ(holds("value >= 50", d), (std::vector<int>{1, 0, 1}));
    EXPECT_EQ(holds("`net margin %` > 0", d), (std::vector<int>{1, 0, 0}));
    EXPECT_EQ(holds("`and` == 1 and value > 60", d), (std::vector<int>{1, 0, 0}));
    EXPECT_EQ(holds("pct(`net margin %`) == 1", d), (std::vector<int>{1, 0, 0}));
    EXPECT_EQ(holds("x_1 > 0", Data({{"x_1", {1, 0}}})), (std::vector<int>{1, 0}));
    EXPECT_EQ(holds("\tx\n>\r0 ", Data({{"x", {1, 0}}})), (std::vector<int>{1, 0}));
    EXPECT_EQ(holds("x > .5 and x < 1e1 and x != 2.5E+0", Data({{"x", {1, 0, 2.5}}})), (std::vector<int>{1, 0, 0}));
}

// ---- pct ------------------------------------------------------------------------

TEST(ExpressionRule, PctIsTheAverageRankInTheFittedData) {
    // Ranks 1, 2.5, 2.5, 4, 5 -> (rank - 1) / 4 = 0, 0.375, 0.375, 0.75, 1.
    Data fit({{"m", {10, 20, 20, 30, 40}}});
    auto rule = make(json::array({{{"when", "pct(m) >= 0.75"}, {"tier", "key"}},
                                  {{"when", "pct(m) == 0.375 or between(pct(m), 0.1, 0.2)"}, {"tier", "high"}},
                                  {{"else", "ordinary"}}}));
    rule->fit(fit.input());
    ASSERT_EQ(rule->pct_curves().size(), 1u);
    EXPECT_EQ(rule->pct_curves()[0].knots, (std::vector<double>{10, 20, 30, 40}));
    EXPECT_EQ(rule->pct_curves()[0].knot_y, (std::vector<double>{0, 0.375, 0.75, 1}));
    EXPECT_EQ(assign(*rule, fit).tier, (std::vector<std::int32_t>{2, 1, 1, 0, 0}));
    // New values: 5 -> 0, 45 -> 1, +inf -> 1, a tie with a knot -> its y, NaN -> no
    // comparison holds; 15 and 25 are interpolated by the fitted curve, strictly
    // between their neighbours' y (0 < y(15) < 0.375 < y(25) < 0.75).
    Data later({{"m", {15, 5, 45, 25, NaN, 20, inf}}});
    EXPECT_EQ(assign(*rule, later).tier, (std::vector<std::int32_t>{1, 2, 0, 2, 2, 1, 0}));
    const auto& curve = rule->pct_curves()[0];
    const double y15 = curve.normalize(15), y25 = curve.normalize(25);
    EXPECT_GT(y15, 0.0);
    EXPECT_LT(y15, 0.375);
    EXPECT_GT(y25, 0.375);
    EXPECT_LT(y25, 0.75);
    // pct() is exactly the FittedCriterion's value.
    char text[128];
    std::snprintf(text, sizeof text, "pct(m) == %.17g or pct(m) == %.17g", y15, y25);
    auto exact = make(json::array({{{"when", text}, {"tier", 0}}, {{"else", 1}}}), {"yes", "no"});
    exact->fit(fit.input());
    EXPECT_EQ(assign(*exact, later).tier, (std::vector<std::int32_t>{0, 1, 1, 0, 1, 1, 1}));
}

TEST(ExpressionRule, PctOfAScoreAndOfSeveralColumns) {
    Data d({{"a", {1, 2, 3}}, {"b", {3, 3, 1}}}, {{"value", {10, 30, 20}}});
    auto rule = make(json::array(
        {{{"when", "pct(value) == 1"}, {"tier", 0}}, {{"when", "pct(b) > pct(a)"}, {"tier", 1}}, {{"else", 2}}}));
    rule->fit(d.input());
    EXPECT_EQ(rule->pct_columns(), (std::vector<std::string>{"value", "b", "a"}));
    // pct(value): 0, 1, 0.5; pct(b) = 0.75, 0.75, 0; pct(a) = 0, 0.5, 1
    EXPECT_EQ(assign(*rule, d).tier, (std::vector<std::int32_t>{1, 0, 2}));
    const auto params = rule->parameters();
    ASSERT_EQ(params.size(), 4u);
    EXPECT_EQ(params[0].first, "branch_tiers");
    EXPECT_EQ(params[0].second, (std::vector<double>{0, 1, 2}));
    EXPECT_EQ(params[1].first, "pct(value).knots");
    EXPECT_EQ(params[1].second, (std::vector<double>{10, 20, 30}));
}

TEST(ExpressionRule, PctSkipsMissingFitValuesAndRejectsInfinite) {
    auto rule = make(json::array({{{"when", "pct(m) > 0.5"}, {"tier", 0}}, {{"else", 1}}}), {"yes", "no"});
    rule->fit(Data({{"m", {10, NaN, 20}}}).input());
    EXPECT_EQ(rule->pct_curves()[0].knots, (std::vector<double>{10, 20}));
    EXPECT_EQ(rule->pct_curves()[0].knot_y, (std::vector<double>{0, 1}));
    try {
        rule->fit(Data({{"m", {10, -inf, 20}}}).input());
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 'm', row 1: pct() needs finite values to fit on, got -inf");
    }
    try {
        rule->fit(Data({{"m", {NaN, NaN}}}).input());
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 'm': pct() needs at least one value that is not NaN to fit on");
    }
    // A failed fit keeps the earlier curves.
    EXPECT_EQ(rule->pct_curves()[0].knots, (std::vector<double>{10, 20}));
}

TEST(ExpressionRule, PctWithoutFitIsAnError) {
    auto rule = make(json::array(
        {{{"when", "a > 1"}, {"tier", 0}}, {{"when", "a > 0 and pct(a) > 0.5"}, {"tier", 1}}, {{"else", 2}}}));
    Data d({{"a", {1, 2}}});
    try {
        assign(*rule, d);
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_STREQ(
            e.what(),
            "rule.branches[1].when: pct() needs the rule to be fitted first (call fit before assign) at position 11\n"
            "  a > 0 and pct(a) > 0.5\n"
            "            ^");
    }
    // Without pct() no fit is needed.
    auto plain = make(json::array({{{"when", "a > 1"}, {"tier", 0}}, {{"else", 2}}}));
    EXPECT_EQ(assign(*plain, d).tier, (std::vector<std::int32_t>{2, 0}));
}

// ---- the decision list ----------------------------------------------------------

TEST(ExpressionRule, FirstMatchingBranchWinsAndIsTheReason) {
    Data d({{"monetary_value", {5000, 5000, 400, 50, 2000, NaN}}, {"frequency", {20, 2, 30, 1, 12, 40}}});
    auto rule = make(json::array({{{"when", "monetary_value >= 1000 and frequency >= 12"}, {"tier", "key"}},
                                  {{"when", "  monetary_value >= 1000  "}, {"tier", "high"}},
                                  {{"when", "frequency >= 12"}, {"tier", 0}},
                                  {{"else", "ordinary"}}}));
    rule->fit(d.input());
    const auto r = assign(*rule, d);
    EXPECT_EQ(r.tier, (std::vector<std::int32_t>{0, 1, 0, 2, 0, 0}));
    EXPECT_EQ(r.reason, (std::vector<std::int32_t>{0, 1, 2, 3, 0, 2}));
    EXPECT_EQ(rule->reasons(), (std::vector<std::string>{"expression: monetary_value >= 1000 and frequency >= 12",
                                                         "expression: monetary_value >= 1000",
                                                         "expression: frequency >= 12", "expression: else"}));
    EXPECT_EQ(rule->kind(), "expression");
    EXPECT_EQ(rule->tiers(), 3u);
    EXPECT_EQ(rule->columns(), (std::vector<std::string>{"monetary_value", "frequency"}));
}

TEST(ExpressionRule, OnlyAnElse) {
    auto rule = make(json::array({{{"else", "high"}}}));
    const auto r = assign(*rule, Data({{"x", {1, 2, 3}}}));
    EXPECT_EQ(r.tier, (std::vector<std::int32_t>{1, 1, 1}));
    EXPECT_EQ(r.reason, (std::vector<std::int32_t>{0, 0, 0}));
    EXPECT_EQ(rule->reasons(), (std::vector<std::string>{"expression: else"}));
}

TEST(ExpressionRule, ManyBlocksMatchAPlainLoop) {
    // 2500 rows: two full blocks and a partial one; the first branch takes whole
    // blocks at times (later branches are skipped there).
    const std::size_t n = 2500;
    std::vector<double> a(n), b(n);
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = i < 1024 ? 100.0 : static_cast<double>((i * 37) % 101);
        b[i] = static_cast<double>((i * 53) % 17) - 3;
        if (i % 97 == 5) b[i] = NaN;
    }
    Data d({{"a", a}, {"b", b}});
    auto rule = make(json::array({{{"when", "a >= 90"}, {"tier", 0}},
                                  {{"when", "a / max(b, 1) > 20 or b in [0, 7]"}, {"tier", 1}},
                                  {{"when", "between(a + b, 10, 40) and not b < 0"}, {"tier", 0}},
                                  {{"else", 2}}}));
    const auto r = assign(*rule, d);
    for (std::size_t i = 0; i < n; ++i) {
        const double mx = std::isnan(b[i]) ? b[i] : std::max(b[i], 1.0);
        int want_reason = 3;
        if (a[i] >= 90)
            want_reason = 0;
        else if (a[i] / mx > 20 || b[i] == 0 || b[i] == 7)
            want_reason = 1;
        else if (a[i] + b[i] >= 10 && a[i] + b[i] <= 40 && !(b[i] < 0))
            want_reason = 2;
        const int want_tier = std::vector<int>{0, 1, 0, 2}[static_cast<std::size_t>(want_reason)];
        ASSERT_EQ(r.reason[i], want_reason) << "row " << i;
        ASSERT_EQ(r.tier[i], want_tier) << "row " << i;
    }
}

TEST(ExpressionRule, AssignFromManyThreads) {
    const std::size_t n = 5000;
    std::vector<double> a(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<double>(i % 100);
    Data d({{"a", a}});
    auto rule =
        make(json::array({{{"when", "pct(a) > 0.9"}, {"tier", 0}}, {{"when", "a > 50"}, {"tier", 1}}, {{"else", 2}}}));
    rule->fit(d.input());
    const auto want = assign(*rule, d);
    std::vector<Result> got(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < got.size(); ++t) threads.emplace_back([&, t] { got[t] = assign(*rule, d); });
    for (auto& t : threads) t.join();
    for (const auto& g : got) {
        EXPECT_EQ(g.tier, want.tier);
        EXPECT_EQ(g.reason, want.reason);
    }
}

// ---- errors -----------------------------------------------------------------------

TEST(ExpressionRule, SyntaxAndTypeErrorsPointAtTheirPosition) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"monetary_value >= and x",
         "expected a number, column or '(', got 'and' at position 19\n  monetary_value >= and x\n                    "
         "^"},
        {"", "expected a number, column or '(', got end of text at position 1\n  \n  ^"},
        {"a >", "expected a number, column or '(', got end of text at position 4\n  a >\n     ^"},
        {"a > 5 b", "expected an operator or end of text, got 'b' at position 7\n  a > 5 b\n        ^"},
        {"(a > 5", "expected ')', got end of text at position 7\n  (a > 5\n        ^"},
        {"a > 5)", "expected an operator or end of text, got ')' at position 6\n  a > 5)\n       ^"},
        {"a = 5", "'=' is not an operator; use '==' to compare at position 3\n  a = 5\n    ^"},
        {"a > 1 && b > 1", "'&&' is not an operator; use 'and' at position 7\n  a > 1 && b > 1\n        ^"},
        {"a > 1 || b > 1", "'||' is not an operator; use 'or' at position 7\n  a > 1 || b > 1\n        ^"},
        {"!(a > 1)", "'!' is not an operator; use 'not' at position 1\n  !(a > 1)\n  ^"},
        {"a # b", "unexpected character '#' at position 3\n  a # b\n    ^"},
        {"a > 1e999", "number out of range, got '1e999' at position 5\n  a > 1e999\n      ^"},
        {"a > 12abc", "malformed number, got '12abc' at position 5\n  a > 12abc\n      ^"},
        {"a > 1.5.2", "malformed number, got '1.5.2' at position 5\n  a > 1.5.2\n      ^"},
        {"`weird col > 1",
         "expected '`' to close the name opened at position 1, got end of text at position 15\n  `weird col > 1\n"
         "                ^"},
        {"`` > 1", "expected a column name between the backquotes, got `` at position 1\n  `` > 1\n  ^"},
        {"foo(a) > 1",
         "unknown function 'foo'; functions: abs, between, log, max, min, pct at position 1\n  foo(a) > 1\n  ^"},
        {"log(a, b) > 1", "log() takes 1 argument, got 2 at position 1\n  log(a, b) > 1\n  ^"},
        {"x > abs()", "abs() takes 1 argument, got 0 at position 5\n  x > abs()\n      ^"},
        {"min(a) > 1", "min() takes 2 or more arguments, got 1 at position 1\n  min(a) > 1\n  ^"},
        {"between(a, 1)", "between() takes 3 arguments (x, lo, hi), got 2 at position 1\n  between(a, 1)\n  ^"},
        {"max(a b) > 1", "expected ',' or ')', got 'b' at position 7\n  max(a b) > 1\n        ^"},
        {"pct(a + b) > 0.5",
         "pct() takes a single column name; expected ')', got '+' at position 7\n  pct(a + b) > 0.5\n        ^"},
        {"pct() > 0.5", "pct() takes a column name, got ')' at position 5\n  pct() > 0.5\n      ^"},
        {"a < b < c",
         "comparisons do not chain; join them with 'and' (or use between(x, lo, hi)), got '<' at position 7\n"
         "  a < b < c\n        ^"},
        {"a in [1, 2] == 1",
         "comparisons do not chain; join them with 'and' (or use between(x, lo, hi)), got '==' at position 13\n"
         "  a in [1, 2] == 1\n              ^"},
        {"a in 1, 2", "expected '[' to start the list, got '1' at position 6\n  a in 1, 2\n       ^"},
        {"a in [1, x]", "expected a number, got 'x' at position 10\n  a in [1, x]\n           ^"},
        {"a in [1 2]", "expected ',' or ']', got '2' at position 9\n  a in [1 2]\n          ^"},
        {"a in []", "expected a number, got ']' at position 7\n  a in []\n        ^"},
        {"a not b", "expected an operator or end of text, got 'not' at position 3\n  a not b\n    ^"},
        // types
        {"a + (b > 1) > 0", "'+' needs a number, got a condition at position 5\n  a + (b > 1) > 0\n      ^"},
        {"(a > 1) * b > 0", "'*' needs a number, got a condition at position 1\n  (a > 1) * b > 0\n  ^"},
        {"a and b > 1", "'and' needs a condition, got a number at position 1\n  a and b > 1\n  ^"},
        {"a > 1 or 5", "'or' needs a condition, got a number at position 10\n  a > 1 or 5\n           ^"},
        {"not a", "'not' needs a condition, got a number at position 5\n  not a\n      ^"},
        {"-(a > 1) < 0", "'-' needs a number, got a condition at position 2\n  -(a > 1) < 0\n   ^"},
        {"log(a > 1) > 0", "log() needs a number, got a condition at position 5\n  log(a > 1) > 0\n      ^"},
        {"between(a, b > 1, 2)",
         "between() needs a number, got a condition at position 12\n  between(a, b > 1, 2)\n             ^"},
        {"(a > 1) in [1]", "'in' needs a number, got a condition at position 1\n  (a > 1) in [1]\n  ^"},
        {"(a > 1) not in [1]", "'not in' needs a number, got a condition at position 1\n  (a > 1) not in [1]\n  ^"},
        {"(a > 1) == (b > 1)", "'==' needs a number, got a condition at position 1\n  (a > 1) == (b > 1)\n  ^"},
        {"monetary_value", "must be a condition (true or false), got a number at position 1\n  monetary_value\n  ^"},
        {"  (a + 1) * 2", "must be a condition (true or false), got a number at position 3\n    (a + 1) * 2\n    ^"},
        // characters outside ASCII: one display column per character
        {"a > 1 and café > 2",
         "unexpected character 'é'; put column names with such characters in backquotes at position 14\n"
         "  a > 1 and café > 2\n               ^"},
        {"`café` > 1 and b ==",
         "expected a number, column or '(', got end of text at position 20\n"
         "  `café` > 1 and b ==\n                     ^"},
        {"a > 1 and \x01", "unexpected byte 0x01 at position 11\n  a > 1 and  \n            ^"},
        {"a > \xff", "unexpected byte 0xff at position 5\n  a > ?\n      ^"},
    };
    for (const auto& [text, message] : cases) EXPECT_EQ(error_of(text), "rule.branches[0].when: " + message) << text;
}

TEST(ExpressionRule, LongTextsShowAWindowAroundTheCaret) {
    std::string text;
    for (int k = 0; k < 20; ++k) text += "column_" + std::to_string(k) + " > " + std::to_string(k) + " and ";
    text += "oops >";
    const std::string message = error_of(text);
    const std::size_t column = text.size() + 1;  // end of text
    EXPECT_EQ(message.substr(0, message.find('\n')),
              "rule.branches[0].when: expected a number, column or '(', got end of text at position " +
                  std::to_string(column));
    const std::string echo = message.substr(message.find('\n') + 3, message.rfind('\n') - message.find('\n') - 3);
    const std::string caret = message.substr(message.rfind('\n') + 3);
    EXPECT_EQ(echo.substr(0, 3), "...");
    EXPECT_EQ(echo.size(), 3 + 80u);
    EXPECT_EQ(echo.substr(echo.size() - 6), "oops >");
    EXPECT_EQ(caret, std::string(echo.size(), ' ') + "^");
}

TEST(ExpressionRule, DeepNestingIsAnErrorNotACrash) {
    // The outermost level counts too: 99 parentheses are 100 levels.
    std::string ok = std::string(99, '(') + "a > 1" + std::string(99, ')');
    EXPECT_EQ(error_of(ok), "no error");
    const std::string deep = std::string(150, '(') + "a > 1" + std::string(150, ')');
    EXPECT_EQ(error_of(deep).substr(0, error_of(deep).find('\n')),
              "rule.branches[0].when: expression too deep: more than 100 nested operations at position 101");
    std::string nots;
    for (int k = 0; k < 5000; ++k) nots += "not ";
    EXPECT_EQ(error_of(nots + "a > 1").substr(0, 83),
              "rule.branches[0].when: expression too deep: more than 100 nested operations at posi");
    std::string chain = "a > 0";
    for (int k = 0; k < 200; ++k) chain += " and a > " + std::to_string(k);
    EXPECT_EQ(error_of(chain).substr(0, 76),
              "rule.branches[0].when: expression too deep: more than 100 nested operations ");
    std::string minus(20000, '-');
    EXPECT_NE(error_of(minus + "a > 0").find("too deep"), std::string::npos);
}

TEST(ExpressionRule, UnknownColumnsAtFitAndAssign) {
    auto rule = make(json::array(
        {{{"when", "a > 1"}, {"tier", 0}}, {{"when", "a > 0 and monetry > 5"}, {"tier", 1}}, {{"else", 2}}}));
    Data d({{"a", {1}}, {"monetary", {2}}}, {{"value", {3}}});
    const std::string want =
        "rule.branches[1].when: unknown score or column 'monetry' at position 11; scores: value; columns: a, monetary\n"
        "  a > 0 and monetry > 5\n"
        "            ^";
    try {
        rule->fit(d.input());
        FAIL() << "expected UnknownColumn";
    } catch (const UnknownColumn& e) {
        EXPECT_EQ(std::string(e.what()), want);
    }
    try {
        assign(*rule, d);
        FAIL() << "expected UnknownColumn";
    } catch (const UnknownColumn& e) {
        EXPECT_EQ(std::string(e.what()), want);
    }
}

TEST(ExpressionRule, ColumnLengthsMustMatchTheOutput) {
    auto rule = make(json::array({{{"when", "s > 1"}, {"tier", 0}}, {{"else", 2}}}));
    Data d({{"a", {1, 2, 3}}}, {{"s", {1, 2}}});
    std::vector<std::int32_t> tier(3), reason(3);
    try {
        rule->assign(d.input(), tier, reason);
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 's': expected 3 rows, got 2");
    }
}

TEST(ExpressionRule, PolicyShapeErrors) {
    const json good_when = {{"when", "a > 1"}, {"tier", "key"}};
    const json else_branch = {{"else", "ordinary"}};
    const std::vector<std::pair<json, std::string>> cases = {
        {policy_params(json::array({{{"when", "a > 1"}, {"tier", "gold"}}, else_branch})),
         "rule.branches[0].tier: unknown tier 'gold'; tiers: key, high, ordinary"},
        {policy_params(json::array({good_when, {{"when", "a > 2"}, {"tier", "gold"}}, else_branch})),
         "rule.branches[1].tier: unknown tier 'gold'; tiers: key, high, ordinary"},
        {policy_params(json::array({good_when, {{"else", "platinum"}}})),
         "rule.branches[1].else: unknown tier 'platinum'; tiers: key, high, ordinary"},
        {policy_params(json::array({{{"when", "a > 1"}, {"tier", 3}}, else_branch})),
         "rule.branches[0].tier: must be a tier name or a tier index 0..2, got 3"},
        {policy_params(json::array({{{"when", "a > 1"}, {"tier", -1}}, else_branch})),
         "rule.branches[0].tier: must be a tier name or a tier index 0..2, got -1"},
        {policy_params(json::array({{{"when", "a > 1"}, {"tier", 1.5}}, else_branch})),
         "rule.branches[0].tier: must be a tier name or a tier index 0..2, got 1.5"},
        {policy_params(json::array({good_when})),
         "rule.branches: must end with {\"else\": tier} so that every customer gets a tier, got "
         "{\"tier\":\"key\",\"when\":\"a > 1\"} last"},
        {policy_params(json::array({else_branch, good_when})),
         "rule.branches[0].else: must be the last branch, but 1 branch follows"},
        {policy_params(json::array({else_branch, else_branch, good_when})),
         "rule.branches[0].else: must be the last branch, but 2 branches follow"},
        {policy_params(json::array({good_when, {{"else", "ordinary"}, {"tier", "key"}}})),
         "rule.branches[1].tier: unknown key; an else branch has only \"else\""},
        {policy_params(json::array({{{"when", "a > 1"}}, else_branch})),
         "rule.branches[0].tier: required: the tier of customers matching \"when\""},
        {policy_params(json::array({{{"tier", "key"}}, else_branch})),
         "rule.branches[0].when: required: the condition of this branch"},
        {policy_params(json::array({{{"when", "a > 1"}, {"tier", "key"}, {"then", 1}}, else_branch})),
         "rule.branches[0].then: unknown key; expected one of: when, tier (or else, in the last branch)"},
        {policy_params(json::array({{{"when", 5}, {"tier", "key"}}, else_branch})),
         "rule.branches[0].when: must be a string, got 5"},
        {policy_params(json::array({"a > 1", else_branch})), "rule.branches[0]: must be an object, got \"a > 1\""},
        {policy_params(json::array()), "rule.branches: must be a non-empty array, got []"},
        {policy_params(json::object()), "rule.branches: must be a non-empty array, got {}"},
        {json{{"kind", "expression"}, {"tier_names", {"key", "high", "ordinary"}}},
         "rule.branches: required: an ordered list of {\"when\": condition, \"tier\": tier} ending with {\"else\": "
         "tier}"},
        {json{{"kind", "expression"}, {"branches", json::array({else_branch})}},
         "rule.tier_names: required: the policy's tier names, best first"},
        {json{{"kind", "expression"}, {"branches", json::array({else_branch})}, {"tier_names", {"key", "high"}}},
         "rule.tier_names: must be an array of the 3 tier names, got [\"key\",\"high\"]"},
        {json{{"kind", "expression"}, {"branches", json::array({else_branch})}, {"tier_names", {"key", 2, "x"}}},
         "rule.tier_names[1]: must be a string, got 2"},
        {json{{"kind", "expression"},
              {"branches", json::array({else_branch})},
              {"tier_names", {"key", "high", "ordinary"}},
              {"cuts", {1}}},
         "rule.cuts: unknown key; expected one of: kind, branches"},
        {policy_params(json::array({good_when, {{"when", "a >"}, {"tier", "high"}}, else_branch})),
         "rule.branches[1].when: expected a number, column or '(', got end of text at position 4\n  a >\n     ^"},
    };
    for (const auto& [params, message] : cases) EXPECT_EQ(factory_error(params), message) << params.dump();
    // The score the policy adds to every rule object is accepted (expressions name their columns).
    json with_score = policy_params(json::array({good_when, else_branch}));
    with_score["score"] = "value";
    EXPECT_EQ(factory_error(with_score), "no error");
}

TEST(ExpressionRule, DirectConstructionChecksTierIndices) {
    try {
        ExpressionRule rule({{"a > 1", 0}, {"a > 0", 4}}, 1, 3, "policy.rule");
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_STREQ(e.what(), "policy.rule.branches[1].tier: must be a tier index 0..2, got 4");
    }
    try {
        ExpressionRule rule({{"a > 1", 0}}, 3, 3, "policy.rule");
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_STREQ(e.what(), "policy.rule.branches[1].else: must be a tier index 0..2, got 3");
    }
    ExpressionRule rule({{"a > 1", 0}}, 2, 3, "policy.rule");
    EXPECT_EQ(assign(rule, Data({{"a", {2, 1}}})).tier, (std::vector<std::int32_t>{0, 2}));
}

// ---- serialization --------------------------------------------------------------

namespace {

std::locale nonfinite(const std::locale& base) {
    std::locale with_put(base, new boost::math::nonfinite_num_put<char>);
    return std::locale(with_put, new boost::math::nonfinite_num_get<char>);
}

template <class OArchive, class IArchive>
std::shared_ptr<Rule> round_trip(const std::shared_ptr<Rule>& rule) {
    std::stringstream stream;
    stream.imbue(nonfinite(stream.getloc()));
    {
        OArchive out(stream, boost::archive::no_codecvt);
        out << boost::serialization::make_nvp("rule", rule);
    }
    std::shared_ptr<Rule> loaded;
    {
        IArchive in(stream, boost::archive::no_codecvt);
        in >> boost::serialization::make_nvp("rule", loaded);
    }
    return loaded;
}

}  // namespace

TEST(ExpressionRule, SerializationRoundTripGivesIdenticalTiers) {
    const std::size_t n = 3000;
    std::vector<double> m(n), f(n);
    for (std::size_t i = 0; i < n; ++i) {
        m[i] = static_cast<double>((i * 7919) % 2003) * 1.5;
        f[i] = static_cast<double>((i * 31) % 40);
        if (i % 101 == 3) m[i] = NaN;
    }
    Data d({{"monetary_value", m}, {"frequency", f}});
    // Conditions with XML's special characters (< > & quotes) and a pct() curve.
    std::shared_ptr<Rule> rule =
        make(json::array({{{"when", "monetary_value >= 2500 and frequency >= 12"}, {"tier", "key"}},
                          {{"when", "pct(monetary_value) > 0.8 or frequency in [1, 2, 3]"}, {"tier", "high"}},
                          {{"when", "`monetary_value` / max(frequency, 1) < 10 and not frequency != 0"}, {"tier", 1}},
                          {{"else", "ordinary"}}}));
    rule->fit(d.input());
    const auto before = assign(*rule, d);
    const auto* original = static_cast<const ExpressionRule*>(rule.get());

    const std::vector<std::shared_ptr<Rule>> loaded = {
        round_trip<boost::archive::text_oarchive, boost::archive::text_iarchive>(rule),
        round_trip<boost::archive::xml_oarchive, boost::archive::xml_iarchive>(rule),
        round_trip<boost::archive::binary_oarchive, boost::archive::binary_iarchive>(rule)};
    for (const auto& copy : loaded) {
        ASSERT_NE(copy, nullptr);
        ASSERT_EQ(copy->kind(), "expression");
        const auto* e = dynamic_cast<const ExpressionRule*>(copy.get());
        ASSERT_NE(e, nullptr);
        EXPECT_TRUE(e->fitted());
        EXPECT_EQ(e->tiers(), 3u);
        EXPECT_EQ(e->else_tier(), 2);
        ASSERT_EQ(e->branches().size(), 3u);
        EXPECT_EQ(e->branches()[2].when, original->branches()[2].when);
        EXPECT_EQ(e->pct_columns(), original->pct_columns());
        ASSERT_EQ(e->pct_curves().size(), 1u);
        EXPECT_EQ(e->pct_curves()[0].knots, original->pct_curves()[0].knots);
        EXPECT_EQ(e->pct_curves()[0].knot_y, original->pct_curves()[0].knot_y);
        EXPECT_EQ(e->reasons(), rule->reasons());
        const auto after = assign(*copy, d);
        EXPECT_EQ(after.tier, before.tier);
        EXPECT_EQ(after.reason, before.reason);
    }
    // The three branches and the else all occur, so the comparison means something.
    for (std::int32_t code = 0; code < 4; ++code)
        EXPECT_NE(std::count(before.reason.begin(), before.reason.end(), code), 0) << code;
}

TEST(ExpressionRule, UnfittedRuleRoundTripsUnfitted) {
    std::shared_ptr<Rule> rule = make(json::array({{{"when", "a > 1"}, {"tier", "high"}}, {{"else", "key"}}}));
    auto copy = round_trip<boost::archive::xml_oarchive, boost::archive::xml_iarchive>(rule);
    const auto* e = dynamic_cast<const ExpressionRule*>(copy.get());
    ASSERT_NE(e, nullptr);
    EXPECT_FALSE(e->fitted());
    EXPECT_EQ(assign(*copy, Data({{"a", {0, 2}}})).tier, (std::vector<std::int32_t>{0, 1}));
}

// ---- through a policy and a model ---------------------------------------------------

TEST(ExpressionRule, InAPolicyFitAndAssign) {
    const auto policy = Policy::from_json(R"({
      "criteria": ["monetary_value", "frequency"],
      "rule": {"kind": "expression", "branches": [
        {"when": "monetary_value >= 1000 and frequency >= 12", "tier": "key"},
        {"when": "score > 40 or pct(frequency) == 1", "tier": "high"},
        {"else": "ordinary"}]},
      "tiers": ["key", "high", "ordinary"]})");
    Data d({{"monetary_value", {5000, 10, 300, 20}}, {"frequency", {20, 30, 5, 1}}});
    const auto model = fit(policy, d.table);
    const auto a = model.assign(d.table, {.with_contributions = false});
    // Scores (equal weights, percentiles): 83.3, 50, 50, 16.7 -> high for rows 1 and 2.
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 1, 1, 2}));
    EXPECT_EQ(a.reason, (std::vector<std::int32_t>{0, 1, 1, 2}));
    EXPECT_EQ(a.reasons.at(1), "expression: score > 40 or pct(frequency) == 1");
    EXPECT_EQ(a.rule_kind, "expression");
    try {
        Policy::from_json(R"({"criteria": ["m"], "rule": {"kind": "expression", "branches": [
            {"when": "m > 1", "tier": "gold"}, {"else": "b"}]}, "tiers": ["a", "b"]})");
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_STREQ(e.what(), "rule.branches[0].tier: unknown tier 'gold'; tiers: a, b");
    }
}

// ---- inputs found by the fuzzer (tests/fuzz/fuzz_expression.cpp) ----------------------
// These run clean without sanitizers; under -fsanitize=address,undefined (as the
// fuzzer runs) each failed before its fix.

// "a > 1e308 * 10": no program needs a number register, so the number register
// file was empty and a condition instruction writing register 1 also formed
// "numbers.data() + 1 * kBlock" from a null pointer (UBSan: non-zero offset to null).
TEST(ExpressionRuleFuzzRegression, NoNumberRegistersAtAll) {
    auto rule = make(json::array({{{"when", "a > 1e308 * 10"}, {"tier", 0}},
                                  {{"when", "a > 2 and not `x y` in [4]"}, {"tier", 1}},
                                  {{"else", 2}}}));
    EXPECT_EQ(rule->programs()[0].number_slots, 0u);
    EXPECT_EQ(rule->programs()[1].number_slots, 0u);
    EXPECT_EQ(rule->programs()[1].condition_slots, 3u);
    Data d({{"a", {inf, 3, 3, 1}}, {"x y", {0, 4, 5, 0}}});
    // 1e308 * 10 is inf and nothing is > inf, so the first branch never holds.
    EXPECT_EQ(assign(*rule, d).tier, (std::vector<std::int32_t>{1, 2, 1, 2}));
    EXPECT_EQ(assign(*rule, d).reason, (std::vector<std::int32_t>{1, 2, 1, 2}));
}

// "not (6 > 1 or b > 0) and (c == 7 or pct(`x y`) < 0.25)": the condition folds to
// false, so the compiler never emitted pct(`x y`) and fit learned no curve for it,
// while the text names it. Columns now come from the text, not the compiled code:
// each is checked at fit and every pct() column is fitted.
TEST(ExpressionRuleFuzzRegression, ColumnsInFoldedCodeAreStillColumns) {
    auto rule = make(json::array(
        {{{"when", "not (6 > 1 or b > 0) and (c == 7 or pct(`x y`) < 0.25)"}, {"tier", 0}}, {{"else", 1}}}));
    EXPECT_EQ(rule->programs()[0].code.size(), 0u);
    EXPECT_EQ(rule->columns(), (std::vector<std::string>{"b", "c", "x y"}));
    EXPECT_EQ(rule->pct_columns(), (std::vector<std::string>{"x y"}));
    Data d({{"b", {1, 2}}, {"c", {7, 7}}, {"x y", {3, 4}}});
    rule->fit(d.input());
    ASSERT_EQ(rule->pct_curves().size(), 1u);
    EXPECT_EQ(rule->pct_curves()[0].knots, (std::vector<double>{3, 4}));
    EXPECT_EQ(assign(*rule, d).tier, (std::vector<std::int32_t>{1, 1}));
    auto typo = make(json::array({{{"when", "1 > 2 and bb > 0"}, {"tier", 0}}, {{"else", 1}}}));
    EXPECT_THROW(typo->fit(d.input()), UnknownColumn);
}

// Two inputs that broke the fuzzer's own message check (names and quoted tokens
// may contain " at position " and "; scores: "): the messages are right, and
// invalid UTF-8 in them shows as '?', one per byte.
TEST(ExpressionRuleFuzzRegression, MessagesQuoteArbitraryText) {
    EXPECT_EQ(error_of("betweePi`x  at position y`, \xcb, 4)-o1, 2, 3]"),
              "rule.branches[0].when: expected an operator or end of text, got '`x  at position y`' at position 9\n"
              "  betweePi`x  at position y`, ?, 4)-o1, 2, 3]\n"
              "          ^");
    const std::string junk =
        std::string(26, '\x90') + "[" + std::string(16, '\x90') + "\xff\xff[\x90; scores: " + std::string(4, '\x90');
    const std::string shown = std::string(26, '?') + "[" + std::string(16, '?') + "??[?; scores: ????";
    auto rule = make(json::array({{{"when", "`" + junk + "` >= 0"}, {"tier", 0}}, {{"else", 1}}}));
    try {
        rule->fit(Data({{"a", {1}}}, {{"value", {2}}}).input());
        FAIL() << "expected UnknownColumn";
    } catch (const UnknownColumn& e) {
        EXPECT_EQ(std::string(e.what()), "rule.branches[0].when: unknown score or column '" + shown +
                                             "' at position 1; scores: value; columns: a\n  `" + shown + "` >= 0\n  ^");
    }
}

// ---- labelled columns -----------------------------------------------------------

namespace {

/// industry: retail, energy, missing, services, energy (codes into sorted labels);
/// region: north, south, north, south, north; revenue 10..50.
Data labelled() {
    Data d({{"revenue", {10, 20, 30, 40, 50}}});
    d.table.add_category("industry", {1, 0, -1, 2, 0}, {"energy", "retail", "services"});
    d.table.add_category("region", {0, 1, 0, 1, 0}, {"north", "south"});
    return d;
}

template <class E>
std::string thrown(const std::function<void()>& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(ExpressionLabels, InAndEqualityOverALabelledColumn) {
    const Data d = labelled();
    EXPECT_EQ(holds("industry in ['retail', 'energy']", d), (std::vector<int>{1, 1, 0, 0, 1}));
    EXPECT_EQ(holds("industry in [\"retail\", \"energy\"]", d), (std::vector<int>{1, 1, 0, 0, 1}));
    EXPECT_EQ(holds("industry == 'energy'", d), (std::vector<int>{0, 1, 0, 0, 1}));
    // A missing label is in no list and in no complement, as NaN is.
    EXPECT_EQ(holds("industry != 'energy'", d), (std::vector<int>{1, 0, 0, 1, 0}));
    EXPECT_EQ(holds("industry not in ['energy', 'retail']", d), (std::vector<int>{0, 0, 0, 1, 0}));
    EXPECT_EQ(holds("not industry in ['energy']", d), (std::vector<int>{1, 0, 1, 1, 0}));
    EXPECT_EQ(holds("industry in ['energy'] and region == 'north' and revenue > 20", d),
              (std::vector<int>{0, 0, 0, 0, 1}));
    EXPECT_EQ(holds("region == 'south' or `industry` == 'retail'", d), (std::vector<int>{1, 1, 0, 1, 0}));
    EXPECT_EQ(holds("industry in ['energy', 'energy', 'mining']", d), (std::vector<int>{0, 1, 0, 0, 1}));
}

TEST(ExpressionLabels, LabelsAreMatchedAgainstEachTablesOwnLabels) {
    auto rule =
        make(json::array({{{"when", "industry in ['mining', 'energy']"}, {"tier", 0}}, {{"else", 1}}}), {"yes", "no"});
    const Data d = labelled();
    rule->fit(d.input());
    ASSERT_EQ(rule->warnings().size(), 1u);
    EXPECT_EQ(rule->warnings()[0],
              "rule.branches[0].when: column 'industry' has no label 'mining' in the fit data (labels: energy, retail, "
              "services)");
    EXPECT_EQ(rule->inputs(), (std::vector<std::string>{"industry"}));
    // A later table with other codes and a label the fit data lacked.
    Data later({{"revenue", {1, 2, 3}}});
    later.table.add_category("industry", {0, 1, 2}, {"mining", "retail", "energy"});
    EXPECT_EQ(assign(*rule, later).tier, (std::vector<std::int32_t>{0, 1, 0}));
    // Saved and loaded: the conditions compile again.
    const auto loaded = round_trip<boost::archive::text_oarchive, boost::archive::text_iarchive>(
        std::shared_ptr<Rule>(std::move(rule)));
    EXPECT_EQ(assign(*loaded, later).tier, (std::vector<std::int32_t>{0, 1, 0}));
}

TEST(ExpressionLabels, SyntaxErrorsArePolicyErrorsWithThePosition) {
    EXPECT_EQ(
        error_of("industry == 'retail"),
        "rule.branches[0].when: expected ' to close the label opened at position 13, got end of text at position 20\n"
        "  industry == 'retail\n"
        "                     ^");
    EXPECT_EQ(error_of("industry in ['retail', 3]"),
              "rule.branches[0].when: expected a label in quotes, got '3' at position 24\n"
              "  industry in ['retail', 3]\n"
              "                         ^");
    EXPECT_EQ(error_of("'retail' == industry"),
              "rule.branches[0].when: a label is compared with a labelled column: column == 'label' or column in ['a', "
              "'b'], got ''retail'' at position 1\n"
              "  'retail' == industry\n"
              "  ^");
    EXPECT_EQ(error_of("revenue * 2 in ['a']"),
              "rule.branches[0].when: 'in' with labels needs a column name on the left, got a number at position 1\n"
              "  revenue * 2 in ['a']\n"
              "  ^");
    EXPECT_EQ(error_of("industry == ''"),
              "rule.branches[0].when: expected a label between the quotes, got '' at position 13\n"
              "  industry == ''\n"
              "              ^");
    EXPECT_NE(error_of("industry == 'a' == 'b'").find("comparisons do not chain"), std::string::npos);
}

TEST(ExpressionLabels, ColumnsReadTheWrongWayAreTypedErrors) {
    const Data d = labelled();
    auto as_number =
        make(json::array({{{"when", "revenue > 0 and industry > 1"}, {"tier", 0}}, {{"else", 1}}}), {"y", "n"});
    EXPECT_EQ(thrown<InvalidInput>([&] { as_number->fit(d.input()); }),
              "rule.branches[0].when: column 'industry' holds labels; compare it with labels: industry == 'label' or "
              "industry in ['a', 'b'] at position 17\n"
              "  revenue > 0 and industry > 1\n"
              "                  ^");
    auto as_labels = make(json::array({{{"when", "revenue == 'high'"}, {"tier", 0}}, {{"else", 1}}}), {"y", "n"});
    EXPECT_EQ(
        thrown<InvalidInput>([&] { as_labels->fit(d.input()); }),
        "rule.branches[0].when: column 'revenue' holds numbers, not labels; compare it with numbers at position 1\n"
        "  revenue == 'high'\n"
        "  ^");
    auto unknown = make(json::array({{{"when", "sector in ['x']"}, {"tier", 0}}, {{"else", 1}}}), {"y", "n"});
    EXPECT_EQ(
        thrown<UnknownColumn>([&] { unknown->fit(d.input()); }),
        "rule.branches[0].when: unknown labelled column 'sector' at position 1; labelled columns: industry, region\n"
        "  sector in ['x']\n"
        "  ^");
}
