// Criterion-weighting methods. See include/tierkit/scoring/weights.hpp for the
// definitions; this file holds the validation and the column passes.
#include "tierkit/scoring/weights.hpp"

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"

namespace tierkit::weights {
namespace {

std::string index_name(const char* name, std::size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

std::string cell_name(const char* name, std::size_t i, std::size_t j) {
    return index_name(name, i) + "[" + std::to_string(j) + "]";
}

std::vector<double> equal_weights(std::size_t k) { return std::vector<double>(k, 1.0 / static_cast<double>(k)); }

// Rows summed into one partial before it is added to the running total: a two-level
// sum, whose rounding error grows with about block_rows + m / block_rows instead of m.
constexpr std::size_t block_rows = 1024;

// ---- column checks and the range pass ---------------------------------------------

std::size_t check_columns(const std::vector<std::span<const double>>& columns,
                          const std::vector<Direction>& directions) {
    if (columns.empty()) throw InvalidInput("columns: must hold at least 1 criterion column, got 0");
    if (directions.size() != columns.size())
        throw InvalidInput("directions: expected " + std::to_string(columns.size()) + " (one per column), got " +
                           std::to_string(directions.size()));
    const std::size_t rows = columns[0].size();
    for (std::size_t j = 1; j < columns.size(); ++j)
        if (columns[j].size() != rows)
            throw InvalidInput(index_name("columns", j) + ": expected " + std::to_string(rows) +
                               " rows (as columns[0]), got " + std::to_string(columns[j].size()));
    if (rows < 2) throw InvalidInput("columns: must have at least 2 rows, got " + std::to_string(rows));
    return rows;
}

struct ColumnRange {
    double min;
    double max;
    double sum;
};

// One pass: min, max and sum of a column, rejecting NaN and infinities by position.
// Four independent lanes break the loop-carried dependencies (and let the compiler use
// SIMD); x - x is 0 for a finite x and NaN otherwise, so one sum flags any bad value
// and the rare failing column is scanned again to name the row.
ColumnRange scan_column(std::span<const double> column, std::size_t j) {
    constexpr std::size_t lanes = 4;
    constexpr double infinity = std::numeric_limits<double>::infinity();
    std::array<double, lanes> lo{infinity, infinity, infinity, infinity};
    std::array<double, lanes> hi{-infinity, -infinity, -infinity, -infinity};
    std::array<double, lanes> sum{};
    std::array<double, lanes> flag{};
    const double* x = column.data();
    const std::size_t size = column.size();
    std::size_t i = 0;
    for (; i + lanes <= size; i += lanes)
        for (std::size_t lane = 0; lane < lanes; ++lane) {
            const double v = x[i + lane];
            lo[lane] = v < lo[lane] ? v : lo[lane];
            hi[lane] = v > hi[lane] ? v : hi[lane];
            sum[lane] += v;
            flag[lane] += v - v;
        }
    for (; i < size; ++i) {
        const double v = x[i];
        lo[0] = v < lo[0] ? v : lo[0];
        hi[0] = v > hi[0] ? v : hi[0];
        sum[0] += v;
        flag[0] += v - v;
    }
    if (!((flag[0] + flag[1]) + (flag[2] + flag[3]) == 0))
        for (std::size_t row = 0; row < size; ++row)
            if (!std::isfinite(x[row]))
                throw InvalidInput(cell_name("columns", j, row) + ": must be finite, got " + format_number(x[row]));
    const double lo_all = std::min(std::min(lo[0], lo[1]), std::min(lo[2], lo[3]));
    const double hi_all = std::max(std::max(hi[0], hi[1]), std::max(hi[2], hi[3]));
    const double total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    if (!std::isfinite(hi_all - lo_all))
        throw InvalidInput(index_name("columns", j) + ": range max - min must be finite, got max " +
                           format_number(hi_all) + " and min " + format_number(lo_all));
    return {lo_all, hi_all, total};
}

// ---- entropy --------------------------------------------------------------------------

// Sum of y ln y (0 ln 0 = 0) and of y over a column, y = scale * (offset + sign * x).
struct EntropySums {
    double y = 0;
    double y_log_y = 0;
};

EntropySums entropy_sums(std::span<const double> column, double offset, double sign, double scale) {
    EntropySums total;
    for (std::size_t start = 0; start < column.size(); start += block_rows) {
        const std::size_t stop = std::min(column.size(), start + block_rows);
        double block_y = 0;
        double block_y_log_y = 0;
        for (std::size_t i = start; i < stop; ++i) {
            const double y = (offset + sign * column[i]) * scale;
            if (y > 0) {
                block_y += y;
                block_y_log_y += y * std::log(y);
            }
        }
        total.y += block_y;
        total.y_log_y += block_y_log_y;
    }
    return total;
}

// ---- AHP ------------------------------------------------------------------------------

void check_pairwise(std::span<const double> a, std::size_t n) {
    if (n == 0) throw InvalidInput("n: must be >= 1, got 0");
    if (a.size() != n * n)
        throw InvalidInput("pairwise: expected n * n = " + std::to_string(n * n) +
                           " values for n = " + std::to_string(n) + ", got " + std::to_string(a.size()));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            const double v = a[i * n + j];
            if (!std::isfinite(v))
                throw InvalidInput(cell_name("pairwise", i, j) + ": must be finite, got " + format_number(v));
            if (!(v > 0)) throw InvalidInput(cell_name("pairwise", i, j) + ": must be > 0, got " + format_number(v));
        }
    constexpr double tolerance = 1e-6;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = a[i * n + i];
        if (std::fabs(v - 1.0) > tolerance)
            throw InvalidInput(cell_name("pairwise", i, i) + ": must be 1 (diagonal), got " + format_number(v));
    }
    for (std::size_t i = 1; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j) {
            const double expected = 1.0 / a[j * n + i];
            const double v = a[i * n + j];
            if (std::fabs(v - expected) > tolerance * expected)
                throw InvalidInput(cell_name("pairwise", i, j) + ": must be 1/" + cell_name("pairwise", j, i) + " = " +
                                   format_number(expected) + ", got " + format_number(v));
        }
}

// Formats a and b with the fewest significant digits (at least 3) that tell them apart.
std::pair<std::string, std::string> format_apart(double a, double b) {
    for (int digits = 3; digits < 17; ++digits) {
        std::string fa = format_number(a, digits);
        std::string fb = format_number(b, digits);
        if (fa != fb) return {fa, fb};
    }
    return {format_number(a, 17), format_number(b, 17)};
}

}  // namespace

