// chain, group_by, matrix and manual overrides, on tables small enough to check by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "tierkit/io/model_io.hpp"
#include "tierkit/tierkit.hpp"

using namespace tierkit;

namespace {
FeatureTable ten() {
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    t.add_column("revenue", {100, 90, 80, 70, 60, 50, 40, 30, 20, 10});
    t.add_column("trend", {1, 9, 2, 8, 3, 7, 4, 6, 5, 0});
    t.add_category("region", {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, {"north", "south"});
    return t;
}
Model fitted(const std::string& rule, const std::string& tiers) {
    return fit(
        Policy::from_json(R"({"scores": [{"name": "value", "criteria": [{"column": "revenue", "normalizer": "minmax"}]},
                                                {"name": "potential", "criteria": [{"column": "trend", "normalizer": "minmax"}]}],
                                     "rule": )" +
                          rule + R"(, "tiers": )" + tiers + "}"),
        ten());
}
Assignment round_trip(const Model& m, const FeatureTable& t) {
    std::stringstream buffer;
    save(m, buffer, ArchiveKind::text);
    return load(buffer, ArchiveKind::text).assign(t);
}
}  // namespace

TEST(ChainRule, SplitsOneTierOfTheFirstRule) {
    // first: top 30% of value -> "key", rest -> "rest"; then "key" split by quota of potential.
    auto m = fitted(R"({"kind": "chain",
        "first": {"kind": "quantiles", "score": "value", "shares": [0.3], "tiers": ["key", "rest"]},
        "then": {"key": {"kind": "quantiles", "score": "potential", "shares": [0.34], "tiers": ["key", "high"]}}})",
                    R"(["key", "high", "rest"])");
    auto a = m.assign(ten());
    // top 3 by revenue: customers 1, 2, 3 (trend 1, 9, 2). Top 34% of 3 = 1 customer by trend: customer 2.
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{1, 0, 1, 2, 2, 2, 2, 2, 2, 2}));
    EXPECT_EQ(a.reasons[a.reason[1]].rfind("chain: first tier 0, then quantiles: potential >= ", 0), 0u)
        << a.reasons[a.reason[1]];
    EXPECT_EQ(a.reasons[a.reason[5]].rfind("chain: quantiles: value < ", 0), 0u);
    EXPECT_EQ(round_trip(m, ten()).tier, a.tier);
}

TEST(ChainRule, ErrorsNameThePath) {
    EXPECT_THROW(
        {
            try {
                Policy::from_json(
                    R"({"criteria": ["revenue"], "rule": {"kind": "chain", "first": {"kind": "quantiles", "shares": [0.5],
                    "score": "score", "tiers": ["a", "zzz"]}}, "tiers": ["a", "b"]})");
            } catch (const PolicyError& e) {
                EXPECT_STREQ(e.what(), "rule.first.tiers[1]: unknown tier 'zzz'; the policy's tiers: a, b");
                throw;
            }
        },
        PolicyError);
}

TEST(GroupedRule, CutPointsPerRegion) {
    auto m = fitted(R"({"kind": "quantiles", "score": "value", "shares": [0.2], "group_by": "region"})",
                    R"(["top", "rest"])");
    auto a = m.assign(ten());
    // north: customers 1,3,5,7,9 (revenue 100..20) -> top 20% = customer 1; south: 2,4,6,8,10 -> customer 2.
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 0, 1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_EQ(a.reasons[a.reason[1]], "region south: quantiles: value >= 88.8889 (top 20%)");
    EXPECT_EQ(round_trip(m, ten()).tier, a.tier);
    // an unseen group is an error naming it, or uses the global rule when configured
    FeatureTable other(std::vector<std::int64_t>{1});
    other.add_column("revenue", {55});
    other.add_column("trend", {1});
    other.add_category("region", {0}, {"east"});
    try {
        m.assign(other);
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_EQ(std::string(e.what()).rfind(
                      "column 'region', row 0: group 'east' was not seen at fit (seen: north, south)", 0),
                  0u);
    }
    auto g = fitted(
        R"({"kind": "quantiles", "score": "value", "shares": [0.2], "group_by": "region", "unseen_group": "global"})",
        R"(["top", "rest"])");
    auto b = g.assign(other);
    EXPECT_EQ(b.tier[0], 1);
    EXPECT_EQ(b.reasons[b.reason[0]].rfind("region unseen at fit: quantiles", 0), 0u);
}

TEST(GroupedRule, GroupColumnsAreFoundThroughNesting) {
    // A caller passes group columns as categories: the rule names them, nested or not.
    const auto policy = [](const std::string& rule) {
        return Policy::from_json(R"({"criteria": ["revenue"], "rule": )" + rule +
                                 R"(, "tiers": ["key", "high", "rest"]})");
    };
    EXPECT_TRUE(policy(R"({"kind": "quantiles", "shares": [0.2, 0.3]})").make_rule()->group_columns().empty());
    const Policy nested = policy(R"({"kind": "chain",
        "first": {"kind": "quantiles", "shares": [0.3], "tiers": ["key", "rest"], "group_by": "region"},
        "then": {"key": {"kind": "quantiles", "shares": [0.5], "tiers": ["key", "high"], "group_by": "segment"}}})");
    EXPECT_EQ(nested.make_rule()->group_columns(), (std::vector<std::string>{"region", "segment"}));
    const auto inputs = nested.make_rule()->inputs();
    EXPECT_NE(std::find(inputs.begin(), inputs.end(), "segment"), inputs.end());
}

