// rfm_segments and kmeans: assign on 10^6 and 10^7 customers; one Lloyd iteration,
// a 20-iteration Lloyd run (10^6 x 8) and the k-means++ seeding on 10^6 points x 6
// criteria.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "tierkit/rules/builtin/kmeans.hpp"
#include "tierkit/rules/builtin/rfm_segments.hpp"

namespace {

using tierkit::CriteriaBlock;
using tierkit::FeatureTable;
using tierkit::RuleInput;
using tierkit::Xoshiro256;

/// Customers with integer days since the last purchase (0..729), a heavily tied
/// repeat count and an exponential revenue (cached per size).
const FeatureTable& rfm_customers(std::int64_t n) {
    static std::map<std::int64_t, std::unique_ptr<FeatureTable>> cache;
    auto& slot = cache[n];
    if (slot) return *slot;
    Xoshiro256 rng(1);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
    std::vector<double> days(ids.size()), frequency(ids.size()), revenue(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
        ids[i] = static_cast<std::int64_t>(i);
        days[i] = static_cast<double>(rng.below(730));
        frequency[i] = std::floor(-std::log1p(-rng.uniform()) * 2.0);  // geometric-like, mostly 0..3
        revenue[i] = -std::log1p(-rng.uniform()) * 120.0;
    }
    slot = std::make_unique<FeatureTable>(std::move(ids));
    slot->add_column("days_since_last", std::move(days));
    slot->add_column("frequency", std::move(frequency));
    slot->add_column("revenue", std::move(revenue));
    return *slot;
}

const std::vector<std::string> no_names;
const std::vector<std::vector<double>> no_scores;

void BM_RfmSegmentsAssign(benchmark::State& state) {
    const auto& table = rfm_customers(state.range(0));
    nlohmann::json p = {{"kind", "rfm_segments"}, {"tier_names", tierkit::default_segment_names()}};
    auto rule = tierkit::make_rfm_segments_rule(p, "rule", 11);
    rule->fit(RuleInput{rfm_customers(1'000'000), no_names, no_scores});
    const RuleInput input{table, no_names, no_scores};
    std::vector<std::int32_t> tier(table.rows()), reason(table.rows());
    for (auto _ : state) {
        rule->assign(input, tier, reason);
        benchmark::DoNotOptimize(tier.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RfmSegmentsAssign)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

/// n points in [0, 1]^d from four overlapping groups (cached per size).
struct Criteria {
    FeatureTable table;
    std::vector<CriteriaBlock> blocks;
};
const Criteria& criteria(std::int64_t n, std::size_t d) {
    static std::map<std::pair<std::int64_t, std::size_t>, std::unique_ptr<Criteria>> cache;
    auto& slot = cache[{n, d}];
    if (slot) return *slot;
    slot = std::make_unique<Criteria>();
    Xoshiro256 rng(2);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
    slot->table = FeatureTable(std::move(ids));
    CriteriaBlock b;
    b.score = "value";
    b.normalized.assign(d, std::vector<double>(static_cast<std::size_t>(n)));
    for (std::size_t f = 0; f < d; ++f) {
        b.names.push_back("c" + std::to_string(f));
        b.weights.push_back(1.0 / static_cast<double>(d));
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        const double centre = 0.2 + 0.2 * static_cast<double>(rng.below(4));
        for (std::size_t f = 0; f < d; ++f)
            b.normalized[f][i] = std::clamp(centre + 0.3 * (rng.uniform() - 0.5), 0.0, 1.0);
    }
    slot->blocks.push_back(std::move(b));
    return *slot;
}

void BM_KMeansAssign(benchmark::State& state) {
    const auto& data = criteria(state.range(0), 4);
    const auto& train = criteria(1'000'000, 4);
    auto rule = tierkit::make_kmeans_rule({{"kind", "kmeans"}, {"seed", 0}}, "rule", 4);
    rule->fit(RuleInput{train.table, no_names, no_scores, &train.blocks});
    const RuleInput input{data.table, no_names, no_scores, &data.blocks};
    std::vector<std::int32_t> tier(data.table.rows()), reason(data.table.rows());
    for (auto _ : state) {
        rule->assign(input, tier, reason);
        benchmark::DoNotOptimize(tier.data());
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
    state.counters["criteria"] = 4;
    state.counters["k"] = 4;
}
BENCHMARK(BM_KMeansAssign)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

tierkit::PointColumns points(const Criteria& c) {
    tierkit::PointColumns x{c.table.rows(), {}};
    for (const auto& col : c.blocks.front().normalized) x.columns.push_back(col.data());
    return x;
}

/// One Lloyd iteration (E-step + M-step) on 10^6 x 6; args: k, threads (0 = all).
void BM_KMeansLloydIteration(benchmark::State& state) {
    const auto& data = criteria(1'000'000, 6);
    const auto x = points(data);
    const auto k = static_cast<std::size_t>(state.range(0));
    const auto threads = static_cast<unsigned>(state.range(1));
    Xoshiro256 rng(0);
    const auto centers = tierkit::kmeans_plus_plus(x, k, rng);
    std::vector<double> next(centers.size());
    std::vector<std::int32_t> labels(x.rows, -1);
    for (auto _ : state) {
        benchmark::DoNotOptimize(tierkit::lloyd_iteration(x, centers, next, labels, threads));
        benchmark::DoNotOptimize(labels.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(x.rows));
}
BENCHMARK(BM_KMeansLloydIteration)
    ->Args({4, 0})
    ->Args({4, 1})
    ->Args({8, 0})
    ->Args({8, 1})
    ->ArgNames({"k", "threads"})
    ->Unit(benchmark::kMillisecond);

/// kmeans_lloyd: 20 Lloyd iterations on 10^6 x 8, k = 8, tol = 0, from one k-means++
/// start, and the final labelling with the inertia (the fit's run as
/// benchmarks/compare.py times it, without the normalizing); arg: threads (0 = all).
/// Counter per_lloyd_iteration: seconds per Lloyd iteration (the run's time / 20).
void BM_KMeansLloydRun(benchmark::State& state) {
    const auto& data = criteria(1'000'000, 8);
    const auto x = points(data);
    const auto threads = static_cast<unsigned>(state.range(0));
    Xoshiro256 rng(0);
    const auto init = tierkit::kmeans_plus_plus(x, 8, rng);
    constexpr int iterations = 20;
    for (auto _ : state) {
        const auto r = tierkit::kmeans_lloyd(x, init, iterations, 0.0, threads);
        benchmark::DoNotOptimize(r.inertia);
    }
    state.counters["per_lloyd_iteration"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * iterations,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_KMeansLloydRun)->Arg(2)->Arg(1)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

/// k-means++ seeding on 10^6 x 6 (all threads).
void BM_KMeansPlusPlus(benchmark::State& state) {
    const auto& data = criteria(1'000'000, 6);
    const auto x = points(data);
    for (auto _ : state) {
        Xoshiro256 rng(0);
        auto c = tierkit::kmeans_plus_plus(x, static_cast<std::size_t>(state.range(0)), rng);
        benchmark::DoNotOptimize(c.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(x.rows));
}
BENCHMARK(BM_KMeansPlusPlus)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace
