#include "tierkit/clv/hypergeometric.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "tierkit/core/error.hpp"

namespace tierkit::clv {
namespace {

constexpr double kTolerance = 0x1p-55;
constexpr double kRescale = 1e250;
const double kLogRescale = std::log(kRescale);

std::string describe(double a, double b, double c, double z) {
    std::ostringstream out;
    out.precision(17);
    out << "(" << a << ", " << b << "; " << c << "; " << z << ")";
    return out.str();
}

// Index after which the term ratio (a+k)(b+k) z / ((c+k)(k+1)) stays below 1: past the
// sign changes of a+k, b+k and the larger root of (1-z)k^2 + (c+1-(a+b)z)k + c - abz.
double first_decaying_index(double a, double b, double c, double z) {
    double k = std::max({0.0, -a, -b});
    const double qa = 1.0 - z, qb = c + 1.0 - (a + b) * z, qc = c - a * b * z;
    const double disc = qb * qb - 4.0 * qa * qc;
    if (disc >= 0) k = std::max(k, (-qb + std::sqrt(disc)) / (2.0 * qa));
    return k;
}

struct SeriesSum {
    double log_abs = 0;       // log |sum|
    bool negative = false;    // sign of the sum
    double cancellation = 1;  // sum |terms| / |sum|
    bool converged = false;
};

// Sum of the Gauss series of 2F1(a, b; c; z), c > 0, 0 <= z < 1, rescaled so that no term
// overflows.
SeriesSum gauss_series(double a, double b, double c, double z, long max_terms) {
    SeriesSum out;
    double term = 1.0, sum = 1.0, abs_sum = 1.0, log_scale = 0.0;
    const double k_decay = first_decaying_index(a, b, c, z);
    for (long k = 0; k < max_terms; ++k) {
        const double kd = static_cast<double>(k);
        const double ratio = (a + kd) * (b + kd) / ((c + kd) * (kd + 1.0)) * z;
        term *= ratio;
        sum += term;
        abs_sum += std::abs(term);
        if (abs_sum > kRescale) {
            term /= kRescale;
            sum /= kRescale;
            abs_sum /= kRescale;
            log_scale += kLogRescale;
        }
        if (term == 0.0) {
            out.converged = true;
            break;
        }
        if (kd + 1.0 > k_decay) {
            const double rho = std::max(std::abs(ratio), z);
            if (rho < 1.0 && std::abs(term) * rho <= kTolerance * (1.0 - rho) * std::abs(sum)) {
                out.converged = true;
                break;
            }
        }
    }
    out.negative = sum < 0;
    out.log_abs = std::log(std::abs(sum)) + log_scale;
    out.cancellation = sum == 0 ? std::numeric_limits<double>::infinity() : abs_sum / std::abs(sum);
    return out;
}

constexpr long kMaxTerms = 10'000'000;

}  // namespace

double log_hyp2f1(double a, double b, double c, double z) {
    if (!(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1 && std::isfinite(a) && std::isfinite(b) && std::isfinite(c)))
        throw InvalidInput("hyp2f1: needs a, b, c > 0 and 0 <= z < 1, got " + describe(a, b, c, z));
    if (z == 0.0) return 0.0;
    const double ea = c - a, eb = c - b;
    const double log_euler_factor = (c - a - b) * std::log1p(-z);
    const double k_direct = first_decaying_index(a, b, c, z);
    const bool euler_positive = ea >= 0 && eb >= 0;
    auto direct = [&]() {
        SeriesSum s = gauss_series(a, b, c, z, kMaxTerms);
        if (!s.converged)
            throw NumericError("hyp2f1: series did not converge in " + std::to_string(kMaxTerms) + " terms at " +
                               describe(a, b, c, z));
        return s.log_abs;
    };
    if (euler_positive) {
        // Both forms have positive terms: take the one that starts decaying first.
        if (first_decaying_index(ea, eb, c, z) < k_direct) {
            SeriesSum s = gauss_series(ea, eb, c, z, kMaxTerms);
            if (s.converged) return log_euler_factor + s.log_abs;
        }
        return direct();
    }
    if (k_direct < 64) return direct();
    // The direct series grows for a long while (large a, b); the transformed one has a
    // negative parameter, so accept it only when it does not cancel.
    SeriesSum s = gauss_series(ea, eb, c, z, kMaxTerms);
    if (s.converged && !s.negative && s.cancellation < 1e4) return log_euler_factor + s.log_abs;
    return direct();
}

LogHyp2f1Unit log_hyp2f1_unit(double p, double q, double z) {
    if (!(p > 0 && q > p && z >= 0 && z < 1 && std::isfinite(q)))
        throw InvalidInput("hyp2f1: needs 0 < p < q and 0 <= z < 1, got " + describe(1.0, p, q, z));
    // S = sum_k T_k with T_0 = 1, T_{k+1} = T_k (p+k)/(q+k) z; the ratio increases towards z,
    // so the tail after T_k is below T_k z/(1-z). dS/dp = sum T_k H^p_k with
    // H^p_k = sum_{j<k} 1/(p+j), dS/dq = -sum T_k H^q_k, dS/dz = sum k T_k / z.
    double term = 1.0, sum = 1.0, sum_p = 0.0, sum_q = 0.0, sum_k = 0.0, h_p = 0.0, h_q = 0.0;
    const double one_minus_z = 1.0 - z;
    constexpr long kUnitMaxTerms = 2'000'000;
    bool converged = z == 0.0;
    for (long k = 0; k < kUnitMaxTerms && !converged; ++k) {
        const double kd = static_cast<double>(k);
        h_p += 1.0 / (p + kd);
        h_q += 1.0 / (q + kd);
        term *= (p + kd) / (q + kd) * z;
        sum += term;
        sum_p += term * h_p;
        sum_q += term * h_q;
        sum_k += (kd + 1.0) * term;
        // tail bounds for the value and the weighted sums (weights grow like k and log k)
        const double tail = term * z / one_minus_z;
        const double weight = 1.0 + h_p + h_q + (kd + 2.0) + z / one_minus_z;
        if (tail * weight <= kTolerance * sum || term == 0.0) converged = true;
    }
    if (!converged)
        throw NumericError("hyp2f1: series did not converge in 2000000 terms at " + describe(1.0, p, q, z) +
                           " (z too close to 1)");
    LogHyp2f1Unit out;
    out.value = std::log(sum);
    out.d_p = sum_p / sum;
    out.d_q = -sum_q / sum;
    out.d_z = z > 0 ? sum_k / (z * sum) : p / q;
    return out;
}

}  // namespace tierkit::clv
