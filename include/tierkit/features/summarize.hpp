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
#include <vector>

#include "tierkit/table.hpp"

namespace tierkit {

/// Marks a missing time (numpy NaT) in a day column.
inline constexpr std::int64_t missing_day = std::numeric_limits<std::int64_t>::min();
/// Marks a missing customer id.
inline constexpr std::int64_t missing_id = std::numeric_limits<std::int64_t>::min();

/// The period within which purchases are merged.
enum class Period { day, week, month };

/// Parse "D"/"day", "W"/"week", "M"/"month". @throws InvalidInput otherwise.
Period parse_period(const std::string& text);

/// Transactions as columns. Days are whole days since 1970-01-01 (numpy
/// datetime64[D]). margin and quantity are optional (empty span).
struct Transactions {
    std::span<const std::int64_t> customer;
    std::span<const std::int64_t> day;
    std::span<const double> amount;
    std::span<const double> margin;
    std::span<const double> quantity;
};

struct SummarizeOptions {
    /// Observation end (day number); defaults to the last transaction's day.
    std::optional<std::int64_t> as_of;
    Period period = Period::day;
    /// recency and T are divided by this (lifetimes' freq_multiplier): 7 with daily
    /// periods measures them in weeks.
    double freq_multiplier = 1.0;
    /// trend = revenue over (as_of - w, as_of] / revenue over (as_of - 2w, as_of - w],
    /// w in days.
    int trend_window_days = 90;
    /// Cap of trend when the earlier window has no revenue and the latest has some.
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
    std::int64_t transactions = 0;      ///< input rows
    std::int64_t used = 0;              ///< rows that entered the features
    std::int64_t after_as_of = 0;       ///< rows dated after as_of (excluded)
    std::int64_t refunds = 0;           ///< rows with a negative amount (used)
    std::int64_t rejected_rows = 0;     ///< rows in the rejects
    std::int64_t customers = 0;         ///< customers in the output
    std::int64_t rejected_customers = 0;///< customers in the rejects
    std::int64_t as_of = 0;             ///< the as_of day used
};

struct Summary {
    FeatureTable features;   ///< one row per customer, sorted by id
    std::vector<Reject> rejects;
    SummarizeReport report;
};

/// Build the per-customer feature table.
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

/// Day number -> (year, month 1..12, day 1..31) and back (proleptic Gregorian).
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) noexcept;
std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept;

/// Period index of a day: the day itself, the week (weeks end on Sunday, like
/// pandas' "W"), or months since 1970-01.
std::int64_t period_of(std::int64_t day, Period period) noexcept;

}  // namespace tierkit
