#pragma once
// Branch-free logarithm and exponential for the CLV kernels (likelihood and prediction
// loops). Written out with plain arithmetic and bit operations (no FMA, no libm), so the
// compiler vectorizes the loops that call them and every build gives the same bits.
// Internal to src/ (not installed).
#include <bit>
#include <cstdint>

namespace tierkit::clv::fast {

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits: k * hi is exact
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;

// log(w) for a positive normal w: w = 2^e m with m in [sqrt(1/2), sqrt(2)), log m =
// 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716, an odd series to s^23 (relative
// error < 1e-17).
inline double log_positive(double w) {
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(w);
    // the biased exponent as a double without an integer conversion (none is vectorized)
    double e = std::bit_cast<double>((bits >> 52) | 0x4330000000000000ULL) - (0x1p52 + 1023.0);
    double m = std::bit_cast<double>((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    // 1.0 when the mantissa is above sqrt(2), else 0.0, by integer arithmetic: a floating
    // comparison would keep the compiler from vectorizing the caller's loop
    const double high = std::bit_cast<double>((0ULL - ((0x6a09e667f3bcdULL - (bits & 0x000fffffffffffffULL)) >> 63)) &
                                              0x3ff0000000000000ULL);
    m *= 1.0 - 0.5 * high;
    e += high;
    const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double poly = 1.0 / 23;
    poly = poly * s2 + 1.0 / 21;
    poly = poly * s2 + 1.0 / 19;
    poly = poly * s2 + 1.0 / 17;
    poly = poly * s2 + 1.0 / 15;
    poly = poly * s2 + 1.0 / 13;
    poly = poly * s2 + 1.0 / 11;
    poly = poly * s2 + 1.0 / 9;
    poly = poly * s2 + 1.0 / 7;
    poly = poly * s2 + 1.0 / 5;
    poly = poly * s2 + 1.0 / 3;
    return e * kLn2Hi + (e * kLn2Lo + 2.0 * (s + s * s2 * poly));
}

// log(1 + u) for u >= 0, with the rounding of 1 + u corrected to first order.
inline double log1p_nonnegative(double u) {
    const double w = 1.0 + u;
    return log_positive(w) + (u - (w - 1.0)) / w;
}

// For L in [-708, 709]: 2^k and expm1(r) with L = k ln 2 + r, |r| <= 0.347, Taylor to
// r^14 (relative error < 2e-17).
struct ExpParts {
    double scale, em1_r;
};
inline ExpParts exp_parts(double L) {
    const double shifted = L * kInvLn2 + 0x1.8p52;  // round to nearest: the low bits hold k
    const double kd = shifted - 0x1.8p52;
    const double r = (L - kd * kLn2Hi) - kd * kLn2Lo;
    double poly = 1.0 / 87178291200.0;  // 1/14!
    poly = poly * r + 1.0 / 6227020800.0;
    poly = poly * r + 1.0 / 479001600.0;
    poly = poly * r + 1.0 / 39916800.0;
    poly = poly * r + 1.0 / 3628800.0;
    poly = poly * r + 1.0 / 362880.0;
    poly = poly * r + 1.0 / 40320.0;
    poly = poly * r + 1.0 / 5040.0;
    poly = poly * r + 1.0 / 720.0;
    poly = poly * r + 1.0 / 120.0;
    poly = poly * r + 1.0 / 24.0;
    poly = poly * r + 1.0 / 6.0;
    poly = poly * r + 0.5;
    const double em1_r = r + r * r * poly;
    return {std::bit_cast<double>((std::bit_cast<std::uint64_t>(shifted) + 1023) << 52), em1_r};
}

// expm1(L) for L in [-708, 709]: 2^k (1 + expm1 r) - 1.
inline double expm1_in_range(double L) {
    const ExpParts p = exp_parts(L);
    return p.scale * p.em1_r + (p.scale - 1.0);
}

// exp(L) for L in [-708, 709], to a relative 3e-16.
inline double exp_in_range(double L) {
    const ExpParts p = exp_parts(L);
    return p.scale * p.em1_r + p.scale;
}

}  // namespace tierkit::clv::fast
