// Golden model files: every built-in rule, normalizer, weight method and a CLV model,
// saved once in each archive kind under tests/data/golden/. Each file must keep
// loading and assigning exactly the stored output, whatever changes in tierkit.
//
// Regenerate (only when a new case is added, never to paper over a format change):
//   TIERKIT_WRITE_GOLDEN=1 build/<dir>/tests/cpp/test_golden --gtest_filter=Golden.Write
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/io/model_io.hpp"
#include "tierkit/tierkit.hpp"

using namespace tierkit;

namespace {

const std::string golden_dir = std::string(TIERKIT_TEST_DATA) + "/golden";
const std::vector<std::string> region_labels{"north", "south", "east"};
const std::vector<std::string> feature_columns{"frequency", "recency", "T",      "monetary_value", "days_since_last",
                                               "revenue",   "aov",     "margin", "trend"};

struct Case {
    const char* name;
    const char* policy;
};

// Together: every built-in rule kind, every normalizer, transform and clip, every
// weight method (manual, ahp, entropy both variants, critic, combined both modes),
// both score methods and a clv section.
const Case cases[] = {
    {"thresholds", R"j({"criteria": [{"column": "revenue", "normalizer": "minmax", "weight": 0.6},
                                    {"column": "frequency", "normalizer": "zscore", "weight": 0.4}],
                      "weights": {"method": "manual"},
                      "rule": {"kind": "thresholds", "cuts": [60, 30]}, "tiers": ["a", "b", "c"]})j"},
    {"quantiles", R"j({"criteria": [{"column": "revenue", "transform": "log1p", "clip": [0.05, 0.95]},
                                   {"column": "days_since_last", "direction": "lower"}],
                     "weights": {"method": "entropy"},
                     "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})j"},
    {"abc", R"j({"criteria": [{"column": "revenue", "normalizer": "bins", "bins": 4},
                             {"column": "frequency", "normalizer": "robust"},
                             {"column": "aov", "normalizer": "minmax"}],
               "weights": {"method": "critic"}, "rule": {"kind": "abc"}, "tiers": ["A", "B", "C"]})j"},
    {"matrix", R"j({"scores": [
          {"name": "value", "method": "topsis",
           "criteria": [{"column": "revenue", "normalizer": "minmax"}, {"column": "frequency", "normalizer": "zscore"},
                        {"column": "margin", "normalizer": "robust"}],
           "weights": {"method": "ahp", "matrix": [[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]}},
          {"name": "potential", "criteria": [{"column": "trend", "normalizer": "minmax"}]}],
        "rule": {"kind": "matrix", "x": {"score": "value", "cuts": [50]}, "y": {"score": "potential", "cuts": [50]},
                 "cells": [["star", "cash cow"], ["question", "dog"]]},
        "tiers": ["star", "cash cow", "question", "dog"]})j"},
    {"chain", R"j({"scores": [
          {"name": "value", "criteria": [{"column": "revenue", "normalizer": "minmax"}, {"column": "aov", "normalizer": "zscore"}],
           "weights": {"method": "combined", "subjective": {"method": "ahp", "matrix": [[1, 3], [0.3333333333333333, 1]]},
                       "objective": {"method": "entropy", "variant": "proportion"}, "mode": "multiplicative"}},
          {"name": "potential", "criteria": [{"column": "trend", "normalizer": "minmax"}]}],
        "rule": {"kind": "chain",
                 "first": {"kind": "quantiles", "score": "value", "shares": [0.3], "tiers": ["key", "rest"]},
                 "then": {"key": {"kind": "quantiles", "score": "potential", "shares": [0.34], "tiers": ["key", "high"]}}},
        "tiers": ["key", "high", "rest"]})j"},
    {"override",
     R"j({"criteria": [{"column": "revenue", "normalizer": "minmax"}, {"column": "frequency", "normalizer": "minmax"}],
        "weights": {"method": "combined", "subjective": {"method": "manual"}, "objective": {"method": "critic"},
                    "mode": "linear", "alpha": 0.5},
        "rule": {"kind": "override",
                 "base": {"kind": "quantiles", "score": "score", "shares": [0.2], "tiers": ["key", "ordinary"]},
                 "overrides": [{"when": "days_since_last > 400 and revenue > 500", "tier": "watch", "reason": "lapsing"}]},
        "tiers": ["key", "ordinary", "watch"]})j"},
    {"expression", R"j({"criteria": [{"column": "revenue"}, {"column": "frequency"}],
        "rule": {"kind": "expression", "branches": [
            {"when": "revenue >= 2000 and frequency >= 5", "tier": "key"},
            {"when": "pct(revenue) >= 0.7 or between(frequency, 3, 4)", "tier": "high"},
            {"when": "days_since_last > 365 and not frequency in [0]", "tier": 2},
            {"else": "ordinary"}]},
        "tiers": ["key", "high", "lapsed", "ordinary"]})j"},
    {"rfm_segments", R"j({"criteria": ["revenue"],
        "rule": {"kind": "rfm_segments", "bins": 5, "ties": "average",
                 "segments": [{"name": "Best", "r": [4, 5], "f": [4, 5], "m": [4, 5]},
                              {"name": "Sleeping", "r": [1, 2]}],
                 "fallback": "Others"},
        "tiers": ["Best", "Sleeping", "Others"]})j"},
    {"kmeans", R"j({"scores": [{"name": "value",
          "criteria": [{"column": "revenue", "transform": "log1p", "normalizer": "minmax"},
                       {"column": "frequency", "normalizer": "percentile"},
                       {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"}],
          "weights": {"method": "critic"}}],
        "rule": {"kind": "kmeans", "score": "value", "k": 3, "seed": 7, "n_init": 2},
        "tiers": ["gold", "silver", "bronze"]})j"},
    {"group_by", R"j({"criteria": [{"column": "revenue", "normalizer": "minmax"}],
        "rule": {"kind": "quantiles", "shares": [0.2], "group_by": "region", "unseen_group": "global"},
        "tiers": ["top", "rest"]})j"},
    {"nested_group_by", R"j({"criteria": [{"column": "revenue", "normalizer": "zscore"}],
        "rule": {"kind": "chain",
                 "first": {"kind": "thresholds", "score": "score", "cuts": [40], "tiers": ["key", "rest"]},
                 "then": {"key": {"kind": "quantiles", "score": "score", "shares": [0.5], "group_by": "region", "tiers": ["key", "high"]}}},
        "tiers": ["key", "high", "rest"]})j"},
    {"clv", R"j({"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01,
                        "time_unit": "W"},
        "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.7, "normalizer": "minmax"},
                                                  {"column": "p_alive", "weight": 0.3, "normalizer": "minmax"}]}],
        "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]},
        "tiers": ["key", "growth", "rest"]})j"},
    // Criterion version 1: a value map on a categorical column and missing options.
    {"value_map", R"j({"criteria": [{"column": "revenue", "normalizer": "minmax", "weight": 0.5, "missing": "median"},
                                   {"column": "region", "normalizer": "minmax", "weight": 0.3,
                                    "values": {"north": 2, "south": 1, "east": 0}, "missing": "worst"},
                                   {"column": "frequency", "normalizer": "percentile", "weight": 0.2, "missing": -1}],
                     "rule": {"kind": "quantiles", "shares": [0.2, 0.5]}, "tiers": ["a", "b", "c"]})j"},
};

