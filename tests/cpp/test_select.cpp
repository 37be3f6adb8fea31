// The quantiles rule's order statistics (detail::largest_at_ranks) against a full sort.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "tierkit/core/parallel.hpp"
#include "tierkit/rules/builtin/quantiles.hpp"

using namespace tierkit;

namespace {

/// The r-th largest by a full descending sort, for each r.
std::vector<double> by_sort(std::vector<double> v, const std::vector<std::size_t>& ranks) {
    std::sort(v.begin(), v.end(), std::greater<>());
    std::vector<double> out;
    for (auto r : ranks) out.push_back(v[r - 1]);
    return out;
}

std::vector<std::size_t> some_ranks(std::size_t n) {
    std::vector<std::size_t> r{1, n, (n + 1) / 2};
    for (double share : {0.05, 0.2, 0.7, 0.999})
        r.push_back(std::max<std::size_t>(1, static_cast<std::size_t>(share * static_cast<double>(n))));
    return r;
}

class ThreadCount : public ::testing::TestWithParam<unsigned> {
protected:
    void SetUp() override { set_num_threads(GetParam()); }
    void TearDown() override { set_num_threads(0); }
};

}  // namespace

TEST_P(ThreadCount, ContinuousValuesMatchASort) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal(-3.0, 40.0);
    std::vector<double> v(300'000);  // several 65,536-row chunks
    for (auto& x : v) x = normal(rng);
    const auto ranks = some_ranks(v.size());
    EXPECT_EQ(detail::largest_at_ranks(v, ranks), by_sort(v, ranks));
}

TEST_P(ThreadCount, HeavyTiesAndClampedEndsMatchASort) {
    // Scores clamp at 0 and 100, and counts tie: most of the mass sits in a few values.
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> pick(-20, 130);
    std::vector<double> v(200'000);
    for (auto& x : v) x = std::clamp(static_cast<double>(pick(rng)), 0.0, 100.0);
    const auto ranks = some_ranks(v.size());
    EXPECT_EQ(detail::largest_at_ranks(v, ranks), by_sort(v, ranks));
}

TEST_P(ThreadCount, ValuesOneBucketApartAndAtTheMaximum) {
    // Neighbouring doubles land in one bucket; the maximum lands in the last.
    std::vector<double> v;
    for (int i = 0; i < 1000; ++i) v.push_back(std::nextafter(1.0, 2.0 + i));
    v.push_back(1e9);
    v.push_back(-1e9);
    for (int i = 0; i < 70'000; ++i) v.push_back(0.5 * (i % 3));
    const auto ranks = some_ranks(v.size());
    EXPECT_EQ(detail::largest_at_ranks(v, ranks), by_sort(v, ranks));
}

INSTANTIATE_TEST_SUITE_P(Select, ThreadCount, ::testing::Values(1u, 2u, 4u));

TEST(Select, ConstantSingleAndInfiniteValues) {
    EXPECT_EQ(detail::largest_at_ranks(std::vector<double>(5, 2.5), {1, 3, 5}), (std::vector<double>{2.5, 2.5, 2.5}));
    EXPECT_EQ(detail::largest_at_ranks(std::vector<double>{4.0}, {1}), (std::vector<double>{4.0}));
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> v{3.0, inf, -inf, 1.0, 2.0};
    EXPECT_EQ(detail::largest_at_ranks(v, {1, 2, 5}), (std::vector<double>{inf, 3.0, -inf}));
    EXPECT_TRUE(detail::largest_at_ranks({}, {}).empty());
    // max - min overflows a double: the exact fallback.
    const double big = std::numeric_limits<double>::max();
    EXPECT_EQ(detail::largest_at_ranks(std::vector<double>{-big, big, 0.0, big / 2}, {1, 2, 4}),
              (std::vector<double>{big, big / 2, -big}));
}

TEST(Select, QuantileCutsAreTheRankedValues) {
    // 10 customers, shares 0.2 / 0.3: cuts at the 2nd and 5th highest values.
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    t.add_column("x", {5, 1, 9, 7, 3, 8, 2, 6, 4, 10});
    QuantileRule rule("x", {0.2, 0.3});
    const std::vector<std::string> names;
    const std::vector<std::vector<double>> scores;
    rule.fit(RuleInput{t, names, scores, nullptr});
    EXPECT_EQ(rule.cuts(), (std::vector<double>{9, 6}));
}