const std::vector<double>& saaty_random_index() {
    static const std::vector<double> table{0.0,  0.0,  0.58, 0.90, 1.12, 1.24, 1.32, 1.41,
                                           1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59};
    return table;
}

AhpResult ahp(std::span<const double> pairwise, std::size_t n, std::span<const double> random_index, double max_cr) {
    if (std::isnan(max_cr)) throw InvalidInput("max_cr: must be a number (negative disables the check), got nan");
    check_pairwise(pairwise, n);
    const std::vector<double>& saaty = saaty_random_index();
    const std::span<const double> table = random_index.empty() ? std::span<const double>(saaty) : random_index;
    for (std::size_t i = 0; i < table.size(); ++i)
        if (!std::isfinite(table[i]) || table[i] < 0)
            throw InvalidInput(index_name("random_index", i) + ": must be finite and >= 0, got " +
                               format_number(table[i]));
    if (n > table.size())
        throw InvalidInput("n: the random index table covers n <= " + std::to_string(table.size()) + ", got " +
                           std::to_string(n));

    AhpResult result;
    if (n == 1) {
        result.weights = {1.0};
        result.lambda_max = 1.0;
        result.consistency_index = 0.0;
        result.consistency_ratio = 0.0;
        return result;
    }

    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const auto size = static_cast<Eigen::Index>(n);
    const Eigen::MatrixXd matrix = Eigen::Map<const RowMajor>(pairwise.data(), size, size);
    const Eigen::EigenSolver<Eigen::MatrixXd> solver(matrix, /*computeEigenvectors=*/true);
    if (solver.info() != Eigen::Success) throw NumericError("ahp: the eigen decomposition did not converge");

    const auto& values = solver.eigenvalues();
    Eigen::Index principal = 0;
    for (Eigen::Index i = 1; i < values.size(); ++i)
        if (values[i].real() > values[principal].real()) principal = i;
    // A positive matrix has a simple, real principal eigenvalue whose eigenvector is real
    // and of one sign (Perron); normalizing by the sum also fixes the sign.
    const Eigen::VectorXd vector = solver.eigenvectors().col(principal).real();
    const double total = vector.sum();
    result.weights.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double w = vector[static_cast<Eigen::Index>(i)] / total;
        if (!(w > 0) || !std::isfinite(w))
            throw NumericError("ahp: principal eigenvector entry " + std::to_string(i) + " is not positive, got " +
                               format_number(w));
        result.weights[i] = w;
    }

    const double dimension = static_cast<double>(n);
    result.lambda_max = values[principal].real();
    result.consistency_index = n <= 2 ? 0.0 : std::max(0.0, (result.lambda_max - dimension) / (dimension - 1));
    const double ri = table[n - 1];
    result.consistency_ratio = ri > 0 ? result.consistency_index / ri : 0.0;
    if (max_cr >= 0 && result.consistency_ratio > max_cr) {
        const auto [cr_text, max_text] = format_apart(result.consistency_ratio, max_cr);
        throw NumericError("ahp: consistency ratio " + cr_text + " > " + max_text +
                           "; revise the pairwise comparisons or accept_inconsistent");
    }
    return result;
}

