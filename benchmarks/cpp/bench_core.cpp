// summarize on 10^6 and 10^7 transactions; fit and assign on 10^6 customers x 6 criteria;
// score + tier of 10^7 customers x 8 min-max criteria next to a plain pass over the
// same bytes (the memory-bandwidth floor of benchmarks/compare.py).
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>

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
        auto a = model.assign(t, {.with_contributions = state.range(0) != 0});
        benchmark::DoNotOptimize(a.tier.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(t.rows()));
}
BENCHMARK(BM_Assign)->Arg(0)->Arg(1)->ArgName("contributions")->Unit(benchmark::kMillisecond);

/// The README quickstart's assign: the default policy (4 percentile criteria, two of
/// them log1p, quantile tiers) with contributions, top criteria and lifecycle stages.
void BM_AssignDefault(benchmark::State& state) {
    const auto& t = million_customers();
    const auto model = tierkit::fit(tierkit::Policy::default_policy(), t);
    for (auto _ : state) {
        auto a = model.assign(t, {.threads = static_cast<unsigned>(state.range(0))});
        benchmark::DoNotOptimize(a.tier.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(t.rows()));
}
BENCHMARK(BM_AssignDefault)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

/// One criterion of the default policy normalized over 10^6 customers in blocks of
/// 2048 rows, one thread (the per-criterion step of assign's scoring): 0 revenue (log1p,
/// 16385 knots), 1 frequency (integer counts), 2 days_since_last, 3 aov (log1p).
void BM_NormalizeDefault(benchmark::State& state) {
    const auto& t = million_customers();
    const auto model = tierkit::fit(tierkit::Policy::default_policy(), t);
    const auto& c = model.scores()[0].criteria[static_cast<std::size_t>(state.range(0))];
    const auto x = t.column(c.spec.column);
    std::vector<double> y(2048);
    for (auto _ : state) {
        double total = 0;
        for (std::size_t b = 0; b < x.size(); b += y.size()) {
            const std::size_t m = std::min(y.size(), x.size() - b);
            benchmark::DoNotOptimize(c.normalize_block(x.data() + b, y.data(), m));
            total += y[0];
        }
        benchmark::DoNotOptimize(total);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(x.size()));
    state.SetLabel(c.spec.column + ", " + std::to_string(c.knots.size()) + " knots");
}
BENCHMARK(BM_NormalizeDefault)->DenseRange(0, 3)->ArgName("criterion")->Unit(benchmark::kMillisecond);

/// 10^7 customers x 8 gamma-distributed columns c0..c7 (as benchmarks/compare.py).
const tierkit::FeatureTable& wide_table() {
    static const tierkit::FeatureTable table = [] {
        constexpr std::size_t n = 10'000'000;
        std::vector<std::int64_t> ids(n);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);
        tierkit::FeatureTable t(std::move(ids));
        std::mt19937_64 rng(2);
        for (int j = 0; j < 8; ++j) {
            std::gamma_distribution<double> gamma(2.0 + j, 3.0);
            std::vector<double> v(n);
            for (auto& x : v) x = gamma(rng);
            t.add_column("c" + std::to_string(j), std::move(v));
        }
        return t;
    }();
    return table;
}

tierkit::Policy wide_policy() {
    std::string criteria;
    for (int j = 0; j < 8; ++j)
        criteria += std::string(j ? "," : "") + R"({"column": "c)" + std::to_string(j) +
                    R"(", "normalizer": "minmax", "weight": )" + std::to_string((j + 1) / 36.0) + "}";
    return tierkit::Policy::from_json(R"({"criteria": [)" + criteria +
                                      R"(], "rule": {"kind": "quantiles", "shares": [0.05, 0.15, 0.5]},
        "tiers": ["key", "high-value", "ordinary", "potential"]})");
}

void BM_WideFloor(benchmark::State& state) {
    const auto& t = wide_table();
    for (auto _ : state) {
        double total = 0;
        for (int j = 0; j < 8; ++j)
            for (double x : t.column("c" + std::to_string(j))) total += x;
        benchmark::DoNotOptimize(total);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(t.rows() * 8 * sizeof(double)));
}
BENCHMARK(BM_WideFloor)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WideFit(benchmark::State& state) {
    const auto& t = wide_table();
    const auto policy = wide_policy();
    for (auto _ : state) {
        auto m = tierkit::fit(policy, t);
        benchmark::DoNotOptimize(&m);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(t.rows()));
}
BENCHMARK(BM_WideFit)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WideAssign(benchmark::State& state) {
    const auto& t = wide_table();
    const auto model = tierkit::fit(wide_policy(), t);
    for (auto _ : state) {
        auto a = model.assign(t, {.with_contributions = false});
        benchmark::DoNotOptimize(a.tier.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(t.rows()));
}
BENCHMARK(BM_WideAssign)->Unit(benchmark::kMillisecond)->UseRealTime();

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
