// Criterion normalizers: hand-computed values, ties, constant columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/scoring/criterion.hpp"

using namespace tierkit;

namespace {
CriterionSpec spec(Normalizer n, Direction d = Direction::higher) {
    CriterionSpec c;
    c.column = "x";
    c.normalizer = n;
    c.direction = d;
    return c;
}
std::vector<double> norm(const FittedCriterion& f, const std::vector<double>& x) {
    std::vector<double> out(x.size());
    normalize_column(f, x, out);
    return out;
}
}  // namespace

TEST(Percentile, TiesAreAveraged) {
    // values 10, 20, 20, 30, 40: average ranks 1, 2.5, 2.5, 4, 5 -> (r - 1) / 4
    const std::vector<double> x{20, 10, 40, 20, 30};
    auto f = fit_criterion(spec(Normalizer::percentile), x);
    auto y = norm(f, x);
    EXPECT_DOUBLE_EQ(y[0], 0.375);
    EXPECT_DOUBLE_EQ(y[1], 0.0);
    EXPECT_DOUBLE_EQ(y[2], 1.0);
    EXPECT_DOUBLE_EQ(y[3], 0.375);
    EXPECT_DOUBLE_EQ(y[4], 0.75);
    // unseen values: between the upper edge of 20's ties ((3 - 0.5) / 4) and the lower
    // edge of 30 ((3 - 0.5) / 4): both 0.625, so 25 sits at the rank between them
    EXPECT_DOUBLE_EQ(f.normalize(25), 0.625);
    EXPECT_DOUBLE_EQ(f.normalize(35), (3.5 / 4 + 3.5 / 4) / 2);
    EXPECT_DOUBLE_EQ(f.normalize(5), 0.0);
    EXPECT_DOUBLE_EQ(f.normalize(99), 1.0);
    // lower is better flips it
    auto g = fit_criterion(spec(Normalizer::percentile, Direction::lower), x);
    EXPECT_DOUBLE_EQ(g.normalize(10), 1.0);
    EXPECT_DOUBLE_EQ(g.normalize(20), 0.625);
}

TEST(Percentile, TieBlockDoesNotDragItsNeighbours) {
    // 60% zeros, then 40,000 distinct values: more than max_knots distinct, so knots.
    std::vector<double> x(100000, 0.0);
    for (std::size_t i = 60000; i < x.size(); ++i) x[i] = static_cast<double>(i - 59999);
    auto f = fit_criterion(spec(Normalizer::percentile), x);
    ASSERT_GT(40000u, FittedCriterion::max_knots);
    const double n1 = 99999.0;
    EXPECT_DOUBLE_EQ(f.normalize(0), 29999.5 / n1);  // average rank of the zeros
    for (double v : {1.0, 2.0, 17.0, 20000.0, 39999.0, 40000.0}) {
        const double exact = (60000.0 + v - 1.0) / n1;  // rank of value v is 60000 + v
        EXPECT_NEAR(f.normalize(v), exact, 1.0 / (FittedCriterion::max_knots - 1)) << v;
    }
}

TEST(Percentile, ManyDistinctValuesUseKnotsWithinOneRank) {
    std::vector<double> x(100000);
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<double>((i * 7919) % x.size());  // a permutation of 0..n-1
    auto f = fit_criterion(spec(Normalizer::percentile), x);
    EXPECT_LE(f.knots.size(), FittedCriterion::max_knots);
    for (double v : {0.0, 123.0, 5000.5, 77777.0, 99999.0})
        EXPECT_NEAR(f.normalize(v), v / 99999.0, 1.0 / 99999.0);  // within one rank of the exact ECDF
}

TEST(Normalizers, MinmaxZscoreRobustByHand) {
    const std::vector<double> x{1, 2, 3, 4, 10};
    auto mm = fit_criterion(spec(Normalizer::minmax), x);
    EXPECT_DOUBLE_EQ(mm.normalize(4), 3.0 / 9.0);
    EXPECT_DOUBLE_EQ(mm.normalize(11), 1.0);  // clipped
    auto z = fit_criterion(spec(Normalizer::zscore), x);
    EXPECT_DOUBLE_EQ(z.mean, 4.0);
    EXPECT_DOUBLE_EQ(z.sd, std::sqrt(50.0 / 4.0));  // squares: 9+4+1+0+36
    EXPECT_DOUBLE_EQ(z.normalize(4), 0.5);
    EXPECT_NEAR(z.normalize(4 + std::sqrt(12.5)), 0.8413447460685429, 1e-12);  // Phi(1)
    auto r = fit_criterion(spec(Normalizer::robust), x);
    EXPECT_DOUBLE_EQ(r.median, 3.0);
    EXPECT_DOUBLE_EQ(r.iqr, 2.0);  // q75 = 4, q25 = 2
    EXPECT_NEAR(r.normalize(3 + 2.0 / 1.349), 0.8413447460685429, 1e-12);
}

