// summarize on a transaction log in time order (customers in random order, sparse
// int64 ids: the shape of real logs), and the streaming Summarizer over the same log
// in chunks, with the bytes its state holds per customer.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "tierkit/tierkit.hpp"

namespace {

/// `rows` transactions of rows/10 customers in time order over three years: ids
/// k * 7919 + a random offset below 7919, amounts in cents (cached per size).
struct TimeLog {
    std::vector<std::int64_t> customer, day;
    std::vector<double> amount;
};

const TimeLog& time_log(std::int64_t rows) {
    static std::map<std::int64_t, TimeLog> cache;
    auto it = cache.find(rows);
    if (it != cache.end()) return it->second;
    std::mt19937_64 rng(11);
    const std::int64_t m = std::max<std::int64_t>(rows / 10, 10);
    std::vector<std::int64_t> ids(static_cast<std::size_t>(m));
    for (std::int64_t k = 0; k < m; ++k)
        ids[static_cast<std::size_t>(k)] = k * 7919 + static_cast<std::int64_t>(rng() % 7919);
    TimeLog log;
    const auto n = static_cast<std::size_t>(rows);
    log.customer.resize(n);
    log.day.resize(n);
    log.amount.resize(n);
    std::gamma_distribution<double> spend(2.0, 25.0);
    for (std::size_t i = 0; i < n; ++i) {
        log.customer[i] = ids[rng() % static_cast<std::uint64_t>(m)];
        log.day[i] = 19'000 + static_cast<std::int64_t>(rng() % (3 * 365));
        log.amount[i] = std::round(spend(rng) * 100) / 100;
    }
    std::sort(log.day.begin(), log.day.end());
    return cache.emplace(rows, std::move(log)).first->second;
}

void BM_SummarizeTimeOrdered(benchmark::State& state) {
    const auto& log = time_log(state.range(0));
    const tierkit::Transactions tx{log.customer, log.day, log.amount, {}, {}};
    for (auto _ : state) {
        auto s = tierkit::summarize(tx);
        benchmark::DoNotOptimize(s.features.rows());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(log.customer.size()));
}
BENCHMARK(BM_SummarizeTimeOrdered)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The same log with its dates as datetime64[ns] ticks (a pandas date column as it
/// is): summarize floors them to days once.
void BM_SummarizeTimeOrderedTicks(benchmark::State& state) {
    const auto& log = time_log(state.range(0));
    constexpr std::int64_t ns = 86'400'000'000'000;
    std::vector<std::int64_t> ticks(log.day.size());
    for (std::size_t i = 0; i < ticks.size(); ++i) ticks[i] = log.day[i] * ns + static_cast<std::int64_t>(i % 86'400);
    const tierkit::Transactions tx{log.customer, ticks, log.amount, {}, {}, ns};
    for (auto _ : state) {
        auto s = tierkit::summarize(tx);
        benchmark::DoNotOptimize(s.features.rows());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(log.customer.size()));
}
BENCHMARK(BM_SummarizeTimeOrderedTicks)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The log in chunks of 10^6 rows through one Summarizer, then finalize().
void BM_SummarizerTimeOrdered(benchmark::State& state) {
    const auto& log = time_log(state.range(0));
    constexpr std::size_t chunk = 1'000'000;
    const std::size_t n = log.customer.size();
    double per_customer = 0;
    for (auto _ : state) {
        tierkit::Summarizer s;
        for (std::size_t at = 0; at < n; at += chunk) {
            const std::size_t len = std::min(chunk, n - at);
            s.update({std::span(log.customer).subspan(at, len),
                      std::span(log.day).subspan(at, len),
                      std::span(log.amount).subspan(at, len),
                      {},
                      {}});
        }
        per_customer = static_cast<double>(s.state_bytes()) / static_cast<double>(s.customers());
        auto out = s.finalize();
        benchmark::DoNotOptimize(out.features.rows());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
    state.counters["state_bytes_per_customer"] = per_customer;
}
BENCHMARK(BM_SummarizerTimeOrdered)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