std::vector<double> entropy(const std::vector<std::span<const double>>& columns,
                            const std::vector<Direction>& directions, EntropyVariant variant) {
    const std::size_t rows = check_columns(columns, directions);
    const std::size_t k = columns.size();
    const double log_rows = std::log(static_cast<double>(rows));

    std::vector<double> divergence(k, 0.0);
    double divergence_sum = 0;
    for (std::size_t j = 0; j < k; ++j) {
        const ColumnRange range = scan_column(columns[j], j);
        const bool lower = directions[j] == Direction::lower;
        double offset = 0;
        double sign = 1;
        double scale = 1;
        if (variant == EntropyVariant::minmax) {
            if (range.max == range.min) continue;  // constant: e = 1, d = 0
            // y = (x - min) / (max - min), or (max - x) / (max - min) when lower is better.
            offset = lower ? range.max : -range.min;
            sign = lower ? -1.0 : 1.0;
            scale = 1.0 / (range.max - range.min);
        } else {
            if (range.min < 0) {
                const auto row = static_cast<std::size_t>(
                    std::find_if(columns[j].begin(), columns[j].end(), [](double v) { return v < 0; }) -
                    columns[j].begin());
                throw InvalidInput(cell_name("columns", j, row) + ": must be >= 0 for the proportion variant, got " +
                                   format_number(columns[j][row]));
            }
            // Constant (including all zero): every p_ij = 1/m, or every y is 0.
            if (range.max == range.min) continue;
            // y = x, or max + min - x when lower is better; dividing by max keeps y <= 1
            // (p is unchanged by the scale) so y ln y cannot overflow.
            offset = lower ? range.max + range.min : 0.0;
            sign = lower ? -1.0 : 1.0;
            scale = 1.0 / range.max;
        }
        const EntropySums sums = entropy_sums(columns[j], offset, sign, scale);
        // sum_i p ln p with p = y / S is (sum_i y ln y) / S - ln S.
        const double entropy_j = (std::log(sums.y) - sums.y_log_y / sums.y) / log_rows;
        divergence[j] = std::clamp(1.0 - entropy_j, 0.0, 1.0);
        divergence_sum += divergence[j];
    }
    if (!(divergence_sum > 0)) return equal_weights(k);
    for (double& d : divergence) d /= divergence_sum;
    return divergence;
}

