#pragma once
/// @file criterion.hpp
/// A criterion is one column of the composite score: direction, an optional
/// transform, and a normalizer that maps the column onto [0, 1] (1 = best).
///
/// Normalizers (t is the transformed value; "lower is better" flips y to 1 - y):
/// - minmax:     y = (t - min) / (max - min), clipped to [0, 1]
/// - zscore:     y = Phi((t - mean) / sd)            (standard normal CDF, so y is in (0, 1))
/// - robust:     y = Phi((t - median) / (IQR / 1.349)) (IQR/1.349 estimates sd for normal data)
/// - percentile: y = (average rank - 1) / (n - 1) in the fitted data, ties averaged;
///               unseen values are interpolated between the fitted values. Exact when
///               the column has at most max_knots distinct values; otherwise the curve
///               keeps max_knots quantiles (exact y at each) and interpolates, so y is
///               within 1 / (max_knots - 1) of the exact rank
/// - bins:       quantile bins 1..k from the percentile (ties share a bin), y = (bin - 1) / (k - 1)
/// A constant column (or n = 1) yields y = 0.5 for every normalizer: it carries no
/// information and shifts every customer's score by the same amount.
///
/// Transforms: `log1p` uses sign(x) * log(1 + |x|) so net refunds stay defined;
/// `clip` clamps to the fitted [lower, upper] quantiles before anything else.
///
/// The fitted state holds aggregates only (moments, quantiles, at most
/// max_knots distinct values of the percentile curve), never customer rows. With
/// the policy's privacy.min_group K > 1, knots, min, max, median, IQR and clip
/// bounds are values shared by, or means of, at least K rows (privacy.hpp); with
/// K = 1 (the default) they are single values of the data.
///
/// No Boost header: their archive code is in scoring/serialize.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/scoring/direction.hpp"

/// Inlined into every caller, including the scorer's per-CPU versions (score.hpp).
#if defined(__GNUC__)
#define TIERKIT_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define TIERKIT_ALWAYS_INLINE inline
#endif
/// A hint to fetch the cache line at p for reading (no effect where unsupported).
#if defined(__GNUC__)
#define TIERKIT_PREFETCH(p) __builtin_prefetch(p)
#else
#define TIERKIT_PREFETCH(p) ((void)(p))
#endif

namespace tierkit {

enum class Transform { none, log1p };
enum class Normalizer { minmax, zscore, robust, percentile, bins };
/// What a criterion does with a missing value (NaN, a missing category, or an
/// unknown label when unknown_as_missing): reject = a typed error naming column and
/// row; worst = the worst value seen at fit (its min for "higher", max for "lower");
/// median = the median of the values seen at fit; zero = 0; value = missing_value.
/// The value is filled in before the transform, so it is normalized like any other.
enum class Missing { reject, worst, median, zero, value };

inline const char* to_string(Normalizer n) noexcept {
    switch (n) {
        case Normalizer::minmax:
            return "minmax";
        case Normalizer::zscore:
            return "zscore";
        case Normalizer::robust:
            return "robust";
        case Normalizer::percentile:
            return "percentile";
        case Normalizer::bins:
            return "bins";
    }
    return "percentile";
}
inline const char* to_string(Transform t) noexcept { return t == Transform::log1p ? "log1p" : "none"; }
inline const char* to_string(Direction d) noexcept { return d == Direction::higher ? "higher" : "lower"; }

struct CriterionSpec {
    std::string column;
    Direction direction = Direction::higher;
    Transform transform = Transform::none;
    bool clip = false;
    double clip_lower = 0.01;  ///< quantile, used when clip
    double clip_upper = 0.99;
    Normalizer normalizer = Normalizer::percentile;
    int bins = 5;
    /// Manual weight (or NaN when weights come from a method).
    double weight = std::numeric_limits<double>::quiet_NaN();
    /// Value map of a column of labels (ordinal or categorical): labels[j] scores
    /// label_values[j]. Empty for a numeric column. The policy's "order" gives labels
    /// worst first with the values 0, 1, 2, ...; "values" gives them explicitly.
    std::vector<std::string> labels;
    std::vector<double> label_values;
    Missing missing = Missing::reject;
    double missing_value = std::numeric_limits<double>::quiet_NaN();  ///< when missing is value
    bool unknown_as_missing = false;  ///< a label outside the map is missing (else an error)