TEST(Normalizers, BinsLikeRfmScores) {
    std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    auto s = spec(Normalizer::bins);
    s.bins = 5;
    auto f = fit_criterion(s, x);
    auto y = norm(f, x);
    // two customers per bin: bins 1,1,2,2,3,3,4,4,5,5 -> (bin - 1) / 4
    const double expect[] = {0, 0, .25, .25, .5, .5, .75, .75, 1, 1};
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_DOUBLE_EQ(y[i], expect[i]) << i;
    // ties share a bin
    std::vector<double> t{1, 1, 1, 1, 1, 1, 2, 3, 4, 5};
    auto ft = fit_criterion(s, t);
    auto yt = norm(ft, t);
    for (int i = 1; i < 6; ++i) EXPECT_EQ(yt[i], yt[0]);
}

TEST(Normalizers, ConstantColumnGivesOneHalf) {
    const std::vector<double> x{7, 7, 7, 7};
    for (auto n :
         {Normalizer::minmax, Normalizer::zscore, Normalizer::robust, Normalizer::percentile, Normalizer::bins}) {
        auto f = fit_criterion(spec(n), x);
        EXPECT_DOUBLE_EQ(f.normalize(7), 0.5) << to_string(n);
        EXPECT_FALSE(std::isnan(f.normalize(8))) << to_string(n);
    }
    auto one = fit_criterion(spec(Normalizer::percentile), std::vector<double>{3});
    EXPECT_DOUBLE_EQ(one.normalize(3), 0.5);
}

TEST(Transforms, Log1pIsSignSymmetricAndClipUsesQuantiles) {
    auto s = spec(Normalizer::minmax);
    s.transform = Transform::log1p;
    auto f = fit_criterion(s, std::vector<double>{-10, 0, 10});
    EXPECT_DOUBLE_EQ(f.transform(-10), -std::log1p(10.0));
    EXPECT_DOUBLE_EQ(f.normalize(0), 0.5);
    auto c = spec(Normalizer::minmax);
    c.clip = true;
    c.clip_lower = 0.25;
    c.clip_upper = 0.75;
    auto g = fit_criterion(c, std::vector<double>{0, 10, 20, 30, 1000});
    EXPECT_DOUBLE_EQ(g.lo, 10);
    EXPECT_DOUBLE_EQ(g.hi, 30);
    EXPECT_DOUBLE_EQ(g.normalize(1000), 1.0);
    EXPECT_DOUBLE_EQ(g.normalize(20), 0.5);
}

TEST(Normalizers, NaNNamesColumnAndRow) {
    try {
        fit_criterion(spec(Normalizer::minmax), std::vector<double>{1, NAN});
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 'x', row 1: must be a finite number, got nan");
    }
    EXPECT_THROW(fit_criterion(spec(Normalizer::minmax), std::vector<double>{}), InvalidInput);
}

// Values near the largest double: ranges, means and deviations overflow if computed
// naively (max - min = inf). Every normalizer stays finite and monotone, with or
// without privacy grouping, and the block path gives the scalar path's values.
TEST(Normalizers, FiniteAndMonotoneForExtremeFiniteValues) {
    const double big = 1e308, top = std::numeric_limits<double>::max();
    const std::vector<std::vector<double>> columns{
        {-big, -1, 0, 1, big},
        {-top, -top, 0, top, top, top},
        {-big, -big, -big, big, big},  // the IQR and every group mean span past the largest double
    };
    for (const auto& x : columns)
        for (auto n :
             {Normalizer::minmax, Normalizer::zscore, Normalizer::robust, Normalizer::percentile, Normalizer::bins})
            for (std::size_t k : {std::size_t{1}, std::size_t{2}}) {
                const auto f = fit_criterion(spec(n), x, k);
                ASSERT_TRUE(std::isfinite(f.min) && std::isfinite(f.max) && std::isfinite(f.mean) &&
                            std::isfinite(f.sd))
                    << to_string(n) << " k=" << k;
                std::vector<double> y(x.size());
                f.normalize_block(x.data(), y.data(), x.size());
                for (std::size_t i = 0; i < x.size(); ++i) {
                    ASSERT_TRUE(std::isfinite(y[i]) && y[i] >= 0 && y[i] <= 1)
                        << to_string(n) << " k=" << k << " row " << i;
                    EXPECT_EQ(y[i], f.normalize(x[i]));
                    if (i > 0) EXPECT_GE(y[i], y[i - 1]) << to_string(n) << " k=" << k << " row " << i;
                }
                EXPECT_GT(y.back(), y.front()) << to_string(n) << " k=" << k;
            }
    // minmax by hand: the halves are exact, so -1e308 -> 0, 0 -> 1/2, 1e308 -> 1.
    const auto mm = fit_criterion(spec(Normalizer::minmax), columns[0]);
    EXPECT_EQ(mm.normalize(-big), 0.0);
    EXPECT_EQ(mm.normalize(0), 0.5);
    EXPECT_EQ(mm.normalize(big), 1.0);
    const auto z = fit_criterion(spec(Normalizer::zscore), columns[0]);
    EXPECT_EQ(z.mean, 0.0);
    EXPECT_NEAR(z.sd, std::sqrt(2.0 / 4.0) * big, 1e293);  // (2 * 1e616 + 2) / 4, square-rooted
    EXPECT_EQ(z.normalize(0), 0.5);
}

