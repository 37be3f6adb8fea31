#pragma once
/// @file partial_state.hpp
/// What one pass of the Fitter (fit_state.hpp) learns from some chunks: the state a
/// worker returns and the client merges. Every field merges on its own (the sketch by
/// levels, moments by Chan's formula, sums and counts by addition, lows and highs by
/// min and max, the sample as the bottom-k of the union, gathered rows by appending),
/// so the Fitter merges states without knowing which part of the policy made them.
#include <cstdint>
#include <string>
#include <vector>

#include "tierkit/clv/histogram.hpp"
#include "tierkit/core/exact_sum.hpp"
#include "tierkit/fit/sketch.hpp"

namespace tierkit {

/// What one pass learned from some chunks. Merge with Fitter::merge.
struct PartialState {
    std::uint32_t stage = 0;  ///< the Fitter stage it belongs to
    FitMode mode = FitMode::exact;
    // exact: the gathered rows
    std::vector<std::int64_t> ids;
    std::vector<std::string> names;
    std::vector<std::vector<double>> columns;
    std::vector<std::string> category_names;
    std::vector<std::vector<std::int32_t>> category_codes;
    std::vector<std::vector<std::string>> category_labels;
    // sketch
    std::vector<Moments> moments;
    std::vector<QuantileSketch> sketches;
    std::vector<double> sums;
    std::vector<double> lows, highs;
    std::vector<std::uint64_t> sample_keys;  ///< kmeans: hashed id, ascending
    std::vector<std::int64_t> sample_ids;
    std::vector<double> sample_points;      ///< row-major, one row per key
    std::uint32_t sample_capacity = 0;      ///< rows the sample keeps at most
    std::vector<clv::RfmPatterns> rfm;      ///< clv: (frequency, recency, T) patterns
    std::vector<clv::SpendPatterns> spend;  ///< clv: (frequency, monetary value) patterns
    // refine
    std::vector<ExactSum> exact_sums;          ///< per criterion: sum, then squared deviations
    std::vector<std::vector<double>> buckets;  ///< per column: exact row counts of the buckets
    std::vector<ValueCounts> values;           ///< per column: distinct values (capped) or collected ones

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& stage;
        ar& mode;
        ar& ids;
        ar& names;
        ar& columns;
        ar& category_names;
        ar& category_codes;
        ar& category_labels;
        ar& moments;
        ar& sketches;
        ar& sums;
        ar& lows;
        ar& highs;
        ar& sample_keys;
        ar& sample_ids;
        ar& sample_points;
        ar& sample_capacity;
        ar& rfm;
        ar& spend;
        ar& exact_sums;
        ar& buckets;
        ar& values;
    }

    /// Whether the gathered rows line up: a column and a category per name, each one
    /// value per id, category codes within their labels (-1: missing).
    bool rows_line_up() const {
        bool ok = columns.size() == names.size() && category_codes.size() == category_names.size() &&
                  category_labels.size() == category_names.size();
        for (const auto& c : columns) ok = ok && c.size() == ids.size();
        for (std::size_t j = 0; ok && j < category_codes.size(); ++j) {
            ok = category_codes[j].size() == ids.size();
            for (std::int32_t code : category_codes[j])
                ok = ok && code >= -1 && code < static_cast<std::int32_t>(category_labels[j].size());
        }
        return ok;
    }

    /// A 24-byte envelope (magic "TKSTATE\0", format version, payload length, CRC-32)
    /// then a Boost binary archive (same platform only, like binary model archives).
    std::string to_bytes() const;
    /// @throws FormatError for a bad magic, version, length or checksum.
    static PartialState from_bytes(const std::string& bytes);
};

}  // namespace tierkit
