// fit -> assign end to end, with scores computed by hand.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <span>
#include <thread>

#include "tierkit/core/error.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/model.hpp"

using namespace tierkit;

namespace {
FeatureTable small_table() {
    FeatureTable t(std::vector<std::int64_t>{11, 12, 13, 14});
    t.add_column("revenue", {100, 300, 500, 900});
    t.add_column("days_since_last", {40, 10, 20, 0});
    return t;
}
}  // namespace

TEST(Model, WeightedSumByHand) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "revenue", "normalizer": "minmax", "weight": 3},
                   {"column": "days_since_last", "direction": "lower", "normalizer": "minmax", "weight": 1}],
      "rule": {"kind": "thresholds", "cuts": [70, 30]},
      "tiers": [{"name": "key", "mode": "strategic", "actions": ["call"]}, "mid", "low"]})");
    auto t = small_table();
    Model m = fit(p, t);
    ASSERT_EQ(m.scores()[0].weights.size(), 2u);
    EXPECT_DOUBLE_EQ(m.scores()[0].weights[0], 0.75);
    auto a = m.assign(t);
    // revenue minmax: 0, .25, .5, 1; recency (lower): 0, .75, .5, 1
    const double expect[] = {0, 100 * (0.75 * 0.25 + 0.25 * 0.75), 100 * (0.75 * 0.5 + 0.25 * 0.5), 100};
    for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(a.scores[0][i], expect[i], 1e-12) << i;
        EXPECT_NEAR(a.contributions[0][0][i] + a.contributions[0][1][i], a.scores[0][i], 1e-12);
    }
    EXPECT_NEAR(a.contributions[0][0][1], 75 * 0.25, 1e-12);
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{2, 1, 1, 0}));  // 0, 37.5, 50, 100 against cuts 70, 30
    EXPECT_EQ(a.tier_names[0], "key");
    EXPECT_EQ(a.tier_modes[0], "strategic");
    EXPECT_EQ(a.tier_actions[0], (std::vector<std::string>{"call"}));
    EXPECT_EQ(a.reasons[a.reason[3]], "thresholds: score >= 70");
    EXPECT_EQ(a.ids, (std::vector<std::int64_t>{11, 12, 13, 14}));

    auto s = summarize_tiers(a, t.column("revenue"));
    EXPECT_EQ(s.customers, (std::vector<std::int64_t>{1, 2, 1}));
    EXPECT_DOUBLE_EQ(s.revenue_share[0], 900.0 / 1800.0);
    EXPECT_DOUBLE_EQ(s.customer_share[1], 0.5);
    EXPECT_DOUBLE_EQ(s.mean_score[1], (37.5 + 50) / 2);
}

TEST(Model, TopsisByHand) {
    auto p = Policy::from_json(R"({
      "method": "topsis",
      "criteria": [{"column": "revenue", "normalizer": "minmax", "weight": 1},
                   {"column": "days_since_last", "direction": "lower", "normalizer": "minmax", "weight": 1}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["top", "rest"]})");
    auto t = small_table();
    auto a = fit(p, t).assign(t);
    // customer 12: y = (.25, .75), w = .5 each; ideal (1,1), anti (0,0)
    const double dp = std::sqrt(std::pow(0.5 * 0.75, 2) + std::pow(0.5 * 0.25, 2));
    const double dm = std::sqrt(std::pow(0.5 * 0.25, 2) + std::pow(0.5 * 0.75, 2));
    EXPECT_NEAR(a.scores[0][1], 100 * dm / (dp + dm), 1e-12);
    EXPECT_NEAR(a.scores[0][0], 0, 1e-12);
    EXPECT_NEAR(a.scores[0][3], 100, 1e-12);
    EXPECT_NEAR(a.contributions[0][0][1] + a.contributions[0][1][1], a.scores[0][1], 1e-12);
}

