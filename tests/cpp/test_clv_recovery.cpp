// Parameter recovery: data simulated from each CLV model with known parameters (10^5
// customers, 5 seeds) must fall inside the fit's reported 95% intervals at about the
// nominal rate. With 5 seeds x 4 parameters, a correct 95% interval misses 1 time in
// expectation and 5 or more times with probability 0.3% (binomial), so at most 4 misses are
// allowed per model (misses of one seed are correlated: a sample that overstates the
// dropout rate moves s and beta together). A failure means the standard errors are wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "tierkit/clv/clv.hpp"

using namespace tierkit::clv;

namespace {

constexpr std::size_t kCustomers = 100'000;
constexpr unsigned kSeeds[] = {101, 202, 303, 404, 505};

struct Rfm {
    std::vector<double> x, t_x, T;
};

double cohort_T(std::mt19937_64& rng) {
    // first purchases spread over 12 weeks, observation ends at week 52 (T in whole days)
    std::uniform_int_distribution<int> day(0, 83);
    return (52 * 7 - day(rng)) / 7.0;
}

// BG/NBD (modified = false) or MBG/NBD (true)
Rfm simulate_beta_geometric(const std::array<double, 4>& v, bool modified, unsigned seed) {
    const double r = v[0], alpha = v[1], a = v[2], b = v[3];
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> lambda_dist(r, 1.0 / alpha), ga(a, 1.0), gb(b, 1.0);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    Rfm out;
    for (std::size_t i = 0; i < kCustomers; ++i) {
        const double T = cohort_T(rng), lambda = lambda_dist(rng);
        const double xa = ga(rng), p = xa / (xa + gb(rng));
        double t = 0, x = 0, t_x = 0;
        bool alive = !(modified && u(rng) < p);
        while (alive) {
            t += std::exponential_distribution<double>(lambda)(rng);
            if (t > T) break;
            x += 1;
            t_x = t;
            alive = !(u(rng) < p);
        }
        out.x.push_back(x);
        out.t_x.push_back(t_x);
        out.T.push_back(T);
    }
    return out;
}

Rfm simulate_pareto(const std::array<double, 4>& v, unsigned seed) {
    const double r = v[0], alpha = v[1], s = v[2], beta = v[3];
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> lambda_dist(r, 1.0 / alpha), mu_dist(s, 1.0 / beta);
    Rfm out;
    for (std::size_t i = 0; i < kCustomers; ++i) {
        const double T = cohort_T(rng), lambda = lambda_dist(rng);
        const double lifetime = std::exponential_distribution<double>(mu_dist(rng))(rng);
        const double end = std::min(lifetime, T);
        double t = 0, x = 0, t_x = 0;
        for (;;) {
            t += std::exponential_distribution<double>(lambda)(rng);
            if (t > end) break;
            x += 1;
            t_x = t;
        }
        out.x.push_back(x);
        out.t_x.push_back(t_x);
        out.T.push_back(T);
    }
    return out;
}

void simulate_spend(const std::array<double, 3>& v, unsigned seed, std::vector<double>& x, std::vector<double>& m) {
    const double p = v[0], q = v[1], gamma = v[2];
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> nu_dist(q, 1.0 / gamma);
    std::poisson_distribution<int> repeats(2.0);
    for (std::size_t i = 0; i < kCustomers; ++i) {
        const double xi = 1 + repeats(rng);
        const double nu = nu_dist(rng);
        // mean of xi Gamma(p, nu) spends is Gamma(p xi, xi nu)
        const double mi = std::gamma_distribution<double>(p * xi, 1.0 / (xi * nu))(rng);
        x.push_back(xi);
        m.push_back(mi);
    }
}

template <std::size_t K>
int count_misses(const FitSummary& s, const std::array<double, K>& truth, const char* model, unsigned seed) {
    int misses = 0;
    for (std::size_t i = 0; i < K; ++i) {
        const bool inside = s.lower[i] <= truth[i] && truth[i] <= s.upper[i];
        misses += inside ? 0 : 1;
        std::printf("%-12s seed %u %-5s true %9.4f fit %9.4f  95%% [%9.4f, %9.4f]%s\n", model, seed, s.names[i].c_str(),
                    truth[i], s.coef[i], s.lower[i], s.upper[i], inside ? "" : "  MISS");
    }
    return misses;
}

}  // namespace

TEST(ParameterRecovery, BgNbd) {
    const std::array<double, 4> truth{0.25, 4.0, 0.8, 2.5};
    int misses = 0;
    for (unsigned seed : kSeeds) {
        const Rfm d = simulate_beta_geometric(truth, false, seed);
        misses += count_misses(fit_bg_nbd(compress_rfm(d.x, d.t_x, d.T)).summary, truth, "bg/nbd", seed);
    }
    EXPECT_LE(misses, 4);
}

TEST(ParameterRecovery, MbgNbd) {
    const std::array<double, 4> truth{0.525, 6.183, 0.891, 1.614};
    int misses = 0;
    for (unsigned seed : kSeeds) {
        const Rfm d = simulate_beta_geometric(truth, true, seed);
        misses += count_misses(fit_mbg_nbd(compress_rfm(d.x, d.t_x, d.T)).summary, truth, "mbg/nbd", seed);
    }
    EXPECT_LE(misses, 4);
}

TEST(ParameterRecovery, ParetoNbd) {
    const std::array<double, 4> truth{0.55, 10.6, 0.61, 11.7};
    int misses = 0;
    for (unsigned seed : kSeeds) {
        const Rfm d = simulate_pareto(truth, seed);
        misses += count_misses(fit_pareto_nbd(compress_rfm(d.x, d.t_x, d.T)).summary, truth, "pareto/nbd", seed);
    }
    EXPECT_LE(misses, 4);
}

TEST(ParameterRecovery, GammaGamma) {
    const std::array<double, 3> truth{6.25, 3.74, 15.44};
    int misses = 0;
    for (unsigned seed : kSeeds) {
        std::vector<double> x, m;
        simulate_spend(truth, seed, x, m);
        misses += count_misses(fit_gamma_gamma(compress_spend(x, m)).summary, truth, "gamma-gamma", seed);
    }
    EXPECT_LE(misses, 4);
}
