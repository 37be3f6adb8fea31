#pragma once
/// @file histogram.hpp
/// The sufficient statistics of the CLV models, as mergeable States.
///
/// Design notes: the BG/NBD, MBG/NBD and Pareto/NBD likelihoods depend on a customer only
/// through (frequency x, recency t_x, age T), and Gamma-Gamma only through (x, mean repeat
/// spend m). RfmHistogram and SpendHistogram count the distinct patterns exactly, so that
/// fitting 10^7 customers costs what fitting their distinct patterns costs. Each is a
/// State in the engine's sense: update(chunk) from any number of chunks, merge(other) across
/// threads or partitions, finalize() into patterns sorted by key. Because finalize sorts,
/// the result (and every fit on it) is bit-identical for any chunking and merge order as
/// long as the weights are integers (sums of integers are exact below 2^53).
/// A State is not thread-safe; give each thread its own and merge them.
///
/// Input conventions are those of lifetimes' summary_data_from_transaction_data:
/// frequency = number of repeat purchase periods (an integer >= 0), recency = time from
/// the first to the last purchase (0 when frequency is 0), T = time from the first
/// purchase to the end of the observation period, recency <= T.
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tierkit::clv {

/// Row index meaning "not part of a column" in error messages.
inline constexpr std::size_t no_row = static_cast<std::size_t>(-1);

/// Checks one (frequency, recency, T) row: finite, frequency a non-negative integer,
/// 0 <= recency <= T, recency = 0 when frequency = 0.
/// @throws InvalidInput naming the column and row: `recency[12]: must be <= T (39), got 40`.
void validate_rfm(std::size_t row, double frequency, double recency, double T);

/// Checks one (frequency, monetary_value) row: frequency a non-negative integer,
/// monetary_value finite and > 0 when frequency > 0 (ignored when frequency = 0).
/// @throws InvalidInput naming the column and row.
void validate_spend(std::size_t row, double frequency, double monetary_value);

/// Distinct (frequency, recency, T) patterns with the number of customers showing each,
/// sorted by frequency, then recency, then T.
struct RfmPatterns {
    std::vector<double> frequency;
    std::vector<double> recency;
    std::vector<double> T;
    std::vector<double> count;

    std::size_t size() const noexcept { return count.size(); }
    /// Sum of the counts.
    double customers() const noexcept;
    /// Largest T (0 when empty).
    double max_T() const noexcept;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::make_nvp("frequency", frequency);
        ar& boost::make_nvp("recency", recency);
        ar& boost::make_nvp("T", T);
        ar& boost::make_nvp("count", count);
    }
};

/// Distinct (frequency, monetary_value) patterns of repeat customers (frequency > 0) with
/// their counts, sorted by frequency then monetary_value. Customers with frequency 0 carry
/// no information about spend per repeat purchase; they are counted, not stored.
struct SpendPatterns {
    std::vector<double> frequency;
    std::vector<double> monetary_value;
    std::vector<double> count;
    double zero_repeat_customers = 0;

    std::size_t size() const noexcept { return count.size(); }
    double customers() const noexcept;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::make_nvp("frequency", frequency);
        ar& boost::make_nvp("monetary_value", monetary_value);
        ar& boost::make_nvp("count", count);
        ar& boost::make_nvp("zero_repeat_customers", zero_repeat_customers);
    }
};

