// CLV models: invariants that need no data, and the published CDNOW results
// (/work/shared/reference/CLV_VALUES.md). Each CDNOW test says which input it fits:
// "2-dp" = cdnow_customers_summary*.csv (rounded to 2 decimals), "full" = the summary
// rebuilt here from CDNOW_sample.txt at full precision (days / 7).
#include <gtest/gtest.h>

#include <boost/archive/xml_iarchive.hpp>
#include <boost/archive/xml_oarchive.hpp>
#include <cfenv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/clv/clv.hpp"

using namespace tierkit;
using namespace tierkit::clv;

namespace {

// ---------------------------------------------------------------- data helpers

struct Summary {
    std::vector<double> x, t_x, T, m;
};

const std::string kCdnow = std::string(TIERKIT_SHARED_DATA) + "/cdnow/";

bool cdnow_available() {
    return std::filesystem::exists(kCdnow + "cdnow_customers_summary.csv") &&
           std::filesystem::exists(kCdnow + "cdnow_customers_summary_with_transactions.csv") &&
           std::filesystem::exists(kCdnow + "CDNOW_sample.txt");
}

#define REQUIRE_CDNOW()                                     \
    if (!cdnow_available())                                 \
    GTEST_SKIP() << "CDNOW data not found under " << kCdnow \
                 << " (shared/data/cdnow beside the source tree); the published values cannot be checked"

// ID,frequency,recency,T[,monetary_value]
Summary read_summary_csv(const std::string& name, bool with_money) {
    Summary s;
    std::ifstream in(kCdnow + name);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::stringstream fields(line);
        std::string f;
        std::vector<double> v;
        while (std::getline(fields, f, ',')) v.push_back(std::stod(f));
        s.x.push_back(v.at(1));
        s.t_x.push_back(v.at(2));
        s.T.push_back(v.at(3));
        if (with_money) s.m.push_back(v.at(4));
    }
    return s;
}

int days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int>(doe) - 719468;
}

// The calibration summary at full precision: same-day purchases merged, cut at
// 1997-09-30, weeks = days / 7, m = mean spend over repeat days.
Summary read_full_precision() {
    std::ifstream in(kCdnow + "CDNOW_sample.txt");
    std::map<int, std::map<int, double>> customers;
    const int end = days_from_civil(1997, 9, 30);
    std::string line;
    while (std::getline(in, line)) {
        std::stringstream fields(line);
        std::string master;
        int id;
        long date;
        double cds, dollars;
        if (!(fields >> master >> id >> date >> cds >> dollars)) continue;
        const int day = days_from_civil(static_cast<int>(date / 10000), static_cast<unsigned>(date / 100 % 100),
                                        static_cast<unsigned>(date % 100));
        if (day <= end) customers[id][day] += dollars;
    }
    Summary s;
    for (const auto& [id, days] : customers) {
        const int first = days.begin()->first, last = days.rbegin()->first;
        const double x = static_cast<double>(days.size() - 1);
        double repeat_spend = 0;
        for (auto it = std::next(days.begin()); it != days.end(); ++it) repeat_spend += it->second;
        s.x.push_back(x);
        s.t_x.push_back((last - first) / 7.0);
        s.T.push_back((end - first) / 7.0);
        s.m.push_back(x > 0 ? repeat_spend / x : 0.0);
    }
    return s;
}

RfmPatterns patterns_of(const Summary& s) { return compress_rfm(s.x, s.t_x, s.T); }

// A small data set with every kind of row: x = 0, recency = T, repeaters.
Summary toy_summary() {
    Summary s;
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int i = 0; i < 400; ++i) {
        const double T = 20 + std::floor(u(rng) * 20);
        const double x = std::floor(u(rng) * u(rng) * 12);
        double t_x = x > 0 ? std::floor(u(rng) * T * 7) / 7 : 0.0;
        if (x > 0 && i % 17 == 0) t_x = T;
        s.x.push_back(x);
        s.t_x.push_back(t_x);
        s.T.push_back(T);
        s.m.push_back(x > 0 ? 5 + std::floor(u(rng) * 60) : 0.0);
    }
    return s;
}

// Customers simulated from BG/NBD (r=0.25, alpha=4, a=0.8, b=2.5), T in whole days / 7.
Summary simulated_bg(std::size_t n, unsigned seed) {
    Summary s;
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> lambda_dist(0.25, 1.0 / 4.0);
    std::gamma_distribution<double> pa(0.8, 1.0), pb(2.5, 1.0);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t i = 0; i < n; ++i) {
        const double T = std::floor(27 * 7 + u(rng) * 12 * 7) / 7;
        const double lambda = lambda_dist(rng);
        const double ga = pa(rng), p = ga / (ga + pb(rng));
        double t = 0, x = 0, t_x = 0;
        for (;;) {
            t += std::exponential_distribution<double>(lambda)(rng);
            if (t > T) break;
            x += 1;
            t_x = std::floor(t * 7) / 7;
            if (u(rng) < p) break;
        }
        s.x.push_back(x);
        s.t_x.push_back(t_x);
        s.T.push_back(T);
        s.m.push_back(x > 0 ? 10 + std::floor(u(rng) * 50) : 0.0);
    }
    return s;
}

double rel(double got, double want) { return std::abs(got - want) / std::abs(want); }

// central-difference check of a total log-likelihood's analytic gradient
template <class Params, class Data>
void expect_gradient_matches(Params p, const Data& data, std::size_t n) {
    std::vector<double> grad(n);
    log_likelihood(p, data, grad);
    auto values = p.values();
    for (std::size_t i = 0; i < n; ++i) {
        const double h = 1e-6 * values[i];
        auto set = [&](double v) {
            auto vals = values;
            vals[i] = v;
            Params q = p;
            if constexpr (std::is_same_v<Params, GammaGammaParams>) {
                q.p = vals[0], q.q = vals[1], q.v = vals[2];
            } else if constexpr (std::is_same_v<Params, ParetoNbdParams>) {
                q.r = vals[0], q.alpha = vals[1], q.s = vals[2], q.beta = vals[3];
            } else {
                q.r = vals[0], q.alpha = vals[1], q.a = vals[2], q.b = vals[3];
            }
            return log_likelihood(q, data);
        };
        const double numeric = (set(values[i] + h) - set(values[i] - h)) / (2 * h);
        EXPECT_NEAR(grad[i], numeric, 2e-6 * std::max(1.0, std::abs(numeric)))
            << Params::model << " d/d" << Params::names[i];
    }
}

}  // namespace

