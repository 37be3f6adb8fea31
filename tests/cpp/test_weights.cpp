// Tests for the criterion-weighting methods (include/tierkit/scoring/weights.hpp).
//
// Expected values come from published examples, from hand calculation (intermediate
// values in the comments), and from a direct numpy implementation of the textbook
// formulas (np.linalg.eig, np.std(ddof=1), np.corrcoef) whose outputs are pasted
// here as literals.
#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/scoring/weights.hpp"

namespace {

using tierkit::Direction;
using tierkit::InvalidInput;
using tierkit::NumericError;
namespace tw = tierkit::weights;

constexpr Direction hi = Direction::higher;
constexpr Direction lo = Direction::lower;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

// The message of the E thrown by f, or a description of what happened instead.
template <class E, class F>
std::string error_message(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("wrong exception type: ") + e.what();
    }
    return "no exception";
}

void expect_weights(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t j = 0; j < expected.size(); ++j) EXPECT_NEAR(actual[j], expected[j], tolerance) << "weight " << j;
    EXPECT_NEAR(std::accumulate(actual.begin(), actual.end(), 0.0), 1.0, 1e-12);
}

// Column-major test data: one std::vector per criterion, viewed as spans.
struct Columns {
    std::vector<std::vector<double>> data;
    std::vector<std::span<const double>> views() const {
        std::vector<std::span<const double>> out;
        for (const auto& c : data) out.emplace_back(c);
        return out;
    }
};

// The 4 x 3 matrix worked by hand below (rows are customers):
//   x0 (higher)  x1 (lower)  x2 (higher)
//        1           10           3
//        2           30           3
//        3           20           9
//        5           10           6
Columns small_matrix() { return {{{1, 2, 3, 5}, {10, 30, 20, 10}, {3, 3, 9, 6}}}; }
const std::vector<Direction> small_directions{hi, lo, hi};

// 1000 deterministic rows, computed identically here and in the numpy reference:
//   i = 0..999; x0 = (37 i) mod 101; x1 = (i^2 mod 97) + i / 2; x2 = sqrt(i + 1);
//   x3 = 1e9 + (13 i mod 17)  (a large offset with a small spread: stresses centring).
Columns large_matrix() {
    Columns c{std::vector<std::vector<double>>(4)};
    for (int i = 0; i < 1000; ++i) {
        c.data[0].push_back(static_cast<double>((i * 37) % 101));
        c.data[1].push_back(static_cast<double>((i * i) % 97) + 0.5 * i);
        c.data[2].push_back(std::sqrt(i + 1.0));
        c.data[3].push_back(1e9 + static_cast<double>((i * 13) % 17));
    }
    return c;
}
const std::vector<Direction> large_directions{hi, lo, hi, lo};

// ---- AHP ------------------------------------------------------------------------------

TEST(Ahp, SaatyRandomIndexTable) {
    const std::vector<double> expected{0,    0,    0.58, 0.90, 1.12, 1.24, 1.32, 1.41,
                                       1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59};
    EXPECT_EQ(tw::saaty_random_index(), expected);
}

