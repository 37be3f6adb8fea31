// Policy JSON: defaults, normalization and error messages with JSON paths.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/policy.hpp"

using namespace tierkit;

namespace {
std::string error_of(const std::string& text) {
    try {
        Policy::from_json(text);
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "(no error)";
}
const char* tiers3 = R"("tiers": ["a", "b", "c"])";
}  // namespace

TEST(Policy, DefaultPolicyFollowsTheDomain) {
    const Policy p = Policy::default_policy();
    ASSERT_EQ(p.tiers().size(), 4u);
    EXPECT_EQ(p.tiers()[0].name, "key");
    EXPECT_EQ(p.tiers()[0].mode, RelationshipMode::strategic);
    EXPECT_EQ(p.tiers()[1].name, "high-value");
    EXPECT_EQ(p.tiers()[1].mode, RelationshipMode::cooperative);
    EXPECT_EQ(p.tiers()[2].name, "ordinary");
    EXPECT_EQ(p.tiers()[2].mode, RelationshipMode::transactional);
    EXPECT_EQ(p.tiers()[3].name, "potential");
    EXPECT_EQ(p.rule_kind(), "quantiles");
    EXPECT_EQ(p.scores()[0].name, "value");
    EXPECT_EQ(p.required_columns(), (std::vector<std::string>{"revenue", "frequency", "days_since_last", "aov"}));
    // The normalized JSON parses back to the same policy.
    const Policy q = Policy::from_json(p.to_json());
    EXPECT_EQ(q.to_json(), p.to_json());
}

TEST(Policy, ShorthandCriteriaMakeOneScore) {
    auto p = Policy::from_json(std::string(R"({"criteria": ["revenue", {"column": "recency", "direction": "lower"}],
        "rule": {"kind": "thresholds", "cuts": [60, 30]}, )") +
                               tiers3 + "}");
    ASSERT_EQ(p.scores().size(), 1u);
    EXPECT_EQ(p.scores()[0].name, "score");
    EXPECT_EQ(p.scores()[0].criteria[0].weight, 1.0);  // equal manual weights when none given
    EXPECT_EQ(p.scores()[0].criteria[1].direction, Direction::lower);
    auto j = nlohmann::json::parse(p.to_json());
    EXPECT_EQ(j["rule"]["score"], "score");
}

TEST(Policy, ErrorsNameTheJsonPath) {
    EXPECT_EQ(error_of(std::string(R"({"criteria": [{"column": "a", "weight": 1}, {"column": "b", "weight": 1},
        {"column": "c", "weight": -1}], )") +
                       tiers3 + "}"),
              "criteria[2].weight: must be >= 0, got -1");
    EXPECT_EQ(
        error_of(std::string(R"({"scores": [{"name": "v", "criteria": [{"column": "a", "normalizer": "rank"}]}], )") +
                 tiers3 + "}"),
        "scores[0].criteria[0].normalizer: must be one of minmax, zscore, robust, percentile, bins, got 'rank'");
    EXPECT_EQ(error_of(std::string(R"({"criteria": [{"column": "a", "colour": 1}], )") + tiers3 + "}"),
              "criteria[0].colour: unknown key; expected one of: column, direction, transform, clip, normalizer, bins, "
              "weight, "
              "order, values, missing, unknown");
    EXPECT_EQ(error_of(std::string(R"({"criteria": ["a"], "rule": {"kind": "thresholds", "cuts": [10, 20]}, )") +
                       tiers3 + "}"),
              "rule.cuts[1]: must be < the previous cut 10, got 20");
    EXPECT_EQ(
        error_of(std::string(R"({"criteria": ["a"], "rule": {"kind": "thresholds", "cuts": [10]}, )") + tiers3 + "}"),
        "rule.cuts: needs 2 cut points for 3 tiers, got 1");
    EXPECT_EQ(error_of(std::string(R"({"criteria": ["a"], "rule": {"kind": "quantiles", "shares": [0.7, 0.5]}, )") +
                       tiers3 + "}"),
              "rule.shares: must sum to at most 1, got 1.2");
    EXPECT_EQ(
        error_of(std::string(
                     R"({"criteria": ["a"], "rule": {"kind": "quantiles", "score": "nope", "shares": [0.1, 0.2]}, )") +
                 tiers3 + "}"),
        "rule.score: unknown score 'nope'; the policy defines: score");
    EXPECT_EQ(error_of(R"({"criteria": ["a"], "tiers": []})"), "tiers: must be a non-empty array, got []");
    EXPECT_EQ(error_of(R"({"criteria": ["a"]})"), "tiers: required: the ordered tiers, best first");
    EXPECT_EQ(error_of(R"({"tiers": ["a"]})"), "scores: required: a list of scores (or a top-level criteria list)");
    EXPECT_EQ(
        error_of(std::string(R"({"criteria": ["a", "b"], "weights": {"method": "ahp", "matrix": [[1, 2], [0.5]]}, )") +
                 tiers3 + "}"),
        "weights.matrix[1]: must have 2 entries, got 1");
    EXPECT_EQ(
        error_of(std::string(
                     R"({"criteria": ["a", "b"], "weights": {"method": "combined", "subjective": {"method": "critic"},
        "objective": {"method": "entropy"}}, )") +
                 tiers3 + "}"),
        "weights.subjective.method: must be manual or ahp");
    EXPECT_EQ(
        error_of(std::string(R"({"criteria": ["a"], )") + R"("tiers": ["a", {"name": "b", "mode": "friendly"}, "c"]})"),
        "tiers[1].mode: must be one of transactional, cooperative, strategic, emotional, got 'friendly'");
    EXPECT_EQ(error_of(std::string(R"({"criteria": ["a"], )") + R"("tiers": ["a", "a", "c"]})"),
              "tiers[1].name: 'a' is used by an earlier tier");
    const std::string bad = error_of("{\"criteria\": [}");
    EXPECT_EQ(bad.rfind("policy: not valid JSON at byte 15", 0), 0u) << bad;
}