// Lookups through the bucket index (percentile_block and percentile) against a binary
// search: log-normal values, integers with ties, a span tiny beside the values, a span
// past 1.8e308 (no index), four values; values between, on and outside the knots.
namespace {

/// The curve by a plain binary search: what the bucket index must reproduce bit for bit.
double reference(const FittedCriterion& f, double t) {
    const auto& k = f.knots;
    if (k.empty()) return 0.5;
    if (t <= k.front()) return t == k.front() ? f.knot_y.front() : 0.0;
    if (t >= k.back()) return t == k.back() ? f.knot_y.back() : 1.0;
    const std::size_t i = std::lower_bound(k.begin(), k.end(), t) - k.begin();
    return f.curve_at(t, i);
}
/// A percentile curve over every distinct value of v (as fit_criterion makes it).
FittedCriterion curve(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    FittedCriterion f;
    const double d = v.size() - 1.0;
    for (std::size_t i = 0; i < v.size();) {
        std::size_t j = i;
        while (j < v.size() && v[j] == v[i]) ++j;
        f.knots.push_back(v[i]);
        f.knot_y.push_back((i + (j - i - 1) / 2.0) / d);
        f.knot_lo.push_back((i - 0.5) / d);
        f.knot_hi.push_back((j - 0.5) / d);
        i = j;
    }
    f.build_index();
    return f;
}
}  // namespace
TEST(Percentile, IndexedLookupsGiveTheBinarySearchBits) {
    std::mt19937_64 rng(3);
    for (int shape = 0; shape < 5; ++shape) {
        std::vector<double> v(20000);
        for (auto& x : v) {
            switch (shape) {
                case 0:
                    x = std::lognormal_distribution<double>(3, 2)(rng);
                    break;
                case 1:
                    x = std::floor(std::exponential_distribution<double>(0.2)(rng));
                    break;
                case 2:
                    x = 1e15 + std::uniform_int_distribution<int>(0, 40)(rng);
                    break;  // tiny span, huge values
                case 3:
                    x = std::uniform_real_distribution<double>(-1, 1)(rng) * 1.7e308;
                    break;
                default:
                    x = std::uniform_int_distribution<int>(0, 3)(rng);
                    break;
            }
        }
        const FittedCriterion f = curve(v);
        std::vector<double> t(v);
        for (int i = 0; i < 5000; ++i) t.push_back(std::uniform_real_distribution<double>(-2, 2)(rng) * (v[i] + 1));
        t.push_back(std::nan(""));
        t.push_back(INFINITY);
        t.push_back(-INFINITY);
        // Integer knots over a short span read a direct table; the others search.
        EXPECT_EQ(!f.direct_y.empty(), shape == 1 || shape == 2 || shape == 4) << "shape " << shape;
        std::vector<double> y(t.size());
        f.percentile_block(t.data(), y.data(), t.size());
        std::vector<double> in_place(t);  // t and y the same array (as normalize_block calls it)
        f.percentile_block(in_place.data(), in_place.data(), in_place.size());
        ASSERT_EQ(std::memcmp(in_place.data(), y.data(), 8 * y.size()), 0) << "shape " << shape;
        for (std::size_t i = 0; i + 1 < t.size(); ++i) {
            if (std::isnan(t[i])) continue;
            const double r = reference(f, t[i]);
            ASSERT_EQ(std::memcmp(&r, &y[i], 8), 0) << "shape " << shape << " row " << i << " t " << t[i];
            const double s = f.percentile(t[i]);
            ASSERT_EQ(std::memcmp(&r, &s, 8), 0) << "shape " << shape << " row " << i;
        }
        (void)f.percentile(std::nan(""));
    }
}
