#pragma once
/// @file privacy.hpp
/// Privacy of fitted models: `"privacy": {"min_group": K}` in a policy.
///
/// A fitted model stores parameters and aggregates, never customer ids. Order
/// statistics (percentile knots, min, max, median, IQR, clip bounds, quantile, abc
/// and RFM cut points) are values of the data, though: with K = 1 a model file holds
/// such single customers' values exactly. With K > 1 every stored value that comes
/// from the rows is an aggregate of at least K of them:
/// - the sorted values are split into groups of at least K rows: a tie group of at
///   least K rows (many customers with 0, 1 or 2 orders) is a group of its own and
///   keeps its exact value; runs of smaller tie groups merge, in order, into bins of
///   at least K rows whose stored value is the bin's mean. A run of fewer than K
///   rows left between two such groups (or at the end) joins the group before it
///   (the first group when there is none before), which then stores its mean;
/// - a knot, cut point or threshold is the value of the group holding the exact
///   one's row (so customers of that group may fall on either side of a cut);
///   the percentile y of a group is the mean rank of its rows, as for a tie group;
/// - min and max are the means of the K lowest and highest values; median, IQR and
///   clip bounds are numpy-linear quantiles of the sequence in which every row
///   carries its group's value;
/// - k-means refuses a cluster with fewer than K members (PolicyError), and TOPSIS's
///   ideal and anti-ideal are the means of the K best and worst normalized values;
/// - a fit on fewer than K rows is refused (InvalidInput).
/// Means, standard deviations, weights and CLV parameters are aggregates over every
/// row already. This is a grouping guarantee (each stored value is shared by, or is
/// the mean of, at least K customers), not differential privacy: models fitted on
/// tables that differ in one customer can still differ.
///
/// When every value of a column is shared by at least K rows the grouping changes
/// nothing for it (knots, cuts, min, max, median and IQR are exact).
///
/// A policy without a privacy section groups by default_min_group_for(rows):
/// min(5, rows / 50), at least 1. Tables of 250 rows or more get groups of 5; smaller
/// ones smaller groups, so that no group holds more than 2% of the rows (a cut point
/// moves by at most about that share of the customers); tables under 100 rows keep
/// exact values. `"privacy": {"min_group": 1}` opts out explicitly.
#include <cstddef>
#include <span>
#include <vector>

namespace tierkit {

/// The grouping a policy without a privacy section gets on large tables, and the rows
/// per member of a group below that (see the file comment).
inline constexpr std::size_t default_min_group = 5;
inline constexpr std::size_t default_min_group_rows_per_member = 50;

/// privacy.min_group when a policy gives none: min(5, rows / 50), at least 1.
constexpr std::size_t default_min_group_for(std::size_t rows) noexcept {
    const std::size_t k = rows / default_min_group_rows_per_member;
    return k < 1 ? 1 : k > default_min_group ? default_min_group : k;
}

/// The groups of at least `min_group` rows of some sorted values (see the file comment).
class PrivateGroups {
public:
    struct Group {
        double value = 0;   ///< the tie value, or the mean of a bin
        double first = 0;   ///< rows before the group
        double count = 0;   ///< rows in the group
        bool exact = true;  ///< one tie group (its value is a value of the data)
    };

    /// @param sorted ascending, finite.
    /// @throws InvalidInput when there are fewer than min_group (>= 1) rows.
    PrivateGroups(std::span<const double> sorted, std::size_t min_group);

    const std::vector<Group>& groups() const noexcept { return groups_; }
    double rows() const noexcept { return n_; }
    /// The index of the group holding the row of ascending rank r (0 <= r < rows()).
    std::size_t group_of_rank(std::size_t r) const noexcept;
    /// The stored value for a value of the data: that of the group holding it.
    /// Values outside the data map to the nearest group.
    double value_of(double x) const noexcept;
    /// numpy's linear-interpolation quantile q in [0, 1] of the sequence in which
    /// every row carries its group's value (sorted_quantile when min_group is 1).
    double quantile(double q) const noexcept;

private:
    std::vector<Group> groups_;
    std::vector<double> upper_;  ///< largest value of the data in each group
    double n_ = 0;
};

/// Replace every finite value of `values` (values of the data: cut points,
/// thresholds) by the value of its group among `sorted` (ascending), as a model
/// stores it with privacy.min_group (privacy.hpp). Nothing changes when min_group is 1.
/// @throws InvalidInput when `sorted` has fewer than min_group rows.
void to_group_values(std::span<double> values, std::span<const double> sorted, std::size_t min_group);

/// The mean of the k lowest (or highest) values of `values` (all when fewer); the
/// minimum (maximum) when k is 1. Does not modify `values`.
double mean_of_lowest(std::span<const double> values, std::size_t k);
double mean_of_highest(std::span<const double> values, std::size_t k);

/// The mean of finite `values` (0 when empty): the plain running sum over the count,
/// or, when that sum overflows, the same on values scaled by a power of two, so the
/// mean is finite for any finite values.
double mean_without_overflow(std::span<const double> values) noexcept;

/// @throws InvalidInput when a fit on `rows` rows cannot give groups of min_group.
void check_min_group(std::size_t rows, std::size_t min_group, const char* what);

}  // namespace tierkit
