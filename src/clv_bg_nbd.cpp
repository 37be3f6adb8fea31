// BG/NBD and MBG/NBD: likelihood with analytic gradient over compressed patterns, fits and
// predictions. The two models differ only in whether a customer may drop out at time 0,
// which moves b + x - 1 to b + x in a few places; `Modified` selects the variant.
#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/clv/bg_nbd.hpp"
#include "tierkit/clv/hypergeometric.hpp"
#include "tierkit/clv/optimizer.hpp"
#include "tierkit/clv/special_functions.hpp"
#include "tierkit/core/error.hpp"

namespace tierkit::clv {
namespace {

void check_params(std::string_view model, const std::array<double, 4>& v,
                  const std::array<std::string_view, 4>& names) {
    for (std::size_t i = 0; i < 4; ++i)
        if (!(std::isfinite(v[i]) && v[i] > 0)) {
            std::ostringstream out;
            out << model << "." << names[i] << ": must be finite and > 0, got " << v[i];
            throw InvalidInput(out.str());
        }
}

void check_t(double t) {
    if (!(std::isfinite(t) && t >= 0)) throw InvalidInput("t: must be finite and >= 0, got " + std::to_string(t));
}

// Total log-likelihood and gradient d/d(r, alpha, a, b).
template <bool Modified>
double evaluate(const double* theta, const detail::RfmLayout& L, double* grad) {
    const double r = theta[0], alpha = theta[1], a = theta[2], b = theta[3];
    std::vector<double> log_tx(L.recency_values.size()), inv_tx(L.recency_values.size());
    std::vector<double> log_T(L.T_values.size()), inv_T(L.T_values.size());
    for (std::size_t j = 0; j < log_tx.size(); ++j) {
        log_tx[j] = std::log(alpha + L.recency_values[j]);
        inv_tx[j] = 1.0 / (alpha + L.recency_values[j]);
    }
    for (std::size_t j = 0; j < log_T.size(); ++j) {
        log_T[j] = std::log(alpha + L.T_values[j]);
        inv_T[j] = 1.0 / (alpha + L.T_values[j]);
    }
    const double lg_r = log_gamma(r), dg_r = digamma(r), log_alpha = std::log(alpha), log_a = std::log(a);
    const double lg_b = log_gamma(b), dg_b = digamma(b), lg_ab = log_gamma(a + b), dg_ab = digamma(a + b);
    const double shift = Modified ? 1.0 : 0.0;  // b + x (+1) in the Beta terms
    double ll = 0, g_r = 0, g_alpha = 0, g_a = 0, g_b = 0;
    GammaWalk walk_r(r), walk_b(b + shift), walk_ab(a + b + shift);
    for (std::size_t k = 0; k < L.x.size(); ++k) {
        const double x = L.x[k], xr = r + x;
        const bool has_dropout_term = Modified || x > 0;
        // b + x - 1 (BG) or b + x (MBG) in P(drop out after the last purchase)
        const double bx = b + x - 1.0 + shift;
        const double c_x = has_dropout_term ? log_a - std::log(bx) : 0.0;
        walk_r.advance_to(x);
        walk_b.advance_to(x);
        walk_ab.advance_to(x);
        const double A12 = walk_r.log_gamma_value() - lg_r + r * log_alpha + lg_ab + walk_b.log_gamma_value() - lg_b -
                           walk_ab.log_gamma_value();
        const double dg_abx = walk_ab.digamma_value();
        const double dA_r = walk_r.digamma_value() - dg_r + log_alpha;
        const double dA_alpha = r / alpha;
        const double dA_a = dg_ab - dg_abx;
        const double dA_b = dg_ab + walk_b.digamma_value() - dg_b - dg_abx;
        double cnt_sum = 0, row_ll = 0, row_r = 0, row_alpha = 0, w_sum = 0;
        for (std::size_t i = L.block[k]; i < L.block[k + 1]; ++i) {
            const double cnt = L.count[i];
            const std::uint32_t it = L.T_index[i], ix = L.recency_index[i];
            const double lT = log_T[it];
            cnt_sum += cnt;
            if (has_dropout_term) {
                const double ltx = log_tx[ix];
                const double d = c_x + xr * (lT - ltx);
                // softplus(d) and logistic(d) from one exp; log(1 + e) instead of log1p
                // loses at most 1e-16 absolute, far below what the sum can resolve
                const double e = std::exp(-std::abs(d));
                const double inv = 1.0 / (1.0 + e);
                const double w = d >= 0 ? inv : e * inv;
                row_ll += cnt * (-xr * lT + std::max(d, 0.0) + std::log(1.0 + e));
                row_r += cnt * (-lT + w * (lT - ltx));
                row_alpha += cnt * xr * (-inv_T[it] + w * (inv_T[it] - inv_tx[ix]));
                w_sum += cnt * w;
            } else {
                row_ll += cnt * (-xr * lT);
                row_r += cnt * (-lT);
                row_alpha += cnt * (-xr * inv_T[it]);
            }
        }
        ll += cnt_sum * A12 + row_ll;
        g_r += cnt_sum * dA_r + row_r;
        g_alpha += cnt_sum * dA_alpha + row_alpha;
        g_a += cnt_sum * dA_a + (has_dropout_term ? w_sum / a : 0.0);
        g_b += cnt_sum * dA_b - (has_dropout_term ? w_sum / bx : 0.0);
    }
    if (grad) {
        grad[0] = g_r;
        grad[1] = g_alpha;
        grad[2] = g_a;
        grad[3] = g_b;
    }
    return ll;
}

template <bool Modified>
double single_log_likelihood(const std::array<double, 4>& v, double x, double t_x, double T) {
    const double r = v[0], alpha = v[1], a = v[2], b = v[3];
    const double shift = Modified ? 1.0 : 0.0;
    const double A12 = log_gamma(r + x) - log_gamma(r) + r * std::log(alpha) + log_gamma(a + b) +
                       log_gamma(b + x + shift) - log_gamma(b) - log_gamma(a + b + x + shift);
    const double A3 = -(r + x) * std::log(alpha + T);
    if (!Modified && x == 0) return A12 + A3;
    const double d = std::log(a) - std::log(b + x - 1.0 + shift) + (r + x) * (std::log(alpha + T) - std::log(alpha + t_x));
    return A12 + A3 + softplus(d);
}

template <bool Modified>
double alive_probability(const std::array<double, 4>& v, double x, double t_x, double T) {
    if (!Modified && x == 0) return 1.0;
    const double r = v[0], alpha = v[1], a = v[2], b = v[3];
    const double log_div = (r + x) * (std::log(alpha + T) - std::log(alpha + t_x)) + std::log(a) -
                           std::log(b + x - 1.0 + (Modified ? 1.0 : 0.0));
    return logistic(-log_div);
}

// E[purchases in the next t | alive], with n = r + x, u = t / (alpha + T) and the posterior
// dropout p ~ Beta(a, B): (a+B-1)/(a-1) [1 - (1+u)^-n 2F1(n, B; a+B-1; u/(1+u))].
double alive_expected_raw(double n, double a, double B, double u) {
    const double c0 = a + B - 1.0;
    const double z = u / (1.0 + u);
    const double log_y = -n * std::log1p(u);
    if (c0 > 0) return c0 / (a - 1.0) * -std::expm1(log_hyp2f1(n, B, c0, z) + log_y);
    // c0 <= 0 (BG/NBD, x = 0, a + b <= 1): Gauss' contiguous relation in c gives
    // c0 F(c0) from F(c0 + 1) and F(c0 + 2), both with positive c.
    const double c = c0 + 1.0;
    const double f1 = std::exp(log_hyp2f1(n, B, c, z));
    const double f2 = std::exp(log_hyp2f1(n, B, c + 1.0, z));
    const double g = ((c0 - (2.0 * c - n - B - 1.0) * z) * f1 + (c - n) * (c - B) * z * f2 / c) / (1.0 - z);
    return (c0 - std::exp(log_y) * g) / (a - 1.0);
}

double alive_expected(double n, double a, double B, double u) {
    if (u == 0) return 0.0;
    // a = 1 is a removable singularity: interpolate across it.
    constexpr double kBand = 2e-5;  // balances cancellation (~1e-15/band) against interpolation (~band^2)
    if (std::abs(a - 1.0) < kBand) {
        const double lo = alive_expected_raw(n, 1.0 - kBand, B, u);
        const double hi = alive_expected_raw(n, 1.0 + kBand, B, u);
        return lo + (a - (1.0 - kBand)) / (2.0 * kBand) * (hi - lo);
    }
    return alive_expected_raw(n, a, B, u);
}

template <bool Modified>
double conditional_expected(const std::array<double, 4>& v, double t, double x, double t_x, double T) {
    const double r = v[0], alpha = v[1], a = v[2], b = v[3];
    const double B = b + x + (Modified ? 1.0 : 0.0);
    return alive_probability<Modified>(v, x, t_x, T) * alive_expected(r + x, a, B, t / (alpha + T));
}

template <bool Modified>
double probability_of_n(const std::array<double, 4>& v, double t, int n) {
    if (n < 0) throw InvalidInput("n: must be >= 0, got " + std::to_string(n));
    const double r = v[0], alpha = v[1], a = v[2], b = v[3];
    const double shift = Modified ? 1.0 : 0.0;
    const double nd = n;
    const double lb_ab = log_beta(a, b);
    const double y = alpha / (alpha + t);
    double first = 0;
    if (t == 0)
        first = n == 0 ? std::exp(log_beta(a, b + shift) - lb_ab) : 0.0;
    else
        first = std::exp(log_beta(a, b + nd + shift) - lb_ab + log_gamma(r + nd) - log_gamma(r) -
                         log_gamma(nd + 1.0) + r * std::log(y) + nd * std::log(t / (alpha + t)));
    double second = 0;
    if (Modified || n > 0) {
        // 1 - y^r sum_{j<n} NB(j) = P(NB(r, y) >= n) = I_{1-y}(n, r)
        const double tail = n == 0 ? 1.0 : (t == 0 ? 0.0 : regularized_beta(nd, r, 1.0 - y));
        second = std::exp(log_beta(a + 1.0, b + nd - 1.0 + shift) - lb_ab) * tail;
    }
    return first + second;
}

std::vector<std::vector<double>> default_starts(const detail::RfmLayout& L) {
    const double alpha0 = L.sum_T / L.repeat_purchases;  // r / alpha ~ purchase rate
    return {{1.0, alpha0, 1.0, 1.0}, {0.5, 0.5 * alpha0, 0.5, 2.0}, {2.0, 2.0 * alpha0, 2.0, 0.5},
            {0.1, 0.1 * L.max_T, 0.1, 0.1}};
}

template <bool Modified, class Params>
Fitted<Params> fit(const RfmPatterns& data, const FitOptions& options) {
    const detail::RfmLayout layout = detail::RfmLayout::build(data);
    const std::string model(Params::model);
    if (layout.customers <= 0) throw InvalidInput(model + ": no customers to fit");
    if (layout.repeat_purchases <= 0)
        throw NumericError(model + ": no repeat purchases in the data; the purchase rate is not identified");
    if (layout.max_T <= 0) throw NumericError(model + ": every T is 0; the purchase rate is not identified");
    LikelihoodProblem problem;
    problem.model = model;
    problem.names = {"r", "alpha", "a", "b"};
    problem.scale = {1.0, 1.0 / layout.max_T, 1.0, 1.0};
    problem.customers = layout.customers;
    problem.patterns = layout.rows();
    problem.log_likelihood = [&layout](const double* theta, double* grad) {
        return evaluate<Modified>(theta, layout, grad);
    };
    problem.starts = default_starts(layout);
    Fitted<Params> out;
    out.summary = maximize_likelihood(problem, options);
    out.params.r = out.summary.coef[0];
    out.params.alpha = out.summary.coef[1];
    out.params.a = out.summary.coef[2];
    out.params.b = out.summary.coef[3];
    out.params.time_unit = options.time_unit;
    return out;
}

template <class Params>
std::array<double, 4> checked(const Params& p) {
    p.validate();
    return p.values();
}

}  // namespace

void BgNbdParams::validate() const { check_params(model, values(), names); }
void MbgNbdParams::validate() const { check_params(model, values(), names); }

double log_likelihood(const BgNbdParams& p, double x, double t_x, double T) {
    validate_rfm(no_row, x, t_x, T);
    return single_log_likelihood<false>(checked(p), x, t_x, T);
}
double log_likelihood(const MbgNbdParams& p, double x, double t_x, double T) {
    validate_rfm(no_row, x, t_x, T);
    return single_log_likelihood<true>(checked(p), x, t_x, T);
}

double log_likelihood(const BgNbdParams& p, const RfmPatterns& data, std::span<double> gradient) {
    const auto v = checked(p);
    if (!gradient.empty() && gradient.size() != 4) throw InvalidInput("gradient: expected 4 elements");
    return evaluate<false>(v.data(), detail::RfmLayout::build(data), gradient.empty() ? nullptr : gradient.data());
}
double log_likelihood(const MbgNbdParams& p, const RfmPatterns& data, std::span<double> gradient) {
    const auto v = checked(p);
    if (!gradient.empty() && gradient.size() != 4) throw InvalidInput("gradient: expected 4 elements");
    return evaluate<true>(v.data(), detail::RfmLayout::build(data), gradient.empty() ? nullptr : gradient.data());
}

Fitted<BgNbdParams> fit_bg_nbd(const RfmPatterns& data, const FitOptions& options) {
    return fit<false, BgNbdParams>(data, options);
}
Fitted<MbgNbdParams> fit_mbg_nbd(const RfmPatterns& data, const FitOptions& options) {
    return fit<true, MbgNbdParams>(data, options);
}

double expected_purchases(const BgNbdParams& p, double t) {
    check_t(t);
    const auto v = checked(p);
    return alive_expected(v[0], v[2], v[3], t / v[1]);
}
double expected_purchases(const MbgNbdParams& p, double t) {
    check_t(t);
    const auto v = checked(p);
    // alive at time 0 with probability b / (a + b)
    return v[3] / (v[2] + v[3]) * alive_expected(v[0], v[2], v[3] + 1.0, t / v[1]);
}

double conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x, double T) {
    check_t(t);
    validate_rfm(no_row, x, t_x, T);
    return conditional_expected<false>(checked(p), t, x, t_x, T);
}
double conditional_expected_purchases(const MbgNbdParams& p, double t, double x, double t_x, double T) {
    check_t(t);
    validate_rfm(no_row, x, t_x, T);
    return conditional_expected<true>(checked(p), t, x, t_x, T);
}

double p_alive(const BgNbdParams& p, double x, double t_x, double T) {
    validate_rfm(no_row, x, t_x, T);
    return alive_probability<false>(checked(p), x, t_x, T);
}
double p_alive(const MbgNbdParams& p, double x, double t_x, double T) {
    validate_rfm(no_row, x, t_x, T);
    return alive_probability<true>(checked(p), x, t_x, T);
}

double probability_of_purchases(const BgNbdParams& p, double t, int n) {
    check_t(t);
    return probability_of_n<false>(checked(p), t, n);
}
double probability_of_purchases(const MbgNbdParams& p, double t, int n) {
    check_t(t);
    return probability_of_n<true>(checked(p), t, n);
}

}  // namespace tierkit::clv
