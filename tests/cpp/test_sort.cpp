// sort_doubles (core/sort.hpp): the radix sort of a fit's order statistics gives
// std::sort's order element for element.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tierkit/core/sort.hpp"

namespace {

using tierkit::sort_doubles;

// Bitwise equality of two sorted arrays, reading -0.0 and +0.0 as the same value
// (std::sort leaves them in an unspecified order).
void expect_same_order(std::vector<double> values) {
    std::vector<double> want = values;
    std::sort(want.begin(), want.end());
    sort_doubles(values);
    ASSERT_EQ(values.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (want[i] == 0.0) {
            EXPECT_EQ(values[i], 0.0) << i;
            continue;
        }
        EXPECT_EQ(std::bit_cast<std::uint64_t>(values[i]), std::bit_cast<std::uint64_t>(want[i])) << i;
    }
    // the radix path (2048 values and more) puts -0.0 before +0.0
    if (values.size() >= 2048)
        for (std::size_t i = 1; i < values.size(); ++i)
            if (values[i] == 0.0 && values[i - 1] == 0.0)
                EXPECT_FALSE(!std::signbit(values[i - 1]) && std::signbit(values[i])) << i;
}

TEST(SortDoubles, MatchesStdSortOnEveryKindOfValue) {
    std::mt19937_64 rng(5);
    std::lognormal_distribution<double> lognormal(3.0, 2.0);
    std::normal_distribution<double> normal(0.0, 1e3);
    std::uniform_int_distribution<int> small(-20, 20);
    const double specials[] = {0.0,
                               -0.0,
                               std::numeric_limits<double>::denorm_min(),
                               -std::numeric_limits<double>::denorm_min(),
                               std::numeric_limits<double>::min(),
                               std::numeric_limits<double>::max(),
                               -std::numeric_limits<double>::max(),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity(),
                               1.0,
                               -1.0,
                               0.5,
                               1e-300,
                               -1e300};
    for (const std::size_t n : {0u, 1u, 7u, 2047u, 2048u, 5000u, 300000u}) {
        std::vector<double> v(n);
        for (std::size_t i = 0; i < n; ++i) {
            switch (i % 4) {
                case 0:
                    v[i] = lognormal(rng);
                    break;
                case 1:
                    v[i] = normal(rng);
                    break;
                case 2:
                    v[i] = small(rng);
                    break;  // heavy ties
                default:
                    v[i] = specials[i % std::size(specials)];
            }
        }
        expect_same_order(v);
    }
    // one repeated value (every pass skipped) and already sorted / reversed input
    expect_same_order(std::vector<double>(10000, 3.25));
    std::vector<double> up(10000);
    for (std::size_t i = 0; i < up.size(); ++i) up[i] = static_cast<double>(i) - 5000.5;
    expect_same_order(up);
    std::reverse(up.begin(), up.end());
    expect_same_order(up);
}

}  // namespace
