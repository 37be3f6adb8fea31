// Gamma-Gamma spend model: likelihood with analytic gradient over compressed (x, m)
// patterns, fit and expected spend.
#include "tierkit/clv/gamma_gamma.hpp"

#include <array>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/clv/optimizer.hpp"
#include "tierkit/clv/special_functions.hpp"
#include "tierkit/core/error.hpp"

namespace tierkit::clv {
namespace {

// Rows sorted by x, with log m and log x precomputed.
struct SpendLayout {
    std::vector<double> x;           // distinct x
    std::vector<std::size_t> block;  // rows of x[k]
    std::vector<double> m, log_m, count;
    double customers = 0, sum_m = 0;

    static SpendLayout build(const SpendPatterns& p) {
        const std::size_t n = p.size();
        if (p.frequency.size() != n || p.monetary_value.size() != n)
            throw InvalidInput("patterns: frequency, monetary_value and count must have the same length");
        bool sorted = true;
        for (std::size_t i = 0; i < n; ++i) {
            validate_spend(i, p.frequency[i], p.monetary_value[i]);
            if (p.frequency[i] == 0)
                throw InvalidInput("frequency[" + std::to_string(i) + "]: patterns must be repeat customers (> 0)");
            if (!std::isfinite(p.count[i]) || p.count[i] < 0)
                throw InvalidInput("count[" + std::to_string(i) + "]: must be finite and >= 0, got " +
                                   std::to_string(p.count[i]));
            if (i > 0 && p.frequency[i] < p.frequency[i - 1]) sorted = false;
        }
        const SpendPatterns* src = &p;
        SpendPatterns rebuilt;
        if (!sorted) {
            SpendHistogram h;
            h.update(p.frequency, p.monetary_value, p.count);
            rebuilt = h.finalize();
            src = &rebuilt;
        }
        SpendLayout out;
        for (std::size_t i = 0; i < src->size(); ++i) {
            if (src->count[i] == 0) continue;
            if (out.x.empty() || src->frequency[i] != out.x.back()) {
                out.x.push_back(src->frequency[i]);
                out.block.push_back(out.count.size());
            }
            out.m.push_back(src->monetary_value[i]);
            out.log_m.push_back(std::log(src->monetary_value[i]));
            out.count.push_back(src->count[i]);
            out.customers += src->count[i];
            out.sum_m += src->count[i] * src->monetary_value[i];
        }
        out.block.push_back(out.count.size());
        return out;
    }
};

double evaluate(const double* theta, const SpendLayout& L, double* grad) {
    const double p = theta[0], q = theta[1], v = theta[2];
    const double lg_q = log_gamma(q), dg_q = digamma(q), log_v = std::log(v);
    double ll = 0, g_p = 0, g_q = 0, g_v = 0;
    for (std::size_t k = 0; k < L.x.size(); ++k) {
        const double x = L.x[k], px = p * x, log_x = std::log(x);
        const double A = log_gamma(px + q) - log_gamma(px) - lg_q + q * log_v + px * log_x;
        const double dg_pxq = digamma(px + q), dg_px = digamma(px);
        double cnt_sum = 0, s_ll = 0, s_logm = 0, s_lxmv = 0, s_inv = 0;
        for (std::size_t i = L.block[k]; i < L.block[k + 1]; ++i) {
            const double cnt = L.count[i];
            const double lxmv = std::log(x * L.m[i] + v);
            cnt_sum += cnt;
            s_ll += cnt * ((px - 1.0) * L.log_m[i] - (px + q) * lxmv);
            s_logm += cnt * L.log_m[i];
            s_lxmv += cnt * lxmv;
            s_inv += cnt / (x * L.m[i] + v);
        }
        ll += cnt_sum * A + s_ll;
        g_p += x * (cnt_sum * (dg_pxq - dg_px + log_x) + s_logm - s_lxmv);
        g_q += cnt_sum * (dg_pxq - dg_q + log_v) - s_lxmv;
        g_v += cnt_sum * q / v - (px + q) * s_inv;
    }
    if (grad) {
        grad[0] = g_p;
        grad[1] = g_q;
        grad[2] = g_v;
    }
    return ll;
}

}  // namespace

void GammaGammaParams::validate() const {
    const auto vals = values();
    for (std::size_t i = 0; i < 3; ++i)
        if (!(std::isfinite(vals[i]) && vals[i] > 0)) {
            std::ostringstream out;
            out << model << "." << names[i] << ": must be finite and > 0, got " << vals[i];
            throw InvalidInput(out.str());
        }
}

double log_likelihood(const GammaGammaParams& params, double x, double m) {
    params.validate();
    if (!(std::isfinite(x) && x >= 1 && x == std::floor(x)))
        throw InvalidInput("frequency: must be an integer >= 1 (a repeat customer), got " + std::to_string(x));
    if (!(std::isfinite(m) && m > 0))
        throw InvalidInput("monetary_value: must be finite and > 0, got " + std::to_string(m));
    const double p = params.p, q = params.q, v = params.v, px = p * x;
    return log_gamma(px + q) - log_gamma(px) - log_gamma(q) + q * std::log(v) + (px - 1.0) * std::log(m) +
           px * std::log(x) - (px + q) * std::log(x * m + v);
}

double log_likelihood(const GammaGammaParams& params, const SpendPatterns& data, std::span<double> gradient) {
    params.validate();
    if (!gradient.empty() && gradient.size() != 3) throw InvalidInput("gradient: expected 3 elements");
    const auto v = params.values();
    return evaluate(v.data(), SpendLayout::build(data), gradient.empty() ? nullptr : gradient.data());
}

Fitted<GammaGammaParams> fit_gamma_gamma(const SpendPatterns& data, const FitOptions& options) {
    const SpendLayout layout = SpendLayout::build(data);
    const std::string model(GammaGammaParams::model);
    if (layout.customers <= 0) throw InvalidInput(model + ": no repeat customers to fit");
    LikelihoodProblem problem;
    problem.model = model;
    problem.names = {"p", "q", "v"};
    problem.scale = {1.0, 1.0, 1.0};
    problem.customers = layout.customers;
    problem.patterns = layout.count.size();
    problem.log_likelihood = [&layout](const double* theta, double* grad) { return evaluate(theta, layout, grad); };
    const double mean_m = layout.sum_m / layout.customers;
    // population mean p v / (q - 1) = mean spend at each start
    problem.starts = {{1.0, 2.0, mean_m}, {5.0, 5.0, 0.8 * mean_m}, {0.5, 1.5, mean_m}, {10.0, 3.0, 0.2 * mean_m}};
    Fitted<GammaGammaParams> out;
    out.summary = maximize_likelihood(problem, options);
    out.params = {out.summary.coef[0], out.summary.coef[1], out.summary.coef[2]};
    return out;
}

double mean_spend(const GammaGammaParams& params) {
    params.validate();
    if (params.q <= 1) {
        std::ostringstream out;
        out << "gamma-gamma: q = " << params.q
            << " <= 1, so the mean spend per transaction is infinite (undefined); refit, e.g. with a penalizer";
        throw NumericError(out.str());
    }
    return params.p * params.v / (params.q - 1.0);
}

double conditional_expected_average_spend(const GammaGammaParams& params, double x, double m) {
    validate_spend(no_row, x, m);
    return detail::expected_average_spend(params, mean_spend(params), x, m);  // q > 1
}

}  // namespace tierkit::clv
