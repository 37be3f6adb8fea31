#pragma once
/// @file exact_sum.hpp
/// An exact, order-free sum of doubles: fit_criterion's mean and variance, and the
/// out-of-core Fitter's refine mode (fit_state.hpp), which must reproduce them from
/// partial sums merged in any tree.
///
/// Every finite double is an integer multiple of 2^-1074 (the smallest subnormal),
/// so the sum of any sequence of them is too. ExactSum holds that integer exactly in
/// 68 signed 64-bit digits of 32 bits each (room for 2^64 values of magnitude up to
/// DBL_MAX) and rounds it once, to nearest even, in value(). Hence the result does
/// not depend on the order of add() and merge() calls: splitting a column into
/// chunks, summing each and merging gives the bits of one sum over the column, and it
/// is the correctly rounded sum (no error that grows with the number of rows).
/// Cost: a few integer operations per value (no data-dependent branches but the
/// exponent), about 3x a plain floating-point sum; merge and value() are O(68).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "tierkit/core/error.hpp"

namespace tierkit {

class ExactSum {
    __extension__ typedef unsigned __int128 u128;

public:
    static constexpr int digits = 68;

    /// Add one finite value (infinities and NaN are the caller's to reject).
    void add(double x) noexcept {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &x, sizeof bits);
        const auto e = static_cast<int>((bits >> 52) & 0x7ff);
        std::uint64_t m = bits & ((std::uint64_t{1} << 52) - 1);
        if (e != 0) m |= std::uint64_t{1} << 52;
        if (m == 0) return;
        // x = m * 2^(pos - 1074): a subnormal has pos 0, a normal pos e - 1.
        const int pos = e == 0 ? 0 : e - 1;
        const u128 v = static_cast<u128>(m) << (pos % 32);
        const int w = pos / 32;
        const auto d0 = static_cast<std::int64_t>(static_cast<std::uint64_t>(v) & 0xffffffffu);
        const auto d1 = static_cast<std::int64_t>(static_cast<std::uint64_t>(v >> 32) & 0xffffffffu);
        const auto d2 = static_cast<std::int64_t>(static_cast<std::uint64_t>(v >> 64));
        if (bits >> 63) {
            d_[w] -= d0;
            d_[w + 1] -= d1;
            d_[w + 2] -= d2;
        } else {
            d_[w] += d0;
            d_[w + 1] += d1;
            d_[w + 2] += d2;
        }
        // Each add moves a digit by less than 2^32: carry before 2^31 adds can overflow one.
        if (++pending_ == (std::uint32_t{1} << 30)) normalize();
    }

    /// Add everything `other` holds.
    void merge(const ExactSum& other) noexcept {
        ExactSum o = other;
        o.normalize();
        normalize();
        for (int i = 0; i < digits; ++i) d_[i] += o.d_[i];
        normalize();
    }

    /// The sum rounded to the nearest double (ties to even); +0 for an empty or zero sum,
    /// +-infinity beyond the double range.
    double value() const noexcept {
        ExactSum s = *this;
        s.normalize();
        bool negative = false;
        if (s.d_[digits - 1] < 0) {
            negative = true;
            for (auto& d : s.d_) d = -d;
            s.normalize();
        }
        int top = digits - 1;
        while (top >= 0 && s.d_[top] == 0) --top;
        if (top < 0) return 0.0;
        // The top three digits (the highest nonzero one first) and whether anything below is nonzero.
        u128 t = 0;
        const int low = top >= 2 ? top - 2 : 0;
        for (int i = top; i >= low; --i) t = (t << 32) | static_cast<std::uint64_t>(s.d_[i]);
        bool sticky = false;
        for (int i = 0; i < low; ++i) sticky = sticky || s.d_[i] != 0;
        int shift = 0;
        while ((t >> shift) >> 64) ++shift;  // keep 64 bits
        if (shift > 0) {
            sticky = sticky || (t & ((static_cast<u128>(1) << shift) - 1)) != 0;
            t >>= shift;
        }
        auto u = static_cast<std::uint64_t>(t);
        // A set low bit stands for the dropped ones: u has 64 significant bits whenever
        // something was dropped, so bit 0 lies below the rounding position of a double.
        if (sticky) u |= 1;
        const double r = std::ldexp(static_cast<double>(u), 32 * low + shift - 1074);
        return negative ? -r : r;
    }

    /// The sign of (sum - t) for a finite t: -1, 0 or 1, exactly.
    int compare(double t) const noexcept {
        ExactSum s = *this;
        s.add(-t);
        s.normalize();
        if (s.d_[digits - 1] < 0) return -1;
        for (auto d : s.d_)
            if (d != 0) return 1;
        return 0;
    }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& d_;
        ar& pending_;
        if constexpr (Archive::is_loading::value) {
            if (pending_ >= (std::uint32_t{1} << 30))
                throw FormatError("exact sum: pending count " + std::to_string(pending_) + " out of range");
            for (auto d : d_)
                if (d > (std::int64_t{1} << 62) || d < -(std::int64_t{1} << 62))
                    throw FormatError("exact sum: digit out of range");
        }
    }

private:
    /// Carry so that every digit but the top one is in [0, 2^32).
    void normalize() noexcept {
        for (int i = 0; i + 1 < digits; ++i) {
            const std::int64_t carry = d_[i] >> 32;  // floor division
            d_[i] -= static_cast<std::int64_t>(static_cast<std::uint64_t>(carry) << 32);
            d_[i + 1] += carry;
        }
        pending_ = 0;
    }

    std::int64_t d_[digits] = {};
    std::uint32_t pending_ = 0;
};

/// The exactly rounded sum of f(x) over `values`.
template <class F>
double exact_sum(std::span<const double> values, F f) {
    ExactSum s;
    for (double x : values) s.add(f(x));
    return s.value();
}

}  // namespace tierkit