namespace detail {
/// Open-addressing hash table from a key of three doubles to a count. Keys compare by
/// value (-0.0 equals 0.0). Not for use outside the histograms.
class PatternTable {
public:
    struct Slot {
        double k0, k1, k2, count;  // count == 0 marks an empty slot
    };
    PatternTable();
    void add(double k0, double k1, double k2, double count);
    std::size_t size() const noexcept { return size_; }
    const std::vector<Slot>& slots() const noexcept { return slots_; }
    /// Occupied slots sorted by (k0, k1, k2).
    std::vector<Slot> sorted() const;

private:
    void grow();
    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
};

/// Patterns arranged for likelihood evaluation: blocks of equal frequency, and per row the
/// index of its recency and T among the distinct values, so that terms such as
/// log(alpha + t) are computed once per distinct value. Built by the model code.
struct RfmLayout {
    std::vector<double> x;                     ///< distinct frequencies, ascending
    std::vector<std::size_t> block;            ///< rows of x[k] are [block[k], block[k+1])
    std::vector<double> block_count;           ///< customers of x[k]: the sum of its rows' counts
    std::vector<double> recency_values;        ///< distinct recencies, in order of first appearance
    std::vector<double> T_values;              ///< distinct T, in order of first appearance
    std::vector<std::uint32_t> recency_index;  ///< per row
    std::vector<std::uint32_t> T_index;        ///< per row
    std::vector<double> count;                 ///< per row
    double customers = 0;
    double repeat_purchases = 0;  ///< sum of count * x
    double sum_T = 0;             ///< sum of count * T
    double max_T = 0;
    std::size_t rows() const noexcept { return count.size(); }

    /// Validates the patterns (InvalidInput naming the row), merges duplicates and sorts
    /// them when needed, and drops rows with count 0.
    static RfmLayout build(const RfmPatterns& patterns);
};
}  // namespace detail

/// Mergeable State for BG/NBD, MBG/NBD and Pareto/NBD: the histogram of (x, t_x, T).
class RfmHistogram {
public:
    /// Adds a chunk of customers. `weights` (optional, same length) counts customers per
    /// row, as lifetimes' `weights`; a weight of 0 skips the row. Row numbers in error
    /// messages are `first_row + i`. The chunk is validated before anything is added, so a
    /// failed update leaves the State unchanged.
    /// @throws InvalidInput for columns of different lengths or an invalid row.
    void update(std::span<const double> frequency, std::span<const double> recency, std::span<const double> T,
                std::span<const double> weights = {}, std::size_t first_row = 0);
    /// Adds everything `other` has counted.
    void merge(const RfmHistogram& other);
    /// The distinct patterns, sorted; the State stays usable.
    RfmPatterns finalize() const;
    /// Number of distinct patterns so far.
    std::size_t distinct() const noexcept { return table_.size(); }

private:
    detail::PatternTable table_;
};

/// Mergeable State for Gamma-Gamma: the histogram of (x, m) over repeat customers.
class SpendHistogram {
public:
    /// Adds a chunk; rows with frequency 0 are counted as zero-repeat customers and not
    /// stored. Validated before anything is added.
    /// @throws InvalidInput for columns of different lengths or an invalid row.
    void update(std::span<const double> frequency, std::span<const double> monetary_value,
                std::span<const double> weights = {}, std::size_t first_row = 0);
    void merge(const SpendHistogram& other);
    SpendPatterns finalize() const;
    std::size_t distinct() const noexcept { return table_.size(); }

private:
    detail::PatternTable table_;
    double zero_repeat_ = 0;
};

/// Builds the patterns of whole columns in one call (update + finalize).
/// @throws InvalidInput as RfmHistogram::update.
RfmPatterns compress_rfm(std::span<const double> frequency, std::span<const double> recency, std::span<const double> T,
                         std::span<const double> weights = {});
/// @throws InvalidInput as SpendHistogram::update.
SpendPatterns compress_spend(std::span<const double> frequency, std::span<const double> monetary_value,
                             std::span<const double> weights = {});

/// Gamma-Gamma's independence check: the weighted Pearson correlation between frequency and
/// monetary value over the repeat customers. Gamma-Gamma assumes it is near 0; lifetimes'
/// documentation suggests not using the model when it is far from 0.
/// @throws InvalidInput when fewer than two patterns or a constant column make it undefined.
double frequency_spend_correlation(const SpendPatterns& patterns);

}  // namespace tierkit::clv

BOOST_CLASS_VERSION(tierkit::clv::RfmPatterns, 0)
BOOST_CLASS_VERSION(tierkit::clv::SpendPatterns, 0)
