#pragma once
/// @file core/sort.hpp
/// sort_doubles: ascending sort of a column of doubles by an LSD radix sort of their bit
/// patterns, for the order statistics of a fit (percentile knots, median, IQR, clipping
/// quantiles).
///
/// Design notes: each double maps to an unsigned key that orders like the value (flip
/// every bit of a negative, the sign bit of a positive); six passes of 11 bits, all six
/// histograms from one read of the keys, and a pass is skipped when every key has the
/// same digit there (common in the exponent bits). The result is the ascending order
/// std::sort gives, element for element: values that compare equal have equal bits,
/// except -0.0 and +0.0, which the radix path puts -0.0 first (std::sort leaves them in an
/// unspecified order). Short columns use std::sort. NaNs are not expected (callers reject them first);
/// they would sort by their bits. Memory: one extra array of n keys.
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tierkit {

namespace detail {
inline std::uint64_t order_key(double v) noexcept {
    const std::uint64_t u = std::bit_cast<std::uint64_t>(v);
    return u >> 63 ? ~u : u | 0x8000000000000000ULL;
}
inline double from_order_key(std::uint64_t k) noexcept {
    return std::bit_cast<double>(k >> 63 ? k & 0x7fffffffffffffffULL : ~k);
}
}  // namespace detail

/// Sort `values` ascending (see the file notes).
inline void sort_doubles(std::span<double> values) {
    constexpr std::size_t small = 2048;
    if (values.size() < small) {
        std::sort(values.begin(), values.end());
        return;
    }
    constexpr int bits = 11, passes = 6;
    constexpr std::size_t buckets = std::size_t{1} << bits;
    const std::size_t n = values.size();
    std::vector<std::uint64_t> keys(n), other(n);
    std::vector<std::array<std::size_t, buckets>> count(passes);
    for (auto& c : count) c.fill(0);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t k = detail::order_key(values[i]);
        keys[i] = k;
        for (int p = 0; p < passes; ++p) ++count[p][(k >> (p * bits)) & (buckets - 1)];
    }
    for (int p = 0; p < passes; ++p) {
        auto& c = count[p];
        // every key has the same digit here: the pass would not move anything
        if (std::find(c.begin(), c.end(), n) != c.end()) continue;
        std::size_t offset = 0;
        for (auto& x : c) {
            const std::size_t here = x;
            x = offset;
            offset += here;
        }
        const int shift = p * bits;
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t k = keys[i];
            other[c[(k >> shift) & (buckets - 1)]++] = k;
        }
        keys.swap(other);
    }
    for (std::size_t i = 0; i < n; ++i) values[i] = detail::from_order_key(keys[i]);
}

}  // namespace tierkit
