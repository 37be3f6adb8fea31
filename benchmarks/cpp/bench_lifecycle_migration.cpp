// Migration matrix, events and revenue at risk over 10^6 and 10^7 customers joined
// from two assignments of 4 tiers (about 80% keep their tier, 5% new, 5% gone),
// with stages. The join is prepared outside the timed loop.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>

#include "tierkit/lifecycle/migration.hpp"

namespace {
using namespace tierkit::lifecycle;

struct Join {
    std::vector<std::int64_t> ids;
    std::vector<std::int32_t> before, after, stage_before, stage_after;
    std::vector<double> value;
    Transitions transitions() const { return Transitions{ids, before, after, stage_before, stage_after, 4}; }
};

const Join& data(std::int64_t n) {
    static std::map<std::int64_t, std::unique_ptr<Join>> cache;
    auto& slot = cache[n];
    if (!slot) {
        slot = std::make_unique<Join>();
        auto& d = *slot;
        const auto size = static_cast<std::size_t>(n);
        d.ids.resize(size);
        d.before.resize(size);
        d.after.resize(size);
        d.stage_before.resize(size);
        d.stage_after.resize(size);
        d.value.resize(size);
        std::mt19937_64 engine(42);
        std::uniform_real_distribution<double> uniform;
        auto next = [&] { return uniform(engine); };
        for (std::size_t i = 0; i < size; ++i) {
            d.ids[i] = static_cast<std::int64_t>(i);
            const double u = next(), v = next();
            const auto tier = static_cast<std::int32_t>(4 * next());
            d.before[i] = u < 0.05 ? absent : tier;
            d.after[i] = u >= 0.05 && u < 0.10 ? absent : v < 0.8 ? tier : static_cast<std::int32_t>(4 * next());
            if (d.before[i] == absent && d.after[i] == absent) d.after[i] = tier;
            d.stage_before[i] = d.before[i] == absent ? absent : static_cast<std::int32_t>(7 * next());
            d.stage_after[i] = d.after[i] == absent ? absent : static_cast<std::int32_t>(7 * next());
            d.value[i] = 1000 * next() * next();
        }
    }
    return *slot;
}

void BM_Migration(benchmark::State& state) {
    const auto& d = data(state.range(0));
    const auto t = d.transitions();
    for (auto _ : state) benchmark::DoNotOptimize(migration(t, d.value));
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_Events(benchmark::State& state) {
    const auto& d = data(state.range(0));
    const auto t = d.transitions();
    for (auto _ : state) benchmark::DoNotOptimize(events(t));
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_RevenueAtRisk(benchmark::State& state) {
    const auto& d = data(state.range(0));
    const auto t = d.transitions();
    for (auto _ : state) benchmark::DoNotOptimize(revenue_at_risk(t, d.value));
    state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

BENCHMARK(BM_Migration)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Events)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RevenueAtRisk)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
