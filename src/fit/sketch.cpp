// The Fitter's mergeable summaries: the quantile sketch, moments and value counts.
// See include/tierkit/fit/sketch.hpp.
#include "tierkit/fit/sketch.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tierkit/core/error.hpp"
#include "tierkit/core/random.hpp"

namespace tierkit {

// ---- QuantileSketch -------------------------------------------------------------------

QuantileSketch::QuantileSketch(std::uint32_t k) : k_(k) {
    if (k < 8) throw InvalidInput("sketch_k: must be >= 8, got " + std::to_string(k));
}

void QuantileSketch::add(double x) {
    if (levels_.empty()) levels_.emplace_back();
    levels_[0].push_back(x);
    ++n_;
    if (levels_[0].size() >= k_) compress();
}

void QuantileSketch::compress() {
    for (std::size_t h = 0; h < levels_.size(); ++h) {
        auto& level = levels_[h];
        if (level.size() < k_) continue;
        std::sort(level.begin(), level.end());
        // An odd item stays behind (the largest), so the total weight is kept exactly.
        const std::size_t pairs = level.size() / 2;
        coin_ = splitmix64_hash(coin_ ^ (static_cast<std::uint64_t>(h) << 32) ^ level.size());
        const std::size_t offset = coin_ & 1;
        if (h + 1 == levels_.size()) levels_.emplace_back();
        auto& up = levels_[h + 1];  // (emplace_back may have moved `level`: index again)
        auto& here = levels_[h];
        for (std::size_t p = 0; p < pairs; ++p) up.push_back(here[2 * p + offset]);
        if (here.size() % 2) {
            const double last = here.back();
            here.assign(1, last);
        } else {
            here.clear();
        }
    }
}

void QuantileSketch::merge(const QuantileSketch& other) {
    if (other.k_ != k_)
        throw InvalidInput("sketch merge: capacities differ (" + std::to_string(k_) + " and " +
                           std::to_string(other.k_) + ")");
    if (levels_.size() < other.levels_.size()) levels_.resize(other.levels_.size());
    for (std::size_t h = 0; h < other.levels_.size(); ++h)
        levels_[h].insert(levels_[h].end(), other.levels_[h].begin(), other.levels_[h].end());
    n_ += other.n_;
    coin_ = splitmix64_hash(coin_ + 0x632be59bd9b4e019ULL * other.coin_);
    compress();
}

std::vector<std::pair<double, double>> QuantileSketch::items() const {
    std::vector<std::pair<double, double>> all;
    for (std::size_t h = 0; h < levels_.size(); ++h)
        for (double v : levels_[h]) all.emplace_back(v, std::ldexp(1.0, static_cast<int>(h)));
    std::sort(all.begin(), all.end());
    std::vector<std::pair<double, double>> out;
    for (const auto& [v, w] : all) {
        if (!out.empty() && out.back().first == v)
            out.back().second += w;
        else
            out.emplace_back(v, w);
    }
    return out;
}

double QuantileSketch::at_rank(double r) const {
    const auto it = items();
    if (it.empty()) return std::numeric_limits<double>::quiet_NaN();
    double below = 0;
    for (const auto& [v, w] : it) {
        if (r < below + w) return v;
        below += w;
    }
    return it.back().first;
}

double QuantileSketch::quantile(double q) const {
    if (n_ == 0) return std::numeric_limits<double>::quiet_NaN();
    const double pos = q * static_cast<double>(n_ - 1);
    const double lo = std::floor(pos);
    const double a = at_rank(lo), b = at_rank(std::min(lo + 1, static_cast<double>(n_ - 1)));
    return a + (b - a) * (pos - lo);
}

// ---- Moments ------------------------------------------------------------------------

void Moments::add(double x) noexcept {
    n += 1;
    const double delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
    min = std::min(min, x);
    max = std::max(max, x);
}

void Moments::merge(const Moments& o) noexcept {
    if (o.n == 0) return;
    if (n == 0) {
        *this = o;
        return;
    }
    const double total = n + o.n, delta = o.mean - mean;
    mean += delta * o.n / total;
    m2 += o.m2 + delta * delta * n * o.n / total;
    n = total;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
}

// ---- ValueCounts ----------------------------------------------------------------------

ValueCounts ValueCounts::of(std::vector<double> values, std::uint32_t cap) {
    ValueCounts out;
    out.cap = cap;
    std::sort(values.begin(), values.end());
    for (double v : values) {
        if (!out.values.empty() && out.values.back() == v) {
            out.counts.back() += 1;
            continue;
        }
        if (cap && out.values.size() == cap) {
            out.overflow = true;
            out.values.clear();
            out.counts.clear();
            return out;
        }
        out.values.push_back(v);
        out.counts.push_back(1);
    }
    return out;
}

void ValueCounts::merge(const ValueCounts& o) {
    cap = std::max(cap, o.cap);
    if (overflow || o.overflow) {
        *this = ValueCounts{{}, {}, cap, true};
        return;
    }
    std::vector<double> v, c;
    v.reserve(values.size() + o.values.size());
    c.reserve(values.size() + o.values.size());
    std::size_t i = 0, j = 0;
    while (i < values.size() || j < o.values.size()) {
        const bool take_a = j == o.values.size() || (i < values.size() && values[i] <= o.values[j]);
        const double x = take_a ? values[i] : o.values[j];
        const double n = take_a ? counts[i++] : o.counts[j++];
        if (!v.empty() && v.back() == x)
            c.back() += n;
        else {
            v.push_back(x);
            c.push_back(n);
        }
    }
    if (cap && v.size() > cap) {
        *this = ValueCounts{{}, {}, cap, true};
        return;
    }
    values = std::move(v);
    counts = std::move(c);
}

double ValueCounts::rows() const noexcept { return std::accumulate(counts.begin(), counts.end(), 0.0); }

}  // namespace tierkit