// ================================================================ hypergeometric

TEST(Hypergeometric, ClosedForms) {
    for (double z : {0.0, 0.1, 0.5, 0.9, 0.999}) {
        // 2F1(1, 1; 2; z) = -log(1 - z) / z
        const double want = z == 0 ? 0.0 : std::log(-std::log1p(-z) / z);
        EXPECT_NEAR(log_hyp2f1(1, 1, 2, z), want, 1e-13);
        // 2F1(a, b; b; z) = (1 - z)^-a
        EXPECT_NEAR(log_hyp2f1(2.5, 3.25, 3.25, z), -2.5 * std::log1p(-z), 1e-12);
        EXPECT_NEAR(log_hyp2f1_unit(1, 2, z).value, want, 1e-13);
    }
}

TEST(Hypergeometric, LargeParametersStayFinite) {
    // 2F1(a, b; b; z) = (1 - z)^-a: e^2997 here, far beyond a double
    EXPECT_NEAR(log_hyp2f1(1000.5, 1002.25, 1002.25, 0.95), -1000.5 * std::log(0.05), 1e-9);
    // BG/NBD's term for x = 1000 over a long horizon, checked by Gauss' contiguous relation
    // c(c-1)(z-1)F(c-1) + c[c-1-(2c-a-b-1)z]F(c) + (c-a)(c-b)zF(c+1) = 0 at c = 1002.2, where
    // F(c-1) has c-1-b < 0 (the transformed series with a negative parameter) and F(c+1)
    // does not: the two code paths must agree.
    const double a = 1000.24, b = 1002.4, c = 1002.2, z = 0.95;
    const double ref = log_hyp2f1(a, b, c, z);
    EXPECT_TRUE(std::isfinite(ref));
    const double f_minus = std::exp(log_hyp2f1(a, b, c - 1, z) - ref);
    const double f_plus = std::exp(log_hyp2f1(a, b, c + 1, z) - ref);
    const double residual =
        c * (c - 1) * (z - 1) * f_minus + c * (c - 1 - (2 * c - a - b - 1) * z) + (c - a) * (c - b) * z * f_plus;
    EXPECT_NEAR(residual / (c * c), 0.0, 1e-9);
}

TEST(Hypergeometric, UnitSeriesDerivativesMatchFiniteDifferences) {
    for (auto [p, q, z] : {std::array<double, 3>{0.6, 2.4, 0.1}, {10.5, 14.1, 0.736}, {1.6, 400.2, 0.997}}) {
        const auto s = log_hyp2f1_unit(p, q, z);
        const double h = 1e-6;
        EXPECT_NEAR(s.d_p, (log_hyp2f1_unit(p + h, q, z).value - log_hyp2f1_unit(p - h, q, z).value) / (2 * h), 1e-6);
        EXPECT_NEAR(s.d_q, (log_hyp2f1_unit(p, q + h, z).value - log_hyp2f1_unit(p, q - h, z).value) / (2 * h), 1e-6);
        EXPECT_NEAR(
            s.d_z,
            (log_hyp2f1_unit(p, q, z + h * 1e-2).value - log_hyp2f1_unit(p, q, z - h * 1e-2).value) / (2 * h * 1e-2),
            1e-5 * std::max(1.0, std::abs(s.d_z)));
        EXPECT_NEAR(s.value, log_hyp2f1(1, p, q, z), 1e-12);
    }
}

TEST(Hypergeometric, RejectsOutsideDomainAndNonConvergence) {
    EXPECT_THROW(log_hyp2f1(1, 1, 2, 1.0), InvalidInput);
    EXPECT_THROW(log_hyp2f1(-1, 1, 2, 0.5), InvalidInput);
    EXPECT_THROW(log_hyp2f1_unit(0.5, 0.7, 1 - 1e-9), NumericError);
}

// ================================================================ states

TEST(RfmHistogram, MergeOfTwoHalvesEqualsTheWhole) {
    const Summary s = simulated_bg(4000, 11);
    const std::size_t half = s.x.size() / 2;
    auto span = [](const std::vector<double>& v, std::size_t from, std::size_t to) {
        return std::span<const double>(v.data() + from, to - from);
    };
    RfmHistogram whole, first, second;
    whole.update(s.x, s.t_x, s.T);
    first.update(span(s.x, 0, half), span(s.t_x, 0, half), span(s.T, 0, half));
    second.update(span(s.x, half, s.x.size()), span(s.t_x, half, s.x.size()), span(s.T, half, s.x.size()), {}, half);
    second.merge(first);  // merge order reversed on purpose
    const RfmPatterns a = whole.finalize(), b = second.finalize();
    EXPECT_EQ(a.frequency, b.frequency);
    EXPECT_EQ(a.recency, b.recency);
    EXPECT_EQ(a.T, b.T);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.customers(), 4000.0);
    EXPECT_LT(a.size(), 4000u);
    const auto fa = fit_bg_nbd(a), fb = fit_bg_nbd(b);
    EXPECT_EQ(fa.summary.coef, fb.summary.coef);  // bit-identical
    EXPECT_EQ(fa.summary.log_likelihood, fb.summary.log_likelihood);
}

TEST(SpendHistogram, MergeAndCorrelation) {
    const Summary s = toy_summary();
    SpendHistogram whole, first, second;
    whole.update(s.x, s.m);
    first.update(std::span(s.x).first(150), std::span(s.m).first(150));
    second.update(std::span(s.x).subspan(150), std::span(s.m).subspan(150), {}, 150);
    first.merge(second);
    const SpendPatterns a = whole.finalize(), b = first.finalize();
    EXPECT_EQ(a.frequency, b.frequency);
    EXPECT_EQ(a.monetary_value, b.monetary_value);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.zero_repeat_customers, b.zero_repeat_customers);
    std::size_t zeros = 0;
    double n = 0, sx = 0, sm = 0, sxx = 0, smm = 0, sxm = 0;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (s.x[i] == 0) {
            ++zeros;
            continue;
        }
        n += 1, sx += s.x[i], sm += s.m[i], sxx += s.x[i] * s.x[i], smm += s.m[i] * s.m[i], sxm += s.x[i] * s.m[i];
    }
    EXPECT_EQ(a.zero_repeat_customers, static_cast<double>(zeros));
    const double direct = (sxm - sx * sm / n) / std::sqrt((sxx - sx * sx / n) * (smm - sm * sm / n));
    EXPECT_NEAR(frequency_spend_correlation(a), direct, 1e-12);
}