// Saaty, T. L. (2008). "Decision making with the analytic hierarchy process".
// Int. J. Services Sciences 1(1), 83-98: the relative consumption of drinks in the
// United States. Published eigenvector (3 decimals): coffee .177, wine .019, tea .042,
// beer .116, sodas .190, milk .129, water .327, with C.R. = 0.022 (Saaty's RI, n = 7).
// The same matrix and published numbers are used in the test suite of AHPy
// (PhilipGriffith/AHPy, tests/test_ahp.py: test_drinks_weights_saaty, test_drinks_cr_saaty).
TEST(Ahp, SaatyDrinksExample) {
    const double t = 1.0 / 3, n = 1.0 / 9;
    // clang-format off
    const std::vector<double> drinks{
        //coffee wine tea  beer  sodas milk water
        1,       9,   5,   2,    1,    1,   0.5,   // coffee
        n,       1,   t,   n,    n,    n,   n,     // wine
        0.2,     3,   1,   t,    0.25, t,   n,     // tea
        0.5,     9,   3,   1,    0.5,  1,   t,     // beer
        1,       9,   4,   2,    1,    2,   0.5,   // sodas
        1,       9,   3,   1,    0.5,  1,   t,     // milk
        2,       9,   9,   3,    2,    3,   1,     // water
    };
    // clang-format on
    const tw::AhpResult r = tw::ahp(drinks, 7);
    // Published values, to their 3 decimals.
    expect_weights(r.weights, {0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327}, 5e-4);
    EXPECT_NEAR(r.consistency_ratio, 0.022, 5e-4);
    // Full precision from numpy.linalg.eig on the same matrix.
    expect_weights(r.weights,
                   {0.17745674744571696, 0.0191494760243536, 0.04183118166209786, 0.11641703173485865,
                    0.18957237532617624, 0.12878054853872248, 0.3267926392680742},
                   1e-10);
    EXPECT_NEAR(r.lambda_max, 7.17662903933035, 1e-10);
    EXPECT_NEAR(r.consistency_index, 0.029438173221724966, 1e-10);
    EXPECT_NEAR(r.consistency_ratio, 0.02230164638009467, 1e-10);
}

TEST(Ahp, ConsistentMatrixReturnsTheRatioWeightsExactly) {
    const std::vector<double> w{0.35, 0.25, 0.2, 0.15, 0.05};
    std::vector<double> a;
    for (double wi : w)
        for (double wj : w) a.push_back(wi / wj);
    const tw::AhpResult r = tw::ahp(a, w.size());
    expect_weights(r.weights, w, 1e-12);
    EXPECT_NEAR(r.lambda_max, 5.0, 1e-12);
    EXPECT_GE(r.consistency_index, 0.0);
    EXPECT_NEAR(r.consistency_index, 0.0, 1e-12);
    EXPECT_NEAR(r.consistency_ratio, 0.0, 1e-12);
}

TEST(Ahp, OneAndTwoCriteria) {
    const tw::AhpResult one = tw::ahp(std::vector<double>{1}, 1);
    EXPECT_EQ(one.weights, std::vector<double>{1.0});
    EXPECT_EQ(one.lambda_max, 1.0);
    EXPECT_EQ(one.consistency_ratio, 0.0);

    // 2 x 2 reciprocal matrices are always consistent: w = (3/4, 1/4), lambda = 2.
    const tw::AhpResult two = tw::ahp(std::vector<double>{1, 3, 1.0 / 3, 1}, 2);
    expect_weights(two.weights, {0.75, 0.25}, 1e-12);
    EXPECT_NEAR(two.lambda_max, 2.0, 1e-12);
    EXPECT_EQ(two.consistency_index, 0.0);
    EXPECT_EQ(two.consistency_ratio, 0.0);
}

// A cyclic matrix (1 beats 2 beats 3 beats 1, each 3 to 1) is a circulant: its
// principal eigenvector is (1/3, 1/3, 1/3) with lambda = 1 + 3 + 1/3 = 13/3, so
// CI = (13/3 - 3) / 2 = 2/3 and CR = (2/3) / 0.58 = 1.149425...
const std::vector<double> cyclic{1, 3, 1.0 / 3, 1.0 / 3, 1, 3, 3, 1.0 / 3, 1};

TEST(Ahp, InconsistentMatrixIsRejected) {
    EXPECT_EQ(error_message<NumericError>([] { tw::ahp(cyclic, 3); }),
              "ahp: consistency ratio 1.15 > 0.1; revise the pairwise comparisons or accept_inconsistent");
    EXPECT_EQ(error_message<NumericError>([] { tw::ahp(cyclic, 3, {}, 1.0); }),
              "ahp: consistency ratio 1.15 > 1; revise the pairwise comparisons or accept_inconsistent");
}