std::vector<double> critic(const std::vector<std::span<const double>>& columns,
                           const std::vector<Direction>& directions) {
    const std::size_t rows = check_columns(columns, directions);
    const std::size_t k = columns.size();
    const double count = static_cast<double>(rows);

    // Pass 1 per column: range and mean. The normalized, centred value is
    // z - mean(z) = sign * (x - mean(x)) / (max - min), sign = -1 when lower is better.
    std::vector<double> mean(k, 0.0);
    std::vector<double> factor(k, 0.0);  // sign / (max - min); 0 for a constant column
    std::vector<std::size_t> varying;    // non-constant columns
    for (std::size_t j = 0; j < k; ++j) {
        const ColumnRange range = scan_column(columns[j], j);
        if (range.max == range.min) continue;
        double m = range.sum / count;
        if (!std::isfinite(m)) {  // the plain sum overflowed: sum x / n instead
            m = 0;
            for (double v : columns[j]) m += v / count;
        }
        mean[j] = m;
        factor[j] = (directions[j] == Direction::lower ? -1.0 : 1.0) / (range.max - range.min);
        varying.push_back(j);
    }

    // Pass 2, in row blocks: sums and cross-products of the centred normalized columns.
    // The sums correct for the rounding in the means (the "corrected two-pass" formula
    // cov = (sum c_j c_k - sum c_j sum c_k / n) / (n - 1)).
    const std::size_t v = varying.size();
    std::vector<double> centred_sum(v, 0.0);
    std::vector<double> cross(v * v, 0.0);  // upper triangle used, row-major
    std::vector<double> block(v * block_rows);
    for (std::size_t start = 0; start < rows; start += block_rows) {
        const std::size_t length = std::min(rows, start + block_rows) - start;
        for (std::size_t a = 0; a < v; ++a) {
            const std::size_t j = varying[a];
            const double* x = columns[j].data() + start;
            double* c = block.data() + a * block_rows;
            const double m = mean[j];
            const double f = factor[j];
            std::array<double, 4> lanes{};
            std::size_t i = 0;
            for (; i + 4 <= length; i += 4)
                for (std::size_t lane = 0; lane < 4; ++lane) {
                    c[i + lane] = (x[i + lane] - m) * f;
                    lanes[lane] += c[i + lane];
                }
            for (; i < length; ++i) {
                c[i] = (x[i] - m) * f;
                lanes[0] += c[i];
            }
            centred_sum[a] += (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        }
        for (std::size_t a = 0; a < v; ++a) {
            const double* ca = block.data() + a * block_rows;
            for (std::size_t b = a; b < v; ++b) {
                const double* cb = block.data() + b * block_rows;
                std::array<double, 4> lanes{};
                std::size_t i = 0;
                for (; i + 4 <= length; i += 4)
                    for (std::size_t lane = 0; lane < 4; ++lane) lanes[lane] += ca[i + lane] * cb[i + lane];
                for (; i < length; ++i) lanes[0] += ca[i] * cb[i];
                cross[a * v + b] += (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
            }
        }
    }

    std::vector<double> covariance(v * v, 0.0);
    for (std::size_t a = 0; a < v; ++a)
        for (std::size_t b = a; b < v; ++b) {
            const double c = (cross[a * v + b] - centred_sum[a] * centred_sum[b] / count) / (count - 1);
            covariance[a * v + b] = c;
            covariance[b * v + a] = c;
        }
    return critic_from_covariance(k, varying, covariance);
}

std::vector<double> critic_from_covariance(std::size_t k, const std::vector<std::size_t>& varying,
                                           const std::vector<double>& covariance) {
    const std::size_t v = varying.size();
    if (k == 0 || v > k || covariance.size() != v * v)
        throw InvalidInput("critic: expected a " + std::to_string(v) + " x " + std::to_string(v) +
                           " covariance for at most " + std::to_string(k) + " columns, got " +
                           std::to_string(covariance.size()) + " values");
    std::vector<double> sigma(v, 0.0);
    for (std::size_t a = 0; a < v; ++a) sigma[a] = std::sqrt(std::max(0.0, covariance[a * v + a]));

    // C_j = sigma_j * sum_{k != j} (1 - r_jk); a constant column k has r_jk = 0, so it
    // adds 1 to every other column's conflict.
    std::vector<double> information(k, 0.0);
    const double constant_columns = static_cast<double>(k - v);
    double information_sum = 0;
    for (std::size_t a = 0; a < v; ++a) {
        if (!(sigma[a] > 0)) continue;
        double conflict = constant_columns;
        for (std::size_t b = 0; b < v; ++b) {
            if (b == a) continue;
            double r = 0;
            if (sigma[b] > 0) r = std::clamp(covariance[a * v + b] / (sigma[a] * sigma[b]), -1.0, 1.0);
            conflict += 1.0 - r;
        }
        const double c = sigma[a] * conflict;
        information[varying[a]] = c;
        information_sum += c;
    }
    if (!(information_sum > 0)) return equal_weights(k);
    for (double& c : information) c /= information_sum;
    return information;
}

namespace {

// Validates a weight vector (finite, >= 0, sum > 0) and returns it normalized to sum 1.
std::vector<double> normalized(std::span<const double> raw, const char* name) {
    if (raw.empty()) throw InvalidInput(std::string(name) + ": must hold at least 1 weight, got 0");
    double largest = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const double w = raw[i];
        if (!std::isfinite(w)) throw InvalidInput(index_name(name, i) + ": must be finite, got " + format_number(w));
        if (w < 0) throw InvalidInput(index_name(name, i) + ": must be >= 0, got " + format_number(w));
        largest = std::max(largest, w);
    }
    if (!(largest > 0)) throw InvalidInput(std::string(name) + ": sum must be > 0, got 0");
    // Divide by the largest first so the sum cannot overflow.
    std::vector<double> out(raw.begin(), raw.end());
    double total = 0;
    for (double& w : out) {
        w /= largest;
        total += w;
    }
    for (double& w : out) w /= total;
    return out;
}

}  // namespace

std::vector<double> manual(std::span<const double> raw) { return normalized(raw, "weights"); }

std::vector<double> combine(std::span<const double> subjective, std::span<const double> objective, CombineMode mode,
                            double alpha) {
    if (!(alpha >= 0 && alpha <= 1)) throw InvalidInput("alpha: must be in [0, 1], got " + format_number(alpha));
    if (objective.size() != subjective.size())
        throw InvalidInput("objective: expected " + std::to_string(subjective.size()) +
                           " weights (as many as subjective), got " + std::to_string(objective.size()));
    std::vector<double> s = normalized(subjective, "subjective");
    const std::vector<double> o = normalized(objective, "objective");
    if (mode == CombineMode::linear) {
        for (std::size_t j = 0; j < s.size(); ++j) s[j] = alpha * s[j] + (1 - alpha) * o[j];
        return s;
    }
    double total = 0;
    for (std::size_t j = 0; j < s.size(); ++j) {
        s[j] *= o[j];
        total += s[j];
    }
    if (!(total > 0))
        throw InvalidInput(
            "combine: sum of subjective * objective must be > 0 (no criterion has both weights > 0), got " +
            format_number(total));
    for (double& w : s) w /= total;
    return s;
}

}  // namespace tierkit::weights