TEST(RfmHistogram, InvalidInputNamesTheRow) {
    RfmHistogram h;
    auto message = [&](std::vector<double> x, std::vector<double> t_x, std::vector<double> T) {
        try {
            h.update(x, t_x, T, {}, 100);
        } catch (const InvalidInput& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message({1, 2, -1}, {1, 2, 0}, {5, 5, 5}), "frequency[102]: must be a non-negative integer, got -1");
    EXPECT_EQ(message({1, 1.5}, {1, 2}, {5, 5}), "frequency[101]: must be a non-negative integer, got 1.5");
    EXPECT_EQ(message({1, 2}, {1, 40}, {5, 39}), "recency[101]: must be <= T (39), got 40");
    EXPECT_EQ(message({0}, {3}, {5}), "recency[100]: must be 0 when frequency is 0, got 3");
    EXPECT_EQ(message({1}, {-1}, {5}), "recency[100]: must be finite and >= 0, got -1");
    EXPECT_EQ(message({1}, {1}, {NAN}), "T[100]: must be finite and >= 0, got nan");
    EXPECT_EQ(message({1, 1}, {1}, {5, 5}), "recency: expected 2 rows, got 1");
    EXPECT_EQ(h.distinct(), 0u);  // a failed update adds nothing
    EXPECT_THROW(validate_spend(4, 2, 0.0), InvalidInput);
    try {
        SpendHistogram().update(std::vector<double>{1, 3}, std::vector<double>{10, -2});
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "monetary_value[1]: must be finite and > 0 when frequency > 0, got -2");
    }
    BgNbdParams p{0.24, 4.4, 0.79, 2.4};
    std::vector<double> out(2);
    std::vector<double> x{1, 3}, t_x{2, 9}, T{5, 8};
    try {
        p_alive(p, RfmColumns{x, t_x, T}, out);
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "recency[1]: must be <= T (8), got 9");
    }
}

// ================================================================ likelihood invariants

TEST(Likelihood, SingleCustomerValuesFromHardieNotes) {
    // Hardie note 027 at a=0.80, b=2.50, r=0.25, alpha=4.00, T=40
    EXPECT_NEAR(log_likelihood(BgNbdParams{0.25, 4.0, 0.8, 2.5}, 0, 0, 40), -0.59947382, 1e-8);
    EXPECT_NEAR(log_likelihood(BgNbdParams{0.25, 4.0, 0.8, 2.5}, 200, 38, 40), 100.7957, 1e-4);
    EXPECT_NEAR(log_likelihood(MbgNbdParams{0.25, 4.0, 0.8, 2.5}, 0, 0, 40), -0.41792826, 1e-8);
    EXPECT_NEAR(log_likelihood(MbgNbdParams{0.25, 4.0, 0.8, 2.5}, 200, 38, 40), 100.7869, 1e-4);
    EXPECT_NEAR(log_likelihood(MbgNbdParams{0.53, 6.18, 0.89, 1.614}, 200, 38, 40), 91.808242, 1e-6);
    // the standard Gamma-Gamma log-likelihood of one customer
    EXPECT_NEAR(log_likelihood(GammaGammaParams{6.25, 3.74, 15.44}, 50, 38), -4.1702, 1e-4);
}

TEST(Likelihood, GradientsMatchFiniteDifferences) {
    const Summary s = toy_summary();
    const RfmPatterns data = patterns_of(s);
    expect_gradient_matches(BgNbdParams{0.3, 5.0, 0.7, 2.2}, data, 4);
    expect_gradient_matches(BgNbdParams{1.7, 0.9, 3.1, 0.4}, data, 4);
    expect_gradient_matches(MbgNbdParams{0.5, 6.0, 0.9, 1.6}, data, 4);
    expect_gradient_matches(ParetoNbdParams{0.55, 10.6, 0.61, 11.7}, data, 4);  // alpha < beta
    expect_gradient_matches(ParetoNbdParams{0.8, 15.0, 1.3, 4.0}, data, 4);     // alpha > beta
    expect_gradient_matches(ParetoNbdParams{2.0, 3.0, 0.5, 3.0}, data, 4);      // alpha = beta
    expect_gradient_matches(GammaGammaParams{6.2, 3.7, 15.4}, compress_spend(s.x, s.m), 3);
}

TEST(Likelihood, CompressedEqualsRowByRow) {
    const Summary s = toy_summary();
    const RfmPatterns data = patterns_of(s);
    ASSERT_LT(data.size(), s.x.size());
    auto check = [&](const auto& params) {
        double rows = 0;
        for (std::size_t i = 0; i < s.x.size(); ++i) rows += log_likelihood(params, s.x[i], s.t_x[i], s.T[i]);
        EXPECT_NEAR(log_likelihood(params, data), rows, 1e-10 * std::abs(rows)) << params.model;
    };
    check(BgNbdParams{0.3, 5.0, 0.7, 2.2});
    check(MbgNbdParams{0.5, 6.0, 0.9, 1.6});
    check(ParetoNbdParams{0.55, 10.6, 0.61, 11.7});
    check(ParetoNbdParams{0.8, 15.0, 1.3, 4.0});
    const GammaGammaParams gg{6.2, 3.7, 15.4};
    double rows = 0;
    for (std::size_t i = 0; i < s.x.size(); ++i)
        if (s.x[i] > 0) rows += log_likelihood(gg, s.x[i], s.m[i]);
    EXPECT_NEAR(log_likelihood(gg, compress_spend(s.x, s.m)), rows, 1e-10 * std::abs(rows));
    // unsorted patterns with duplicates are merged before use
    RfmPatterns shuffled;
    for (std::size_t i = s.x.size(); i-- > 0;) {
        shuffled.frequency.push_back(s.x[i]);
        shuffled.recency.push_back(s.t_x[i]);
        shuffled.T.push_back(s.T[i]);
        shuffled.count.push_back(1.0);
    }
    const BgNbdParams bg{0.3, 5.0, 0.7, 2.2};
    EXPECT_NEAR(log_likelihood(bg, shuffled), log_likelihood(bg, data), 1e-10 * std::abs(log_likelihood(bg, data)));
}