TEST(Ahp, RejectionMessageShowsEnoughDigitsToDiffer) {
    // Saaty's drinks matrix has CR = 0.0223016...; against a limit of 0.0223 three
    // significant digits would print "0.0223 > 0.0223".
    const double t = 1.0 / 3, n = 1.0 / 9;
    const std::vector<double> drinks{1,   9,    5, 2, 1,   1,   0.5, n, 1,   t, n, n, n, n, 0.2, 3, 1,
                                     t,   0.25, t, n, 0.5, 9,   3,   1, 0.5, 1, t, 1, 9, 4, 2,   1, 2,
                                     0.5, 1,    9, 3, 1,   0.5, 1,   t, 2,   9, 9, 3, 2, 3, 1};
    EXPECT_EQ(error_message<NumericError>([&] { tw::ahp(drinks, 7, {}, 0.0223); }),
              "ahp: consistency ratio 0.022302 > 0.0223; revise the pairwise comparisons or accept_inconsistent");
}

TEST(Ahp, InconsistentMatrixAcceptedWhenCheckDisabled) {
    const tw::AhpResult r = tw::ahp(cyclic, 3, {}, -1.0);
    expect_weights(r.weights, {1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-12);
    EXPECT_NEAR(r.lambda_max, 13.0 / 3, 1e-12);
    EXPECT_NEAR(r.consistency_index, 2.0 / 3, 1e-12);
    EXPECT_NEAR(r.consistency_ratio, (2.0 / 3) / 0.58, 1e-12);
}

TEST(Ahp, CustomRandomIndexTable) {
    const std::vector<double> table{0, 0, 0.5};
    const tw::AhpResult r = tw::ahp(cyclic, 3, table, -1.0);
    EXPECT_NEAR(r.consistency_ratio, (2.0 / 3) / 0.5, 1e-12);

    // A zero random index (n <= 2 in Saaty's table) gives CR = 0.
    const std::vector<double> zeros{0, 0, 0};
    EXPECT_EQ(tw::ahp(cyclic, 3, zeros).consistency_ratio, 0.0);

    const std::vector<double> short_table{0, 0};
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::ahp(cyclic, 3, short_table); }),
              "n: the random index table covers n <= 2, got 3");
    const std::vector<double> bad_table{0, 0, -0.58};
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::ahp(cyclic, 3, bad_table); }),
              "random_index[2]: must be finite and >= 0, got -0.58");

    std::vector<double> sixteen(16 * 16, 1.0);
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::ahp(sixteen, 16); }),
              "n: the random index table covers n <= 15, got 16");
}

TEST(Ahp, ValidationMessagesNameTheEntry) {
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::ahp(std::vector<double>{1, 3, 0.5, 1}, 2);
              }),
              "pairwise[1][0]: must be 1/pairwise[0][1] = 0.333333, got 0.5");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::ahp(std::vector<double>{1, 3, 1.0 / 3, 2}, 2);
              }),
              "pairwise[1][1]: must be 1 (diagonal), got 2");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::ahp(std::vector<double>{1, 2, 0, 0.5, 1, 1, 4, 1, 1}, 3);
              }),
              "pairwise[0][2]: must be > 0, got 0");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::ahp(std::vector<double>{1, -3, -1.0 / 3, 1}, 2);
              }),
              "pairwise[0][1]: must be > 0, got -3");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::ahp(std::vector<double>{1, 2, nan, 1}, 2);
              }),
              "pairwise[1][0]: must be finite, got nan");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::ahp(std::vector<double>{1, 2, 0.5}, 2);
              }),
              "pairwise: expected n * n = 4 values for n = 2, got 3");
    EXPECT_EQ(error_message<InvalidInput>([] { tw::ahp(std::vector<double>{}, 0); }), "n: must be >= 1, got 0");
    EXPECT_EQ(error_message<InvalidInput>([] { tw::ahp(std::vector<double>{1}, 1, {}, nan); }),
              "max_cr: must be a number (negative disables the check), got nan");
    // Within the relative tolerance of 1e-6, a rounded reciprocal is accepted.
    EXPECT_NO_THROW(tw::ahp(std::vector<double>{1, 3, 0.3333334, 1}, 2));
    EXPECT_NO_THROW(tw::ahp(std::vector<double>{1, 7, 0.142857143, 1}, 2));
}

