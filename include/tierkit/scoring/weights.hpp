#pragma once
/// @file weights.hpp
/// Criterion-weighting methods: manual, AHP (subjective), entropy and CRITIC
/// (objective, learned from the data), and combinations of a subjective with an
/// objective weight vector. Every function returns weights that are >= 0 and sum to 1.
///
/// Design notes:
/// - Data-driven methods take one std::span per criterion column (column-major, as a
///   FeatureTable stores them) and never copy a column: entropy reads each column
///   twice (range, then information), CRITIC reads each column once for its range and
///   mean, then once more in row blocks for the centred cross-products. Work is
///   O(rows * columns) for entropy and O(rows * columns^2) for CRITIC, with memory
///   independent of the number of rows.
/// - The data-driven methods are exact functions of the columns. A fit over chunks
///   (fit_state.hpp, sketch mode) merges their sums instead: entropy from sum y and
///   sum y ln y per column, CRITIC from centred sums and cross-products
///   (critic_from_covariance); equal to these up to the rounding of the sums.
/// - All functions are pure: safe to call from many threads at once.
#include <cstddef>
#include <span>
#include <vector>

#include "tierkit/scoring/direction.hpp"

namespace tierkit::weights {

/// The result of an AHP eigenvector analysis.
struct AhpResult {
    std::vector<double> weights;  ///< principal eigenvector, all > 0, sums to 1
    double lambda_max;            ///< principal eigenvalue (n for a perfectly consistent matrix)
    double consistency_index;     ///< CI = (lambda_max - n) / (n - 1), 0 for n <= 2
    double consistency_ratio;     ///< CR = CI / RI[n], 0 when RI[n] is 0
};

/// Saaty's random consistency index for n = 1..15 (index n - 1):
/// 0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59.
const std::vector<double>& saaty_random_index();

/// AHP weights from a pairwise comparison matrix (Saaty's eigenvector method).
///
/// `pairwise[i * n + j]` says how much more important criterion i is than criterion j
/// (Saaty's 1..9 scale and its reciprocals, though any positive ratio is accepted).
/// The weights are the principal (Perron) eigenvector, normalized to sum 1.
/// CI = (lambda_max - n) / (n - 1), clamped at 0 (lambda_max >= n in exact
/// arithmetic; rounding can put it a few ulps below). CR = CI / random_index[n - 1].
///
/// @param pairwise     n x n values, row-major.
/// @param n            number of criteria, >= 1.
/// @param random_index random consistency index by n - 1; empty means saaty_random_index().
/// @param max_cr       largest accepted consistency ratio; negative disables the check
///                     (the policy's accept_inconsistent).
/// @throws InvalidInput when n is 0, pairwise does not hold n * n values, an entry is not
///         finite or not > 0, a diagonal entry is not 1 (within 1e-6), a_ji is not 1 / a_ij
///         (relative tolerance 1e-6), n is larger than the random index table, a random index entry
///         is not finite or negative, or max_cr is NaN. The message names the entry, e.g.
///         `pairwise[1][0]: must be 1/pairwise[0][1] = 0.333333, got 0.5`.
/// @throws NumericError when the eigen decomposition fails, or when max_cr >= 0 and the
///         consistency ratio is above it.
AhpResult ahp(std::span<const double> pairwise, std::size_t n, std::span<const double> random_index = {},
              double max_cr = 0.1);

enum class EntropyVariant {
    /// y = (x - min) / (max - min), or (max - x) / (max - min) for Direction::lower.
    minmax,
    /// y = x for Direction::higher, y = max + min - x for Direction::lower (a reflection
    /// that keeps y within the column's own range, so y >= 0 and the smallest x gets the
    /// largest share). Requires x >= 0.
    proportion,
};

/// Entropy weight method: a criterion whose values are spread unevenly across customers
/// carries more information and gets more weight.
///
/// With y_ij from the variant, p_ij = y_ij / sum_i y_ij,
/// e_j = -(1 / ln m) sum_i p_ij ln p_ij (0 ln 0 = 0), d_j = 1 - e_j, w_j = d_j / sum_k d_k.
/// A constant column (or one whose y are all 0) carries no information: e_j = 1, w_j = 0.
/// If every d_j is 0 (every column constant) the weights are equal, 1 / k each: with no
/// information to tell the criteria apart, none is preferred.
///
/// @param columns    k >= 1 criterion columns of m >= 2 rows each, all the same length.
/// @param directions one per column.
/// @throws InvalidInput when columns is empty, directions.size() != columns.size(),
///         the columns differ in length or have fewer than 2 rows, a value is NaN or
///         infinite (`columns[1][7]: must be finite, got nan`), or, for the proportion
///         variant, a value is negative.
std::vector<double> entropy(const std::vector<std::span<const double>>& columns,
                            const std::vector<Direction>& directions, EntropyVariant variant = EntropyVariant::minmax);

/// CRITIC weights (Diakoulaki, Mavrotas & Papayannakis 1995, "Determining objective
/// weights in multiple criteria problems: the CRITIC method", Computers & Operations
/// Research 22(7)): contrast intensity times conflict with the other criteria.
///
/// z_ij is the min-max normalized column (1 = best, honouring the direction),
/// sigma_j the sample standard deviation (divisor m - 1) of z_j, r_jk the Pearson
/// correlation of z_j and z_k, C_j = sigma_j * sum_k (1 - r_jk), w_j = C_j / sum_k C_k.
/// A constant column has sigma = 0, so C_j = 0, and its correlations with the other
/// columns are taken as 0. If every C_j is 0 (all columns constant, or a single
/// column) the weights are equal, 1 / k each.
///
/// @param columns    k >= 1 criterion columns of m >= 2 rows each, all the same length.
/// @param directions one per column.
/// @throws InvalidInput when columns is empty, directions.size() != columns.size(),
///         the columns differ in length or have fewer than 2 rows, or a value is NaN or
///         infinite (`columns[1][7]: must be finite, got nan`).
std::vector<double> critic(const std::vector<std::span<const double>>& columns,
                           const std::vector<Direction>& directions);

/// The last step of critic(): weights from the covariance of the min-max normalized,
/// direction-signed columns. `varying` lists the non-constant columns (ascending
/// indices into the k columns); `covariance` is their v x v sample covariance,
/// row-major. Constant columns get weight 0 and add 1 to every other column's
/// conflict. Lets a fit over chunks (fit_state.hpp) merge cross-products first.
/// @throws InvalidInput when the sizes do not fit.
std::vector<double> critic_from_covariance(std::size_t k, const std::vector<std::size_t>& varying,
                                           const std::vector<double>& covariance);

/// Manual weights, normalized to sum 1.
/// @throws InvalidInput when raw is empty, a weight is not finite or negative
///         (`weights[2]: must be >= 0, got -1`), or all weights are 0.
std::vector<double> manual(std::span<const double> raw);

enum class CombineMode {
    /// w = alpha * subjective + (1 - alpha) * objective.
    linear,
    /// w_j = s_j * o_j / sum_k s_k * o_k.
    multiplicative,
};

/// Combine subjective (manual, AHP) and objective (entropy, CRITIC) weights.
///
/// Each input is first normalized to sum 1 (a no-op for the output of the functions
/// above), so alpha is the share of the subjective vector whatever the inputs' scale.
///
/// @param alpha share of the subjective weights in the linear mode, in [0, 1]; ignored
///              by the multiplicative mode (but still validated).
/// @throws InvalidInput when the inputs are empty or differ in length, a weight is not
///         finite or negative, an input sums to 0, alpha is outside [0, 1], or, in the
///         multiplicative mode, no criterion has both weights > 0 (sum of products 0).
std::vector<double> combine(std::span<const double> subjective, std::span<const double> objective, CombineMode mode,
                            double alpha = 0.5);

}  // namespace tierkit::weights
