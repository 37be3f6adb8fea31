// assign of the cut-point and composite rules on 10^6 and 10^7 customers (the rule
// alone: scores and columns are prepared outside the timed loop).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "tierkit/tierkit.hpp"

namespace {

struct Data {
    tierkit::FeatureTable table;
    std::vector<std::string> names{"value", "potential"};
    std::vector<std::vector<double>> scores;
};

const Data& data(std::int64_t n) {
    static std::map<std::int64_t, std::unique_ptr<Data>> cache;
    auto& slot = cache[n];
    if (!slot) {
        slot = std::make_unique<Data>();
        std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
        std::vector<double> revenue(ids.size()), risk(ids.size()), value(ids.size()), potential(ids.size());
        std::uint64_t x = 88172645463325252ULL;
        auto next = [&x] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            return static_cast<double>(x >> 11) * 0x1.0p-53;
        };
        for (std::size_t i = 0; i < ids.size(); ++i) {
            ids[i] = static_cast<std::int64_t>(i);
            revenue[i] = 1000 * next() * next();
            risk[i] = next();
            value[i] = 100 * next();
            potential[i] = 100 * next();
        }
        slot->table = tierkit::FeatureTable(std::move(ids));
        slot->table.add_column("revenue", std::move(revenue));
        slot->table.add_column("credit_risk", std::move(risk));
        slot->scores = {std::move(value), std::move(potential)};
    }
    return *slot;
}

const char* kRules[] = {
    R"({"kind": "thresholds", "score": "value", "cuts": [80, 60, 30]})",
    R"({"kind": "quantiles", "score": "value", "shares": [0.05, 0.15, 0.5]})",
    R"({"kind": "abc", "column": "revenue", "cuts": [0.8, 0.9, 0.95]})",
    R"({"kind": "matrix", "x": {"score": "value", "shares": [0.5]}, "y": {"score": "potential", "cuts": [50]},
        "cells": [["key", "high-value"], ["ordinary", "potential"]]})",
    R"({"kind": "chain", "first": {"kind": "quantiles", "score": "value", "shares": [0.2], "tiers": ["key", "ordinary"]},
        "then": {"key": {"kind": "quantiles", "score": "potential", "shares": [0.5], "tiers": ["key", "high-value"]}}})",
    R"({"kind": "override", "base": {"kind": "quantiles", "score": "value", "shares": [0.05, 0.15, 0.5]},
        "overrides": [{"when": "credit_risk >= 0.95", "tier": "potential"}]})",
};
const char* kNames[] = {"thresholds", "quantiles", "abc", "matrix", "chain", "override"};

void BM_RuleAssign(benchmark::State& state) {
    const auto& d = data(state.range(1));
    const nlohmann::json tiers = {"key", "high-value", "ordinary", "potential"};
    auto params = nlohmann::json::parse(kRules[state.range(0)]);
    params["tier_names"] = tiers;
    auto rule = tierkit::make_rule(params.at("kind").get<std::string>(), params, "rule", 4);
    const tierkit::RuleInput input{d.table, d.names, d.scores};
    rule->fit(input);
    std::vector<std::int32_t> tier(d.table.rows()), reason(d.table.rows());
    for (auto _ : state) {
        rule->assign(input, tier, reason);
        benchmark::DoNotOptimize(tier.data());
    }
    state.SetLabel(kNames[state.range(0)]);
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(d.table.rows()));
}
BENCHMARK(BM_RuleAssign)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {1'000'000, 10'000'000}})
    ->ArgNames({"rule", "customers"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
