// CLV fitting and prediction speed: CDNOW (2,357 customers) and synthetic summaries of
// 10^6 and 10^7 customers with daily-resolution times in weeks, as summarize produces
// them. "compress+fit" starts from the raw columns (RfmHistogram update + finalize + fit);
// "fit" starts from the finalized patterns.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/clv/clv.hpp"

using namespace tierkit::clv;

namespace {

struct Columns {
    std::vector<double> x, t_x, T, m;
};

// shared/data beside the source tree (the benchmark target has no data path definition)
const std::string kCdnow =
    (std::filesystem::path(__FILE__).parent_path() / "../../../shared/data/cdnow/").lexically_normal().string();

const Columns* cdnow() {
    static const Columns data = [] {
        Columns c;
        std::ifstream in(kCdnow + "cdnow_customers_summary_with_transactions.csv");
        std::string line;
        std::getline(in, line);
        while (std::getline(in, line)) {
            std::stringstream fields(line);
            std::string f;
            std::vector<double> v;
            while (std::getline(fields, f, ',')) v.push_back(std::stod(f));
            if (v.size() < 5) continue;
            c.x.push_back(v[1]);
            c.t_x.push_back(v[2]);
            c.T.push_back(v[3]);
            c.m.push_back(v[4]);
        }
        return c;
    }();
    return data.x.empty() ? nullptr : &data;
}

// BG/NBD customers (CDNOW's parameters) acquired over 12 weeks and observed for 52; purchase
// days merged, times in days / 7.
const Columns& synthetic(std::size_t n) {
    static std::map<std::size_t, Columns> cache;
    auto it = cache.find(n);
    if (it != cache.end()) return it->second;
    Columns c;
    c.x.reserve(n), c.t_x.reserve(n), c.T.reserve(n), c.m.reserve(n);
    std::mt19937_64 rng(20240601);
    std::gamma_distribution<double> lambda_dist(0.243, 1.0 / 4.414), ga(0.793, 1.0), gb(2.426, 1.0);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::uniform_int_distribution<int> first_day(0, 83);
    for (std::size_t i = 0; i < n; ++i) {
        const int T_days = 52 * 7 - first_day(rng);
        const double lambda = lambda_dist(rng) / 7.0;  // per day
        const double xa = ga(rng), p = xa / (xa + gb(rng));
        double t = 0;
        int x = 0, last = 0;
        for (;;) {
            t += std::exponential_distribution<double>(lambda)(rng);
            if (t > T_days) break;
            const int day = static_cast<int>(t);
            if (day != last || x == 0) ++x;
            last = day;
            if (u(rng) < p) break;
        }
        c.x.push_back(x);
        c.t_x.push_back(x > 0 ? last / 7.0 : 0.0);
        c.T.push_back(T_days / 7.0);
        c.m.push_back(x > 0 ? std::floor(2000 + 4000 * u(rng)) / 100 : 0.0);
    }
    return cache.emplace(n, std::move(c)).first->second;
}

template <class Fit>
void fit_cdnow(benchmark::State& state, Fit fit) {
    const Columns* c = cdnow();
    if (!c) {
        state.SkipWithError(("CDNOW data not found under " + kCdnow).c_str());
        return;
    }
    for (auto _ : state) {
        auto result = fit(compress_rfm(c->x, c->t_x, c->T));
        benchmark::DoNotOptimize(result);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c->x.size()));
}

void BM_FitBgNbd_Cdnow(benchmark::State& state) {
    fit_cdnow(state, [](const RfmPatterns& p) { return fit_bg_nbd(p); });
}
void BM_FitMbgNbd_Cdnow(benchmark::State& state) {
    fit_cdnow(state, [](const RfmPatterns& p) { return fit_mbg_nbd(p); });
}
void BM_FitParetoNbd_Cdnow(benchmark::State& state) {
    fit_cdnow(state, [](const RfmPatterns& p) { return fit_pareto_nbd(p); });
}

void BM_FitBgNbdAndGammaGamma_Cdnow(benchmark::State& state) {
    const Columns* c = cdnow();
    if (!c) {
        state.SkipWithError(("CDNOW data not found under " + kCdnow).c_str());
        return;
    }
    for (auto _ : state) {
        auto bg = fit_bg_nbd(compress_rfm(c->x, c->t_x, c->T));
        auto gg = fit_gamma_gamma(compress_spend(c->x, c->m));
        benchmark::DoNotOptimize(bg);
        benchmark::DoNotOptimize(gg);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c->x.size()));
}

