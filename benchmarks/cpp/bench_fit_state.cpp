// The out-of-core Fitter on 10^6 customers in 16 chunks, default policy (four
// percentile criteria, quantile cuts): fit() on the whole table next to the exact,
// sketch and refine modes (every pass reads every chunk, merged left to right).
// Counters: passes, and for refine the share of the rows its values passes gather.
// Also ExactSum (exact_sum.hpp) next to a plain sum.
#include <benchmark/benchmark.h>

#include <numeric>
#include <random>

#include "tierkit/core/exact_sum.hpp"
#include "tierkit/core/sort.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/tierkit.hpp"

namespace {

using namespace tierkit;

/// Customers: log-normal revenue and aov (continuous), Poisson frequency and
/// uniform days_since_last (heavy ties).
const std::vector<FeatureTable>& chunks() {
    static const std::vector<FeatureTable> out = [] {
        const std::size_t n = 1'000'000, parts = 16;
        std::mt19937_64 rng(1);
        std::lognormal_distribution<double> revenue(4.0, 1.2);
        std::poisson_distribution<int> orders(2.0);
        std::uniform_int_distribution<int> days(0, 365);
        std::vector<std::int64_t> ids(n);
        std::vector<double> rev(n), freq(n), since(n), aov(n);
        for (std::size_t i = 0; i < n; ++i) {
            ids[i] = static_cast<std::int64_t>(i);
            freq[i] = 1 + orders(rng);
            rev[i] = revenue(rng);
            since[i] = days(rng);
            aov[i] = rev[i] / freq[i];
        }
        FeatureTable t(ids);
        t.add_column("revenue", rev);
        t.add_column("frequency", freq);
        t.add_column("days_since_last", since);
        t.add_column("aov", aov);
        std::vector<FeatureTable> c;
        for (std::size_t p = 0; p < parts; ++p) {
            std::vector<std::size_t> rows(n * (p + 1) / parts - n * p / parts);
            std::iota(rows.begin(), rows.end(), n * p / parts);
            c.push_back(t.subset(rows));
        }
        c.push_back(t);  // the whole table last
        return c;
    }();
    return out;
}

void BM_FitWholeTable(benchmark::State& state) {
    const Policy p = Policy::default_policy();
    for (auto _ : state) benchmark::DoNotOptimize(fit(p, chunks().back()));
}
BENCHMARK(BM_FitWholeTable)->Unit(benchmark::kMillisecond);

// The order statistics' sort of a fit on 10^6 log-normal values: range(0) 0 = std::sort,
// 1 = sort_doubles (the radix sort fit_criterion uses); the same sorted output.
void BM_SortColumn(benchmark::State& state) {
    const auto revenue = chunks().back().column("revenue");
    std::vector<double> v;
    for (auto _ : state) {
        v.assign(revenue.begin(), revenue.end());
        if (state.range(0))
            sort_doubles(v);
        else
            std::sort(v.begin(), v.end());
        benchmark::DoNotOptimize(v.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * revenue.size()));
}
BENCHMARK(BM_SortColumn)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// fit of 10^6 customers x 4 percentile criteria.
void BM_FitPercentile(benchmark::State& state) {
    const Policy p = Policy::from_json(R"({"criteria": [
        {"column": "revenue", "normalizer": "percentile", "weight": 1},
        {"column": "frequency", "normalizer": "percentile", "weight": 1},
        {"column": "days_since_last", "normalizer": "percentile", "weight": 1, "direction": "lower"},
        {"column": "aov", "normalizer": "percentile", "weight": 1}],
        "rule": {"kind": "quantiles", "shares": [0.2]}, "tiers": ["a", "b"]})");
    for (auto _ : state) benchmark::DoNotOptimize(fit(p, chunks().back()));
}
BENCHMARK(BM_FitPercentile)->Unit(benchmark::kMillisecond);

void BM_FitterMode(benchmark::State& state) {
    const Policy p = Policy::default_policy();
    // 0 exact, 1 sketch, 2 refine, 3 refine with 2^20 buckets
    const auto mode = static_cast<FitMode>(std::min<std::int64_t>(state.range(0), 2));
    FitOptions options{mode};
    if (state.range(0) == 3) options.refine_buckets = 1u << 20;
    const std::span<const FeatureTable> parts(chunks().data(), chunks().size() - 1);
    double passes = 0, collected = 0;
    for (auto _ : state) {
        Fitter f(p, options);
        while (!f.done()) {
            PartialState total;
            for (const auto& c : parts) total = Fitter::merge(total, f.update(c));
            f.advance(total);
        }
        benchmark::DoNotOptimize(f.model());
        passes = f.passes();
        collected = f.collected_rows();
    }
    state.SetLabel(mode == FitMode::exact    ? "exact"
                   : mode == FitMode::sketch ? "sketch"
                   : state.range(0) == 2     ? "refine"
                                             : "refine, 2^20 buckets");
    state.counters["passes"] = passes;
    state.counters["collected_share"] = collected / static_cast<double>(chunks().back().rows());
}
BENCHMARK(BM_FitterMode)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);

/// ExactSum next to a plain floating-point sum over the 10^6 revenues (items/s).
void BM_Sum(benchmark::State& state) {
    const auto v = chunks().back().column("revenue");
    for (auto _ : state) {
        if (state.range(0) == 0) {
            double s = 0;
            for (double x : v) s += x;
            benchmark::DoNotOptimize(s);
        } else {
            benchmark::DoNotOptimize(exact_sum(v, [](double x) { return x; }));
        }
    }
    state.SetLabel(state.range(0) == 0 ? "plain" : "exact");
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(v.size()));
}
BENCHMARK(BM_Sum)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
