#pragma once
/// @file summarize.hpp
/// Per-customer features from a transaction list: the RFM summary with the lifetimes
/// library's conventions (frequency, recency, T, monetary_value), plus the business
/// measures a score uses (revenue, orders, AOV, margin, trend, windowed aggregates).
///
/// Conventions (the same as lifetimes' `summary_data_from_transaction_data`):
/// - a transaction's date is mapped to a purchase period (day, week ending Sunday,
///   or calendar month); purchases in the same period are merged;
/// - frequency = distinct purchase periods - 1 (repeat periods);
/// - recency = (last period - first period) / freq_multiplier;
/// - T = (as_of period - first period) / freq_multiplier;
/// - monetary_value = mean of the merged spend of the repeat periods (0 when none).
/// Refunds (negative amounts) reduce revenue and margin but are not purchases: they
/// create no purchase period and do not enter monetary_value, orders or AOV.
/// Transactions dated after as_of are excluded and counted in the report.
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tierkit/core/table.hpp"

namespace tierkit {

/// Marks a missing time (numpy NaT) in a day column.
inline constexpr std::int64_t missing_day = std::numeric_limits<std::int64_t>::min();
/// Marks a missing customer id.
inline constexpr std::int64_t missing_id = std::numeric_limits<std::int64_t>::min();

/// The period within which purchases are merged.
enum class Period { day, week, month };

/// Parse "D"/"day", "W"/"week", "M"/"month". @throws InvalidInput otherwise.
Period parse_period(const std::string& text);

/// Transactions as columns. `day` counts ticks since 1970-01-01, ticks_per_day to a
/// day: whole days (numpy datetime64[D]) with the default 1, or a timestamp column
/// as it is (datetime64[ns]: 86,400,000,000,000), read as floor(tick / ticks_per_day)
/// once, at the start of summarize() and Summarizer::update(). missing_day (numpy's
/// NaT) is a missing date in either unit. margin and quantity are optional (empty span).
struct Transactions {
    std::span<const std::int64_t> customer;
    std::span<const std::int64_t> day;
    std::span<const double> amount;
    std::span<const double> margin;
    std::span<const double> quantity;
    std::int64_t ticks_per_day = 1;
};

struct SummarizeOptions {
    /// Observation end (day number); defaults to the last transaction's day.
    std::optional<std::int64_t> as_of;
    Period period = Period::day;
    /// recency and T are divided by this (lifetimes' freq_multiplier): 7 with daily
    /// periods measures them in weeks.
    double freq_multiplier = 1.0;
    /// trend = revenue over (as_of - w, as_of] / revenue over (as_of - 2w, as_of - w],
    /// w in days; 1 when both windows are empty (0/0: an idle customer, not a stable
    /// one; lifecycle stages read the trend only of active customers).
    int trend_window_days = 90;
    /// trend when the earlier window has no revenue and the latest has some, and the
    /// largest trend otherwise: every customer whose first purchase is in the latest
    /// window (a new one-time buyer too) gets it.
    double trend_cap = 10.0;
    /// revenue_<W>d and orders_<W>d over (as_of - W, as_of] for each W (days).
    std::vector<int> windows_days{30, 90, 365};
    /// false: a bad row throws InvalidInput naming it. true: it goes to the rejects.
    bool reject_invalid = false;
};

/// A transaction row or a customer that is not in the output, and why.
struct Reject {
    std::int64_t row;       ///< transaction row, or -1 for a customer-level reject
    std::int64_t customer;  ///< customer id (missing_id when the id itself is missing)
    std::string reason;
};

/// What happened to the input rows.
struct SummarizeReport {
    std::int64_t transactions = 0;        ///< input rows
    std::int64_t used = 0;                ///< rows that entered the features
    std::int64_t after_as_of = 0;         ///< rows dated after as_of (excluded)
    std::int64_t refunds = 0;             ///< rows with a negative amount (used)
    std::int64_t rejected_rows = 0;       ///< rows in the rejects
    std::int64_t customers = 0;           ///< customers in the output
    std::int64_t rejected_customers = 0;  ///< customers in the rejects
    std::int64_t as_of = 0;               ///< the as_of day used
};

struct Summary {
    FeatureTable features;  ///< one row per customer, sorted by id
    std::vector<Reject> rejects;
    SummarizeReport report;
};

/// Build the per-customer feature table (a Summarizer fed with one chunk).
///
/// Output columns: frequency, recency, T, monetary_value, days_since_last, orders,
/// revenue, aov, [margin], [quantity], first_purchase, last_purchase (day numbers),
/// active_periods, trend, revenue_<W>d and orders_<W>d for each window.
///
/// A customer with no purchase on or before as_of (only later rows, or only
/// refunds) is not in the features: it is in the rejects with the reason.
/// @throws InvalidInput when columns differ in length, or (unless reject_invalid) a
///   row has a missing id, a missing day, or a NaN/infinite amount, margin or
///   quantity; the message names the column and row.
Summary summarize(const Transactions& tx, const SummarizeOptions& options = {});

/// Streaming summarize: feed transactions in chunks (files, partitions), combine the
/// states of several workers, and finalize into the Summary that summarize() would
/// give on all rows at once (same features, rejects, reasons and report).
///
/// Row numbers: every update() numbers its rows after the rows already seen, so row
/// i of a chunk is row (transactions() + i) of the whole stream; merge() appends
/// `other`'s rows after this summarizer's (as if its chunks came next). Reject row
/// numbers and error messages use these global numbers.
///
/// State (memory): per customer the flags and sums that do not depend on as_of
/// (margin, quantity, rows after as_of), plus one cell per distinct day with a used
/// transaction (purchase sum, refund sum, purchase count); a day of one purchase and
/// no refund (most days) is kept as 16 bytes (slot, day, amount). Frequency counts distinct
/// purchase periods and the windows and trend are measured back from as_of, which by
/// default is only known at the end, so day cells are kept; their number is bounded by
/// the customer's active days, never by the number of transactions. Cells from later
/// chunks are appended and compacted (grouped by customer and day) whenever their
/// count doubles, and before finalize() and to_bytes().
///
/// Sums are double-double (about 106 bits, error-free TwoSum steps) and rounded to a
/// double at the end, so chunking and merge order do not change the result (barring an
/// exact sum within about 2^-100 relative of a rounding tie).
///
/// Not thread-safe: one Summarizer per worker, then merge().
class Summarizer {
public:
    /// @throws InvalidInput for a bad option (freq_multiplier, trend_window, windows).
    explicit Summarizer(SummarizeOptions options = {});