TEST(Likelihood, ParetoOverflowCasesStayFinite) {
    // lifetimes' overflow regression case
    const ParetoNbdParams p{10.465, 7.98565181e-03, 3.0516, 2.820};
    const double x[] = {400, 500, 500}, t_x[] = {5, 1, 4}, T[] = {6, 37, 37};
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(std::isfinite(log_likelihood(p, x[i], t_x[i], T[i])));
        const double alive = p_alive(p, x[i] / 10, t_x[i], T[i]);
        EXPECT_TRUE(std::isfinite(alive));
        EXPECT_GE(alive, 0.0);
        EXPECT_LE(alive, 1.0);
    }
    // very large x and T in every model: finite, no NaN
    EXPECT_TRUE(std::isfinite(log_likelihood(BgNbdParams{0.24, 4.4, 0.79, 2.4}, 5000, 9999, 10000)));
    EXPECT_TRUE(
        std::isfinite(conditional_expected_purchases(BgNbdParams{0.24, 4.4, 0.79, 2.4}, 520, 5000, 9999, 10000)));
    EXPECT_TRUE(
        std::isfinite(conditional_expected_purchases(MbgNbdParams{0.52, 6.2, 0.89, 1.6}, 520, 5000, 9999, 10000)));
    EXPECT_TRUE(std::isfinite(conditional_expected_purchases(p, 520, 5000, 9999, 10000)));
}

// ================================================================ predictions, data-free

TEST(Predictions, BgNbdPAliveIsOneWithoutRepeatPurchases) {
    const BgNbdParams p{0.2425982, 4.4136842, 0.7929899, 2.4261667};
    for (double T : {0.0, 1.0, 39.0, 1e4}) EXPECT_EQ(p_alive(p, 0, 0, T), 1.0);
    // MBG/NBD lets customers drop out at time 0 (lifetimes' test asks at (0, 1, 1), a
    // recency > 0 with no repeat purchase that tierkit rejects; (0, 0, 1) is the valid row)
    const MbgNbdParams m{0.525, 6.183, 0.891, 1.614};
    EXPECT_LT(p_alive(m, 0, 0, 1), 1.0);
    EXPECT_GT(p_alive(m, 0, 0, 1), 0.0);
    EXPECT_NEAR(p_alive(m, 0, 0, 0), m.b / (m.a + m.b), 1e-15);
    EXPECT_THROW(p_alive(m, 0, 1, 1), InvalidInput);
}

TEST(Predictions, NoFloatingPointExceptionsAtExtremes) {
    const BgNbdParams p{0.2425982, 4.4136842, 0.7929899, 2.4261667};
    std::feclearexcept(FE_ALL_EXCEPT);
    const double alive = p_alive(p, 1000, 10, 100);
    EXPECT_EQ(std::fetestexcept(FE_OVERFLOW | FE_INVALID | FE_DIVBYZERO), 0);
    EXPECT_EQ(alive, 0.0);
}

TEST(Predictions, BgNbdPublishedValues) {
    // BTYD walkthrough fit (full precision)
    const BgNbdParams btyd{0.2425982, 4.4136842, 0.7929899, 2.4261667};
    EXPECT_NEAR(expected_purchases(btyd, 52), 1.444004, 1e-6);
    EXPECT_LT(rel(conditional_expected_purchases(btyd, 52, 26, 30.85714, 31), 25.75659), 5e-6);
    EXPECT_NEAR(p_alive(btyd, 26, 30.85714, 31), 0.9688523, 5e-7);
    // increasing-frequency paradox (T* = 52, t_x = 20, T = 39); BTYD prints 7 digits
    const double paradox[] = {0.3474606, 0.04283391, 0.004158973, 0.0003583685};
    for (int i = 0; i < 4; ++i)
        EXPECT_LT(rel(conditional_expected_purchases(btyd, 52, 10 + 5 * i, 20, 39), paradox[i]), 1e-5) << i;
    // the paper's rounded parameters (R BTYD, Hardie's spreadsheet)
    const BgNbdParams paper{0.243, 4.414, 0.793, 2.426};
    EXPECT_NEAR(conditional_expected_purchases(paper, 39, 2, 30.43, 38.86), 1.226, 5e-4);
    EXPECT_LT(rel(probability_of_purchases(paper, 2, 10), 1.07869e-07), 1e-5);
    EXPECT_NEAR(probability_of_purchases(paper, 39, 0), 0.5737864, 1e-7);
    const double p30[] = {0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
                          0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260};
    for (int n = 11; n <= 20; ++n) EXPECT_NEAR(probability_of_purchases(paper, 30, n), p30[n - 11], 1e-10) << n;
    // Hardie's spreadsheet values, printed to 4 digits, sit 0.13-0.18% below the exact
    // function at the rounded parameters (the spreadsheet's own approximation); 0.3% bounds it.
    const double t[] = {0.1429, 1, 3, 31.8571, 32, 78};
    const double ex[] = {0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576};
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(expected_purchases(paper, t[i]), ex[i], 5e-5 + 2e-3 * ex[i]) << t[i];
}

TEST(Predictions, ParetoNbdPublishedValues) {
    // BTYD's fit, printed to 4 decimals; beta is poorly identified (se 6.2), so the
    // predictions at the printed parameters agree with BTYD's to ~1e-4 (5e-4 in the paradox)
    const ParetoNbdParams btyd{0.5534, 10.5802, 0.6061, 11.6562};
    EXPECT_NEAR(p_alive(btyd, 26, 30.85714, 31), 0.997874, 1e-6);
    EXPECT_LT(rel(conditional_expected_purchases(btyd, 52, 26, 30.85714, 31), 25.45647), 2e-4);
    EXPECT_LT(rel(expected_purchases(btyd, 52), 1.473434), 5e-4);
    const double paradox[] = {0.7062289, 0.1442396, 0.02250658, 0.00309267};
    for (int i = 0; i < 4; ++i)
        EXPECT_LT(rel(conditional_expected_purchases(btyd, 52, 10 + 5 * i, 20, 39), paradox[i]), 1e-3) << i;
}

TEST(Predictions, ProbabilitiesSumToOneWithTheRightMean) {
    auto check = [](const auto& p, double t) {
        double total = 0, mean = 0;
        for (int n = 0; n < 600; ++n) {
            const double q = probability_of_purchases(p, t, n);
            ASSERT_GE(q, 0.0);
            total += q;
            mean += n * q;
        }
        EXPECT_NEAR(total, 1.0, 1e-12) << p.model;
        EXPECT_NEAR(mean, expected_purchases(p, t), 1e-10) << p.model;
    };
    check(BgNbdParams{0.2425982, 4.4136842, 0.7929899, 2.4261667}, 52);
    check(MbgNbdParams{0.525, 6.183, 0.891, 1.614}, 52);
    check(ParetoNbdParams{0.5534, 10.5802, 0.6061, 11.6562}, 52);  // alpha < beta
    check(ParetoNbdParams{0.8, 15.0, 1.3, 4.0}, 30);               // alpha > beta
    EXPECT_EQ(probability_of_purchases(BgNbdParams{0.24, 4.4, 0.79, 2.4}, 0, 0), 1.0);
}

