// Rules nested in chain, override, group_by and matrix read the policy's main score
// when they name none, as a top-level rule does; a nested score the policy does not
// define is a PolicyError naming its JSON path. And every example policy in the
// headers' documentation is fitted and assigned.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tierkit/tierkit.hpp"

using namespace tierkit;
using nlohmann::json;

namespace {

const char* two_scores = R"("scores": [{"name": "value", "criteria": [{"column": "revenue", "normalizer": "minmax"}]},
                                       {"name": "potential", "criteria": [{"column": "trend", "normalizer": "minmax"}]}])";

FeatureTable ten() {
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    t.add_column("revenue", {100, 90, 80, 70, 60, 50, 40, 30, 20, 10});
    t.add_column("trend", {1, 9, 2, 8, 3, 7, 4, 6, 5, 0});
    t.add_category("region", {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, {"north", "south"});
    return t;
}

Assignment fitted(const std::string& rule, const std::string& tiers) {
    const auto policy =
        Policy::from_json("{" + std::string(two_scores) + R"(, "rule": )" + rule + R"(, "tiers": )" + tiers + "}");
    return fit(policy, ten()).assign(ten());
}

std::string policy_error(const std::string& rule, const std::string& tiers) {
    try {
        Policy::from_json("{" + std::string(two_scores) + R"(, "rule": )" + rule + R"(, "tiers": )" + tiers + "}");
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(NestedRuleScore, ChainDefaultsToTheMainScore) {
    const std::string with =
        R"({"kind": "chain", "first": {"kind": "quantiles", "score": "value", "shares": [0.3], "tiers": ["key", "rest"]},
        "then": {"key": {"kind": "thresholds", "score": "value", "cuts": [95], "tiers": ["key", "high"]}}})";
    const std::string without =
        R"({"kind": "chain", "first": {"kind": "quantiles", "shares": [0.3], "tiers": ["key", "rest"]},
        "then": {"key": {"kind": "thresholds", "cuts": [95], "tiers": ["key", "high"]}}})";
    const auto a = fitted(without, R"(["key", "high", "rest"])");
    // Top 30% of value: customers 1-3 (value 100, 88.9, 77.8); value >= 95 only customer 1.
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 1, 1, 2, 2, 2, 2, 2, 2, 2}));
    EXPECT_EQ(a.tier, fitted(with, R"(["key", "high", "rest"])").tier);
    EXPECT_EQ(a.reasons, fitted(with, R"(["key", "high", "rest"])").reasons);
}

TEST(NestedRuleScore, OverrideGroupByAndMatrixDefaultToTheMainScore) {
    const auto o = fitted(R"({"kind": "override", "base": {"kind": "quantiles", "shares": [0.5]},
        "overrides": [{"when": "trend >= 9", "tier": "b"}]})",
                          R"(["a", "b"])");
    EXPECT_EQ(o.tier, (std::vector<std::int32_t>{0, 1, 0, 0, 0, 1, 1, 1, 1, 1}));
    const auto g = fitted(R"({"kind": "quantiles", "shares": [0.4], "group_by": "region"})", R"(["a", "b"])");
    // Per region of 5, the top 2 by value: north 1, 3; south 2, 4.
    EXPECT_EQ(g.tier, (std::vector<std::int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
    const auto m = fitted(R"({"kind": "matrix", "x": {"shares": [0.5]}, "y": {"score": "potential", "cuts": [50]},
        "cells": [["a", "b"], ["b", "c"]]})",
                          R"(["a", "b", "c"])");
    // x: top half by value (1-5); y: trend >= 5 on a 0..9 minmax scale (50 = 4.5).
    EXPECT_EQ(m.tier, (std::vector<std::int32_t>{1, 0, 1, 0, 1, 1, 2, 1, 1, 2}));
}

TEST(NestedRuleScore, AnUnknownNestedScoreNamesItsPath) {
    EXPECT_EQ(policy_error(R"({"kind": "chain", "first": {"kind": "quantiles", "shares": [0.3], "tiers": ["a", "b"]},
        "then": {"a": {"kind": "quantiles", "score": "nope", "shares": [0.5], "tiers": ["a", "b"]}}})",
                           R"(["a", "b"])"),
              "rule.then.a.score: unknown score 'nope'; the policy defines: value, potential");
    EXPECT_EQ(policy_error(R"({"kind": "override", "base": {"kind": "thresholds", "score": "", "cuts": [50]},
        "overrides": [{"when": "trend >= 9", "tier": "b"}]})",
                           R"(["a", "b"])"),
              "rule.base.score: unknown score ''; the policy defines: value, potential");
    EXPECT_EQ(policy_error(R"({"kind": "matrix", "x": {"score": "valu", "shares": [0.5]}, "y": {"cuts": [50]},
        "cells": [["a", "b"], ["b", "a"]]})",
                           R"(["a", "b"])"),
              "rule.x.score: unknown score 'valu'; the policy defines: value, potential");
    EXPECT_EQ(policy_error(R"({"kind": "quantiles", "score": "nope", "shares": [0.5], "group_by": "region"})",
                           R"(["a", "b"])"),
              "rule.score: unknown score 'nope'; the policy defines: value, potential");
}

// ---- the headers' examples --------------------------------------------------------