const ArchiveKind kinds[] = {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml};
const char* kind_name(ArchiveKind k) {
    return k == ArchiveKind::binary ? "binary" : k == ArchiveKind::text ? "text" : "xml";
}

std::string model_path(const Case& c, ArchiveKind k) { return golden_dir + "/" + c.name + "." + kind_name(k) + ".tkm"; }
std::string expected_path(const Case& c) { return golden_dir + "/" + c.name + ".expected.csv"; }

std::string g17(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The feature table of features.csv: id, region code, then the feature columns.
FeatureTable read_features(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);  // header
    std::vector<std::int64_t> ids;
    std::vector<std::int32_t> region;
    std::vector<std::vector<double>> cols(feature_columns.size());
    while (std::getline(in, line)) {
        std::istringstream row(line);
        std::string cell;
        std::getline(row, cell, ',');
        ids.push_back(std::stoll(cell));
        std::getline(row, cell, ',');
        region.push_back(std::stoi(cell));
        for (auto& col : cols) {
            std::getline(row, cell, ',');
            col.push_back(std::strtod(cell.c_str(), nullptr));
        }
    }
    FeatureTable t(ids);
    for (std::size_t j = 0; j < cols.size(); ++j) t.add_column(feature_columns[j], cols[j]);
    t.add_category("region", region, region_labels);
    return t;
}

/// id, tier, reason, every score, every extra column; doubles as %.17g.
std::string assignment_csv(const Assignment& a) {
    std::string out = "id,tier,reason";
    for (const auto& s : a.score_names) out += "," + s;
    for (const auto& e : a.extras) out += "," + e.first;
    out += "\n";
    for (std::size_t i = 0; i < a.ids.size(); ++i) {
        out += std::to_string(a.ids[i]) + "," + std::to_string(a.tier[i]) + "," + std::to_string(a.reason[i]);
        for (const auto& s : a.scores) out += "," + g17(s[i]);
        for (const auto& e : a.extras) out += "," + g17(e.second[i]);
        out += "\n";
    }
    return out;
}

