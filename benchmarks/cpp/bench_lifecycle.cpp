// Re-tiering 10^7 customers with a previous assignment (hysteresis + stages + next
// actions) against a plain assign of the same table: the target is a ratio <= 1.5.
// BM_AssignPlain and BM_AssignRetier print their times; BM_AssignRetier's counter
// "ratio_to_plain" is its time over the plain assign's (measured in the same run).
// BM_AssignRetierShuffled matches the previous assignment by id in another order.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "tierkit/tierkit.hpp"

namespace {

constexpr std::size_t customers = 10'000'000;

/// Features as summarize makes them (the default policy's columns and the stage
/// columns), drawn at random: 10^7 rows.
const tierkit::FeatureTable& book() {
    static const tierkit::FeatureTable table = [] {
        std::mt19937_64 rng(7);
        std::vector<std::int64_t> ids(customers);
        std::iota(ids.begin(), ids.end(), std::int64_t{1});
        std::vector<double> revenue(customers), frequency(customers), dsl(customers), aov(customers), orders(customers),
            first(customers), last(customers), trend(customers);
        std::lognormal_distribution<double> money(5.0, 1.2);
        std::poisson_distribution<int> repeat(3.0);
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        const double as_of = 20000;
        for (std::size_t i = 0; i < customers; ++i) {
            frequency[i] = repeat(rng);
            orders[i] = unit(rng) < 0.02 ? 0.0 : frequency[i] + 1;
            aov[i] = money(rng);
            revenue[i] = aov[i] * orders[i];
            first[i] = as_of - std::floor(unit(rng) * 1500);
            dsl[i] = std::floor(unit(rng) * (as_of - first[i]));
            last[i] = as_of - dsl[i];
            trend[i] = 2.0 * unit(rng);
        }
        tierkit::FeatureTable t(std::move(ids));
        std::pair<const char*, std::vector<double>*> columns[] = {
            {"revenue", &revenue}, {"frequency", &frequency},  {"days_since_last", &dsl}, {"aov", &aov},
            {"orders", &orders},   {"first_purchase", &first}, {"last_purchase", &last},  {"trend", &trend}};
        for (auto& [name, values] : columns) t.add_column(name, std::move(*values));
        return t;
    }();
    return table;
}

/// The default policy with hysteresis: margins of 2 score points, k = 2, one tier
/// down per evaluation; fitted on the first 10^6 customers.
const tierkit::Model& model() {
    static const tierkit::Model m = [] {
        auto j = nlohmann::json::parse(tierkit::Policy::default_policy().to_json());
        j["lifecycle"] = {{"hysteresis", {{"up_margin", 2}, {"down_margin", 2}, {"k", 2}, {"max_demotion", 1}}}};
        std::vector<std::size_t> rows(1'000'000);
        std::iota(rows.begin(), rows.end(), std::size_t{0});
        return tierkit::fit(tierkit::Policy::from_json(j.dump()), book().subset(rows));
    }();
    return m;
}

/// A previous evaluation: the plain tiers moved by -1, 0 or +1 at random, counters
/// 0..2, stages at random; in the table's order or shuffled.
tierkit::lifecycle::PreviousAssignment previous(bool shuffled) {
    const auto plain = model().assign(book(), {.with_contributions = false});
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> move(-1, 1), count(0, 2), stage(0, 6);
    const auto tiers = static_cast<int>(plain.tier_names.size());
    tierkit::lifecycle::PreviousAssignment p;
    p.ids.assign(plain.ids.begin(), plain.ids.end());
    p.tier.resize(customers);
    p.below_count.resize(customers);
    p.stage.resize(customers);
    for (std::size_t i = 0; i < customers; ++i) {
        p.tier[i] = std::clamp(plain.tier[i] + move(rng), 0, tiers - 1);
        p.below_count[i] = count(rng);
        p.stage[i] = static_cast<std::int8_t>(stage(rng));
    }
    if (shuffled) {
        std::vector<std::size_t> order(customers);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::shuffle(order.begin(), order.end(), rng);
        auto q = p;
        for (std::size_t k = 0; k < customers; ++k) {
            q.ids[k] = p.ids[order[k]];
            q.tier[k] = p.tier[order[k]];
            q.below_count[k] = p.below_count[order[k]];
            q.stage[k] = p.stage[order[k]];
        }
        return q;
    }
    return p;
}

double plain_seconds = 0;  // the last plain assign's mean time, for the ratio

void BM_AssignPlain(benchmark::State& state) {
    const auto& t = book();
    const auto& m = model();
    double total = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        auto a = m.assign(t, {.with_contributions = false});
        total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        benchmark::DoNotOptimize(a.tier.data());
    }
    plain_seconds = total / static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(customers));
}

void retier(benchmark::State& state, bool shuffled) {
    const auto& t = book();
    const auto& m = model();
    const auto prev = previous(shuffled);
    double total = 0;
    std::int64_t moved = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        auto a = m.assign(t, {.with_contributions = false, .previous = &prev});
        total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        moved = 0;
        if (!shuffled)
            for (std::size_t i = 0; i < customers; ++i) moved += a.tier[i] != prev.tier[i];
        benchmark::DoNotOptimize(a.tier.data());
    }
    const double seconds = total / static_cast<double>(state.iterations());
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(customers));
    state.counters["ratio_to_plain"] = plain_seconds > 0 ? seconds / plain_seconds : 0.0;
    if (!shuffled) state.counters["moved_share"] = static_cast<double>(moved) / static_cast<double>(customers);
}

void BM_AssignRetier(benchmark::State& state) { retier(state, false); }
void BM_AssignRetierShuffled(benchmark::State& state) { retier(state, true); }

}  // namespace

BENCHMARK(BM_AssignPlain)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_AssignRetier)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK(BM_AssignRetierShuffled)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