TEST(Model, SeveralScoresAndAhpWeights) {
    auto p = Policy::from_json(R"({
      "scores": [
        {"name": "value", "criteria": ["revenue", {"column": "days_since_last", "direction": "lower"}],
         "weights": {"method": "ahp", "matrix": [[1, 3], [0.3333333333333333, 1]]}},
        {"name": "potential", "criteria": ["days_since_last"], "weights": {"method": "manual"}}],
      "rule": {"kind": "quantiles", "score": "potential", "shares": [0.25]},
      "tiers": ["a", "b"]})");
    auto t = small_table();
    Model m = fit(p, t);
    EXPECT_NEAR(m.scores()[0].weights[0], 0.75, 1e-9);
    EXPECT_NEAR(m.scores()[0].ahp_lambda_max, 2.0, 1e-9);
    EXPECT_NEAR(m.scores()[0].ahp_consistency_ratio, 0.0, 1e-12);
    auto a = m.assign(t);
    ASSERT_EQ(a.score_names, (std::vector<std::string>{"value", "potential"}));
    // potential = percentile of days_since_last: 0, 1/3, 2/3, 1 for 0, 10, 20, 40
    EXPECT_NEAR(a.scores[1][3], 0, 1e-12);
    EXPECT_NEAR(a.scores[1][0], 100, 1e-12);
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 1, 1, 1}));  // quota on "potential", top 25% = 1 customer
}

TEST(Model, EntropyAndCriticWeightsComeFromTheData) {
    auto t = small_table();
    for (const char* method : {"entropy", "critic"}) {
        auto p = Policy::from_json(
            std::string(R"({"criteria": ["revenue", {"column": "days_since_last", "direction": "lower"}],
          "weights": {"method": ")") +
            method + R"("}, "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]}})");
        auto m = fit(p, t);
        const auto& w = m.scores()[0].weights;
        EXPECT_NEAR(w[0] + w[1], 1.0, 1e-12) << method;
        EXPECT_GT(w[0], 0) << method;
        EXPECT_GT(w[1], 0) << method;
    }
}

TEST(Model, UnknownColumnListsTheAvailableOnes) {
    auto p = Policy::from_json(
        R"({"criteria": ["revenue", "margin"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]}})");
    try {
        fit(p, small_table());
        FAIL();
    } catch (const UnknownColumn& e) {
        EXPECT_STREQ(e.what(),
                     "score 'score', criteria[1].column: unknown column 'margin'; available: revenue, days_since_last");
    }
}

TEST(Model, InconsistentAhpIsRejectedUnlessAccepted) {
    const std::string matrix = R"([[1, 9, 1], [0.1111111111111111, 1, 9], [1, 0.1111111111111111, 1]])";
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3});
    t.add_column("a", {1, 2, 3});
    t.add_column("b", {3, 1, 2});
    t.add_column("c", {2, 3, 1});
    // Checked when the policy is built (AHP weights need no data), naming the JSON path.
    try {
        (void)Policy::from_json(R"({"criteria": ["a", "b", "c"], "weights": {"method": "ahp", "matrix": )" + matrix +
                                R"(}, "tiers": ["x", "y"], "rule": {"kind": "quantiles", "shares": [0.5]}})");
        FAIL();
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("weights: consistency ratio ", 0), 0u) << e.what();
    }
    auto q = Policy::from_json(
        R"({"criteria": ["a", "b", "c"], "weights": {"method": "ahp", "accept_inconsistent": true, "matrix": )" +
        matrix + R"(}, "tiers": ["x", "y"], "rule": {"kind": "quantiles", "shares": [0.5]}})");
    auto m = fit(q, t);
    EXPECT_GT(m.scores()[0].ahp_consistency_ratio, 0.1);
}

TEST(Model, DefaultPolicyOnSyntheticData) {
    SyntheticOptions o;
    o.customers = 20000;
    o.seed = 7;
    auto d = synthetic(o);
    auto s = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity});
    EXPECT_EQ(s.features.rows() + static_cast<std::size_t>(s.report.rejected_customers), 20000u);
    auto m = fit(Policy::default_policy(), s.features);
    auto a = m.assign(s.features);
    auto sum = summarize_tiers(a, s.features.column("revenue"));
    // quotas 5/15/50/30 within ties
    EXPECT_NEAR(sum.customer_share[0], 0.05, 0.01);
    EXPECT_NEAR(sum.customer_share[1], 0.15, 0.01);
    // the Pareto view: the key tier carries far more than its share of revenue
    EXPECT_GT(sum.revenue_share[0], 3 * sum.customer_share[0]);
    EXPECT_GT(sum.mean_score[0], sum.mean_score[1]);
    EXPECT_GT(sum.mean_score[1], sum.mean_score[2]);
    EXPECT_GT(sum.mean_score[2], sum.mean_score[3]);
    // whales (type 3) land in key or high-value far more often than occasional buyers (type 0)
    double whale_top = 0, whales = 0, occ_top = 0, occ = 0;
    for (std::size_t i = 0; i < a.ids.size(); ++i) {
        const auto type = d.type[static_cast<std::size_t>(a.ids[i] - 1)];
        if (type == 3) {
            whales += 1;
            whale_top += a.tier[i] <= 1;
        }
        if (type == 0) {
            occ += 1;
            occ_top += a.tier[i] <= 1;
        }
    }
    EXPECT_GT(whale_top / whales, 3 * occ_top / occ);
}

