// fit_criterion: a criterion's statistics from its column (scoring/criterion.hpp),
// with the privacy grouping of privacy.hpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "tierkit/core/error.hpp"
#include "tierkit/core/exact_sum.hpp"
#include "tierkit/core/sort.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/scoring/criterion.hpp"

namespace tierkit {

FittedCriterion fit_criterion(const CriterionSpec& spec, std::span<const double> column, std::size_t min_group) {
    if (column.empty()) throw InvalidInput("column '" + spec.column + "': no rows to fit on");
    const auto bad = std::find_if(column.begin(), column.end(), [](double v) { return !std::isfinite(v); });
    if (bad != column.end())
        throw InvalidInput("column '" + spec.column + "', row " + std::to_string(bad - column.begin()) +
                           ": must be a finite number, got " + std::to_string(*bad));
    min_group = std::max<std::size_t>(min_group, 1);
    check_min_group(column.size(), min_group, ("column '" + spec.column + "'").c_str());
    FittedCriterion f;
    f.spec = spec;
    f.n = static_cast<double>(column.size());
    if (spec.clip) {
        std::vector<double> raw(column.begin(), column.end());
        sort_doubles(raw);
        const PrivateGroups groups(raw, min_group);
        f.lo = groups.quantile(spec.clip_lower);
        f.hi = groups.quantile(spec.clip_upper);
    }
    // Order statistics only for the normalizers that use them: sorting is most of a fit.
    const bool needs_order = spec.normalizer == Normalizer::percentile || spec.normalizer == Normalizer::bins ||
                             spec.normalizer == Normalizer::robust;
    // The transformed column; the input itself when the transform is the identity and
    // nothing needs sorting (no copy of a column of 10^7 rows).
    std::vector<double> t;
    std::span<const double> tv = column;
    if (needs_order || spec.transform != Transform::none || spec.clip) {
        t.resize(column.size());
        for (std::size_t i = 0; i < column.size(); ++i) t[i] = f.transform(column[i]);
        tv = t;
    }
    // Moments, two-pass: the exactly rounded sum (exact_sum.hpp, the same bits in any
    // row order or chunking), then that of the squared deviations from the mean.
    f.mean = exact_sum(tv, [](double v) { return v; }) / f.n;
    const auto [lo_it, hi_it] = std::minmax_element(tv.begin(), tv.end());
    if (!std::isfinite(f.mean)) {  // the sum overflowed (values near +-1.8e308): sum values scaled by 2^-k
        const double scale = std::ldexp(1.0, -(std::ilogb(f.n) + 1));
        f.mean = exact_sum(tv, [scale](double v) { return v * scale; }) / f.n / scale;
    }
    double ss = exact_sum(tv, [m = f.mean](double v) { return (v - m) * (v - m); });
    f.sd = tv.size() > 1 ? std::sqrt(ss / (f.n - 1)) : 0.0;
    if (!std::isfinite(f.sd)) {
        // Deviations past 1e154 overflow their squares: scale every value below 1 first,
        // and keep the sd finite (the largest double) if the true one is not.
        const double top = std::max(std::fabs(*lo_it), std::fabs(*hi_it));
        const double scale = std::ldexp(1.0, -(std::ilogb(top) + 1));
        ss = exact_sum(tv, [m = f.mean * scale, scale](double v) { return (v * scale - m) * (v * scale - m); });
        f.sd = std::min(std::sqrt(ss / (f.n - 1)) / scale, std::numeric_limits<double>::max());
    }
    if (*hi_it == *lo_it) f.sd = 0;  // exactly constant: no rounding residue
    // min and max: the means of the min_group lowest and highest values (exact for 1).
    f.min = min_group == 1 ? *lo_it : mean_of_lowest(tv, min_group);
    f.max = min_group == 1 ? *hi_it : mean_of_highest(tv, min_group);
    if (!needs_order) {
        f.median = f.iqr = std::numeric_limits<double>::quiet_NaN();
        return f;
    }
    sort_doubles(t);
    const PrivateGroups groups(t, min_group);
    f.median = groups.quantile(0.5);
    f.iqr = finite_range(groups.quantile(0.75), groups.quantile(0.25));
    // Percentile curve: y = (average rank - 1) / (n - 1) at up to max_knots groups
    // (each distinct value is a group when min_group is 1).
    const double denom = t.size() > 1 ? f.n - 1 : 1.0;
    const auto& g = groups.groups();
    auto add_knot = [&](const PrivateGroups::Group& group) {
        const double less = group.first, eq = group.count;
        f.knots.push_back(group.value);
        f.knot_y.push_back(t.size() > 1 ? (less + (eq - 1) / 2) / denom : 0.5);
        f.knot_lo.push_back(t.size() > 1 ? (less - 0.5) / denom : 0.5);
        f.knot_hi.push_back(t.size() > 1 ? (less + eq - 0.5) / denom : 0.5);
    };
    if (g.size() <= FittedCriterion::max_knots) {
        for (const auto& group : g) add_knot(group);
    } else {
        // The groups at max_knots evenly spaced ranks.
        const std::size_t k = FittedCriterion::max_knots;
        std::size_t last = g.size();
        for (std::size_t j = 0; j < k; ++j) {
            const auto r =
                static_cast<std::size_t>(std::llround(static_cast<double>(j) * (f.n - 1) / static_cast<double>(k - 1)));
            const std::size_t at = groups.group_of_rank(r);
            if (at != last) add_knot(g[at]);
            last = at;
        }
    }
    f.build_index();
    return f;
}

}  // namespace tierkit