TEST(Policy, ManualWeightsMustBeAllOrNone) {
    EXPECT_EQ(error_of(std::string(R"({"criteria": [{"column": "a", "weight": 1}, "b"], )") + tiers3 + "}"),
              "criteria[1].weight: required: manual weights are given for some criteria, so every criterion needs one");
}

TEST(Policy, AbcDefaultsToRevenue) {
    auto p = Policy::from_json(std::string(R"({"criteria": ["a"], "rule": {"kind": "abc"}, )") + tiers3 + "}");
    auto j = nlohmann::json::parse(p.to_json());
    EXPECT_FALSE(j["rule"].contains("score"));
    auto rule = p.make_rule();
    EXPECT_EQ(rule->kind(), "abc");
    EXPECT_EQ(rule->tiers(), 3u);
}

// Every JSON text goes through one reader with a depth limit of 64: nlohmann's DOM
// recurses per level, so a deep document would overflow the stack in parse, dump or
// destruction. The limit is checked before any value is built.
TEST(Policy, NestingDeeperThan64IsAPolicyErrorNamingThePath) {
    const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    const std::string head = std::string(R"({"criteria": ["a"], )") + tiers3 + R"(, "description": )";
    // 1 level for the document, 63 for the description: read, then refused as not a string.
    const std::string at_limit = error_of(head + nested(63) + "}");
    EXPECT_EQ(at_limit.rfind("policy.description: must be a string, got [[[[", 0), 0u) << at_limit;
    EXPECT_EQ(
        error_of(head + nested(64) + "}"),
        "policy.description[0][0][0][0][0][0][0][0][0][0][0][0][0][0]...][0][0][0][0][0][0][0][0][0][0][0][0][0]: "
        "nested deeper than 64 levels of arrays and objects");
    // 100,000 levels in a rule parameter, objects and arrays mixed: the same error, no recursion.
    std::string deep;
    for (int k = 0; k < 50000; ++k) deep += "{\"x\": [";
    const std::string error =
        error_of(std::string(R"({"criteria": ["a"], )") + tiers3 + R"(, "rule": {"kind": "quantiles", "p": )" + deep);
    EXPECT_EQ(error.rfind("policy.rule.p.x[0].x[0]", 0), 0u) << error;
    EXPECT_NE(error.find(": nested deeper than 64 levels"), std::string::npos) << error;
    EXPECT_EQ(error_of("[1, 2"),
              "policy: not valid JSON at byte 6: [json.exception.parse_error.101] parse error at line 1, column 6: "
              "syntax error while parsing array - unexpected end of input; expected ']'");
    EXPECT_EQ(error_of(std::string(R"({"criteria": ["a"], )") + tiers3 + R"(, "description": 7})"),
              "policy.description: must be a string, got 7");
}
