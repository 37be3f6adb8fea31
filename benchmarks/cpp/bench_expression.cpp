// The `expression` rule's assign on 10^6 and 10^7 customers against the same
// decision list hand-written in C++ over the same columns: once as a natural
// if/else chain, once branch-free. Two decision lists: plain comparisons, and
// arithmetic + between + pct(). The target is the expression within 2x of the
// hand-written code.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "tierkit/rules/builtin/expression.hpp"

namespace {

/// Customers with a log-normal monetary value, a frequency and a recency in days.
struct Customers {
    tierkit::FeatureTable table;
    std::vector<std::string> score_names;
    std::vector<std::vector<double>> scores;
    const double* monetary = nullptr;
    const double* frequency = nullptr;
    const double* recency = nullptr;
    std::size_t rows = 0;
    tierkit::RuleInput input() const { return tierkit::RuleInput{table, score_names, scores}; }
};

const Customers& customers(std::int64_t n) {
    static std::map<std::int64_t, Customers> cache;
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> money(5.5, 1.2);
    std::poisson_distribution<int> orders(6);
    std::uniform_real_distribution<double> days(0, 730);
    const auto rows = static_cast<std::size_t>(n);
    std::vector<std::int64_t> ids(rows);
    std::vector<double> m(rows), f(rows), r(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        ids[i] = static_cast<std::int64_t>(i);
        m[i] = std::round(money(rng) * 100) / 100;
        f[i] = orders(rng);
        r[i] = std::floor(days(rng));
    }
    Customers c;
    c.table = tierkit::FeatureTable(std::move(ids));
    c.table.add_column("monetary_value", std::move(m));
    c.table.add_column("frequency", std::move(f));
    c.table.add_column("recency", std::move(r));
    c.monetary = c.table.column("monetary_value").data();
    c.frequency = c.table.column("frequency").data();
    c.recency = c.table.column("recency").data();
    c.rows = rows;
    return cache.emplace(n, std::move(c)).first->second;
}

std::unique_ptr<tierkit::Rule> rule(const nlohmann::json& branches, const Customers& c) {
    auto r = tierkit::make_expression_rule(
        nlohmann::json{{"branches", branches}, {"tier_names", {"key", "high", "ordinary"}}}, "rule", 3);
    r->fit(c.input());
    return r;
}

const nlohmann::json comparisons =
    nlohmann::json::array({{{"when", "monetary_value >= 1000 and frequency >= 12"}, {"tier", "key"}},
                           {{"when", "monetary_value >= 300 or (frequency >= 6 and recency <= 90)"}, {"tier", "high"}},
                           {{"else", "ordinary"}}});

const nlohmann::json arithmetic = nlohmann::json::array(
    {{{"when", "monetary_value / max(frequency, 1) >= 80 and between(recency, 0, 180)"}, {"tier", "key"}},
     {{"when", "pct(monetary_value) >= 0.5"}, {"tier", "high"}},
     {{"else", "ordinary"}}});

void finish(benchmark::State& state, const Customers& c, const std::vector<std::int32_t>& tier) {
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.rows));
    state.counters["key_share"] =
        static_cast<double>(std::count(tier.begin(), tier.end(), 0)) / static_cast<double>(c.rows);
}

// ---- plain comparisons ----------------------------------------------------------

void BM_ExpressionComparisons(benchmark::State& state) {
    const auto& c = customers(state.range(0));
    const auto r = rule(comparisons, c);
    std::vector<std::int32_t> tier(c.rows), reason(c.rows);
    for (auto _ : state) {
        r->assign(c.input(), tier, reason);
        benchmark::DoNotOptimize(tier.data());
        benchmark::ClobberMemory();
    }
    finish(state, c, tier);
}

void BM_HandWrittenComparisons(benchmark::State& state) {
    const auto& c = customers(state.range(0));
    std::vector<std::int32_t> tier(c.rows), reason(c.rows);
    for (auto _ : state) {
        const double *m = c.monetary, *f = c.frequency, *rc = c.recency;
        for (std::size_t i = 0; i < c.rows; ++i) {
            std::int32_t k;
            if (m[i] >= 1000 && f[i] >= 12)
                k = 0;
            else if (m[i] >= 300 || (f[i] >= 6 && rc[i] <= 90))
                k = 1;
            else
                k = 2;
            tier[i] = k;
            reason[i] = k;
        }
        benchmark::DoNotOptimize(tier.data());
        benchmark::ClobberMemory();
    }
    finish(state, c, tier);
}