void BM_CompressAndFitBgNbd_Synthetic(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    std::size_t patterns = 0;
    for (auto _ : state) {
        RfmHistogram h;
        h.update(c.x, c.t_x, c.T);
        const RfmPatterns p = h.finalize();
        patterns = p.size();
        auto fit = fit_bg_nbd(p);
        benchmark::DoNotOptimize(fit);
    }
    state.counters["patterns"] = static_cast<double>(patterns);
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

void BM_CompressRfm_Synthetic(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        RfmHistogram h;
        h.update(c.x, c.t_x, c.T);
        auto p = h.finalize();
        benchmark::DoNotOptimize(p);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

template <class Fit>
void fit_synthetic_patterns(benchmark::State& state, Fit fit) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    const RfmPatterns p = compress_rfm(c.x, c.t_x, c.T);
    int iterations = 0;
    for (auto _ : state) {
        auto result = fit(p);
        iterations = result.summary.iterations;
        benchmark::DoNotOptimize(result);
    }
    state.counters["patterns"] = static_cast<double>(p.size());
    state.counters["iterations"] = iterations;
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

void BM_FitBgNbdPatterns_Synthetic(benchmark::State& state) {
    fit_synthetic_patterns(state, [](const RfmPatterns& p) { return fit_bg_nbd(p); });
}
void BM_FitParetoNbdPatterns_Synthetic(benchmark::State& state) {
    fit_synthetic_patterns(state, [](const RfmPatterns& p) { return fit_pareto_nbd(p); });
}

// Gamma-Gamma on the repeat customers' (x, m) patterns (spend in cents, so most
// patterns are distinct).
void BM_FitGammaGammaPatterns_Synthetic(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    const SpendPatterns p = compress_spend(c.x, c.m);
    int iterations = 0;
    for (auto _ : state) {
        auto result = fit_gamma_gamma(p);
        iterations = result.summary.iterations;
        benchmark::DoNotOptimize(result);
    }
    state.counters["patterns"] = static_cast<double>(p.size());
    state.counters["iterations"] = iterations;
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

void BM_PAliveBgNbd(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    const BgNbdParams params{0.243, 4.414, 0.793, 2.426, TimeUnit::weeks};
    std::vector<double> out(c.x.size());
    for (auto _ : state) {
        p_alive(params, RfmColumns{c.x, c.t_x, c.T}, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

void BM_ConditionalExpectedPurchasesBgNbd(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    const BgNbdParams params{0.243, 4.414, 0.793, 2.426, TimeUnit::weeks};
    std::vector<double> out(c.x.size());
    for (auto _ : state) {
        conditional_expected_purchases(params, 52.0, RfmColumns{c.x, c.t_x, c.T}, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

// range(1): 1 = the shared series (what fitted models use), 0 = the per-horizon 2F1 that
// models read from older archives keep (the same run's before/after).
void BM_CustomerLifetimeValueBgNbd(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    BgNbdParams params{0.243, 4.414, 0.793, 2.426, TimeUnit::weeks};
    params.numerics = state.range(1) ? PredictionNumerics::shared_series : PredictionNumerics::per_horizon_2f1;
    const GammaGammaParams spend{6.25, 3.74, 15.44};
    std::vector<double> out(c.x.size());
    for (auto _ : state) {
        customer_lifetime_value(params, spend, RfmColumns{c.x, c.t_x, c.T}, c.m, ClvHorizon{12, 0.01}, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

// The column call's per-row path: every customer's own series (what the column call did
// before customers with the same (x, T) shared one), for a same-run comparison.
void BM_CustomerLifetimeValueBgNbdPerRow(benchmark::State& state) {
    const Columns& c = synthetic(static_cast<std::size_t>(state.range(0)));
    const BgNbdParams params{0.243, 4.414, 0.793, 2.426, TimeUnit::weeks};
    const GammaGammaParams spend{6.25, 3.74, 15.44};
    const detail::ClvMonths months(ClvHorizon{12, 0.01}, periods_per_month(TimeUnit::weeks));
    std::vector<double> out(c.x.size());
    for (auto _ : state) {
        tierkit::parallel_for(c.x.size(), [&](std::size_t begin, std::size_t end) {
            std::vector<double> expected(months.horizons.size());
            for (std::size_t i = begin; i < end; ++i)
                out[i] = detail::clv_of_row(params, spend, c.x[i], c.t_x[i], c.T[i], c.m[i], months, expected);
        });
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * c.x.size()));
}

}  // namespace

BENCHMARK(BM_FitBgNbd_Cdnow)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FitMbgNbd_Cdnow)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FitParetoNbd_Cdnow)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FitBgNbdAndGammaGamma_Cdnow)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompressRfm_Synthetic)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_CompressAndFitBgNbd_Synthetic)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_FitBgNbdPatterns_Synthetic)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_FitParetoNbdPatterns_Synthetic)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_FitGammaGammaPatterns_Synthetic)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_PAliveBgNbd)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConditionalExpectedPurchasesBgNbd)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CustomerLifetimeValueBgNbd)
    ->Args({1'000'000, 1})
    ->Args({1'000'000, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK(BM_CustomerLifetimeValueBgNbdPerRow)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);