TEST(Model, AssignFromManyThreadsMatchesSerial) {
    SyntheticOptions o;
    o.customers = 5000;
    auto d = synthetic(o);
    auto s = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity});
    const Model m = fit(Policy::default_policy(), s.features);
    const auto serial = m.assign(s.features);
    std::vector<Assignment> out(4);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k) threads.emplace_back([&, k] { out[k] = m.assign(s.features); });
    for (auto& th : threads) th.join();
    for (const auto& a : out) {
        EXPECT_EQ(a.tier, serial.tier);
        EXPECT_EQ(a.scores, serial.scores);
    }
}

TEST(Synthetic, DeterministicAndIndependentOfThreads) {
    SyntheticOptions o;
    o.customers = 70000;  // more than one chunk
    o.seed = 3;
    o.threads = 1;
    auto a = synthetic(o);
    o.threads = 4;
    auto b = synthetic(o);
    EXPECT_EQ(a.customer, b.customer);
    EXPECT_EQ(a.day, b.day);
    EXPECT_EQ(a.amount, b.amount);
    o.seed = 4;
    auto c = synthetic(o);
    EXPECT_NE(a.amount, c.amount);
    // every customer has at least one purchase, rows sorted by customer then day
    EXPECT_EQ(a.type.size(), 70000u);
    for (std::size_t i = 1; i < a.customer.size(); ++i) {
        ASSERT_LE(a.customer[i - 1], a.customer[i]);
        if (a.customer[i - 1] == a.customer[i]) ASSERT_LE(a.day[i - 1], a.day[i]);
    }
    EXPECT_THROW(synthetic(SyntheticOptions{.customers = -1}), InvalidInput);
}

TEST(Model, BitIdenticalAtAnyThreadCount) {
    SyntheticOptions o;
    o.customers = 200000;  // several 65,536-row ranges
    auto d = synthetic(o);
    auto s = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity});
    std::vector<Assignment> runs;
    for (const char* threads : {"1", "2", "4"}) {
        setenv("TIERKIT_NUM_THREADS", threads, 1);
        const Model m = fit(Policy::default_policy(), s.features);
        runs.push_back(m.assign(s.features));
    }
    unsetenv("TIERKIT_NUM_THREADS");
    for (std::size_t r = 1; r < runs.size(); ++r) {
        EXPECT_EQ(runs[r].scores, runs[0].scores);
        EXPECT_EQ(runs[r].contributions, runs[0].contributions);
        EXPECT_EQ(runs[r].tier, runs[0].tier);
    }
}