// ---- entropy --------------------------------------------------------------------------

// minmax variant on small_matrix(), m = 4, ln 4 = 1.386294:
//   x0: y = (x - 1) / 4 = (0, .25, .5, 1), sum 1.75, p = (0, 1/7, 2/7, 4/7)
//       e0 = -(1/7 ln 1/7 + 2/7 ln 2/7 + 4/7 ln 4/7) / ln 4 = 0.955700 / 1.386294 = 0.689392
//   x1 (lower): y = (30 - x) / 20 = (1, 0, .5, 1), sum 2.5, p = (.4, 0, .2, .4)
//       e1 = -(2 * .4 ln .4 + .2 ln .2) / ln 4 = 1.054920 / 1.386294 = 0.760964
//   x2: y = (x - 3) / 6 = (0, 0, 1, .5), sum 1.5, p = (0, 0, 2/3, 1/3)
//       e2 = -(2/3 ln 2/3 + 1/3 ln 1/3) / ln 4 = 0.636514 / 1.386294 = 0.459148
//   d = (0.310608, 0.239036, 0.540852), sum 1.090496
//   w = (0.284832, 0.219199, 0.495969)
TEST(Entropy, MinmaxWorkedByHand) {
    const Columns c = small_matrix();
    expect_weights(tw::entropy(c.views(), small_directions),
                   {0.284832013140276, 0.21919923526051577, 0.4959687515992082}, 1e-12);
}

// proportion variant on small_matrix():
//   x0: p = x / 11 = (1, 2, 3, 5) / 11                       e0 = 0.894965, d0 = 0.105035
//   x1 (lower): y = max + min - x = 40 - x = (30, 10, 20, 30), sum 90,
//       p = (1/3, 1/9, 2/9, 1/3)                             e1 = 0.945531, d1 = 0.054469
//   x2: p = x / 21 = (3, 3, 9, 6) / 21 = (1/7, 1/7, 3/7, 2/7) e2 = 0.921185, d2 = 0.078815
//   sum d = 0.238319, w = (0.440734, 0.228556, 0.330710)
TEST(Entropy, ProportionWorkedByHand) {
    const Columns c = small_matrix();
    expect_weights(tw::entropy(c.views(), small_directions, tw::EntropyVariant::proportion),
                   {0.4407339816272339, 0.22855647396761358, 0.33070954440515254}, 1e-12);
}

// x2 replaced by a constant: e2 = 1, d2 = 0, so w = (d0, d1, 0) / (d0 + d1)
// = (0.310608, 0.239036, 0) / 0.549644 = (0.565108, 0.434892, 0) for minmax.
TEST(Entropy, ConstantColumnGetsZeroWeight) {
    const Columns c{{{1, 2, 3, 5}, {10, 30, 20, 10}, {7, 7, 7, 7}}};
    expect_weights(tw::entropy(c.views(), small_directions), {0.5651078460789903, 0.4348921539210096, 0.0}, 1e-12);
    expect_weights(tw::entropy(c.views(), small_directions, tw::EntropyVariant::proportion),
                   {0.6585092883709529, 0.34149071162904704, 0.0}, 1e-12);
    // All-zero column in the proportion variant: no information either.
    const Columns z{{{1, 2, 3, 5}, {0, 0, 0, 0}}};
    expect_weights(tw::entropy(z.views(), {hi, lo}, tw::EntropyVariant::proportion), {1.0, 0.0}, 1e-15);
}

TEST(Entropy, AllColumnsConstantGivesEqualWeights) {
    const Columns c{{{2, 2, 2}, {5, 5, 5}, {0, 0, 0}, {-1, -1, -1}}};
    expect_weights(tw::entropy(c.views(), {hi, lo, hi, lo}), {0.25, 0.25, 0.25, 0.25}, 0.0);
}