TEST(Predictions, ContinuousAcrossRemovableSingularities) {
    // a = 1 (0/0 in the closed form) and a + b = 1 (c <= 0 in the 2F1) are handled
    const double below = expected_purchases(BgNbdParams{0.5, 3, 1 - 1e-4, 2}, 20);
    const double at = expected_purchases(BgNbdParams{0.5, 3, 1, 2}, 20);
    const double above = expected_purchases(BgNbdParams{0.5, 3, 1 + 1e-4, 2}, 20);
    EXPECT_LT(rel(at, (below + above) / 2), 1e-8);  // curvature over +-1e-4 is ~2e-9
    EXPECT_LT(rel(expected_purchases(BgNbdParams{0.5, 3, 1 + 1e-5, 2}, 20), at), 1e-5);
    const double lo = conditional_expected_purchases(BgNbdParams{0.5, 3, 0.8, 0.2 - 1e-7}, 20, 0, 0, 10);
    const double hi = conditional_expected_purchases(BgNbdParams{0.5, 3, 0.8, 0.2 + 1e-7}, 20, 0, 0, 10);
    EXPECT_NEAR(lo, hi, 1e-6);
    EXPECT_GT(lo, 0.0);
    // expected purchases grow with the horizon and P(alive) is a probability
    const BgNbdParams p{0.3, 2.0, 0.5, 0.4};  // a + b < 1
    double previous = 0;
    for (double t : {1.0, 5.0, 50.0, 500.0}) {
        const double e = conditional_expected_purchases(p, t, 0, 0, 12);
        EXPECT_GT(e, previous);
        previous = e;
    }
}

TEST(Predictions, HorizonSeriesMatchesTheLogarithmicTwoF1) {
    // The multi-horizon series against the closed form evaluated with log_hyp2f1:
    // P(alive) c / (a - 1) [1 - (1 + u)^-n 2F1(n, B; c; u / (1 + u))], over random
    // parameters, customers and 12 monthly horizons (weeks and days).
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    auto log_uniform = [&](double lo, double hi) { return lo * std::pow(hi / lo, unit(rng)); };
    double worst = 0;
    int fast = 0;
    for (int trial = 0; trial < 400; ++trial) {
        const BgNbdParams bg{log_uniform(0.05, 5), log_uniform(0.5, 50), log_uniform(0.1, 5), log_uniform(0.1, 10)};
        const MbgNbdParams mbg{bg.r, bg.alpha, bg.a, bg.b};
        if (std::abs(bg.a - 1) < 1e-3) continue;
        const double x = std::floor(trial % 3 == 0 ? 0 : log_uniform(1, 300));
        const double T = trial % 5 == 0 ? 0.0 : log_uniform(0.5, 300);
        const double t_x = x > 0 ? T * unit(rng) : 0.0;
        const double f = trial % 2 ? 4.345 : 30.0;
        std::vector<double> t(12), got(12), got_m(12);
        for (int i = 0; i < 12; ++i) t[i] = (i + 1) * f;
        conditional_expected_purchases(bg, t, x, t_x, T, got);
        conditional_expected_purchases(mbg, t, x, t_x, T, got_m);
        for (int i = 0; i < 12; ++i) {
            const double u = t[i] / (bg.alpha + T), z = u / (1 + u);
            for (const double shift : {0.0, 1.0}) {
                const double n = bg.r + x, B = bg.b + x + shift, c = bg.a + B - 1;
                if (!(c > 0)) continue;
                const double alive = shift == 0 ? p_alive(bg, x, t_x, T) : p_alive(mbg, x, t_x, T);
                const double want = alive * c / (bg.a - 1) * -std::expm1(log_hyp2f1(n, B, c, z) - n * std::log1p(u));
                const double value = shift == 0 ? got[i] : got_m[i];
                // and against the per-horizon numerics that archived models keep
                BgNbdParams old_bg = bg;
                MbgNbdParams old_mbg = mbg;
                old_bg.numerics = old_mbg.numerics = PredictionNumerics::per_horizon_2f1;
                const double old = shift == 0 ? conditional_expected_purchases(old_bg, t[i], x, t_x, T)
                                              : conditional_expected_purchases(old_mbg, t[i], x, t_x, T);
                if (old > 1e-280) EXPECT_LT(rel(value, old), 1e-11);
                ASSERT_GE(value, 0.0);
                if (want < 1e-280) continue;  // P(alive) underflows
                worst = std::max(worst, rel(value, want));
                EXPECT_LT(rel(value, want), 1e-11)
                    << "r " << bg.r << " alpha " << bg.alpha << " a " << bg.a << " b " << bg.b << " x " << x << " t_x "
                    << t_x << " T " << T << " t " << t[i] << " shift " << shift;
                // the single-horizon function agrees with the block to rounding
                const double single = shift == 0 ? conditional_expected_purchases(bg, t[i], x, t_x, T)
                                                 : conditional_expected_purchases(mbg, t[i], x, t_x, T);
                EXPECT_LT(rel(single, value), 1e-11);
                ++fast;
            }
        }
    }
    EXPECT_GT(fast, 5000);
    RecordProperty("worst_relative_difference", std::to_string(worst));
    std::vector<double> t{1.0, 2.0}, out(1);
    EXPECT_THROW(conditional_expected_purchases(BgNbdParams{0.24, 4.4, 0.79, 2.4}, t, 1, 1, 2, out), InvalidInput);
    t = {-1.0};
    EXPECT_THROW(conditional_expected_purchases(BgNbdParams{0.24, 4.4, 0.79, 2.4}, t, 1, 1, 2, out), InvalidInput);
}