TEST(Model, AssignOptionsChooseContributionsOverridesAndThreads) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "revenue", "normalizer": "minmax", "weight": 3},
                   {"column": "days_since_last", "direction": "lower", "normalizer": "minmax", "weight": 1}],
      "rule": {"kind": "thresholds", "cuts": [70, 30]}, "tiers": ["key", "mid", "low"]})");
    const auto t = small_table();
    const Model m = fit(p, t);
    const Assignment plain = m.assign(t);  // the defaults: contributions, no overrides
    ASSERT_EQ(plain.contributions[0].size(), 2u);
    EXPECT_TRUE(plain.pinned.empty());
    EXPECT_TRUE(plain.rule_reason.empty());

    const Assignment lean = m.assign(t, {.with_contributions = false});
    EXPECT_TRUE(lean.contributions[0].empty());
    EXPECT_EQ(lean.scores, plain.scores);

    // Overrides given, even none: rule_reason and pinned are filled.
    const Assignment none = m.assign(t, {.overrides = std::span<const ManualOverride>{}});
    EXPECT_EQ(none.pinned, (std::vector<std::uint8_t>{0, 0, 0, 0}));
    EXPECT_EQ(none.rule_reason, (std::vector<std::int32_t>(plain.reason.begin(), plain.reason.end())));
    // Customer 11 (tier low) pinned to key until day 100: applies on day 100, not on day 101.
    const std::vector<ManualOverride> pins{{11, 0, "contract", 100}};
    const Assignment pinned = m.assign(t, {.overrides = pins, .as_of = 100});
    EXPECT_EQ(pinned.tier, (std::vector<std::int32_t>{0, 1, 1, 0}));
    EXPECT_EQ(pinned.reasons[pinned.reason[0]], "manual: contract");
    const Assignment expired = m.assign(t, {.overrides = pins, .as_of = 101});
    EXPECT_EQ(expired.tier, plain.tier);
    EXPECT_EQ(expired.overrides_expired, 1);

    // A per-call thread count changes no bit.
    SyntheticOptions o;
    o.customers = 150000;
    auto d = synthetic(o);
    const auto f = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity}).features;
    const Model big = fit(Policy::default_policy(), f);
    const Assignment one = big.assign(f, {.threads = 1});
    const Assignment three = big.assign(f, {.threads = 3});
    EXPECT_EQ(one.scores, three.scores);
    EXPECT_EQ(one.contributions, three.contributions);
    EXPECT_EQ(one.tier, three.tier);
    EXPECT_EQ(one.reason, three.reason);
}

TEST(Model, ThreadLimitSetsTheCallersThreadsOnly) {
    set_num_threads(2);
    {
        const ThreadLimit limit(3);
        EXPECT_EQ(num_threads(), 3u);
        std::atomic<int> ranges{0};
        parallel_for(
            300, [&](std::size_t, std::size_t) { ++ranges; }, 1);
        EXPECT_EQ(ranges.load(), 3);
        unsigned other = 0;
        std::thread([&] { other = num_threads(); }).join();
        EXPECT_EQ(other, 2u);  // another thread keeps the process-wide count
        {
            const ThreadLimit unchanged(0);
            EXPECT_EQ(num_threads(), 3u);
        }
    }
    EXPECT_EQ(num_threads(), 2u);
    set_num_threads(0);
}

TEST(Model, AssignmentReadsScoresByName) {
    auto p = Policy::from_json(R"({
      "scores": [
        {"name": "value", "criteria": ["revenue", {"column": "days_since_last", "direction": "lower"}]},
        {"name": "potential", "criteria": ["days_since_last"]}],
      "rule": {"kind": "quantiles", "score": "potential", "shares": [0.25]},
      "tiers": ["a", "b"]})");
    const auto t = small_table();
    const Assignment a = fit(p, t).assign(t);
    EXPECT_EQ(a.score_index("potential"), 1u);
    EXPECT_EQ(a.score("potential").data(), a.scores[1].data());
    EXPECT_EQ(a.score("value").data(), a.scores[0].data());
    EXPECT_EQ(a.contribution("value", "days_since_last").data(), a.contributions[0][1].data());
    try {
        (void)a.score("valu");
        FAIL() << "no error";
    } catch (const UnknownColumn& e) {
        EXPECT_STREQ(e.what(), "score 'valu' is not in the assignment; scores: value, potential");
    }
    try {
        (void)a.contribution("potential", "revenue");
        FAIL() << "no error";
    } catch (const UnknownColumn& e) {
        EXPECT_STREQ(e.what(), "score 'potential' has no criterion 'revenue'; criteria: days_since_last");
    }
    try {
        (void)a.extra("p_alive");
        FAIL() << "no error";
    } catch (const UnknownColumn& e) {
        EXPECT_STREQ(e.what(), "extra column 'p_alive' is not in the assignment; extra columns: none");
    }
    const Assignment lean = fit(p, t).assign(t, {.with_contributions = false});
    EXPECT_THROW((void)lean.contribution("value", "revenue"), InvalidInput);
}