// Two rows, each column taking two different values: minmax gives p = (0, 1), e = 0.
TEST(Entropy, TwoRows) {
    const Columns c{{{1, 2}, {5, 3}}};
    expect_weights(tw::entropy(c.views(), {hi, lo}), {0.5, 0.5}, 1e-15);
}

// Values from the numpy reference on large_matrix().
TEST(Entropy, MatchesNumpyOnLargerData) {
    const Columns c = large_matrix();
    expect_weights(tw::entropy(c.views(), large_directions),
                   {0.30811487651858543, 0.2157611453995637, 0.12462385545942375, 0.3515001226224271}, 1e-12);
    // x3 is 1e9 + (0..16): its proportions are all ~1/m, so it carries (almost) nothing.
    expect_weights(tw::entropy(c.views(), large_directions, tw::EntropyVariant::proportion),
                   {0.48513286213202517, 0.33972011733831525, 0.17514702052965958, 0.0}, 1e-12);
}

TEST(Entropy, MinmaxIsInvariantToPositiveAffineRescaling) {
    Columns c = large_matrix();
    const std::vector<double> before = tw::entropy(c.views(), large_directions);
    for (double& v : c.data[1]) v = 1000 * v - 12345;
    expect_weights(tw::entropy(c.views(), large_directions), before, 1e-12);
}

TEST(Entropy, InputErrorsNameColumnAndRow) {
    Columns c = small_matrix();
    c.data[1][2] = nan;
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::entropy(c.views(), small_directions); }),
              "columns[1][2]: must be finite, got nan");
    c.data[1][2] = 20;
    c.data[2][3] = -inf;
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::entropy(c.views(), small_directions); }),
              "columns[2][3]: must be finite, got -inf");
    c.data[2][3] = 6;
    c.data[0][1] = -2;
    EXPECT_EQ(
        error_message<InvalidInput>([&] { tw::entropy(c.views(), small_directions, tw::EntropyVariant::proportion); }),
        "columns[0][1]: must be >= 0 for the proportion variant, got -2");
    EXPECT_NO_THROW(tw::entropy(c.views(), small_directions));  // minmax accepts negatives

    EXPECT_EQ(error_message<InvalidInput>([&] {
                  tw::entropy(c.views(), {hi, lo});
              }),
              "directions: expected 3 (one per column), got 2");
    const Columns ragged{{{1, 2, 3}, {1, 2}}};
    EXPECT_EQ(error_message<InvalidInput>([&] {
                  tw::entropy(ragged.views(), {hi, hi});
              }),
              "columns[1]: expected 3 rows (as columns[0]), got 2");
    const Columns one_row{{{1}, {2}}};
    EXPECT_EQ(error_message<InvalidInput>([&] {
                  tw::entropy(one_row.views(), {hi, hi});
              }),
              "columns: must have at least 2 rows, got 1");
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::entropy({}, {}); }),
              "columns: must hold at least 1 criterion column, got 0");
}

// ---- CRITIC ---------------------------------------------------------------------------

// small_matrix(), min-max normalized with direction (z = 1 is best):
//   z0 = (0, .25, .5, 1)   mean .4375   sigma0 = sqrt(.546875 / 3) = 0.426956
//   z1 = (1, 0, .5, 1)     mean .625    sigma1 = sqrt(.6875 / 3)   = 0.478714
//   z2 = (0, 0, 1, .5)     mean .375    sigma2 = sqrt(.6875 / 3)   = 0.478714
//   centred cross-products: s01 = .15625, s02 = .34375, s12 = .0625
//   r01 = .15625 / sqrt(.546875 * .6875) = 0.254824
//   r02 = .34375 / sqrt(.546875 * .6875) = 0.560612
//   r12 = .0625 / .6875 = 1/11 = 0.090909
//   C0 = 0.426956 * ((1 - 0.254824) + (1 - 0.560612)) = 0.505757
//   C1 = 0.478714 * ((1 - 0.254824) + (1 - 0.090909)) = 0.791920
//   C2 = 0.478714 * ((1 - 0.560612) + (1 - 0.090909)) = 0.645535
//   sum C = 1.943213, w = (0.260269, 0.407531, 0.332200)
TEST(Critic, WorkedByHand) {
    const Columns c = small_matrix();
    expect_weights(tw::critic(c.views(), small_directions),
                   {0.26026861355498365, 0.4075314149681179, 0.33219997147689834}, 1e-12);
}