    /// Add a chunk. Validates the whole chunk first: on an exception the state is
    /// unchanged. margin/quantity must be given in every non-empty chunk or in none.
    /// @throws InvalidInput as summarize() does, naming the global row.
    void update(const Transactions& chunk);

    /// Add the state of another summarizer (same options) after this one's rows.
    /// Associative: (a+b)+c == a+(b+c). @throws InvalidInput when the options or the
    /// margin/quantity columns differ.
    Summarizer& merge(const Summarizer& other);

    /// Replace customer id k by to[k] for each id 0 <= k < to.size() (other ids stay):
    /// for hosts that code string ids per worker and merge into one code space.
    /// @throws InvalidInput when two customers would get the same id (state unchanged).
    void map_ids(std::span<const std::int64_t> to);

    /// The Summary of every row seen. The summarizer stays usable.
    Summary finalize() const;

    /// The state as bytes: tierkit's 32-byte envelope (core/envelope.hpp, content
    /// kind summarizer state), then a little-endian record.
    std::string to_bytes() const;
    /// Read to_bytes(), also in the older "TKSTATE" envelope.
    /// @throws FormatError naming what is wrong and the byte offset (bad magic,
    ///   version, length over max_state_bytes, checksum, truncated or inconsistent payload).
    static Summarizer from_bytes(std::string_view bytes);

