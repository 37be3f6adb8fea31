#pragma once
/// @file sketch.hpp
/// The mergeable summaries the Fitter's passes keep (fit_state.hpp): a quantile
/// sketch, moments, distinct value counts, and the options of a fit by chunks.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tierkit/core/error.hpp"

namespace tierkit {

/// A mergeable quantile sketch of doubles (see fit_state.hpp).
class QuantileSketch {
public:
    static constexpr std::uint32_t default_k = 1024;

    /// @throws InvalidInput when k < 8.
    explicit QuantileSketch(std::uint32_t k = default_k);
    /// Add one finite value.
    void add(double x);
    /// Add every value of `other` (of the same k).
    /// @throws InvalidInput when the capacities differ.
    void merge(const QuantileSketch& other);
    std::uint64_t count() const noexcept { return n_; }
    std::uint32_t capacity() const noexcept { return k_; }
    /// Distinct values ascending with their weights (the weights sum to count()).
    std::vector<std::pair<double, double>> items() const;
    /// An estimate of sorted[r] (0-based ascending rank r < count()).
    double at_rank(double r) const;
    /// An estimate of numpy's linear-interpolation quantile q in [0, 1].
    double quantile(double q) const;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& k_;
        ar& n_;
        ar& coin_;
        ar& levels_;
        if constexpr (Archive::is_loading::value) {
            std::uint64_t weight = 0;
            for (std::size_t h = 0; h < levels_.size() && h < 64; ++h) weight += levels_[h].size() << h;
            if (k_ < 8 || levels_.size() > 64 || weight != n_)
                throw FormatError("quantile sketch: capacity " + std::to_string(k_) +
                                  " or item weights do not add up to the count " + std::to_string(n_));
        }
    }

private:
    void compress();
    std::uint32_t k_ = default_k;
    std::uint64_t n_ = 0;
    std::uint64_t coin_ = 0;
    std::vector<std::vector<double>> levels_;  ///< level h holds items of weight 2^h
};

/// Count, min, max, mean and the sum of squared deviations (Chan et al.'s merge).
struct Moments {
    double n = 0, mean = 0, m2 = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    void add(double x) noexcept;
    void merge(const Moments& o) noexcept;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& n;
        ar& mean;
        ar& m2;
        ar& min;
        ar& max;
    }
};

enum class FitMode { exact, sketch, refine };

struct FitOptions {
    FitMode mode = FitMode::exact;
    std::uint32_t sketch_k = QuantileSketch::default_k;
    /// kmeans in sketch mode: rows of the bottom-k sample that seeds k-means++.
    std::uint32_t kmeans_sample = 4096;
    /// refine mode: about how many buckets split a percentile, bins or robust
    /// criterion (whose up to max_knots percentile knots are each a target rank):
    /// its values pass gathers about 1.3 * max_knots * (1 + n / min(n, refine_buckets))
    /// rows (see fit_state.hpp).
    std::uint32_t refine_buckets = 1u << 18;
};

/// Distinct values ascending with their row counts, merged by adding counts. With a
/// cap, more than `cap` distinct values make it `overflow` (and empty).
struct ValueCounts {
    std::vector<double> values;
    std::vector<double> counts;
    std::uint32_t cap = 0;  ///< 0: no cap
    bool overflow = false;

    /// From any values (sorted and counted here).
    static ValueCounts of(std::vector<double> values, std::uint32_t cap);
    void merge(const ValueCounts& other);
    double rows() const noexcept;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& values;
        ar& counts;
        ar& cap;
        ar& overflow;
        if constexpr (Archive::is_loading::value) {
            if (values.size() != counts.size() || (cap && values.size() > cap) ||
                !std::is_sorted(values.begin(), values.end()))
                throw FormatError("value counts: " + std::to_string(values.size()) + " values, " +
                                  std::to_string(counts.size()) + " counts, cap " + std::to_string(cap) +
                                  " (or unsorted values)");
        }
    }
};

}  // namespace tierkit