// x2 constant: sigma2 = 0 so C2 = 0, and r02 = r12 = 0 (each adds 1 - 0 = 1):
//   C0 = 0.426956 * ((1 - 0.254824) + 1) = 0.745114
//   C1 = 0.478714 * ((1 - 0.254824) + 1) = 0.835440
//   w = (0.471426, 0.528574, 0)
TEST(Critic, ConstantColumnGetsZeroWeightAndNoCorrelation) {
    const Columns c{{{1, 2, 3, 5}, {10, 30, 20, 10}, {7, 7, 7, 7}}};
    expect_weights(tw::critic(c.views(), small_directions), {0.47142597118857404, 0.5285740288114259, 0.0}, 1e-12);
}

TEST(Critic, DegenerateInputsGiveEqualWeights) {
    const Columns constant{{{2, 2, 2}, {5, 5, 5}}};
    expect_weights(tw::critic(constant.views(), {hi, lo}), {0.5, 0.5}, 0.0);
    const Columns single{{{1, 4, 2}}};
    expect_weights(tw::critic(single.views(), {lo}), {1.0}, 0.0);
}

// Values from the numpy reference on large_matrix() (1000 rows: several row blocks
// and a partial one; x3 has a 1e9 offset).
TEST(Critic, MatchesNumpyOnLargerData) {
    const Columns c = large_matrix();
    expect_weights(tw::critic(c.views(), large_directions),
                   {0.23409410312232662, 0.2633725789814209, 0.2567387821378824, 0.24579453575837001}, 1e-12);
}

TEST(Critic, ReversingEveryDirectionChangesNothing) {
    // z -> 1 - z for every column keeps every sigma and every correlation.
    const Columns c = large_matrix();
    expect_weights(tw::critic(c.views(), {lo, hi, lo, hi}), tw::critic(c.views(), large_directions), 1e-12);
}

TEST(Critic, InvariantToPositiveAffineRescaling) {
    Columns c = large_matrix();
    const std::vector<double> before = tw::critic(c.views(), large_directions);
    for (double& v : c.data[0]) v = 1e6 + 0.001 * v;
    expect_weights(tw::critic(c.views(), large_directions), before, 1e-9);
}

TEST(Critic, InputErrorsNameColumnAndRow) {
    Columns c = small_matrix();
    c.data[0][3] = inf;
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::critic(c.views(), small_directions); }),
              "columns[0][3]: must be finite, got inf");
    c.data[0][3] = 5;
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::critic(c.views(), {hi}); }),
              "directions: expected 3 (one per column), got 1");
    const Columns one_row{{{1}}};
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::critic(one_row.views(), {hi}); }),
              "columns: must have at least 2 rows, got 1");
    const Columns overflow{{{-1e308, 1e308}}};
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::critic(overflow.views(), {hi}); }),
              "columns[0]: range max - min must be finite, got max 1e+308 and min -1e+308");
}

// ---- manual and combine ---------------------------------------------------------------

TEST(Manual, NormalizesToSumOne) {
    expect_weights(tw::manual(std::vector<double>{2, 1, 1}), {0.5, 0.25, 0.25}, 1e-15);
    expect_weights(tw::manual(std::vector<double>{0, 3}), {0.0, 1.0}, 0.0);
    expect_weights(tw::manual(std::vector<double>{0.2, 0.3, 0.5}), {0.2, 0.3, 0.5}, 1e-15);
    // No overflow in the sum.
    expect_weights(tw::manual(std::vector<double>{1e308, 1e308}), {0.5, 0.5}, 0.0);
}

