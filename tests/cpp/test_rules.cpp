// thresholds, quantiles and abc: cut points, ties and the straddling customer.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/abc.hpp"
#include "tierkit/rules/builtin/quantiles.hpp"
#include "tierkit/rules/builtin/thresholds.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;

namespace {
struct RuleRun {
    FeatureTable table;
    std::vector<std::string> names{"score"};
    std::vector<std::vector<double>> scores;
    std::vector<std::int32_t> tier, reason;
    explicit RuleRun(std::vector<double> score, std::vector<double> revenue = {}) {
        std::vector<std::int64_t> ids(score.size());
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
        table = FeatureTable(ids);
        if (revenue.empty()) revenue = score;
        table.add_column("revenue", revenue);
        scores.push_back(std::move(score));
    }
    RuleInput input() const { return RuleInput{table, names, scores}; }
    void go(Rule& r) {
        r.fit(input());
        tier.assign(table.rows(), -1);
        reason.assign(table.rows(), -1);
        r.assign(input(), tier, reason);
    }
};
}  // namespace

TEST(ThresholdRule, EqualToACutIsTheHigherTier) {
    RuleRun run({95, 80, 79.9, 30, 0});
    ThresholdRule r("score", {80, 60, 30});
    run.go(r);
    EXPECT_EQ(run.tier, (std::vector<std::int32_t>{0, 0, 1, 2, 3}));
    EXPECT_EQ(r.reasons()[1], "thresholds: score >= 60");
    EXPECT_EQ(r.reasons()[3], "thresholds: score < 30");
}

TEST(ThresholdRule, BlockedCountEqualsFirstCutReached) {
    // assign_by_cuts counts the cuts a value is not >= (vectorized); tier_of returns
    // the first cut it is >=. They agree on non-increasing cuts (ties between cuts,
    // infinities, NaN values), and non-monotone cuts fall back to tier_of.
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> values;
    for (int i = 0; i < 5000; ++i) values.push_back(((i * 7919) % 1000) / 10.0);  // 0.0 .. 99.9, each cut hit exactly
    values.insert(values.end(), {nan, inf, -inf, 50.0, 49.999999999999993, -0.0});
    const std::vector<std::vector<double>> cut_sets = {
        {}, {50}, {90, 50, 50, 10}, {inf, 50, -inf}, {80, 60, 40, 20, 0}, {20, 60, 40} /* not monotone */};
    for (const auto& cuts : cut_sets) {
        std::vector<std::int32_t> tier(values.size(), -9), reason(values.size(), -9);
        assign_by_cuts(values, cuts, tier, reason);
        for (std::size_t i = 0; i < values.size(); ++i) {
            ASSERT_EQ(tier[i], tier_of(values[i], cuts)) << "value " << values[i] << ", " << cuts.size() << " cuts";
            ASSERT_EQ(reason[i], tier[i]);
        }
    }
    // Hand-checked rows: NaN is below every cut, equal cuts skip the empty tier.
    std::vector<std::int32_t> tier(4), reason(4);
    assign_by_cuts(std::vector<double>{nan, 50.0, 49.0, 95.0}, {90, 50, 50, 10}, tier, reason);
    EXPECT_EQ(tier, (std::vector<std::int32_t>{4, 1, 3, 0}));
}

TEST(QuantileRule, TopSharesOnDistinctScores) {
    std::vector<double> s(100);
    for (int i = 0; i < 100; ++i) s[i] = i;  // 0..99
    RuleRun run(s);
    QuantileRule r("score", {0.05, 0.15});
    run.go(r);
    // top 5 (95..99) -> 0; next 15 (80..94) -> 1; rest -> 2
    EXPECT_EQ(r.cuts(), (std::vector<double>{95, 80}));
    int count[3] = {0, 0, 0};
    for (auto t : run.tier) ++count[t];
    EXPECT_EQ(count[0], 5);
    EXPECT_EQ(count[1], 15);
    EXPECT_EQ(count[2], 80);
    EXPECT_EQ(r.reasons()[0], "quantiles: score >= 95 (top 5%)");
}

