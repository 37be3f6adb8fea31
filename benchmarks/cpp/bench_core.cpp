// summarize on 10^6 and 10^7 transactions; fit and assign on 10^6 customers x 6 criteria.
#include <benchmark/benchmark.h>

#include <map>

#include "tierkit/tierkit.hpp"

namespace {

/// Synthetic transactions with about `rows` rows (cached per size).
const tierkit::SyntheticData& data_with_rows(std::int64_t rows) {
    static std::map<std::int64_t, tierkit::SyntheticData> cache;
    auto it = cache.find(rows);
    if (it != cache.end()) return it->second;
    tierkit::SyntheticOptions o;
    o.customers = rows / 5;  // about 5 transactions per customer
    o.seed = 1;
    return cache.emplace(rows, tierkit::synthetic(o)).first->second;
}

void BM_Summarize(benchmark::State& state) {
    const auto& d = data_with_rows(state.range(0));
    tierkit::Transactions tx{d.customer, d.day, d.amount, d.margin, {}};
    for (auto _ : state) {
        auto s = tierkit::summarize(tx);
        benchmark::DoNotOptimize(s.features.rows());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(d.customer.size()));
    state.counters["transactions"] = static_cast<double>(d.customer.size());
}
BENCHMARK(BM_Summarize)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

const char* six_criteria = R"({
  "criteria": [
    {"column": "revenue", "transform": "log1p", "normalizer": "percentile", "weight": 0.3},
    {"column": "frequency", "normalizer": "percentile", "weight": 0.2},
    {"column": "days_since_last", "direction": "lower", "normalizer": "minmax", "weight": 0.15},
    {"column": "aov", "transform": "log1p", "normalizer": "zscore", "weight": 0.15},
    {"column": "margin", "normalizer": "robust", "weight": 0.1},
    {"column": "trend", "normalizer": "percentile", "weight": 0.1}],
  "rule": {"kind": "quantiles", "shares": [0.05, 0.15, 0.5]},
  "tiers": ["key", "high-value", "ordinary", "potential"]})";

const tierkit::FeatureTable& million_customers() {
    static const tierkit::FeatureTable table = [] {
        tierkit::SyntheticOptions o;
        o.customers = 1'000'000;
        o.seed = 2;
        auto d = tierkit::synthetic(o);
        return tierkit::summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    }();
    return table;
}

void BM_Fit(benchmark::State& state) {
    const auto& t = million_customers();
    const auto policy = tierkit::Policy::from_json(six_criteria);
    for (auto _ : state) {
        auto m = tierkit::fit(policy, t);
        benchmark::DoNotOptimize(&m);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(t.rows()));
}
BENCHMARK(BM_Fit)->Unit(benchmark::kMillisecond);

void BM_Assign(benchmark::State& state) {
    const auto& t = million_customers();
    const auto model = tierkit::fit(tierkit::Policy::from_json(six_criteria), t);
    for (auto _ : state) {
        auto a = model.assign(t, state.range(0) != 0);
        benchmark::DoNotOptimize(a.tier.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(t.rows()));
}
BENCHMARK(BM_Assign)->Arg(0)->Arg(1)->ArgName("contributions")->Unit(benchmark::kMillisecond);

void BM_Synthetic(benchmark::State& state) {
    tierkit::SyntheticOptions o;
    o.customers = state.range(0);
    for (auto _ : state) {
        auto d = tierkit::synthetic(o);
        benchmark::DoNotOptimize(d.customer.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Synthetic)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