    const SummarizeOptions& options() const noexcept { return options_; }
    std::int64_t transactions() const noexcept { return rows_; }                  ///< rows seen
    std::size_t customers() const noexcept { return ids_.size(); }                ///< distinct valid ids seen
    std::size_t cells() const noexcept { return cells_.size() + small_.size(); }  ///< day cells held
    /// Heap bytes the state holds (capacities of its arrays, reject texts): what streaming costs in memory, per
    /// customer about state_bytes() / customers().
    std::size_t state_bytes() const noexcept;

    /// Exact-enough sum: hi + lo with error-free accumulation (see the class notes).
    struct Sum {
        double hi = 0, lo = 0;
        void add(double x) noexcept {
            const double s = hi + x;
            const double bp = s - hi;
            lo += (hi - (s - bp)) + (x - bp);
            hi = s;
        }
        void add(const Sum& o) noexcept {
            add(o.hi);
            lo += o.lo;
        }
        double value() const noexcept { return hi + lo; }
    };
    /// One customer's used transactions on one day.
    struct Cell {
        std::uint32_t slot;  ///< customer slot (index into the ids seen)
        std::int64_t day;
        Sum gross;               ///< purchases (amount >= 0)
        Sum refund;              ///< refunds (amount < 0)
        std::int64_t purchases;  ///< purchase rows
    };

    /// A cell of one purchase row and no refund (most cells): 16 bytes for a Cell's 56.
    /// Cell{slot, day, {amount, 0}, {0, 0}, 1} exactly.
    struct SmallCell {
        std::uint32_t slot;
        std::int32_t day;
        double amount;
    };

private:
    void compact() const;
    void add_cell(const Cell& cell) const;
    /// The cells of `slot` in day order (compact state only); `scratch` may hold them.
    std::span<const Cell> cells_of(std::size_t slot, std::vector<Cell>& scratch) const;
    void add_slot(std::int64_t id);
    /// sorted_ids_ and by_id_ for every slot: sorted once when missing (after a first
    /// chunk, a load or map_ids); later chunks and merges merge into them.
    void index() const;
    /// The slots of `ids` (sorted, distinct), adding slots for new ids: a galloping
    /// search through the sorted ids, no table lookup per id.
    /// @throws InvalidInput past 2^32-1 customers (state unchanged).
    std::vector<std::uint32_t> slots_for(std::span<const std::int64_t> ids);

    SummarizeOptions options_;
    int has_margin_ = -1;  ///< -1: no non-empty chunk yet
    int has_quantity_ = -1;
    std::int64_t rows_ = 0, used_ = 0, after_ = 0, refunds_ = 0;
    std::int64_t max_day_ = std::numeric_limits<std::int64_t>::min();  ///< over valid rows
    std::vector<std::int64_t> ids_;                                    ///< slot -> customer id
    mutable std::vector<std::int64_t> sorted_ids_;                     ///< the ids in increasing order
    mutable std::vector<std::uint32_t> by_id_;                         ///< the slot of each sorted id
    std::vector<std::int64_t> after_of_;                               ///< per slot: rows after as_of
    std::vector<Sum> margin_, quantity_;                               ///< per slot, when the columns are given
    std::vector<Reject> row_rejects_;
    // A slot's day cells are its SmallCells and its Cells together (one per day when
    // compact, each list in day order); a cell goes to small_ when it fits.
    mutable std::vector<Cell> cells_;
    mutable std::vector<std::size_t> cell_start_;  ///< per slot + 1 when compact
    mutable std::vector<SmallCell> small_;
    mutable std::vector<std::size_t> small_start_;  ///< per slot + 1 when compact
    mutable bool compact_ = true;
    mutable std::size_t compacted_size_ = 0;
};

/// Largest state payload Summarizer::from_bytes accepts (64 GiB).
inline constexpr std::uint64_t max_state_bytes = 1ULL << 36;

/// Day number -> (year, month 1..12, day 1..31) and back (proleptic Gregorian).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) noexcept;
std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept;

/// Period index of a day: the day itself, the week (weeks end on Sunday, like
/// pandas' "W"), or months since 1970-01.
std::int64_t period_of(std::int64_t day, Period period) noexcept;

}  // namespace tierkit
