// The refine mode's bucket counts and order statistics. See include/tierkit/fit/refine.hpp.
#include "tierkit/fit/refine.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "tierkit/core/error.hpp"

namespace tierkit {

bool RefineBuckets::any_wanted() const noexcept {
    return std::any_of(wanted.begin(), wanted.end(), [](const auto& w) { return !w.empty(); });
}

void RefineBuckets::clear() noexcept {
    bounds.clear();
    counts.clear();
    wanted.clear();
}

void RefineBuckets::finish_values() noexcept {
    collected_rows += pending;
    pending = 0;
    clear();
}

void RefineBuckets::want_ranks(std::size_t j, const std::function<std::vector<double>(double)>& ranks_of) {
    const ValueCounts none;
    const OrderIndex index(bounds.at(j), counts.at(j), none);
    if (index.rows() == 0) throw InvalidInput("fit: the table has no rows");
    auto& w = wanted.at(j);
    for (double r : ranks_of(index.rows()))
        if (const auto b = index.open_bucket(r)) w.push_back(static_cast<double>(*b));
    std::sort(w.begin(), w.end());
    w.erase(std::unique(w.begin(), w.end()), w.end());
    for (double b : w) pending += counts[j][static_cast<std::size_t>(b)];
}

std::size_t bucket_of(const std::vector<double>& bounds, double x) {
    const auto i = static_cast<std::size_t>(std::upper_bound(bounds.begin(), bounds.end(), x) - bounds.begin());
    return i > 0 && bounds[i - 1] == x ? 2 * i - 1 : 2 * i;
}

std::vector<double> bounds_of(const QuantileSketch& q, std::uint32_t buckets) {
    const auto items = q.items();
    std::vector<double> out;
    // (No more bounds than rows: a bucket of about one row gathers no more.)
    const double wanted = std::min(static_cast<double>(buckets), static_cast<double>(q.count()));
    const double splits = items.empty() ? 0.0 : std::floor(wanted / static_cast<double>(items.size()));
    for (std::size_t i = 0; i < items.size(); ++i) {
        out.push_back(items[i].first);
        if (i + 1 == items.size()) continue;
        const double a = items[i].first, b = items[i + 1].first;
        for (double t = 1; t <= splits; ++t) {
            const double x = a + (b - a) * (t / (splits + 1));
            if (x > out.back() && x < b) out.push_back(x);
        }
    }
    return out;
}

void count_buckets(const std::vector<double>& bounds, std::span<const double> values, std::vector<double>& out) {
    out.assign(2 * bounds.size() + 1, 0.0);
    for (double x : values) out[bucket_of(bounds, x)] += 1;
}

ValueCounts values_in(const std::vector<double>& bounds, const std::vector<double>& wanted,
                      std::span<const double> values) {
    std::vector<double> kept;
    if (!wanted.empty())
        for (double x : values)
            if (std::binary_search(wanted.begin(), wanted.end(), static_cast<double>(bucket_of(bounds, x))))
                kept.push_back(x);
    return ValueCounts::of(std::move(kept), 0);
}

OrderIndex::OrderIndex(const std::vector<double>& bounds, const std::vector<double>& counts, const ValueCounts& inside)
    : bounds_(bounds), counts_(counts), inside_(inside) {
    before_.resize(counts.size() + 1, 0.0);
    for (std::size_t b = 0; b < counts.size(); ++b) before_[b + 1] = before_[b] + counts[b];
}

std::size_t OrderIndex::bucket_of_rank(double r) const {
    return static_cast<std::size_t>(std::upper_bound(before_.begin() + 1, before_.end(), r) - before_.begin() - 1);
}

std::optional<std::size_t> OrderIndex::open_bucket(double r) const {
    const std::size_t b = bucket_of_rank(r);
    if (b % 2 == 1 || counts_[b] == 0) return std::nullopt;
    return b;
}

Group OrderIndex::at(double r) const {
    const std::size_t b = bucket_of_rank(r);
    if (b % 2 == 1) return {bounds_[b / 2], before_[b], counts_[b]};
    // An open bucket: walk its gathered values.
    const std::size_t i = b / 2;
    auto it = i == 0 ? inside_.values.begin()
                     : std::upper_bound(inside_.values.begin(), inside_.values.end(), bounds_[i - 1]);
    double less = before_[b];
    for (; it != inside_.values.end() && (i == bounds_.size() || *it < bounds_[i]); ++it) {
        const double eq = inside_.counts[static_cast<std::size_t>(it - inside_.values.begin())];
        if (r < less + eq) return {*it, less, eq};
        less += eq;
    }
    throw InvalidInput("Fitter.advance: the gathered values do not hold rank " + std::to_string(r) +
                       " (a state of another fit?)");
}

std::pair<double, double> quantile_ranks(double q, double n) {
    const double lo = std::floor(q * (n - 1));
    return {lo, std::min(lo + 1, n - 1)};
}

}  // namespace tierkit