namespace {

namespace fs = std::filesystem;

/// The JSON examples of a header: every `Policy: {...}` line and every value in a
/// @code{.json} block.
std::vector<json> examples(const fs::path& header) {
    std::ifstream in(header);
    std::vector<json> out;
    std::string line, block;
    bool in_block = false;
    while (std::getline(in, line)) {
        const auto doc = line.find("///");
        if (doc == std::string::npos) continue;
        const std::string text = line.substr(doc + 3);
        if (text.find("@code{.json}") != std::string::npos) {
            in_block = true;
            block.clear();
        } else if (in_block && text.find("@endcode") != std::string::npos) {
            in_block = false;
            std::istringstream values(block);
            while (values >> std::ws, values.peek() != EOF) {
                json j;
                values >> j;
                out.push_back(j);
            }
        } else if (in_block) {
            block += text + "\n";
        } else if (const auto p = text.find("Policy: {"); p != std::string::npos) {
            out.push_back(json::parse(text.substr(p + 8)));
        }
    }
    return out;
}

/// Tier names a rule example uses, in order of appearance.
void tier_names(const json& j, const std::string& key, std::vector<std::string>& out) {
    auto add = [&](const json& v) {
        if (v.is_string() && std::find(out.begin(), out.end(), v.get<std::string>()) == out.end())
            out.push_back(v.get<std::string>());
    };
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it.key() == "tiers" || it.key() == "tier" || it.key() == "else" || it.key() == "fallback" ||
                it.key() == "cells") {
                if (it.value().is_array())
                    for (const auto& v : it.value().flatten()) add(v);
                else
                    add(it.value());
            }
            if (it.key() == "then" && it.value().is_object())
                for (auto t = it.value().begin(); t != it.value().end(); ++t) add(json(t.key()));
            if (key == "segments" && it.key() == "name") add(it.value());
            tier_names(it.value(), it.key(), out);
        }
    } else if (j.is_array()) {
        for (const auto& v : j) tier_names(v, key, out);
    }
}

/// Synthetic customers with every column the examples read.
const FeatureTable& customers() {
    static const FeatureTable t = [] {
        SyntheticOptions o;
        o.customers = 600;
        o.seed = 5;
        auto d = synthetic(o);
        FeatureTable f = summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
        const std::size_t n = f.rows();
        std::vector<double> risk(n), complaints(n), nps(n), segment(n), recency(n);
        std::vector<std::int32_t> region(n), industry(n);
        const auto days = f.column("days_since_last");
        for (std::size_t i = 0; i < n; ++i) {
            risk[i] = static_cast<double>(i % 10) / 10;
            complaints[i] = static_cast<double>(i % 5);
            nps[i] = static_cast<double>(i % 21) - 10;
            segment[i] = static_cast<double>(i % 6);
            recency[i] = days[i];
            region[i] = static_cast<std::int32_t>(i % 3);
            industry[i] = static_cast<std::int32_t>(i % 4);
        }
        f.add_column("credit_risk", risk);
        f.add_column("complaints", complaints);
        f.add_column("nps", nps);
        f.add_column("segment", segment);
        f.add_column("recency_days", recency);
        f.add_category("region", region, {"north", "south", "west"});
        f.add_category("industry", industry, {"energy", "finance", "health", "retail"});
        return f;
    }();
    return t;
}

}  // namespace

TEST(HeaderExamples, EveryExamplePolicyFitsAndAssigns) {
    const fs::path include = fs::path(TIERKIT_TEST_DATA).parent_path().parent_path() / "include" / "tierkit";
    std::size_t seen = 0;
    std::set<std::string> kinds;
    // The rules' headers and the policy's (the clv and lifecycle headers document
    // sections of a policy, key by key, not example policies).
    for (const auto& entry : fs::recursive_directory_iterator(include)) {
        if (entry.path().extension() != ".hpp") continue;
        if (entry.path().parent_path().filename() != "builtin" && entry.path().filename() != "policy.hpp") continue;
        for (const json& example : examples(entry.path())) {
            SCOPED_TRACE(entry.path().string() + ": " + example.dump());
            json policy = example;
            if (!example.contains("scores") && !example.contains("criteria")) {
                // A rule object: the value and potential scores, and the tiers it names
                // (padded with more tiers until the rule's own count is met).
                policy = json::parse("{" + std::string(two_scores) + "}");
                policy["scores"][0]["criteria"].push_back({{"column", "frequency"}, {"normalizer", "minmax"}});
                policy["rule"] = example;
                kinds.insert(example.at("kind").get<std::string>());
            }
            std::vector<std::string> names;
            tier_names(policy.contains("rule") ? policy["rule"] : json::object(), "", names);
            if (policy.contains("tiers")) names.clear();
            std::unique_ptr<Policy> parsed;
            std::string last_error;
            for (std::size_t extra = names.empty() ? 1 : 0; !parsed && extra < 9; ++extra) {
                json attempt = policy;
                if (!policy.contains("tiers")) {
                    std::vector<std::string> tiers = names;
                    for (std::size_t k = 0; k < extra; ++k) tiers.push_back("tier" + std::to_string(k));
                    attempt["tiers"] = tiers;
                }
                try {
                    parsed = std::make_unique<Policy>(Policy::from_json(attempt.dump()));
                } catch (const PolicyError& e) {
                    last_error = e.what();
                    if (policy.contains("tiers")) break;
                }
            }
            ASSERT_TRUE(parsed) << last_error;
            const Model model = fit(*parsed, customers());
            const Assignment a = model.assign(customers());
            ASSERT_EQ(a.tier.size(), customers().rows());
            for (const auto t : a.tier) ASSERT_TRUE(t >= 0 && static_cast<std::size_t>(t) < parsed->tiers().size());
            ++seen;
        }
    }
    EXPECT_GE(seen, 13u);
    // Every built-in kind has an example in its header.
    for (const auto& kind : rule_kinds())
        if (kind != "python") EXPECT_TRUE(kinds.count(kind)) << kind;
}
