#pragma once
/// @file special_functions.hpp
/// Special functions the CLV likelihoods need, with the conventions they rely on.
/// Thread-safe (no global state, unlike std::lgamma's signgam). Compiled in
/// src/clv/special_functions.cpp so that Boost.Math stays out of the headers.
#include <cmath>

namespace tierkit::clv {

/// log Gamma(x) for x > 0.
double log_gamma(double x);
/// digamma(x) = d/dx log Gamma(x) for x > 0.
double digamma(double x);
/// log B(a, b) for a, b > 0.
double log_beta(double a, double b);
/// Regularized incomplete beta I_x(a, b) for a, b > 0, 0 <= x <= 1.
double regularized_beta(double a, double b, double x);

/// log Gamma(base + x) and digamma(base + x) for a non-decreasing sequence of integers x,
/// by the recurrences Gamma(z + 1) = z Gamma(z), psi(z + 1) = psi(z) + 1/z when the step is
/// short (one log per unit step) and directly otherwise. The likelihoods visit frequencies in
/// ascending order, so this replaces most special-function calls by a log and a division.
class GammaWalk {
public:
    explicit GammaWalk(double base) : base_(base), log_gamma_(log_gamma(base)), digamma_(digamma(base)) {}
    /// Moves to x >= the previous x (x an integer >= 0).
    void advance_to(double x) {
        if (x - x_ > 48) {
            log_gamma_ = log_gamma(base_ + x);
            digamma_ = digamma(base_ + x);
            x_ = x;
            return;
        }
        for (; x_ < x; x_ += 1) {
            const double z = base_ + x_;
            log_gamma_ += std::log(z);
            digamma_ += 1.0 / z;
        }
    }
    double log_gamma_value() const noexcept { return log_gamma_; }
    double digamma_value() const noexcept { return digamma_; }

private:
    double base_;
    double x_ = 0;
    double log_gamma_, digamma_;
};

/// log(1 + exp(d)) without overflow.
inline double softplus(double d) noexcept { return d > 0 ? d + std::log1p(std::exp(-d)) : std::log1p(std::exp(d)); }
/// 1 / (1 + exp(-d)) without overflow.
inline double logistic(double d) noexcept {
    if (d >= 0) return 1.0 / (1.0 + std::exp(-d));
    const double e = std::exp(d);
    return e / (1.0 + e);
}
/// log(1 - exp(-a)) for a >= 0 (Maechler's log1mexp); -inf at a = 0.
inline double log1mexp(double a) noexcept {
    return a <= 0.6931471805599453 ? std::log(-std::expm1(-a)) : std::log1p(-std::exp(-a));
}
/// (1 - y^e) / e for y > 0, with its limit -log(y) at e = 0.
inline double one_minus_pow_over(double y, double e) noexcept {
    const double ly = std::log(y);
    if (std::abs(e * ly) < 1e-8) return -ly * (1.0 - 0.5 * e * ly);
    return -std::expm1(e * ly) / e;
}

}  // namespace tierkit::clv