TEST(Predictions, ColumnsShareSeriesWithTheSameBitsAsEachCustomer) {
    // The column calls compute one series per distinct (x, T) (HorizonExpectations): every
    // value must be the one-customer function's bit for bit, for both models and numerics,
    // x = 0 and T = 0, several blocks of 12 horizons, more pairs than one table takes
    // (1200 months: 873 pairs per table) and any thread count.
    std::mt19937_64 rng(23);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const std::size_t n = 3000;
    std::vector<double> x(n), t_x(n), T(n), m(n);
    for (std::size_t i = 0; i < n; ++i) {
        // few distinct (x, T) among the first half, about one per row in the second
        x[i] = std::floor(i < n / 2 ? 6 * unit(rng) : 40 * unit(rng));
        T[i] = i % 97 == 0 ? 0.0 : (i < n / 2 ? std::floor(20 * unit(rng)) : 60 * unit(rng));
        t_x[i] = x[i] > 0 ? T[i] * unit(rng) : 0.0;
        m[i] = x[i] > 0 ? 10 + 50 * unit(rng) : 0.0;
    }
    const GammaGammaParams spend{6.25, 3.74, 15.44};
    auto check = [&](const auto& params, const char* name, int months, std::size_t from, double f = 0.0) {
        SCOPED_TRACE(std::string(name) + ", " + std::to_string(months) + " months");
        const std::size_t rows = n - from;
        const RfmColumns data{std::span(x).subspan(from), std::span(t_x).subspan(from), std::span(T).subspan(from)};
        const ClvHorizon horizon{months, 0.01, {}, f};
        std::vector<double> got(rows), got_one(rows);
        for (const unsigned threads : {1u, 2u, 5u}) {
            ThreadLimit limit(threads);
            customer_lifetime_value(params, spend, data, std::span(m).subspan(from), horizon, got);
            for (std::size_t i = 0; i < rows; ++i) {
                const std::size_t row = from + i;
                if (threads == 1)
                    ASSERT_EQ(got[i], customer_lifetime_value(params, spend, x[row], t_x[row], T[row], m[row], horizon))
                        << "row " << row;
                else
                    ASSERT_EQ(got[i], got_one[i]) << "row " << row << ", threads " << threads;
            }
            got_one = got;
        }
        const double t = months * (f > 0 ? f : 4.345);
        conditional_expected_purchases(params, t, data, got);
        for (std::size_t i = 0; i < rows; ++i)
            ASSERT_EQ(got[i], conditional_expected_purchases(params, t, x[from + i], t_x[from + i], T[from + i]))
                << "row " << from + i;
    };
    BgNbdParams bg{0.24, 4.4, 0.79, 2.4, TimeUnit::weeks};
    MbgNbdParams mbg{0.52, 6.2, 0.89, 1.6, TimeUnit::weeks};
    for (const int months : {12, 30}) {
        check(bg, "BG/NBD", months, 0);
        check(mbg, "MBG/NBD", months, 0);
    }
    check(bg, "BG/NBD", 1200, n - 1000, 0.01);  // short months: the test stays fast
    bg.numerics = mbg.numerics = PredictionNumerics::per_horizon_2f1;
    check(bg, "BG/NBD, per-horizon 2F1", 12, 0);
    check(mbg, "MBG/NBD, per-horizon 2F1", 12, 0);
    // the table itself checks what it is given
    const std::vector<double> horizons{1.0, -1.0};
    EXPECT_THROW(HorizonExpectations<BgNbdParams>(bg, horizons, x, T), InvalidInput);
    EXPECT_THROW(HorizonExpectations<BgNbdParams>(bg, std::span(horizons).first(1), x, std::span(T).first(3)),
                 InvalidInput);
    EXPECT_THROW(HorizonExpectations<BgNbdParams>(bg, std::span(horizons).first(1), x, T, n + 1), InvalidInput);
}

TEST(GammaGamma, UndefinedMeanIsAClearError) {
    const GammaGammaParams p{2.0, 0.8, 10.0};
    EXPECT_THROW(mean_spend(p), NumericError);
    EXPECT_THROW(conditional_expected_average_spend(p, 0, 0), NumericError);
    try {
        customer_lifetime_value(BgNbdParams{0.24, 4.4, 0.79, 2.4, TimeUnit::weeks}, p, 2, 10, 20, 30,
                                ClvHorizon{12, 0.01});
        FAIL() << "a CLV with q <= 1 must not be computed";
    } catch (const NumericError& e) {
        EXPECT_NE(std::string(e.what()).find("q = 0.8 <= 1"), std::string::npos) << e.what();
    }
    const GammaGammaParams good{6.25, 3.74, 15.44};
    EXPECT_NEAR(mean_spend(good), 6.25 * 15.44 / 2.74, 1e-12);
    EXPECT_NEAR(conditional_expected_average_spend(good, 0, 0), mean_spend(good), 1e-12);
}

TEST(LifetimeValue, TimeUnitIsNeverGuessed) {
    const BgNbdParams unitless{0.24, 4.4, 0.79, 2.4};
    const GammaGammaParams spend{6.25, 3.74, 15.44};
    EXPECT_THROW(customer_lifetime_value(unitless, spend, 2, 10, 20, 30, ClvHorizon{12, 0.01}), InvalidInput);
    BgNbdParams weekly = unitless;
    weekly.time_unit = TimeUnit::weeks;
    EXPECT_THROW(customer_lifetime_value(weekly, spend, 2, 10, 20, 30, ClvHorizon{12, 0.01, TimeUnit::days}),
                 InvalidInput);
    const double by_model = customer_lifetime_value(weekly, spend, 2, 10, 20, 30, ClvHorizon{12, 0.01});
    const double by_horizon =
        customer_lifetime_value(unitless, spend, 2, 10, 20, 30, ClvHorizon{12, 0.01, TimeUnit::weeks});
    const double by_factor = customer_lifetime_value(unitless, spend, 2, 10, 20, 30, ClvHorizon{12, 0.01, {}, 4.345});
    EXPECT_EQ(by_model, by_horizon);
    EXPECT_EQ(by_model, by_factor);
    // one month, no discount: spend * expected purchases in 4.345 weeks
    const double one = customer_lifetime_value(weekly, spend, 2, 10, 20, 30, ClvHorizon{1, 0.0});
    EXPECT_NEAR(
        one,
        conditional_expected_average_spend(spend, 2, 30) * conditional_expected_purchases(weekly, 4.345, 2, 10, 20),
        1e-12);
    EXPECT_GT(by_model, one);
    EXPECT_EQ(parse_time_unit("W"), TimeUnit::weeks);
    EXPECT_THROW(parse_time_unit("fortnight"), InvalidInput);
}

// ================================================================ fitting errors