TEST(MatrixRule, ValueByPotentialGrid) {
    auto m =
        fitted(R"({"kind": "matrix", "x": {"score": "value", "cuts": [50]}, "y": {"score": "potential", "cuts": [50]},
                       "cells": [["star", "cash cow"], ["question", "dog"]]})",
               R"(["star", "cash cow", "question", "dog"])");
    auto a = m.assign(ten());
    // value = (revenue - 10) / 90 * 100; potential = trend / 9 * 100
    // 1: 100 / 11.1 -> cash cow; 2: 88.9 / 100 -> star; 6: 44.4 / 77.8 -> question; 10: 0 / 0 -> dog
    EXPECT_EQ(a.tier[0], 1);
    EXPECT_EQ(a.tier[1], 0);
    EXPECT_EQ(a.tier[5], 2);
    EXPECT_EQ(a.tier[9], 3);
    EXPECT_EQ(a.reasons[a.reason[1]], "matrix cell (1, 1): thresholds: value >= 50; thresholds: potential >= 50");
    EXPECT_EQ(round_trip(m, ten()).tier, a.tier);
    EXPECT_THROW(
        Policy::from_json(R"({"criteria": ["revenue"], "rule": {"kind": "matrix", "x": {"score": "score", "cuts": [50]},
        "y": {"column": "trend", "cuts": [5]}, "cells": [["a", "b"], ["a", "nope"]]}, "tiers": ["a", "b"]})"),
        PolicyError);
}

namespace {
AssignOptions pinned_on(const std::vector<ManualOverride>& pins) {
    AssignOptions o;
    o.overrides = std::span<const ManualOverride>(pins);
    o.as_of = 19500;
    return o;
}
}  // namespace

TEST(ManualOverrides, PinnedUntilExpiry) {
    auto m = fitted(R"({"kind": "thresholds", "score": "value", "cuts": [50]})", R"(["top", "rest"])");
    std::vector<ManualOverride> pins{{10, 0, "strategic account, decided by J. Doe", 20000},
                                     {3, 1, "credit hold", 19000},
                                     {999, 0, "not a customer here", 20000}};
    auto a = m.assign(ten(), pinned_on(pins));
    EXPECT_EQ(a.tier[9], 0);  // pinned up
    EXPECT_EQ(a.reasons[a.reason[9]], "manual: strategic account, decided by J. Doe");
    EXPECT_EQ(a.pinned[9], 1);
    EXPECT_EQ(a.reasons[a.rule_reason[9]], "thresholds: value < 50");
    EXPECT_EQ(a.tier[2], 0);  // expired on 19000, as_of 19500: the rule's tier
    EXPECT_EQ(a.pinned[2], 0);
    EXPECT_EQ(a.overrides_expired, 1);
    EXPECT_EQ(a.overrides_unmatched, (std::vector<std::int64_t>{999}));
    std::vector<ManualOverride> twice{{1, 0, "a", 20000}, {1, 1, "b", 20000}};
    EXPECT_THROW(m.assign(ten(), pinned_on(twice)), InvalidInput);
    std::vector<ManualOverride> bad{{1, 7, "a", 20000}};
    EXPECT_THROW(m.assign(ten(), pinned_on(bad)), InvalidInput);
}

TEST(OverrideRule, RiskControlWinsOverTheScore) {
    FeatureTable t = ten();
    t.add_column("credit_risk", {0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.95});
    const auto policy = Policy::from_json(R"({"criteria": [{"column": "revenue", "normalizer": "minmax"}],
        "rule": {"kind": "override",
                 "base": {"kind": "quantiles", "score": "score", "shares": [0.2], "tiers": ["key", "ordinary"]},
                 "overrides": [{"when": "credit_risk >= 0.8 and revenue > 50", "tier": "watch", "reason": "credit risk"},
                               {"when": "credit_risk >= 0.8", "tier": "ordinary"}]},
        "tiers": ["key", "ordinary", "watch"]})");
    const Model m = fit(policy, t);
    const auto a = m.assign(t);
    // customer 1 is the top spender but risky -> watch; customer 2 takes no quota from it: the
    // base rule still puts the top 20% (customers 1 and 2) in key.
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{2, 0, 1, 1, 1, 1, 1, 1, 1, 1}));
    EXPECT_EQ(a.reasons[a.reason[0]], "override: credit risk");
    EXPECT_EQ(a.reasons[a.reason[9]], "override: credit_risk >= 0.8");
    EXPECT_EQ(a.reasons[a.reason[1]].rfind("quantiles: score >= ", 0), 0u);
    std::stringstream buffer;
    save(m, buffer, ArchiveKind::xml);
    EXPECT_EQ(load(buffer).assign(t).tier, a.tier);
    EXPECT_THROW(Policy::from_json(R"({"criteria": ["revenue"], "rule": {"kind": "override", "base": {"kind": "abc"},
        "overrides": [{"when": "revenue >", "tier": "a"}]}, "tiers": ["a", "b", "c"]})"),
                 PolicyError);
}