    /// Whether the column needs resolve_criteria (criterion_values.hpp) before it is
    /// read as numbers: labels to map, or missing values to fill.
    bool has_value_map() const noexcept { return !labels.empty(); }
    bool needs_resolving() const noexcept { return has_value_map() || missing != Missing::reject; }
};

/// Linear-interpolation quantile (numpy's default) of sorted data.
inline double sorted_quantile(std::span<const double> sorted, double q) noexcept {
    if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    if (!std::isfinite(sorted[hi] - sorted[lo]))  // values near +-1.8e308
        return frac == 0 ? sorted[lo] : sorted[lo] * (1 - frac) + sorted[hi] * frac;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

inline double standard_normal_cdf(double z) noexcept { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

/// (a - b) / c for finite a, b and finite c > 0, finite even when a - b overflows
/// (values near +-1.8e308): then computed on halves, which is exact scaling. The
/// same bits as (a - b) / c whenever a - b is finite.
inline double scaled_difference(double a, double b, double c) noexcept {
    const double d = a - b;
    if (std::isfinite(d)) return d / c;
    return (a * 0.5 - b * 0.5) / (c * 0.5);
}

/// hi - lo for finite hi >= lo, or the largest double when that overflows: a scale
/// that stays finite (and within 2x of the true one) for any finite data.
inline double finite_range(double hi, double lo) noexcept {
    const double d = hi - lo;
    return std::isfinite(d) ? d : std::numeric_limits<double>::max();
}

/// A criterion with its statistics learned from the fit data.
struct FittedCriterion {
    CriterionSpec spec;
    double n = 0;
    double lo = -std::numeric_limits<double>::infinity();  ///< clip bounds (raw scale)
    double hi = std::numeric_limits<double>::infinity();
    /// Of the transformed values. median and iqr are NaN (and there are no knots)
    /// unless the normalizer is robust, percentile or bins.
    double min = 0, max = 0, mean = 0, sd = 0, median = 0, iqr = 0;
    std::vector<double> knots;   ///< distinct transformed values, ascending
    std::vector<double> knot_y;  ///< percentile y at each knot
    /// y just below and just above each knot: (#less - 0.5) / (n - 1) and
    /// (#less-or-equal - 0.5) / (n - 1). Values between two knots interpolate from
    /// the upper edge of one to the lower edge of the next, so a large tie block (many
    /// customers with 0) does not drag its neighbours towards its middle rank.
    std::vector<double> knot_lo, knot_hi;

    static constexpr std::size_t max_knots = 16385;
    /// The raw value a missing entry becomes (spec.missing resolved on the fit data;
    /// NaN when spec.missing is reject), and how many fit rows were filled with it.
    double missing_fill = std::numeric_limits<double>::quiet_NaN();
    double missing_count = 0;

    /// The percentile curve's invariants that percentile() relies on: one y, lower and
    /// upper edge per knot, knots finite and strictly ascending, y values in range.
    /// @throws FormatError naming `where` (a loaded file is corrupt or tampered with).
    void check_curve(const std::string& where) const {
        const std::size_t m = knots.size();
        if (knot_y.size() != m || knot_lo.size() != m || knot_hi.size() != m)
            throw FormatError(where + ": percentile knots and values differ in length");
        for (std::size_t j = 0; j < m; ++j) {
            if (!std::isfinite(knots[j]) || (j > 0 && !(knots[j] > knots[j - 1])))
                throw FormatError(where + ".knots[" + std::to_string(j) + "]: not finite and strictly ascending");
            if (!(knot_y[j] >= 0 && knot_y[j] <= 1) || !(knot_lo[j] >= -1 && knot_lo[j] <= 2) ||
                !(knot_hi[j] >= -1 && knot_hi[j] <= 2))
                throw FormatError(where + ".knot_y[" + std::to_string(j) + "]: outside the percentile range");
        }
    }

    double transform(double x) const noexcept {
        x = std::clamp(x, lo, hi);
        if (spec.transform == Transform::log1p) return std::copysign(std::log1p(std::fabs(x)), x);
        return x;
    }

    /// Search index of the percentile curve (derived data: built by build_index() at
    /// fit and on load, never saved). `bucket_count` equal-width buckets cover
    /// [knots.front(), knots.back()]; bucket b starts at knot bucket_start[b], the first
    /// knot at or above its lower edge. There are about four buckets per knot, so a
    /// lookup starts one bucket below its own (slack for rounding in the bucket
    /// arithmetic) and counts, without branches, the knots below the value in windows
    /// of scan_width knots of scan_knots (the knots, then scan_width copies of +inf):
    /// one window almost always. (percentile_block() also prefetches.) The knot found is std::lower_bound's, checked by
    /// its left neighbour, so the curve's value has the same bits as a full binary search.
    std::vector<std::uint32_t> bucket_start;
    std::vector<double> scan_knots;
    double bucket_scale = 0;
    std::size_t bucket_count = 0;
    static constexpr std::size_t scan_width = 4;
    static constexpr std::size_t min_buckets = 16;
    static constexpr std::size_t max_buckets = std::size_t{1} << 16;
    static constexpr std::size_t prefetch_knots = 1024;
    /// Direct table (derived, never saved) of a curve over a span of at most max_direct
    /// whose knots are mostly integers (counts, days; the privacy grouping may average
    /// the top ones): direct_y[j] is percentile(direct_base + j), so an integer t reads
    /// its value at once and any other t takes the search (percentile_block()).
    std::vector<double> direct_y;
    double direct_base = 0;
    static constexpr std::size_t max_direct = std::size_t{1} << 16;

    void build_index() {
        bucket_start.clear();
        scan_knots.clear();
        direct_y.clear();
        bucket_scale = 0;
        bucket_count = 0;
        const std::size_t m = knots.size();
        if (m < 2) return;
        build_direct();
        const double lo = knots.front(), span = knots.back() - knots.front();
        if (!(span > 0) || !std::isfinite(span)) return;  // a span past 1.8e308: binary search
        bucket_count = min_buckets;
        while (bucket_count < 4 * m && bucket_count < max_buckets) bucket_count *= 2;
        bucket_scale = static_cast<double>(bucket_count) / span;
        bucket_start.resize(bucket_count + 1);
        for (std::size_t b = 0; b <= bucket_count; ++b) {
            const double edge = lo + static_cast<double>(b) / bucket_scale;
            bucket_start[b] =
                static_cast<std::uint32_t>(std::lower_bound(knots.begin(), knots.end(), edge) - knots.begin());
        }
        scan_knots.reserve(m + scan_width);
        scan_knots.assign(knots.begin(), knots.end());
        scan_knots.resize(m + scan_width, std::numeric_limits<double>::infinity());
    }

    /// Fills direct_y when at least 3/4 of the knots are integers, the span is below
    /// max_direct and the knots' magnitudes are below 2^52 (direct_base + j is then exact).
    void build_direct() {
        const double base = std::floor(knots.front()), span = knots.back() - base;
        if (!(span < static_cast<double>(max_direct)) || !(std::fabs(base) < 0x1p52) ||
            !(std::fabs(knots.back()) < 0x1p52))
            return;
        std::size_t integers = 0;
        for (const double k : knots) integers += k == std::floor(k) ? 1 : 0;
        if (4 * integers < 3 * knots.size()) return;
        std::vector<double> table(static_cast<std::size_t>(span) + 1);
        for (std::size_t j = 0; j < table.size(); ++j) table[j] = percentile(base + static_cast<double>(j));
        direct_base = base;
        direct_y = std::move(table);
    }

    /// The first knot of the scan for t: one bucket below t's (slack for rounding).
    /// Any t, NaN included, gives an index in [0, knots.size() - 1]. Needs bucket_count.
    TIERKIT_ALWAYS_INLINE std::size_t scan_start(double t) const noexcept {
        double pos = (t - knots.front()) * bucket_scale;
        pos = pos > 0.0 ? pos : 0.0;  // NaN too
        pos = pos < static_cast<double>(bucket_count) ? pos : static_cast<double>(bucket_count);
        const auto b = static_cast<std::size_t>(pos);
        return bucket_start[b - (b != 0)];
    }

    /// The index of the first knot >= t, counted from scan start s; for
    /// knots.front() < t < knots.back() it is std::lower_bound's, in [1, knots.size() - 1].
    /// Any other t (NaN included) gives some index in that range.
    TIERKIT_ALWAYS_INLINE std::size_t scan_knot(double t, std::size_t s) const noexcept {
        const double* x = scan_knots.data();
        std::size_t k = s;
        for (;;) {
            std::size_t below = 0;
            for (std::size_t j = 0; j < scan_width; ++j) below += x[k + j] < t ? 1 : 0;
            k += below;
            if (below < scan_width) break;
        }
        // The slack bucket makes knots[s - 1] < t; were rounding ever to break that,
        // the full search gives the same answer.
        if (s != 0 && !(x[s - 1] < t))
            k = static_cast<std::size_t>(std::lower_bound(knots.begin(), knots.end(), t) - knots.begin());
        return std::clamp<std::size_t>(k, 1, knots.size() - 1);
    }

    /// The curve at t given k, the first knot >= t (knots.front() < t < knots.back()).
    TIERKIT_ALWAYS_INLINE double curve_at(double t, std::size_t k) const noexcept {
        if (knots[k] == t) return knot_y[k];
        const double x0 = knots[k - 1], x1 = knots[k];
        const double y0 = knot_hi[k - 1], y1 = knot_lo[k];
        if (std::isfinite(x1 - x0)) return std::clamp(y0 + (y1 - y0) * (t - x0) / (x1 - x0), 0.0, 1.0);
        return std::clamp(y0 + (y1 - y0) * ((t * 0.5 - x0 * 0.5) / (x1 * 0.5 - x0 * 0.5)), 0.0, 1.0);
    }

    double percentile(double t) const noexcept {
        if (knots.empty()) return 0.5;
        if (t <= knots.front()) return t == knots.front() ? knot_y.front() : 0.0;
        if (t >= knots.back()) return t == knots.back() ? knot_y.back() : 1.0;
        if (knots.size() < 2) return 0.5;  // t is NaN (the caller rejects it)
        if (bucket_count == 0)
            return curve_at(
                t, std::clamp<std::size_t>(
                       static_cast<std::size_t>(std::lower_bound(knots.begin(), knots.end(), t) - knots.begin()), 1,
                       knots.size() - 1));
        return curve_at(t, scan_knot(t, scan_start(t)));
    }

    /// y[i] = percentile(t[i]) for i < n, the same bits; t and y may be the same array.
    /// A curve of more than prefetch_knots knots outgrows the first-level cache: its
    /// rows go in groups whose table reads are prefetched one step ahead (bucket, then
    /// knots, then the curve), so the lookups of a group wait on memory together.
    void percentile_block(const double* t, double* y, std::size_t n) const noexcept {
        if (!direct_y.empty()) {
            direct_block(t, y, n);
            return;
        }
        if (bucket_count == 0 || knots.size() <= prefetch_knots) {
            for (std::size_t i = 0; i < n; ++i) y[i] = percentile(t[i]);
            return;
        }
        constexpr std::size_t group = 128;
        std::uint32_t at[group];
        const double front = knots.front(), back = knots.back();
        for (std::size_t g = 0; g < n; g += group) {
            const std::size_t m = std::min(group, n - g);
            const double* tg = t + g;
            for (std::size_t i = 0; i < m; ++i) {
                double pos = (tg[i] - front) * bucket_scale;
                pos = pos > 0.0 ? pos : 0.0;
                pos = pos < static_cast<double>(bucket_count) ? pos : static_cast<double>(bucket_count);
                const auto b = static_cast<std::size_t>(pos);
                at[i] = static_cast<std::uint32_t>(b - (b != 0));
                TIERKIT_PREFETCH(bucket_start.data() + at[i]);
            }
            for (std::size_t i = 0; i < m; ++i) {
                at[i] = bucket_start[at[i]];
                TIERKIT_PREFETCH(scan_knots.data() + at[i]);
            }
            for (std::size_t i = 0; i < m; ++i) {
                at[i] = static_cast<std::uint32_t>(scan_knot(tg[i], at[i]));
                TIERKIT_PREFETCH(knots.data() + at[i] - 1);
                TIERKIT_PREFETCH(knot_hi.data() + at[i] - 1);
                TIERKIT_PREFETCH(knot_lo.data() + at[i]);
                TIERKIT_PREFETCH(knot_y.data() + at[i]);
            }
            for (std::size_t i = 0; i < m; ++i) {
                const double v = tg[i];
                y[g + i] = v <= front  ? (v == front ? knot_y.front() : 0.0)
                           : v >= back ? (v == back ? knot_y.back() : 1.0)
                                       : curve_at(v, at[i]);
            }
        }
    }

    /// percentile_block() through direct_y: rows in groups, each row's j = t - direct_base
    /// (clamped; NaN gives 0) read from the table without branches when base + j == t,
    /// then the other rows of the group by percentile().
    void direct_block(const double* t, double* y, std::size_t n) const noexcept {
        constexpr std::size_t group = 256;
        std::uint8_t miss[group];
        const double front = direct_base, last = static_cast<double>(direct_y.size() - 1);
        const double* table = direct_y.data();
        for (std::size_t g = 0; g < n; g += group) {
            const std::size_t m = std::min(group, n - g);
            unsigned misses = 0;
            for (std::size_t i = 0; i < m; ++i) {
                const double v = t[g + i];
                double d = v - front;
                d = d > 0.0 ? d : 0.0;
                d = d < last ? d : last;
                const auto j = static_cast<std::size_t>(d);
                const bool hit = front + static_cast<double>(j) == v;
                miss[i] = hit ? 0 : 1;
                misses += hit ? 0U : 1U;
                y[g + i] = hit ? table[j] : v;  // t itself, kept for the search when t is y
            }
            if (misses != 0)
                for (std::size_t i = 0; i < m; ++i)
                    if (miss[i] != 0) y[g + i] = percentile(y[g + i]);
        }
    }

    /// y[i] = normalize(x[i]) for i < n, the same bits as the scalar call; the
    /// normalizer is chosen once per block so the minmax loop vectorizes and the
    /// percentile lookups prefetch (percentile_block).
    /// @return whether every x[i] was finite (y is meaningless where it was not).
    TIERKIT_ALWAYS_INLINE bool normalize_block(const double* x, double* y, std::size_t n) const noexcept {
        if (spec.normalizer == Normalizer::minmax && spec.transform == Transform::none) {
            if (max > min) {
                // A range past 1.8e308 is computed on halves (exact scaling), so the
                // maximum still maps to 1; otherwise s = 1 and the bits are unchanged.
                const double s = std::isfinite(max - min) ? 1.0 : 0.5;
                const double a = lo, b = hi, mn = min * s, range = max * s - min * s;
                // std::clamp(v, l, h) is (v < l ? l : h < v ? h : v); spelled out so it vectorizes.
                for (std::size_t i = 0; i < n; ++i) {
                    const double v = x[i];
                    const double t = v < a ? a : (b < v ? b : v);
                    const double r = (t * s - mn) / range;
                    y[i] = r < 0.0 ? 0.0 : (1.0 < r ? 1.0 : r);
                }
            } else {
                std::fill(y, y + n, 0.5);
            }
            if (spec.direction != Direction::higher)
                for (std::size_t i = 0; i < n; ++i) y[i] = 1.0 - y[i];
        } else if (spec.normalizer == Normalizer::percentile) {
            if (spec.transform == Transform::none && lo == -std::numeric_limits<double>::infinity() &&
                hi == std::numeric_limits<double>::infinity()) {
                percentile_block(x, y, n);  // transform(x) is x
            } else {
                for (std::size_t i = 0; i < n; ++i) y[i] = transform(x[i]);
                percentile_block(y, y, n);
            }
            if (spec.direction != Direction::higher)
                for (std::size_t i = 0; i < n; ++i) y[i] = 1.0 - y[i];
        } else {
            for (std::size_t i = 0; i < n; ++i) y[i] = normalize(x[i]);
        }
        return all_finite(x, n);
    }

    /// Whether no x[i] is NaN or infinite: v - v is 0 exactly for finite v. Four
    /// running sums so the loop vectorizes without reassociating.
    TIERKIT_ALWAYS_INLINE static bool all_finite(const double* x, std::size_t n) noexcept {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        std::size_t i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += x[i] - x[i];
            s1 += x[i + 1] - x[i + 1];
            s2 += x[i + 2] - x[i + 2];
            s3 += x[i + 3] - x[i + 3];
        }
        for (; i < n; ++i) s0 += x[i] - x[i];
        return s0 + s1 + s2 + s3 == 0;
    }

    /// Normalized value in [0, 1], 1 = best (direction applied).
    double normalize(double x) const noexcept {
        const double t = transform(x);
        double y = 0.5;
        switch (spec.normalizer) {
            case Normalizer::minmax:
                if (!(max > min)) break;
                y = std::isfinite(max - min) ? std::clamp((t - min) / (max - min), 0.0, 1.0)
                                             : std::clamp((t * 0.5 - min * 0.5) / (max * 0.5 - min * 0.5), 0.0, 1.0);
                break;
            case Normalizer::zscore:
                y = sd > 0 ? standard_normal_cdf(scaled_difference(t, mean, sd)) : 0.5;
                break;
            case Normalizer::robust:
                y = iqr > 0 ? standard_normal_cdf(scaled_difference(t, median, iqr / 1.349)) : 0.5;
                break;
            case Normalizer::percentile:
                y = percentile(t);
                break;
            case Normalizer::bins: {
                if (max <= min) {
                    y = 0.5;
                    break;
                }
                const int k = spec.bins;
                const int bin = std::min(k, 1 + static_cast<int>(std::floor(k * percentile(t))));
                y = static_cast<double>(bin - 1) / static_cast<double>(k - 1);
                break;
            }
        }
        return spec.direction == Direction::higher ? y : 1.0 - y;
    }
};

/// Learn a criterion's statistics from its column. With min_group > 1 (the policy's
/// privacy.min_group) every stored order statistic is a value shared by, or the mean
/// of, at least min_group rows (privacy.hpp).
/// @throws InvalidInput naming the column and row for a NaN or infinite value, or
///   when the column is empty or has fewer than min_group rows.
FittedCriterion fit_criterion(const CriterionSpec& spec, std::span<const double> column, std::size_t min_group = 1);

/// Whether every value of `column` is finite.
/// @throws InvalidInput naming `name` and the row of the first NaN or infinite value.
inline void check_finite(std::span<const double> column, const std::string& name) {
    for (std::size_t i = 0; i < column.size(); ++i)
        if (!std::isfinite(column[i]))
            throw InvalidInput("column '" + name + "', row " + std::to_string(i) + ": must be a finite number, got " +
                               std::to_string(column[i]));
}

/// out[i] = fitted.normalize(column[i]).
/// @throws InvalidInput naming the column and row for a NaN or infinite value.
inline void normalize_column(const FittedCriterion& fitted, std::span<const double> column, std::span<double> out) {
    check_finite(column, fitted.spec.column);
    for (std::size_t i = 0; i < column.size(); ++i) out[i] = fitted.normalize(column[i]);
}

}  // namespace tierkit