TEST(Fit, DegenerateDataIsANumericError) {
    std::vector<double> zeros(50, 0.0), T(50, 30.0);
    try {
        fit_bg_nbd(compress_rfm(zeros, zeros, T));
        FAIL();
    } catch (const NumericError& e) {
        EXPECT_STREQ(e.what(), "bg/nbd: no repeat purchases in the data; the purchase rate is not identified");
    }
    EXPECT_THROW(fit_pareto_nbd(compress_rfm(zeros, zeros, T)), NumericError);
    EXPECT_THROW(fit_bg_nbd(RfmPatterns{}), InvalidInput);
    // every repeat customer spends the same: q and v run off to infinity
    std::vector<double> x{1, 2, 3, 1, 2, 5}, m(6, 20.0);
    try {
        fit_gamma_gamma(compress_spend(x, m));
        FAIL();
    } catch (const NumericError& e) {
        EXPECT_NE(std::string(e.what()).find("gamma-gamma"), std::string::npos) << e.what();
    }
}

TEST(Fit, NonConvergenceNamesTheModelAndGradient) {
    const RfmPatterns data = patterns_of(toy_summary());
    FitOptions options;
    options.max_iterations = 2;
    options.initial_params = {5.0, 0.5, 5.0, 5.0};
    try {
        fit_mbg_nbd(data, options);
        FAIL() << "two iterations cannot converge";
    } catch (const NumericError& e) {
        const std::string what = e.what();
        EXPECT_EQ(what.rfind("mbg/nbd: fit did not converge", 0), 0u) << what;
        EXPECT_NE(what.find("gradient norm"), std::string::npos) << what;
    }
    FitOptions bad;
    bad.penalizer = -1;
    EXPECT_THROW(fit_bg_nbd(data, bad), InvalidInput);
}

TEST(Fit, ParametersSerializeWithNames) {
    const auto fitted =
        fit_bg_nbd(patterns_of(simulated_bg(3000, 5)), FitOptions{.time_unit = TimeUnit::weeks, .initial_params = {}});
    std::stringstream buffer;
    {
        boost::archive::xml_oarchive out(buffer);
        out << boost::make_nvp("fit", fitted);
    }
    EXPECT_NE(buffer.str().find("<alpha>"), std::string::npos);
    Fitted<BgNbdParams> back;
    {
        boost::archive::xml_iarchive in(buffer);
        in >> boost::make_nvp("fit", back);
    }
    EXPECT_EQ(back.params.alpha, fitted.params.alpha);
    EXPECT_EQ(back.params.time_unit, TimeUnit::weeks);
    EXPECT_EQ(back.summary.se, fitted.summary.se);
    EXPECT_EQ(back.params.numerics, PredictionNumerics::shared_series);
    // an archive of class version 0 (no numerics field) reads back with the per-horizon
    // 2F1 it was written with; the golden clv model checks the values bit for bit
    std::string v0 = buffer.str();
    const auto at = v0.find("<numerics>");
    ASSERT_NE(at, std::string::npos);
    v0.erase(at, v0.find("</numerics>") - at + std::string("</numerics>").size());
    const auto params = v0.find("<params class_id=");
    ASSERT_NE(params, std::string::npos);
    const auto version = v0.find("version=\"1\"", params);
    ASSERT_NE(version, std::string::npos);
    v0.replace(version, 11, "version=\"0\"");
    std::stringstream old_buffer(v0);
    Fitted<BgNbdParams> old;
    {
        boost::archive::xml_iarchive in(old_buffer);
        in >> boost::make_nvp("fit", old);
    }
    EXPECT_EQ(old.params.alpha, fitted.params.alpha);
    EXPECT_EQ(old.params.numerics, PredictionNumerics::per_horizon_2f1);
}

// ================================================================ CDNOW

TEST(Cdnow, BgNbdTwoDecimalSummary) {
    REQUIRE_CDNOW();
    const auto fit = fit_bg_nbd(patterns_of(read_summary_csv("cdnow_customers_summary.csv", false)));
    // lifetimes Quickstart (2-dp), LL re-fit -9582.4256
    const double want[] = {0.242593, 4.413532, 0.792886, 2.425752};
    for (int i = 0; i < 4; ++i) EXPECT_LT(rel(fit.summary.coef[i], want[i]), 2e-6) << fit.summary.names[i];
    EXPECT_NEAR(fit.summary.log_likelihood, -9582.4256, 1e-4);
    // lifetimes' standard errors (2-dp)
    const double se[] = {0.012557, 0.378221, 0.185719, 0.705345};
    for (int i = 0; i < 4; ++i) EXPECT_LT(rel(fit.summary.se[i], se[i]), 5e-5) << fit.summary.names[i];
    EXPECT_EQ(fit.summary.customers, 2357.0);
    EXPECT_LT(fit.summary.gradient_norm, 1e-10);
    for (int i = 0; i < 4; ++i) {
        EXPECT_LT(fit.summary.lower[i], fit.summary.coef[i]);
        EXPECT_GT(fit.summary.upper[i], fit.summary.coef[i]);
    }
}

TEST(Cdnow, BgNbdFullPrecision) {
    REQUIRE_CDNOW();
    const auto fit = fit_bg_nbd(patterns_of(read_full_precision()));
    const double refit[] = {0.2425945, 4.4136021, 0.7929219, 2.4259061};
    const double btyd[] = {0.2425982, 4.4136842, 0.7929899, 2.4261667};
    for (int i = 0; i < 4; ++i) {
        EXPECT_LT(rel(fit.summary.coef[i], refit[i]), 2e-6) << fit.summary.names[i];
        EXPECT_LT(rel(fit.summary.coef[i], btyd[i]), 2e-4) << fit.summary.names[i];  // BTYD's optimizer stops early
    }
    EXPECT_NEAR(fit.summary.log_likelihood, -9582.4292, 1e-4);
    EXPECT_NEAR(fit.summary.log_likelihood, -9582.429, 1e-3);  // BTYD
    EXPECT_NEAR(fit.params.r, 0.243, 5e-4);                    // the paper
    EXPECT_NEAR(fit.params.alpha, 4.414, 5e-4);
    EXPECT_NEAR(fit.params.a, 0.793, 5e-4);
    EXPECT_NEAR(fit.params.b, 2.426, 5e-4);
}

TEST(Cdnow, MbgNbdTwoDecimalSummary) {
    REQUIRE_CDNOW();
    const auto fit = fit_mbg_nbd(patterns_of(read_summary_csv("cdnow_customers_summary.csv", false)));
    const double refit[] = {0.524838, 6.182992, 0.891356, 1.613999};
    const double lifetimes3[] = {0.525, 6.183, 0.891, 1.614};
    for (int i = 0; i < 4; ++i) {
        EXPECT_LT(rel(fit.summary.coef[i], refit[i]), 2e-6) << fit.summary.names[i];
        EXPECT_NEAR(fit.summary.coef[i], lifetimes3[i], 5e-4) << fit.summary.names[i];
    }
    EXPECT_NEAR(fit.summary.log_likelihood, -9582.1327, 1e-4);
}

