// Pareto/NBD: likelihood with analytic gradient over compressed patterns, fit and
// predictions.
//
// With G(tau) = integral_tau^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du, one customer's
// likelihood is
//   L = Gamma(r+x)/Gamma(r) alpha^r beta^s [ (alpha+T)^-(r+x) (beta+T)^-s + s (G(t_x) - G(T)) ],
// which is Hardie's note 009 eq. (18) with A_0 = (r+s+x) (G(t_x) - G(T)). G reduces to the
// series S(p, q, z) = 2F1(1, p; q; z) (hypergeometric.hpp): with a = r+s+x,
//   alpha >= beta: log G = -(r+x) log(alpha+tau) - s log(beta+tau) - log a
//                          + log S(r+x, a+1, (alpha-beta)/(alpha+tau))
//   alpha <  beta: log G = -(s+1) log(beta+tau) - (r+x-1) log(alpha+tau) - log a
//                          + log S(s+1, a+1, (beta-alpha)/(beta+tau))
// Everything stays in logs, so no term overflows for any x.
#include "tierkit/clv/pareto_nbd.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/clv/hypergeometric.hpp"
#include "tierkit/clv/optimizer.hpp"
#include "tierkit/clv/special_functions.hpp"
#include "tierkit/core/error.hpp"

namespace tierkit::clv {
namespace {

struct LogValue {
    double value = 0;
    std::array<double, 4> d{};  // d/d(r, alpha, s, beta)
};

// log G(tau) and its gradient.
LogValue log_G(double r, double alpha, double s, double beta, double x, double tau) {
    const double a = r + s + x;
    const double la = std::log(alpha + tau), lb = std::log(beta + tau);
    LogValue out;
    if (alpha >= beta) {
        const double z = (alpha - beta) / (alpha + tau);
        const LogHyp2f1Unit S = log_hyp2f1_unit(r + x, a + 1.0, z);
        out.value = -(r + x) * la - s * lb - std::log(a) + S.value;
        out.d[0] = -la - 1.0 / a + S.d_p + S.d_q;
        out.d[1] = -(r + x) / (alpha + tau) + S.d_z * (beta + tau) / ((alpha + tau) * (alpha + tau));
        out.d[2] = -lb - 1.0 / a + S.d_q;
        out.d[3] = -s / (beta + tau) - S.d_z / (alpha + tau);
    } else {
        const double z = (beta - alpha) / (beta + tau);
        const LogHyp2f1Unit S = log_hyp2f1_unit(s + 1.0, a + 1.0, z);
        out.value = -(s + 1.0) * lb - (r + x - 1.0) * la - std::log(a) + S.value;
        out.d[0] = -la - 1.0 / a + S.d_q;
        out.d[1] = -(r + x - 1.0) / (alpha + tau) - S.d_z / (beta + tau);
        out.d[2] = -lb - 1.0 / a + S.d_p + S.d_q;
        out.d[3] = -(s + 1.0) / (beta + tau) + S.d_z * (alpha + tau) / ((beta + tau) * (beta + tau));
    }
    return out;
}

// log of (alpha+T)^-(r+x) (beta+T)^-s and its gradient.
LogValue log_E(double r, double alpha, double s, double beta, double x, double T) {
    LogValue out;
    const double la = std::log(alpha + T), lb = std::log(beta + T);
    out.value = -(r + x) * la - s * lb;
    out.d = {-la, -(r + x) / (alpha + T), -lb, -s / (beta + T)};
    return out;
}

// One customer's log(E + s (G1 - G2)) (without A1) and, optionally, its gradient and the
// share E / (E + s D) = P(alive).
struct Bracket {
    double value;
    double p_alive;
};
Bracket bracket(double s, const LogValue& E, const LogValue& G1, const LogValue& G2, bool recency_is_T, double* grad) {
    const double log_s = std::log(s);
    const double K = std::max(E.value, log_s + G1.value);
    const double wE = std::exp(E.value - K);
    const double w1 = std::exp(log_s + G1.value - K);
    double diff = 0, w2 = w1;  // diff = w1 - w2 = s (G1 - G2) scaled
    if (!recency_is_T) {
        const double delta = G2.value - G1.value;
        diff = w1 * -std::expm1(std::min(delta, 0.0));
        w2 = w1 - diff;
    }
    const double total = wE + diff;
    if (grad) {
        for (int k = 0; k < 4; ++k) grad[k] = (wE * E.d[k] + w1 * G1.d[k] - w2 * G2.d[k]) / total;
        grad[2] += diff / (s * total);
    }
    return {K + std::log(total), wE / total};
}

double A1_value(double r, double alpha, double s, double beta, double x) {
    return log_gamma(r + x) - log_gamma(r) + r * std::log(alpha) + s * std::log(beta);
}

double evaluate(const double* theta, const detail::RfmLayout& L, double* grad) {
    const double r = theta[0], alpha = theta[1], s = theta[2], beta = theta[3];
    const double lg_r = log_gamma(r), dg_r = digamma(r), log_alpha = std::log(alpha), log_beta_ = std::log(beta);
    double ll = 0;
    std::array<double, 4> g{};
    // per (x, T) cache, reset per block by stamping with the block number
    std::vector<std::size_t> stamp(L.T_values.size(), static_cast<std::size_t>(-1));
    std::vector<LogValue> cache_E(L.T_values.size()), cache_G2(L.T_values.size());
    GammaWalk walk_r(r);
    for (std::size_t k = 0; k < L.x.size(); ++k) {
        const double x = L.x[k];
        walk_r.advance_to(x);
        const double A1 = walk_r.log_gamma_value() - lg_r + r * log_alpha + s * log_beta_;
        const std::array<double, 4> dA1 = {walk_r.digamma_value() - dg_r + log_alpha, r / alpha, log_beta_, s / beta};
        double cnt_sum = 0;
        std::uint32_t current_recency = static_cast<std::uint32_t>(-1);
        LogValue G1;
        for (std::size_t i = L.block[k]; i < L.block[k + 1]; ++i) {
            const double cnt = L.count[i];
            const std::uint32_t ir = L.recency_index[i], iT = L.T_index[i];
            const double tx = L.recency_values[ir], T = L.T_values[iT];
            if (ir != current_recency) {
                G1 = log_G(r, alpha, s, beta, x, tx);
                current_recency = ir;
            }
            if (stamp[iT] != k) {
                cache_E[iT] = log_E(r, alpha, s, beta, x, T);
                cache_G2[iT] = log_G(r, alpha, s, beta, x, T);
                stamp[iT] = k;
            }
            double row_grad[4];
            const Bracket br = bracket(s, cache_E[iT], G1, cache_G2[iT], tx == T, grad ? row_grad : nullptr);
            ll += cnt * br.value;
            if (grad)
                for (int j = 0; j < 4; ++j) g[j] += cnt * row_grad[j];
            cnt_sum += cnt;
        }
        ll += cnt_sum * A1;
        for (int j = 0; j < 4; ++j) g[j] += cnt_sum * dA1[j];
    }
    if (grad)
        for (int j = 0; j < 4; ++j) grad[j] = g[j];
    return ll;
}

std::array<double, 4> checked(const ParetoNbdParams& p) {
    p.validate();
    return p.values();
}

Bracket customer_bracket(const std::array<double, 4>& v, double x, double t_x, double T) {
    const double r = v[0], alpha = v[1], s = v[2], beta = v[3];
    const LogValue E = log_E(r, alpha, s, beta, x, T);
    const LogValue G1 = log_G(r, alpha, s, beta, x, t_x);
    const LogValue G2 = t_x == T ? G1 : log_G(r, alpha, s, beta, x, T);
    return bracket(s, E, G1, G2, t_x == T, nullptr);
}

void check_t(double t) {
    if (!(std::isfinite(t) && t >= 0)) throw InvalidInput("t: must be finite and >= 0, got " + std::to_string(t));
}

}  // namespace

void ParetoNbdParams::validate() const {
    const auto v = values();
    for (std::size_t i = 0; i < 4; ++i)
        if (!(std::isfinite(v[i]) && v[i] > 0)) {
            std::ostringstream out;
            out << model << "." << names[i] << ": must be finite and > 0, got " << v[i];
            throw InvalidInput(out.str());
        }
}

double log_likelihood(const ParetoNbdParams& p, double x, double t_x, double T) {
    validate_rfm(no_row, x, t_x, T);
    const auto v = checked(p);
    return A1_value(v[0], v[1], v[2], v[3], x) + customer_bracket(v, x, t_x, T).value;
}

double log_likelihood(const ParetoNbdParams& p, const RfmPatterns& data, std::span<double> gradient) {
    const auto v = checked(p);
    if (!gradient.empty() && gradient.size() != 4) throw InvalidInput("gradient: expected 4 elements");
    return evaluate(v.data(), detail::RfmLayout::build(data), gradient.empty() ? nullptr : gradient.data());
}

Fitted<ParetoNbdParams> fit_pareto_nbd(const RfmPatterns& data, const FitOptions& options) {
    const detail::RfmLayout layout = detail::RfmLayout::build(data);
    const std::string model(ParetoNbdParams::model);
    if (layout.customers <= 0) throw InvalidInput(model + ": no customers to fit");
    if (layout.repeat_purchases <= 0)
        throw NumericError(model + ": no repeat purchases in the data; the purchase rate is not identified");
    if (layout.max_T <= 0) throw NumericError(model + ": every T is 0; the purchase rate is not identified");
    LikelihoodProblem problem;
    problem.model = model;
    problem.names = {"r", "alpha", "s", "beta"};
    problem.scale = {1.0, 1.0 / layout.max_T, 1.0, 1.0 / layout.max_T};
    problem.customers = layout.customers;
    problem.patterns = layout.rows();
    problem.log_likelihood = [&layout](const double* theta, double* grad) { return evaluate(theta, layout, grad); };
    const double alpha0 = layout.sum_T / layout.repeat_purchases;
    const double mean_T = layout.sum_T / layout.customers;
    problem.starts = {{1.0, alpha0, 1.0, mean_T},
                      {0.5, 0.5 * alpha0, 0.5, 0.5 * mean_T},
                      {2.0, 2.0 * alpha0, 2.0, 2.0 * mean_T},
                      {0.1, 0.1 * layout.max_T, 0.1, 0.1 * layout.max_T}};
    Fitted<ParetoNbdParams> out;
    out.summary = maximize_likelihood(problem, options);
    out.params = {out.summary.coef[0], out.summary.coef[1], out.summary.coef[2], out.summary.coef[3],
                  options.time_unit};
    return out;
}

double expected_purchases(const ParetoNbdParams& p, double t) {
    check_t(t);
    const auto v = checked(p);
    return v[0] * v[3] / v[1] * one_minus_pow_over(v[3] / (v[3] + t), v[2] - 1.0);
}

double conditional_expected_purchases(const ParetoNbdParams& p, double t, double x, double t_x, double T) {
    check_t(t);
    validate_rfm(no_row, x, t_x, T);
    const auto v = checked(p);
    const double r = v[0], alpha = v[1], s = v[2], beta = v[3];
    const double alive = customer_bracket(v, x, t_x, T).p_alive;
    return alive * (r + x) * (beta + T) / (alpha + T) * one_minus_pow_over((beta + T) / (beta + T + t), s - 1.0);
}

double p_alive(const ParetoNbdParams& p, double x, double t_x, double T) {
    validate_rfm(no_row, x, t_x, T);
    return customer_bracket(checked(p), x, t_x, T).p_alive;
}

double probability_of_purchases(const ParetoNbdParams& p, double t, int n) {
    check_t(t);
    if (n < 0) throw InvalidInput("n: must be >= 0, got " + std::to_string(n));
    const auto v = checked(p);
    const double r = v[0], alpha = v[1], s = v[2], beta = v[3], nd = n;
    if (t == 0) return n == 0 ? 1.0 : 0.0;
    // alive through t and n purchases
    const double first =
        std::exp(log_gamma(r + nd) - log_gamma(r) - log_gamma(nd + 1.0) + r * std::log(alpha / (alpha + t)) +
                 nd * std::log(t / (alpha + t)) + s * std::log(beta / (beta + t)));
    // died before t after n purchases: C [B1 - sum_i (r+s)_i t^i / i! B2_i]
    const bool alpha_max = alpha >= beta;
    const double M = alpha_max ? alpha : beta;
    const double pp = alpha_max ? s + 1.0 : r + nd;
    const double z1 = std::abs(alpha - beta) / M, z2 = std::abs(alpha - beta) / (M + t);
    const double log_C = r * std::log(alpha) + s * std::log(beta) + log_beta(r + nd, s + 1.0) - log_beta(r, s);
    const double log_B1 = log_hyp2f1(r + s, pp, r + s + nd + 1.0, z1) - (r + s) * std::log(M);
    double log_sum = -std::numeric_limits<double>::infinity();
    const double lg_rs = log_gamma(r + s);
    for (int i = 0; i <= n; ++i) {
        const double id = i;
        const double term = log_gamma(r + s + id) - lg_rs - log_gamma(id + 1.0) + id * std::log(t) +
                            log_hyp2f1(r + s + id, pp, r + s + nd + 1.0, z2) - (r + s + id) * std::log(M + t);
        const double hi = std::max(log_sum, term);
        log_sum = hi + std::log(std::exp(log_sum - hi) + std::exp(term - hi));
    }
    const double died = log_sum < log_B1 ? std::exp(log_C + log_B1) * -std::expm1(log_sum - log_B1) : 0.0;
    return first + died;
}

}  // namespace tierkit::clv
