// BG/NBD and MBG/NBD: likelihood with analytic gradient over compressed patterns, fits and
// predictions. The two models differ only in whether a customer may drop out at time 0,
// which moves b + x - 1 to b + x in a few places; `Modified` selects the variant.
#include "tierkit/clv/bg_nbd.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "clv/fast_math.hpp"
#include "tierkit/clv/hypergeometric.hpp"
#include "tierkit/clv/optimizer.hpp"
#include "tierkit/clv/special_functions.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/core/simd_clones.hpp"

namespace tierkit::clv {
namespace {

using fast::expm1_in_range;
using fast::log1p_nonnegative;

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

// ---- likelihood over the patterns ----------------------------------------------------
//
// The terms that depend on x only are summed per block of equal x (their weight is the
// block's customer count), serially. The rows' terms run over fixed tasks of kRowsPerTask
// rows (fork_join), each in kRowLanes lanes of partial sums added in lane order, and the
// tasks' sums are added in task order: the result does not depend on the thread count.

constexpr std::size_t kRowsPerTask = 4096;
constexpr std::size_t kRowLanes = 8;

// Sums over rows [0, n) of one block (xr = r + x, c_x = log a - log(b + x - 1 (+1))) of
// count * (softplus(d) - xr log(alpha + T)) with d = c_x + xr (log(alpha + T) - log(alpha +
// t_x)), and the row parts of its derivatives, into sums: [0] the likelihood, [1] d/dr, [2]
// d/dalpha, [3] count * logistic(d) (the dropout weight, for d/da and d/db).
TIERKIT_SIMD_CLONES void dropout_rows(std::size_t n, const double* count, const std::uint32_t* T_index,
                                      const std::uint32_t* recency_index, const double* log_T, const double* inv_T,
                                      const double* log_tx, const double* inv_tx, double xr, double c_x, double* sums) {
    double s_ll[kRowLanes] = {}, s_r[kRowLanes] = {}, s_alpha[kRowLanes] = {}, s_w[kRowLanes] = {};
    for (std::size_t i = 0; i < n; i += kRowLanes) {
        const std::size_t lanes = std::min(kRowLanes, n - i);
        double cnt[kRowLanes], lT[kRowLanes], iT[kRowLanes], ltx[kRowLanes], itx[kRowLanes];
        // the lanes past n count 0 customers (at valid indices): they add +0
        for (std::size_t j = 0; j < kRowLanes; ++j) {
            const std::size_t row = i + (j < lanes ? j : 0);
            cnt[j] = j < lanes ? count[row] : 0.0;
            lT[j] = log_T[T_index[row]];
            iT[j] = inv_T[T_index[row]];
            ltx[j] = log_tx[recency_index[row]];
            itx[j] = inv_tx[recency_index[row]];
        }
        double d[kRowLanes], e[kRowLanes], l1p[kRowLanes];
        for (std::size_t j = 0; j < kRowLanes; ++j) d[j] = c_x + xr * (lT[j] - ltx[j]);
        // softplus(d) and logistic(d) from one exponential
        for (std::size_t j = 0; j < kRowLanes; ++j) e[j] = std::max(-std::abs(d[j]), -708.0);
        for (std::size_t j = 0; j < kRowLanes; ++j) e[j] = fast::exp_in_range(e[j]);
        for (std::size_t j = 0; j < kRowLanes; ++j) l1p[j] = fast::log1p_nonnegative(e[j]);
        for (std::size_t j = 0; j < kRowLanes; ++j) {
            const double inv = 1.0 / (1.0 + e[j]), e_inv = e[j] * inv;
            // by the sign bit (a floating comparison keeps the loop from vectorizing):
            // logistic(d) is inv for d >= 0, e_inv below; max(d, 0)
            const std::uint64_t negative = 0ULL - (std::bit_cast<std::uint64_t>(d[j]) >> 63);
            const double w = std::bit_cast<double>((std::bit_cast<std::uint64_t>(inv) & ~negative) |
                                                   (std::bit_cast<std::uint64_t>(e_inv) & negative));
            const double d_plus = std::bit_cast<double>(std::bit_cast<std::uint64_t>(d[j]) & ~negative);
            s_ll[j] += cnt[j] * (-xr * lT[j] + d_plus + l1p[j]);
            s_r[j] += cnt[j] * (-lT[j] + w * (lT[j] - ltx[j]));
            s_alpha[j] += cnt[j] * xr * (-iT[j] + w * (iT[j] - itx[j]));
            s_w[j] += cnt[j] * w;
        }
    }
    for (std::size_t k = 0; k < 4; ++k) sums[k] = 0.0;
    for (std::size_t j = 0; j < kRowLanes; ++j) {
        sums[0] += s_ll[j];
        sums[1] += s_r[j];
        sums[2] += s_alpha[j];
        sums[3] += s_w[j];
    }
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
    const std::size_t blocks = L.x.size();
    // per block: log a - log(b + x - 1 (+1)) and 1 / (b + x - 1 (+1)), 0 without a dropout term
    std::vector<double> c_x(blocks), inv_bx(blocks);
    double ll = 0, g_r = 0, g_alpha = 0, g_a = 0, g_b = 0;
    GammaWalk walk_r(r), walk_b(b + shift), walk_ab(a + b + shift);
    for (std::size_t k = 0; k < blocks; ++k) {
        const double x = L.x[k];
        // b + x - 1 (BG) or b + x (MBG) in P(drop out after the last purchase)
        const double bx = b + x - 1.0 + shift;
        if (Modified || x > 0) c_x[k] = log_a - std::log(bx), inv_bx[k] = 1.0 / bx;
        walk_r.advance_to(x);
        walk_b.advance_to(x);
        walk_ab.advance_to(x);
        const double A12 = walk_r.log_gamma_value() - lg_r + r * log_alpha + lg_ab + walk_b.log_gamma_value() - lg_b -
                           walk_ab.log_gamma_value();
        const double dg_abx = walk_ab.digamma_value();
        const double cnt_sum = L.block_count[k];
        ll += cnt_sum * A12;
        g_r += cnt_sum * (walk_r.digamma_value() - dg_r + log_alpha);
        g_alpha += cnt_sum * (r / alpha);
        g_a += cnt_sum * (dg_ab - dg_abx);
        g_b += cnt_sum * (dg_ab + walk_b.digamma_value() - dg_b - dg_abx);
    }
    // BG/NBD's customers without repeat purchases (the first block when x = 0) have no
    // dropout term: -r log(alpha + T) each.
    const std::size_t rows = L.rows();
    const std::size_t no_dropout = !Modified && blocks > 0 && L.x[0] == 0 ? L.block[1] : 0;
    const auto tasks = static_cast<unsigned>((rows + kRowsPerTask - 1) / kRowsPerTask);
    std::vector<std::array<double, 5>> partial(tasks);
    fork_join(tasks, [&](unsigned task) {
        const std::size_t begin = task * kRowsPerTask, end = std::min(rows, begin + kRowsPerTask);
        double sums[4] = {}, w_over_bx = 0;
        for (std::size_t i = begin; i < std::min(end, no_dropout); ++i) {
            const double lT = log_T[L.T_index[i]];
            sums[0] += L.count[i] * (-r * lT);
            sums[1] += L.count[i] * (-lT);
            sums[2] += L.count[i] * (-r * inv_T[L.T_index[i]]);
        }
        // the blocks that overlap [max(begin, no_dropout), end)
        std::size_t from = std::max(begin, no_dropout);
        std::size_t k =
            static_cast<std::size_t>(std::upper_bound(L.block.begin(), L.block.end(), from) - L.block.begin()) - 1;
        for (; from < end; ++k) {
            const std::size_t to = std::min(end, L.block[k + 1]);
            double block_sums[4];
            dropout_rows(to - from, L.count.data() + from, L.T_index.data() + from, L.recency_index.data() + from,
                         log_T.data(), inv_T.data(), log_tx.data(), inv_tx.data(), r + L.x[k], c_x[k], block_sums);
            for (std::size_t j = 0; j < 4; ++j) sums[j] += block_sums[j];
            w_over_bx += block_sums[3] * inv_bx[k];
            from = to;
        }
        partial[task] = {sums[0], sums[1], sums[2], sums[3], w_over_bx};
    });
    double w_sum = 0, w_over_bx = 0;
    for (const auto& p : partial) {
        ll += p[0];
        g_r += p[1];
        g_alpha += p[2];
        w_sum += p[3];
        w_over_bx += p[4];
    }
    if (grad) {
        grad[0] = g_r;
        grad[1] = g_alpha;
        grad[2] = g_a + w_sum / a;
        grad[3] = g_b - w_over_bx;
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
    const double d =
        std::log(a) - std::log(b + x - 1.0 + shift) + (r + x) * (std::log(alpha + T) - std::log(alpha + t_x));
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

// ---- expected purchases at many horizons ----------------------------------------------
//
// With n = r + x, B = b + x (+1 for MBG/NBD), c = a + B - 1, q = a - 1, p = c - n and
// z = t / (alpha + T + t) = u / (1 + u), Euler's transformation turns the alive part of
// E[X(T, T + t] | x, t_x, T] (alive_expected_raw) into
//     c [ (1 - (1 + u)^-q) / q  -  (1 + u)^-q S(z) ],   S(z) = sum_{k>=1} s_k z^k,
// s_1 = p / c, s_{k+1} = s_k (p + k)(q + k) / ((c + k)(k + 1)): the Gauss series of
// 2F1(p, q; c; z) minus 1, divided by q (so a = 1 is no special case). The coefficients
// do not depend on t, so one pass computes them for a block of horizons, and each
// horizon's sum costs a multiply and an add per term. With p, q > -1 every s_k has the
// same sign: no cancellation inside S. For k >= 1, s_{k+1} / s_k is at most
// 1 + (|p + q - c - 1| (k + 1) + |p q - c|) / ((c + k)(k + 1)) for all later terms, which
// bounds the tail. Outside that region (c <= 0, p <= -1, z too close to 1, a tail or a
// cancellation larger than the bound allows) the horizon block falls back to
// alive_expected, which sums 2F1 with log_hyp2f1.
//
// The exponentials and logarithms are written out below (no FMA, plain arithmetic and bit
// operations), so the compiler vectorizes them over the block and every build gives the
// same bits.

constexpr std::size_t kLanes = 12;         // horizons per block (a year of months)
constexpr long kMaxSeriesTerms = 4096;     // beyond: the logarithmic 2F1 path
constexpr double kSeriesTarget = 0x1p-54;  // tail target, relative to the smallest result
constexpr double kSeriesCheck = 1e-13;     // accepted tail, relative to each result
constexpr double kMaxCancellation = 1e4;   // accepted (|first| + |second|) / |result|

// E[X(T, T + t[j]] | x, t_x, T] = alive * factor * out[j] for j < lanes (<= kLanes),
// where alive = P(alive | x, t_x, T): the rest depends on x and T only, so customers with
// the same (x, T) share it (HorizonExpectations). Returns the factor (c on the series path,
// 1 on the others); shift is 1 for MBG/NBD, 0 for BG/NBD.
TIERKIT_SIMD_CLONES double expected_block(const std::array<double, 4>& v, double shift, const double* t,
                                          std::size_t lanes, double x, double T, double* out) {
    const double r = v[0], alpha = v[1], a = v[2], b = v[3];
    const double n = r + x, B = b + x + shift, q = a - 1.0;
    const double c = q + B, p = q + ((b + shift) - r);
    const double span = alpha + T;
    auto fallback = [&] {
        for (std::size_t j = 0; j < lanes; ++j) out[j] = alive_expected(n, a, B, t[j] / span);
        return 1.0;
    };
    double tt[kLanes] = {}, z[kLanes], first[kLanes], growth[kLanes];
    for (std::size_t j = 0; j < lanes; ++j) tt[j] = t[j];
    double z_max = 0, first_min = std::numeric_limits<double>::infinity(), growth_max = 1;
    for (std::size_t j = 0; j < kLanes; ++j) {
        const double tj = tt[j];
        const double u = tj / span;
        z[j] = tj / (span + tj);
        first[j] = log1p_nonnegative(u);  // (1 - (1 + u)^-q) / q below; its limit at q = 0
        growth[j] = -q * first[j];
    }
    for (std::size_t j = 0; j < kLanes; ++j) growth[j] = std::min(std::max(growth[j], -708.0), 709.0);
    for (std::size_t j = 0; j < kLanes; ++j) growth[j] = expm1_in_range(growth[j]);  // (1 + u)^-q - 1
    if (q != 0)
        for (std::size_t j = 0; j < kLanes; ++j) first[j] = -growth[j] / q;
    for (std::size_t j = 0; j < kLanes; ++j) growth[j] += 1.0;
    for (std::size_t j = 0; j < lanes; ++j) {
        z_max = std::max(z_max, z[j]);
        if (z[j] > 0) first_min = std::min(first_min, first[j]);
        growth_max = std::max(growth_max, growth[j]);
    }
    if (z_max == 0) {
        for (std::size_t j = 0; j < lanes; ++j) out[j] = 0.0;
        return 1.0;
    }
    if (!(c > 0 && p > -1.0 && z_max < 1.0 && std::isfinite(growth_max) && std::isfinite(c))) return fallback();
    // target for the tail of S at z_max; the smallest result is about first_min n / c
    const double target = kSeriesTarget * first_min * (n / c) / growth_max;
    const double alpha_k = std::abs(p + q - c - 1.0), beta_k = std::abs(p * q - c);
    double pw[kLanes], sum[kLanes];
    for (std::size_t j = 0; j < kLanes; ++j) pw[j] = 1.0, sum[j] = 0.0;
    // Terms in chunks of kChunk: the coefficient ratios of a chunk in one vectorized pass
    // (one division per term, not on the critical path), their running products, then the
    // horizons' sums; the tail bound is checked after each chunk.
    constexpr long kChunk = 8;
    double coef = p / c, term_max = std::abs(coef) * z_max, tail = 0;  // s_k and |s_k| z_max^k
    bool converged = false;
    for (long k0 = 1; k0 <= kMaxSeriesTerms; k0 += kChunk) {
        double inv[kChunk], ratio[kChunk], cs[kChunk];
        for (long i = 0; i < kChunk; ++i) {
            const double kd = static_cast<double>(k0 + i);
            inv[i] = 1.0 / ((c + kd) * (kd + 1.0));
            ratio[i] = (p + kd) * (q + kd) * inv[i];
        }
        cs[0] = coef;
        for (long i = 1; i < kChunk; ++i) cs[i] = cs[i - 1] * ratio[i - 1];
        for (long i = 0; i < kChunk; ++i)
            for (std::size_t j = 0; j < kLanes; ++j) {
                pw[j] *= z[j];
                sum[j] += cs[i] * pw[j];
            }
        for (long i = 0; i < kChunk - 1; ++i) term_max *= ratio[i] * z_max;
        // the last term added is k = k0 + kChunk - 1, with |s_k| z_max^k = term_max
        const double kd = static_cast<double>(k0 + kChunk - 1);
        const double bound = z_max * (1.0 + (alpha_k * (kd + 1.0) + beta_k) * inv[kChunk - 1]);
        if (bound < 1.0 && term_max * bound <= target * (1.0 - bound)) {
            tail = term_max * bound / (1.0 - bound);
            converged = true;
            break;
        }
        coef = cs[kChunk - 1] * ratio[kChunk - 1];
        term_max *= ratio[kChunk - 1] * z_max;
    }
    if (!converged) return fallback();
    double result[kLanes];
    bool accepted = true;
    for (std::size_t j = 0; j < lanes; ++j) {
        const double second = growth[j] * sum[j];
        result[j] = first[j] - second;
        if (z[j] == 0) {
            result[j] = 0;
            continue;
        }
        accepted = accepted && result[j] > 0 && growth[j] * tail <= kSeriesCheck * result[j] &&
                   first[j] + std::abs(second) <= kMaxCancellation * result[j];
    }
    if (!accepted) return fallback();
    for (std::size_t j = 0; j < lanes; ++j) out[j] = result[j];
    return c;
}

// The horizons t[begin, begin + lanes) (lanes <= kLanes) given alive: out[j] for them and
// the returned factor, as expected_block.
template <bool Modified>
double expected_given_alive(const std::array<double, 4>& v, PredictionNumerics numerics, const double* t,
                            std::size_t lanes, double x, double T, double* out) {
    if (numerics == PredictionNumerics::per_horizon_2f1) {
        const double a = v[2], B = v[3] + x + (Modified ? 1.0 : 0.0);
        for (std::size_t j = 0; j < lanes; ++j) out[j] = alive_expected(v[0] + x, a, B, t[j] / (v[1] + T));
        return 1.0;
    }
    return expected_block(v, Modified ? 1.0 : 0.0, t, lanes, x, T, out);
}

template <bool Modified>
void expected_at_horizons(const std::array<double, 4>& v, PredictionNumerics numerics, std::span<const double> t,
                          double x, double t_x, double T, std::span<double> out) {
    const double alive = alive_probability<Modified>(v, x, t_x, T);
    for (std::size_t begin = 0; begin < t.size(); begin += kLanes) {
        const std::size_t lanes = std::min(kLanes, t.size() - begin);
        double given[kLanes];
        const double factor = expected_given_alive<Modified>(v, numerics, t.data() + begin, lanes, x, T, given);
        for (std::size_t j = 0; j < lanes; ++j) out[begin + j] = alive * factor * given[j];
    }
}

template <bool Modified>
double conditional_expected(const std::array<double, 4>& v, PredictionNumerics numerics, double t, double x, double t_x,
                            double T) {
    double out = 0;
    expected_at_horizons<Modified>(v, numerics, std::span<const double>(&t, 1), x, t_x, T, std::span<double>(&out, 1));
    return out;
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
        first = std::exp(log_beta(a, b + nd + shift) - lb_ab + log_gamma(r + nd) - log_gamma(r) - log_gamma(nd + 1.0) +
                         r * std::log(y) + nd * std::log(t / (alpha + t)));
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
    return {{1.0, alpha0, 1.0, 1.0},
            {0.5, 0.5 * alpha0, 0.5, 2.0},
            {2.0, 2.0 * alpha0, 2.0, 0.5},
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
    return conditional_expected<false>(checked(p), p.numerics, t, x, t_x, T);
}
double conditional_expected_purchases(const MbgNbdParams& p, double t, double x, double t_x, double T) {
    check_t(t);
    validate_rfm(no_row, x, t_x, T);
    return conditional_expected<true>(checked(p), p.numerics, t, x, t_x, T);
}

namespace {
void check_horizons(std::span<const double> t, std::span<double> out) {
    if (t.size() != out.size())
        throw InvalidInput("out: expected " + std::to_string(t.size()) + " horizons, got " +
                           std::to_string(out.size()));
    for (const double h : t) check_t(h);
}
}  // namespace

void conditional_expected_purchases(const BgNbdParams& p, std::span<const double> t, double x, double t_x, double T,
                                    std::span<double> out) {
    check_horizons(t, out);
    validate_rfm(no_row, x, t_x, T);
    expected_at_horizons<false>(checked(p), p.numerics, t, x, t_x, T, out);
}
void conditional_expected_purchases(const MbgNbdParams& p, std::span<const double> t, double x, double t_x, double T,
                                    std::span<double> out) {
    check_horizons(t, out);
    validate_rfm(no_row, x, t_x, T);
    expected_at_horizons<true>(checked(p), p.numerics, t, x, t_x, T, out);
}

// ---- many customers at the same horizons -------------------------------------------------

namespace {
constexpr std::size_t kHorizonBudget = std::size_t{1} << 20;  // (x, T) pairs x horizons taken at once

inline std::size_t pair_hash(std::uint64_t x, std::uint64_t T) noexcept {
    std::uint64_t h = (x * 0x9E3779B97F4A7C15ULL) ^ (T + 0x632BE59BD9B4E019ULL + (x >> 29));
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return static_cast<std::size_t>(h);
}
}  // namespace

template <class Params>
HorizonExpectations<Params>::HorizonExpectations(const Params& p, std::span<const double> t, std::span<const double> x,
                                                 std::span<const double> T, std::size_t begin)
    : v_(checked(p)),
      x_(x),
      begin_(begin),
      end_(begin),
      horizons_(t.size()),
      blocks_((t.size() + kLanes - 1) / kLanes),
      log_a_(std::log(v_[2])) {
    constexpr bool Modified = std::is_same_v<Params, MbgNbdParams>;
    for (const double h : t) check_t(h);
    if (T.size() != x.size())
        throw InvalidInput("T: expected " + std::to_string(x.size()) + " rows, got " + std::to_string(T.size()));
    if (begin > x.size())
        throw InvalidInput("begin: " + std::to_string(begin) + " is past the " + std::to_string(x.size()) + " rows");
    // The distinct (x, T) pairs, by their bits, in an open-addressing table (slot = pair + 1).
    const std::size_t max_pairs = std::max<std::size_t>(1, kHorizonBudget / std::max<std::size_t>(1, horizons_));
    std::vector<std::uint64_t> pair_x, pair_T;
    std::vector<std::uint32_t> slots(1024, 0);
    std::size_t mask = slots.size() - 1;
    key_.reserve(x.size() - begin);
    for (; end_ < x.size(); ++end_) {
        const std::uint64_t bx = std::bit_cast<std::uint64_t>(x[end_]), bT = std::bit_cast<std::uint64_t>(T[end_]);
        std::size_t i = pair_hash(bx, bT) & mask;
        while (slots[i] != 0 && (pair_x[slots[i] - 1] != bx || pair_T[slots[i] - 1] != bT)) i = (i + 1) & mask;
        if (slots[i] == 0) {
            if (pair_x.size() == max_pairs) break;
            pair_x.push_back(bx);
            pair_T.push_back(bT);
            slots[i] = static_cast<std::uint32_t>(pair_x.size());
            if (2 * pair_x.size() > slots.size()) {
                slots.assign(2 * slots.size(), 0);
                mask = slots.size() - 1;
                for (std::size_t k = 0; k < pair_x.size(); ++k) {
                    std::size_t j = pair_hash(pair_x[k], pair_T[k]) & mask;
                    while (slots[j] != 0) j = (j + 1) & mask;
                    slots[j] = static_cast<std::uint32_t>(k + 1);
                }
            }
            key_.push_back(static_cast<std::uint32_t>(pair_x.size() - 1));
        } else {
            key_.push_back(slots[i] - 1);
        }
    }
    // Each pair's series, in parallel; a pair's values depend on that pair only.
    const std::size_t pairs = pair_x.size();
    log_span_.resize(pairs);
    log_bx_.resize(pairs);
    factor_.resize(pairs * blocks_);
    value_.resize(pairs * horizons_);
    const double shift = Modified ? 1.0 : 0.0;
    parallel_for(
        pairs,
        [&](std::size_t first, std::size_t last) {
            for (std::size_t k = first; k < last; ++k) {
                const double xk = std::bit_cast<double>(pair_x[k]), Tk = std::bit_cast<double>(pair_T[k]);
                // the logarithms of alive_probability that do not depend on t_x
                log_span_[k] = std::log(v_[1] + Tk);
                log_bx_[k] = std::log(v_[3] + xk - 1.0 + shift);
                for (std::size_t block = 0; block < blocks_; ++block) {
                    const std::size_t from = block * kLanes, lanes = std::min(kLanes, horizons_ - from);
                    factor_[k * blocks_ + block] = expected_given_alive<Modified>(
                        v_, p.numerics, t.data() + from, lanes, xk, Tk, value_.data() + k * horizons_ + from);
                }
            }
        },
        64);
}

template <class Params>
void HorizonExpectations<Params>::at(std::size_t row, double t_x, std::span<double> out) const {
    constexpr bool Modified = std::is_same_v<Params, MbgNbdParams>;
    const std::size_t k = key_[row - begin_];
    const double x = x_[row];
    // alive_probability with the pair's logarithms (the same operations, so the same bits)
    double alive = 1.0;
    if (Modified || x != 0) {
        const double log_div = (v_[0] + x) * (log_span_[k] - std::log(v_[1] + t_x)) + log_a_ - log_bx_[k];
        alive = logistic(-log_div);
    }
    const double* factor = factor_.data() + k * blocks_;
    const double* value = value_.data() + k * horizons_;
    for (std::size_t j = 0; j < horizons_; ++j) out[j] = alive * factor[j / kLanes] * value[j];
}

template class HorizonExpectations<BgNbdParams>;
template class HorizonExpectations<MbgNbdParams>;

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