// Model::input_columns() for a policy of each rule kind whose rule reads columns the
// criteria do not (the columns a Scorer or a host's table must have).
TEST(Model, InputColumnsNameWhatEveryRuleKindReads) {
    SyntheticOptions o;
    o.customers = 600;
    o.seed = 5;
    auto d = synthetic(o);
    const auto f = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity}).features;
    struct Case {
        const char* policy;
        std::vector<std::string> columns;
    };
    const Case cases[] = {
        {R"({"criteria": ["frequency"], "rule": {"kind": "abc", "column": "revenue"}, "tiers": ["A", "B", "C"]})",
         {"frequency", "revenue"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "thresholds", "column": "aov", "cuts": [200]}, "tiers": ["a", "b"]})",
         {"revenue", "aov"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "quantiles", "column": "trend", "shares": [0.2]}, "tiers": ["a", "b"]})",
         {"revenue", "trend"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "matrix", "x": {"score": "score", "cuts": [50]},
              "y": {"column": "days_since_last", "cuts": [90]}, "cells": [["a", "b"], ["b", "c"]]}, "tiers": ["a", "b", "c"]})",
         {"revenue", "days_since_last"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "expression", "branches": [
              {"when": "margin > 100 and score > 50", "tier": "a"}, {"else": "b"}]}, "tiers": ["a", "b"]})",
         {"revenue", "margin"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "override", "base": {"kind": "abc", "column": "aov"},
              "overrides": [{"when": "orders > 20", "tier": "A", "reason": "loyal"}]}, "tiers": ["A", "B", "C"]})",
         {"revenue", "orders", "aov"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "chain",
              "first": {"kind": "thresholds", "column": "frequency", "cuts": [3], "tiers": ["key", "rest"]},
              "then": {"key": {"kind": "quantiles", "column": "margin", "shares": [0.5], "tiers": ["key", "high"]}}},
            "tiers": ["key", "high", "rest"]})",
         {"revenue", "frequency", "margin"}},
        {R"({"criteria": ["aov"], "rule": {"kind": "rfm_segments", "bins": 3,
              "segments": [{"name": "Best", "r": [3, 3], "f": [3, 3], "m": [3, 3]}], "fallback": "Others"},
            "tiers": ["Best", "Others"]})",
         {"aov", "days_since_last", "frequency", "revenue"}},
        {R"({"scores": [{"name": "value", "criteria": ["revenue", "frequency"]}], "rule": {"kind": "kmeans", "k": 2, "seed": 1},
            "tiers": ["a", "b"]})",
         {"revenue", "frequency"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "quantiles", "column": "aov", "shares": [0.5], "group_by": "region"},
            "tiers": ["a", "b"]})",
         {"revenue", "region", "aov"}},
        {R"({"clv": {"model": "bgnbd", "spend": "gammagamma", "time_unit": "W"},
            "criteria": ["clv", "aov"], "rule": {"kind": "thresholds", "column": "p_alive", "cuts": [0.5]}, "tiers": ["a", "b"]})",
         {"frequency", "recency", "T", "monetary_value", "aov"}},
        {R"({"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"],
            "lifecycle": {"new_days": 30}})",
         {"revenue", "orders", "days_since_last", "first_purchase", "last_purchase", "trend"}},
    };
    std::vector<std::int32_t> region(f.rows());
    for (std::size_t i = 0; i < region.size(); ++i) region[i] = static_cast<std::int32_t>(i % 3);
    FeatureTable full = f;
    full.add_category("region", region, {"north", "south", "east"});
    for (const auto& c : cases) {
        const Model m = fit(Policy::from_json(c.policy), full);
        EXPECT_EQ(m.input_columns(), c.columns) << c.policy;
        // A table of just these columns assigns as the full one does.
        FeatureTable only(std::vector<std::int64_t>(full.ids().begin(), full.ids().end()));
        for (const auto& name : m.input_columns()) {
            if (name == "region")
                only.add_category(name, region, {"north", "south", "east"});
            else
                only.add_column_view(name, full.column(name), nullptr);
        }
        const Assignment want = m.assign(full, {.with_contributions = false});
        const Assignment got = m.assign(only, {.with_contributions = false});
        EXPECT_EQ(got.tier, want.tier) << c.policy;
        EXPECT_EQ(got.scores, want.scores) << c.policy;
    }
}
