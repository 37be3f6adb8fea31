// Model files and real-time scoring: Scorer::assign_one latency for a 6-criterion
// thresholds policy; save / load time and file size per archive kind for a model of
// 10 criteria with a 10-cluster kmeans rule (fitted on 20,000 customers).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <sstream>

#include "tierkit/tierkit.hpp"

namespace {

/// n rows of 10 skewed columns c0..c9 (fixed seed).
const tierkit::FeatureTable& table(std::size_t n = 20000) {
    static const tierkit::FeatureTable t = [n] {
        std::mt19937_64 rng(7);
        std::lognormal_distribution<double> amount(4.0, 1.2);
        std::vector<std::int64_t> ids(n);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i + 1);
        tierkit::FeatureTable f(ids);
        for (int c = 0; c < 10; ++c) {
            std::vector<double> v(n);
            for (auto& x : v) x = std::round(amount(rng) * 100) / 100;
            f.add_column("c" + std::to_string(c), std::move(v));
        }
        return f;
    }();
    return t;
}

const char* kThresholds6 =
    R"j({"criteria": [{"column": "c0", "transform": "log1p"}, "c1", {"column": "c2", "direction": "lower"},
    {"column": "c3", "normalizer": "zscore"}, {"column": "c4", "normalizer": "minmax"}, {"column": "c5", "normalizer": "robust"}],
    "weights": {"method": "entropy"}, "rule": {"kind": "thresholds", "cuts": [75, 50, 25]}, "tiers": ["a", "b", "c", "d"]})j";

const char* kKMeans10 = R"j({"criteria": ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"],
    "weights": {"method": "critic"}, "rule": {"kind": "kmeans", "k": 10, "seed": 1},
    "tiers": ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"]})j";

void BM_AssignOne(benchmark::State& state) {
    const tierkit::Model model = tierkit::fit(tierkit::Policy::from_json(kThresholds6), table());
    tierkit::Scorer scorer(model, {"c0", "c1", "c2", "c3", "c4", "c5"});
    const auto& t = table();
    std::vector<std::vector<double>> rows(1024, std::vector<double>(6));
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = 0; j < 6; ++j) rows[i][j] = t.column(j)[i * 17];
    std::size_t i = 0;
    for (auto _ : state) {
        const tierkit::Scored& r = scorer.assign_one(rows[i++ & 1023]);
        benchmark::DoNotOptimize(r.tier);
    }
    state.counters["allocation_free"] = scorer.allocation_free() ? 1 : 0;
}
BENCHMARK(BM_AssignOne);

const tierkit::Model& kmeans_model() {
    static const tierkit::Model m = tierkit::fit(tierkit::Policy::from_json(kKMeans10), table());
    return m;
}

void BM_Save(benchmark::State& state) {
    const auto kind = static_cast<tierkit::ArchiveKind>(state.range(0));
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::ostringstream out;
        tierkit::save(kmeans_model(), out, kind);
        bytes = out.str().size();
        benchmark::DoNotOptimize(bytes);
    }
    state.counters["file_bytes"] = static_cast<double>(bytes);
    state.SetLabel(state.range(0) == 0 ? "binary" : state.range(0) == 1 ? "text" : "xml");
}
BENCHMARK(BM_Save)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_Load(benchmark::State& state) {
    const auto kind = static_cast<tierkit::ArchiveKind>(state.range(0));
    std::ostringstream out;
    tierkit::save(kmeans_model(), out, kind);
    const std::string bytes = out.str();
    for (auto _ : state) {
        std::istringstream in(bytes);
        const tierkit::Model m = tierkit::load(in);
        benchmark::DoNotOptimize(&m);
    }
    state.counters["file_bytes"] = static_cast<double>(bytes.size());
    state.SetLabel(state.range(0) == 0 ? "binary" : state.range(0) == 1 ? "text" : "xml");
}
BENCHMARK(BM_Load)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
