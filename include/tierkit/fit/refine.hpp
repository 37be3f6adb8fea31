#pragma once
/// @file refine.hpp
/// The refine mode's exact order statistics (fit_state.hpp): bucket counts between
/// the values of a sketch, then the values of the few buckets that hold a target rank.
///
/// The bounds of a column are the distinct values of its sketch, b[0] < ... < b[m-1].
/// Bucket 2i + 1 holds the rows equal to b[i]; bucket 2i the rows strictly between
/// b[i-1] and b[i] (bucket 0 those below b[0], bucket 2m those above b[m-1]).
/// The criteria passes and a rule's state use the same helpers.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "tierkit/fit/sketch.hpp"

namespace tierkit {

/// The bucket state of the refine passes of one stage, per column: the bounds, the
/// exact bucket counts and the open buckets whose values the next pass gathers.
/// The Fitter keeps it between passes (and in its bytes); the criteria passes and a
/// rule state's passes fill it in turn.
struct RefineBuckets {
    std::vector<std::vector<double>> bounds;
    std::vector<std::vector<double>> counts;
    std::vector<std::vector<double>> wanted;  ///< per column, ascending bucket indices
    double collected_rows = 0;                ///< rows the values passes gathered so far
    double pending = 0;                       ///< rows of the buckets the next values pass gathers

    /// Whether some column has a bucket whose values are to be gathered.
    bool any_wanted() const noexcept;
    /// Forget the stage's columns (bounds, counts, wanted).
    void clear() noexcept;
    /// After a values pass: count its rows as collected and forget the stage's columns.
    void finish_values() noexcept;
    /// Mark, for column j with counts, the open buckets holding the ranks `ranks_of(n)`
    /// asks for (n: the column's rows), and add their rows to `pending`.
    /// @throws InvalidInput when the column has no rows.
    void want_ranks(std::size_t j, const std::function<std::vector<double>(double)>& ranks_of);
};

/// The bucket of x among `bounds`.
std::size_t bucket_of(const std::vector<double>& bounds, double x);

/// The bounds of a column: its sketch's distinct values, plus (for `buckets` > 0)
/// equally spaced points between two of them, as many in each gap, so that there are
/// about min(buckets, rows) bounds. (Every level of the sketch spans the whole column
/// evenly by rank, so consecutive sketch values are about n / items rows apart.)
std::vector<double> bounds_of(const QuantileSketch& q, std::uint32_t buckets);

/// The row count of every bucket of `values` (2 * bounds + 1 of them).
void count_buckets(const std::vector<double>& bounds, std::span<const double> values, std::vector<double>& out);

/// The values of `values` in the (sorted) buckets `wanted`, counted.
ValueCounts values_in(const std::vector<double>& bounds, const std::vector<double>& wanted,
                      std::span<const double> values);

/// A tie group of a column: its value, the rows below it and the rows equal to it.
struct Group {
    double value = 0, less = 0, eq = 0;
};

/// Order statistics of a column from its bucket counts plus the values of the
/// buckets that hold the ranks asked for. It refers to its arguments, which must
/// outlive it.
class OrderIndex {
public:
    OrderIndex(const std::vector<double>& bounds, const std::vector<double>& counts, const ValueCounts& inside);
    double rows() const noexcept { return before_.back(); }
    /// The bucket of the row of ascending rank r (0 <= r < rows()).
    std::size_t bucket_of_rank(double r) const;
    /// The open bucket (one that needs its values gathered) holding rank r, if any.
    std::optional<std::size_t> open_bucket(double r) const;
    /// The group holding the row of ascending rank r.
    /// @throws InvalidInput when r lies in an open bucket whose values were not gathered.
    Group at(double r) const;

private:
    const std::vector<double>& bounds_;
    const std::vector<double>& counts_;
    const ValueCounts& inside_;
    std::vector<double> before_;  ///< rows before each bucket
};

/// The ranks numpy's linear quantile q of n rows reads (as PrivateGroups::quantile).
std::pair<double, double> quantile_ranks(double q, double n);

/// numpy's linear quantile q, as PrivateGroups::quantile computes it from the values at its ranks.
template <class At>
double linear_quantile(double q, double n, const At& value_at) {
    const double pos = q * (n - 1);
    const auto [lo, hi] = quantile_ranks(q, n);
    const double frac = pos - lo;
    const double a = value_at(lo), b = value_at(hi);
    return a + (b - a) * frac;
}

}  // namespace tierkit
