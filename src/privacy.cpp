// Groups of at least K rows for the values a fitted model stores (privacy.hpp).
#include "tierkit/privacy.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "tierkit/core/error.hpp"

namespace tierkit {

void check_min_group(std::size_t rows, std::size_t min_group, const char* what) {
    if (rows < min_group)
        throw InvalidInput(std::string(what) + ": privacy.min_group " + std::to_string(min_group) +
                           " needs at least that many rows to fit on, got " + std::to_string(rows));
}

PrivateGroups::PrivateGroups(std::span<const double> sorted, std::size_t min_group) {
    const std::size_t k = std::max<std::size_t>(min_group, 1);
    check_min_group(sorted.size(), k, "fit");
    n_ = static_cast<double>(sorted.size());
    // Running sums per group, in sorted order (a bin's mean is its sum / count).
    std::vector<double> sums;
    Group pending{0, 0, 0, false};
    double pending_sum = 0, pending_upper = 0;
    auto absorb = [&](std::size_t g, double count, double sum, double upper) {
        Group& to = groups_[g];
        sums[g] += sum;
        to.count += count;
        to.first = std::min(to.first, pending.first);
        to.exact = false;
        upper_[g] = std::max(upper_[g], upper);
    };
    for (std::size_t a = 0; a < sorted.size();) {
        std::size_t e = a + 1;
        while (e < sorted.size() && sorted[e] == sorted[a]) ++e;
        const double count = static_cast<double>(e - a);
        const double value = sorted[a];
        if (e - a >= k) {
            groups_.push_back(Group{value, static_cast<double>(a), count, true});
            sums.push_back(value * count);
            upper_.push_back(value);
            if (pending.count > 0) {
                // A run too small to stand alone joins the group before it (or this one).
                absorb(groups_.size() > 1 ? groups_.size() - 2 : 0, pending.count, pending_sum, pending_upper);
                pending = Group{0, 0, 0, false};
                pending_sum = 0;
            }
        } else {
            if (pending.count == 0) pending.first = static_cast<double>(a);
            for (std::size_t i = a; i < e; ++i) pending_sum += sorted[i];
            pending.count += count;
            pending_upper = value;
            if (pending.count >= static_cast<double>(k)) {
                groups_.push_back(pending);
                sums.push_back(pending_sum);
                upper_.push_back(pending_upper);
                pending = Group{0, 0, 0, false};
                pending_sum = 0;
            }
        }
        a = e;
    }
    if (pending.count > 0) absorb(groups_.size() - 1, pending.count, pending_sum, pending_upper);
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        if (groups_[g].exact) continue;
        groups_[g].value = sums[g] / groups_[g].count;
        if (!std::isfinite(groups_[g].value))  // the sum overflowed: the group's rows are contiguous
            groups_[g].value = mean_without_overflow(
                sorted.subspan(static_cast<std::size_t>(groups_[g].first), static_cast<std::size_t>(groups_[g].count)));
    }
}

double mean_without_overflow(std::span<const double> values) noexcept {
    if (values.empty()) return 0;
    const double n = static_cast<double>(values.size());
    double sum = 0;
    for (double v : values) sum += v;
    if (std::isfinite(sum)) return sum / n;
    // Scale by a power of two (exact) so that n values cannot overflow, then back:
    // the mean of finite values is finite.
    const double scale = std::ldexp(1.0, -(std::ilogb(n) + 1));
    sum = 0;
    for (double v : values) sum += v * scale;
    return sum / n / scale;
}

std::size_t PrivateGroups::group_of_rank(std::size_t r) const noexcept {
    const auto it = std::upper_bound(groups_.begin(), groups_.end(), static_cast<double>(r),
                                     [](double rank, const Group& g) { return rank < g.first; });
    return static_cast<std::size_t>(it - groups_.begin()) - 1;
}

double PrivateGroups::value_of(double x) const noexcept {
    const auto it = std::lower_bound(upper_.begin(), upper_.end(), x);
    return groups_[std::min(static_cast<std::size_t>(it - upper_.begin()), groups_.size() - 1)].value;
}

double PrivateGroups::quantile(double q) const noexcept {
    const double pos = q * (n_ - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, static_cast<std::size_t>(n_) - 1);
    const double frac = pos - static_cast<double>(lo);
    const double a = groups_[group_of_rank(lo)].value, b = groups_[group_of_rank(hi)].value;
    if (!std::isfinite(b - a)) return frac == 0 ? a : a * (1 - frac) + b * frac;  // values near +-1.8e308
    return a + (b - a) * frac;
}

void to_group_values(std::span<double> values, std::span<const double> sorted, std::size_t min_group) {
    if (min_group <= 1) return;
    const PrivateGroups groups(sorted, min_group);
    for (double& v : values)
        if (std::isfinite(v)) v = groups.value_of(v);
}

namespace {
template <class Compare>
double mean_of_first(std::span<const double> values, std::size_t k, Compare compare) {
    if (values.empty()) return 0;
    k = std::clamp<std::size_t>(k, 1, values.size());
    if (k == 1) return *std::min_element(values.begin(), values.end(), compare);
    std::vector<double> v(values.begin(), values.end());
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end(), compare);
    return mean_without_overflow(std::span<const double>(v.data(), k));
}
}  // namespace

double mean_of_lowest(std::span<const double> values, std::size_t k) { return mean_of_first(values, k, std::less<>()); }
double mean_of_highest(std::span<const double> values, std::size_t k) {
    return mean_of_first(values, k, std::greater<>());
}

}  // namespace tierkit