TEST(Cdnow, ParetoNbdFullPrecision) {
    REQUIRE_CDNOW();
    const auto fit = fit_pareto_nbd(patterns_of(read_full_precision()));
    EXPECT_NEAR(fit.summary.log_likelihood, -9594.976, 1e-3);  // BTYD and CLVTools
    const double clvtools[] = {0.55315, 10.57633, 0.60625, 11.67150};
    for (int i = 0; i < 3; ++i) EXPECT_LT(rel(fit.summary.coef[i], clvtools[i]), 1e-3) << fit.summary.names[i];
    EXPECT_LT(rel(fit.params.beta, 11.6562), 2e-3);  // beta: se 6.2
    const double se[] = {0.0476264, 0.8427222, 0.1872594, 6.2105448};
    for (int i = 0; i < 4; ++i) EXPECT_LT(rel(fit.summary.se[i], se[i]), 5e-4) << fit.summary.names[i];
    // BTYD's E[X(52)] and customer (26, 30.85714, 31) at our optimum
    EXPECT_LT(rel(expected_purchases(fit.params, 52), 1.473434), 1e-6);
    EXPECT_NEAR(p_alive(fit.params, 26, 30.85714, 31), 0.997874, 1e-6);
    EXPECT_LT(rel(conditional_expected_purchases(fit.params, 52, 26, 30.85714, 31), 25.45647), 1e-4);
}

TEST(Cdnow, GammaGamma) {
    REQUIRE_CDNOW();
    const Summary full = read_full_precision();
    const auto fit_full = fit_gamma_gamma(compress_spend(full.x, full.m));
    EXPECT_NEAR(fit_full.summary.log_likelihood, -4055.9177, 1e-4);  // CLVTools
    EXPECT_EQ(fit_full.summary.customers, 946.0);
    EXPECT_NEAR(fit_full.params.p, 6.25, 5e-3);  // the paper, 2 decimals
    EXPECT_NEAR(fit_full.params.q, 3.74, 5e-3);
    EXPECT_NEAR(fit_full.params.v, 15.44, 5e-3);
    const Summary csv = read_summary_csv("cdnow_customers_summary_with_transactions.csv", true);
    const SpendPatterns spend = compress_spend(csv.x, csv.m);
    EXPECT_EQ(spend.zero_repeat_customers, 2357.0 - 946.0);
    const auto fit = fit_gamma_gamma(spend);
    EXPECT_NEAR(fit.summary.log_likelihood, -4055.9232, 1e-4);
    // conditional expected average spend of the first 10 customers (lifetimes)
    const double want[] = {24.658619, 18.911489, 35.170981, 35.170981, 35.170981,
                           71.462843, 18.911489, 35.170981, 27.282408, 35.170981};
    for (int i = 0; i < 10; ++i)
        EXPECT_LT(rel(conditional_expected_average_spend(fit.params, csv.x[i], csv.m[i]), want[i]), 1e-6) << i;
    // Gamma-Gamma's assumption check, as lifetimes' Quickstart reports it
    EXPECT_NEAR(frequency_spend_correlation(spend), 0.113884, 1e-6);
}

TEST(Cdnow, CustomerLifetimeValueMatchesLifetimes) {
    REQUIRE_CDNOW();
    const Summary csv = read_summary_csv("cdnow_customers_summary_with_transactions.csv", true);
    const auto bg = fit_bg_nbd(patterns_of(csv));
    const auto gg = fit_gamma_gamma(compress_spend(csv.x, csv.m));
    // lifetimes' default freq="D" read on weekly data: 12 "months" of 30 weeks
    const double want[] = {140.096211,  18.943467, 38.180574, 38.180574,  38.180574,
                           1003.868107, 28.109683, 38.180574, 167.418216, 38.180574};
    std::vector<double> out(10);
    const RfmColumns first10{std::span(csv.x).first(10), std::span(csv.t_x).first(10), std::span(csv.T).first(10)};
    customer_lifetime_value(bg.params, gg.params, first10, std::span(csv.m).first(10),
                            ClvHorizon{12, 0.01, TimeUnit::days}, out);
    for (int i = 0; i < 10; ++i) EXPECT_LT(rel(out[i], want[i]), 1e-6) << i;
    // the same model read correctly, 4.345 weeks per month
    EXPECT_NEAR(customer_lifetime_value(bg.params, gg.params, csv.x[0], csv.t_x[0], csv.T[0], csv.m[0],
                                        ClvHorizon{12, 0.01, TimeUnit::weeks}),
                36.278, 5e-4);
}

TEST(Cdnow, RescalingTimeLeavesPAliveUnchanged) {
    REQUIRE_CDNOW();
    Summary csv = read_summary_csv("cdnow_customers_summary.csv", false);
    const auto base = fit_bg_nbd(patterns_of(csv));
    for (std::size_t i = 0; i < csv.x.size(); ++i) csv.t_x[i] *= 10, csv.T[i] *= 10;
    const auto scaled = fit_bg_nbd(patterns_of(csv));
    EXPECT_LT(rel(scaled.params.alpha, 10 * base.params.alpha), 1e-7);
    EXPECT_NEAR(p_alive(base.params, 1, 1, 2), p_alive(scaled.params, 1, 10, 20), 1e-9);
    // the likelihood is a density in the 2457 repeat purchase times: each gains a factor 1/10
    EXPECT_NEAR(scaled.summary.log_likelihood - base.summary.log_likelihood, -2457 * std::log(10.0), 1e-6);
}

TEST(Cdnow, ChunkedFitIsBitIdentical) {
    REQUIRE_CDNOW();
    const Summary full = read_full_precision();
    const auto whole = fit_pareto_nbd(patterns_of(full));
    std::vector<RfmHistogram> parts(3);
    for (std::size_t i = 0; i < full.x.size(); ++i)
        parts[i % 3].update(std::span(full.x).subspan(i, 1), std::span(full.t_x).subspan(i, 1),
                            std::span(full.T).subspan(i, 1), {}, i);
    parts[2].merge(parts[0]);
    parts[2].merge(parts[1]);
    const auto chunked = fit_pareto_nbd(parts[2].finalize());
    EXPECT_EQ(whole.summary.coef, chunked.summary.coef);
    EXPECT_EQ(whole.summary.log_likelihood, chunked.summary.log_likelihood);
}