TEST(Manual, Errors) {
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::manual(std::vector<double>{1, 2, -1});
              }),
              "weights[2]: must be >= 0, got -1");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::manual(std::vector<double>{1, nan});
              }),
              "weights[1]: must be finite, got nan");
    EXPECT_EQ(error_message<InvalidInput>([] { tw::manual(std::vector<double>{inf}); }),
              "weights[0]: must be finite, got inf");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::manual(std::vector<double>{0, 0});
              }),
              "weights: sum must be > 0, got 0");
    EXPECT_EQ(error_message<InvalidInput>([] { tw::manual(std::vector<double>{}); }),
              "weights: must hold at least 1 weight, got 0");
}

TEST(Combine, Linear) {
    const std::vector<double> s{0.5, 0.3, 0.2};
    const std::vector<double> o{0.2, 0.2, 0.6};
    // 0.5 * s + 0.5 * o
    expect_weights(tw::combine(s, o, tw::CombineMode::linear), {0.35, 0.25, 0.4}, 1e-15);
    // 0.8 * s + 0.2 * o = (0.44, 0.28, 0.28)
    expect_weights(tw::combine(s, o, tw::CombineMode::linear, 0.8), {0.44, 0.28, 0.28}, 1e-15);
    expect_weights(tw::combine(s, o, tw::CombineMode::linear, 1.0), s, 1e-15);
    expect_weights(tw::combine(s, o, tw::CombineMode::linear, 0.0), o, 1e-15);
    // Inputs are normalized first: (5, 3, 2) and (1, 1, 3) are s and o.
    expect_weights(tw::combine(std::vector<double>{5, 3, 2}, std::vector<double>{1, 1, 3}, tw::CombineMode::linear),
                   {0.35, 0.25, 0.4}, 1e-15);
}

TEST(Combine, Multiplicative) {
    // s * o = (0.10, 0.06, 0.12), sum 0.28 -> (5/14, 3/14, 6/14)
    expect_weights(tw::combine(std::vector<double>{0.5, 0.3, 0.2}, std::vector<double>{0.2, 0.2, 0.6},
                               tw::CombineMode::multiplicative),
                   {5.0 / 14, 3.0 / 14, 6.0 / 14}, 1e-15);
    // A criterion with zero objective weight drops out.
    expect_weights(
        tw::combine(std::vector<double>{0.5, 0.5}, std::vector<double>{0.0, 1.0}, tw::CombineMode::multiplicative),
        {0.0, 1.0}, 0.0);
}

TEST(Combine, Errors) {
    const std::vector<double> s{0.5, 0.5};
    EXPECT_EQ(error_message<InvalidInput>([&] {
                  tw::combine(s, std::vector<double>{1, 0, 0}, tw::CombineMode::linear);
              }),
              "objective: expected 2 weights (as many as subjective), got 3");
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::combine(s, s, tw::CombineMode::linear, 1.5); }),
              "alpha: must be in [0, 1], got 1.5");
    EXPECT_EQ(error_message<InvalidInput>([&] { tw::combine(s, s, tw::CombineMode::linear, nan); }),
              "alpha: must be in [0, 1], got nan");
    EXPECT_EQ(error_message<InvalidInput>([&] {
                  tw::combine(std::vector<double>{1, -0.2}, s, tw::CombineMode::linear);
              }),
              "subjective[1]: must be >= 0, got -0.2");
    EXPECT_EQ(error_message<InvalidInput>([&] {
                  tw::combine(s, std::vector<double>{0, 0}, tw::CombineMode::multiplicative);
              }),
              "objective: sum must be > 0, got 0");
    EXPECT_EQ(error_message<InvalidInput>([] {
                  tw::combine(std::vector<double>{1, 0}, std::vector<double>{0, 1}, tw::CombineMode::multiplicative);
              }),
              "combine: sum of subjective * objective must be > 0 (no criterion has both weights > 0), got 0");
    EXPECT_EQ(error_message<InvalidInput>(
                  [] { tw::combine(std::vector<double>{}, std::vector<double>{}, tw::CombineMode::linear); }),
              "subjective: must hold at least 1 weight, got 0");
}

}  // namespace