void BM_HandWrittenBranchFreeComparisons(benchmark::State& state) {
    const auto& c = customers(state.range(0));
    std::vector<std::int32_t> tier(c.rows), reason(c.rows);
    for (auto _ : state) {
        const double *m = c.monetary, *f = c.frequency, *rc = c.recency;
        for (std::size_t i = 0; i < c.rows; ++i) {
            const bool first = (m[i] >= 1000) & (f[i] >= 12);
            const bool second = (m[i] >= 300) | ((f[i] >= 6) & (rc[i] <= 90));
            const std::int32_t k = first ? 0 : second ? 1 : 2;
            tier[i] = k;
            reason[i] = k;
        }
        benchmark::DoNotOptimize(tier.data());
        benchmark::ClobberMemory();
    }
    finish(state, c, tier);
}

// ---- arithmetic, between and pct -----------------------------------------------------

void BM_ExpressionArithmetic(benchmark::State& state) {
    const auto& c = customers(state.range(0));
    const auto r = rule(arithmetic, c);
    std::vector<std::int32_t> tier(c.rows), reason(c.rows);
    for (auto _ : state) {
        r->assign(c.input(), tier, reason);
        benchmark::DoNotOptimize(tier.data());
        benchmark::ClobberMemory();
    }
    finish(state, c, tier);
}

/// The same pct() curve the rule fits: a FittedCriterion with the percentile normalizer.
tierkit::FittedCriterion monetary_curve(const Customers& c) {
    tierkit::CriterionSpec spec;
    spec.column = "monetary_value";
    spec.normalizer = tierkit::Normalizer::percentile;
    return tierkit::fit_criterion(spec, c.table.column("monetary_value"));
}

void BM_HandWrittenArithmetic(benchmark::State& state) {
    const auto& c = customers(state.range(0));
    const auto curve = monetary_curve(c);
    std::vector<std::int32_t> tier(c.rows), reason(c.rows);
    for (auto _ : state) {
        const double *m = c.monetary, *f = c.frequency, *rc = c.recency;
        for (std::size_t i = 0; i < c.rows; ++i) {
            std::int32_t k;
            if (m[i] / std::max(f[i], 1.0) >= 80 && rc[i] >= 0 && rc[i] <= 180)
                k = 0;
            else if (curve.normalize(m[i]) >= 0.5)
                k = 1;
            else
                k = 2;
            tier[i] = k;
            reason[i] = k;
        }
        benchmark::DoNotOptimize(tier.data());
        benchmark::ClobberMemory();
    }
    finish(state, c, tier);
}

void BM_HandWrittenBranchFreeArithmetic(benchmark::State& state) {
    const auto& c = customers(state.range(0));
    const auto curve = monetary_curve(c);
    std::vector<std::int32_t> tier(c.rows), reason(c.rows);
    for (auto _ : state) {
        const double *m = c.monetary, *f = c.frequency, *rc = c.recency;
        for (std::size_t i = 0; i < c.rows; ++i) {
            const bool first = (m[i] / std::max(f[i], 1.0) >= 80) & (rc[i] >= 0) & (rc[i] <= 180);
            // pct() is only needed where the first branch does not decide.
            const std::int32_t k = first ? 0 : curve.normalize(m[i]) >= 0.5 ? 1 : 2;
            tier[i] = k;
            reason[i] = k;
        }
        benchmark::DoNotOptimize(tier.data());
        benchmark::ClobberMemory();
    }
    finish(state, c, tier);
}

}  // namespace

BENCHMARK(BM_ExpressionComparisons)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HandWrittenComparisons)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HandWrittenBranchFreeComparisons)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExpressionArithmetic)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HandWrittenArithmetic)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HandWrittenBranchFreeArithmetic)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