TEST(QuantileRule, TiesAtACutStayInTheHigherTier) {
    // 10 customers, top 20% = 2, but three share the 2nd-highest score.
    RuleRun run({100, 90, 90, 90, 50, 40, 30, 20, 10, 0});
    QuantileRule r("score", {0.2});
    run.go(r);
    EXPECT_EQ(r.cuts(), (std::vector<double>{90}));
    EXPECT_EQ(run.tier, (std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
}

TEST(QuantileRule, TinyQuotaGivesAnEmptyTier) {
    RuleRun run({3, 2, 1});
    QuantileRule r("score", {0.01, 0.5});
    run.go(r);
    EXPECT_TRUE(std::isinf(r.cuts()[0]));
    EXPECT_EQ(run.tier, (std::vector<std::int32_t>{1, 1, 2}));  // round(0.51 * 3) = 2
}

TEST(AbcRule, ParetoCutWithStraddler) {
    // revenue 50, 30, 10, 5, 3, 2 (total 100). A while the share before < 80%: 50 (0%), 30 (50%) -> A.
    // 10 (80%) -> B (80 < 95), 5 (90%) -> B, 3 (95%) -> C, 2 -> C.
    RuleRun run({0, 0, 0, 0, 0, 0}, {10, 50, 2, 30, 5, 3});
    AbcRule r("revenue", {0.8, 0.95});
    run.go(r);
    EXPECT_EQ(run.tier, (std::vector<std::int32_t>{1, 0, 2, 0, 1, 2}));
    // straddler: 50, 40, 10 -> 40 starts at 50% and crosses 80%: it is still A
    RuleRun run2({0, 0, 0}, {50, 40, 10});
    AbcRule r2("revenue", {0.8, 0.95});
    run2.go(r2);
    EXPECT_EQ(run2.tier, (std::vector<std::int32_t>{0, 0, 1}));
    EXPECT_EQ(r2.thresholds(), (std::vector<double>{40, 10}));
}

TEST(AbcRule, IsNotTopTwentyPercent) {
    // one customer holds 90%: A is that one customer (10% of customers), not the top 20%.
    RuleRun run({0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {900, 20, 20, 10, 10, 10, 10, 10, 5, 5});
    AbcRule r("revenue", {0.8, 0.95});
    run.go(r);
    int a = 0;
    for (auto t : run.tier) a += t == 0;
    EXPECT_EQ(a, 1);
}

TEST(AbcRule, ZeroTotalPutsEveryoneLast) {
    RuleRun run({0, 0}, {0, -5});
    AbcRule r("revenue", {0.8, 0.95});
    run.go(r);
    EXPECT_EQ(run.tier, (std::vector<std::int32_t>{2, 2}));
}

TEST(RuleInput, UnknownSourceListsScoresAndColumns) {
    RuleRun run({1, 2});
    ThresholdRule r("nope", {1});
    try {
        run.go(r);
        FAIL();
    } catch (const UnknownColumn& e) {
        EXPECT_STREQ(e.what(), "unknown score or column 'nope'; scores: score; columns: revenue");
    }
}

TEST(Registry, BuiltinsAreRegisteredAndUnknownKindIsNamed) {
    auto kinds = rule_kinds();
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "abc"), kinds.end());
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "quantiles"), kinds.end());
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "thresholds"), kinds.end());
    try {
        make_rule("magic", nlohmann::json::object(), "rule", 3);
        FAIL();
    } catch (const PolicyError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("rule.kind: unknown rule 'magic'; registered: abc, chain, ", 0), 0u) << msg;
        EXPECT_EQ(msg,
                  "rule.kind: unknown rule 'magic'; registered: abc, chain, expression, kmeans, matrix, override, "
                  "quantiles, rfm_segments, thresholds");
    }
}