/// Small deterministic synthetic customers, written with %.17g (so they parse back exactly).
std::string make_features_csv() {
    SyntheticOptions o;
    o.customers = 80;
    o.seed = 2024;
    o.threads = 1;
    const auto d = synthetic(o);
    const auto f = summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    std::string out = "id,region";
    for (const auto& c : feature_columns) out += "," + c;
    out += "\n";
    for (std::size_t i = 0; i < f.rows(); ++i) {
        out += std::to_string(f.ids()[i]) + "," + std::to_string(f.ids()[i] % 3);
        for (const auto& c : feature_columns) out += "," + g17(f.column(c)[i]);
        out += "\n";
    }
    return out;
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

TEST(Golden, Write) {
    const char* flag = std::getenv("TIERKIT_WRITE_GOLDEN");
    if (!flag || std::string(flag) != "1") GTEST_SKIP() << "set TIERKIT_WRITE_GOLDEN=1 to rewrite tests/data/golden";
    write_file(golden_dir + "/features.csv", make_features_csv());
    const FeatureTable features = read_features(read_file(golden_dir + "/features.csv"));
    for (const auto& c : cases) {
        const Model model = fit(Policy::from_json(c.policy), features);
        write_file(expected_path(c), assignment_csv(model.assign(features)));
        for (auto kind : kinds) {
            std::ostringstream bytes;
            save(model, bytes, kind);
            write_file(model_path(c, kind), bytes.str());
        }
    }
}

TEST(Golden, EveryFileLoadsAndAssignsTheStoredOutput) {
    const FeatureTable features = read_features(read_file(golden_dir + "/features.csv"));
    for (const auto& c : cases) {
        const std::string expected = read_file(expected_path(c));
        for (auto kind : kinds) {
            std::ifstream in(model_path(c, kind), std::ios::binary);
            ASSERT_TRUE(in) << model_path(c, kind);
            const Model model = load(in, kind);
            EXPECT_EQ(assignment_csv(model.assign(features)), expected) << model_path(c, kind);
            // Written before grouping was the default: fitted with min_group 1.
            EXPECT_EQ(model.policy().min_group().value_or(0), 1u) << model_path(c, kind);
        }
    }
}

// Model::input_columns() names every column a model reads: a table holding only
// those columns assigns every golden model exactly as the full table does. The
// policy names the same columns before fit.
TEST(Golden, InputColumnsAreEveryColumnAModelReads) {
    const std::map<std::string, std::vector<std::string>> expected{
        {"thresholds", {"revenue", "frequency"}},
        {"quantiles", {"revenue", "days_since_last"}},
        {"abc", {"revenue", "frequency", "aov"}},
        {"matrix", {"revenue", "frequency", "margin", "trend"}},
        {"chain", {"revenue", "aov", "trend"}},
        {"override", {"revenue", "frequency", "days_since_last"}},
        {"expression", {"revenue", "frequency", "days_since_last"}},
        {"rfm_segments", {"revenue", "days_since_last", "frequency"}},
        {"kmeans", {"revenue", "frequency", "days_since_last"}},
        {"group_by", {"revenue", "region"}},
        {"nested_group_by", {"revenue", "region"}},
        {"clv", {"frequency", "recency", "T", "monetary_value"}},
        {"value_map", {"revenue", "region", "frequency"}},
    };
    const FeatureTable features = read_features(read_file(golden_dir + "/features.csv"));
    for (const auto& c : cases) {
        std::ifstream in(model_path(c, ArchiveKind::binary), std::ios::binary);
        const Model model = load(in);
        const std::vector<std::string> columns = model.input_columns();
        EXPECT_EQ(columns, expected.at(c.name)) << c.name;
        FeatureTable only(std::vector<std::int64_t>(features.ids().begin(), features.ids().end()));
        for (const auto& name : columns) {
            if (features.has_category(name)) {
                const auto [codes, labels] = features.category(name);
                only.add_category(name, std::vector<std::int32_t>(codes.begin(), codes.end()), *labels);
            } else {
                only.add_column_view(name, features.column(name), nullptr);
            }
        }
        EXPECT_EQ(assignment_csv(model.assign(only)), read_file(expected_path(c))) << c.name;
        // Policy::input_columns() names them before fit, and fitting on only those
        // columns gives the model that fitting on the whole table gives.
        const Policy policy = Policy::from_json(c.policy);
        EXPECT_EQ(policy.input_columns(), columns) << c.name;
        EXPECT_EQ(model.policy().input_columns(), columns) << c.name;
        EXPECT_EQ(assignment_csv(fit(policy, only).assign(only)),
                  assignment_csv(fit(policy, features).assign(features)))
            << c.name;
    }
}
