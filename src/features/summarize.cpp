// Per-customer features from transactions: the calendar (periods), and summarize(),
// the one pass from a chunk of transactions to the feature table. See
// include/tierkit/features/summarize.hpp for the conventions; partition.cpp groups
// the rows by customer, feature_table.cpp computes each customer's features.
#include "tierkit/features/summarize.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "features/feature_table.hpp"
#include "features/partition.hpp"
#include "tierkit/core/error.hpp"

namespace tierkit {

Period parse_period(const std::string& text) {
    if (text == "D" || text == "day") return Period::day;
    if (text == "W" || text == "week") return Period::week;
    if (text == "M" || text == "month") return Period::month;
    throw InvalidInput("freq: expected one of D, W, M (day, week, month), got '" + text + "'");
}

// Howard Hinnant's civil-date algorithms (public domain).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

std::int64_t period_of(std::int64_t day, Period period) noexcept {
    switch (period) {
        case Period::day:
            return day;
        case Period::week: {
            // 1970-01-01 is a Thursday; weeks run Monday..Sunday (pandas "W" = "W-SUN").
            const std::int64_t shifted = day + 3;
            return shifted >= 0 ? shifted / 7 : -((-shifted + 6) / 7);
        }
        case Period::month: {
            int y;
            unsigned m, d;
            civil_from_days(day, y, m, d);
            return static_cast<std::int64_t>(y - 1970) * 12 + static_cast<std::int64_t>(m) - 1;
        }
    }
    return day;
}

using summarize_detail::build_features;
using summarize_detail::Cell;
using summarize_detail::check_lengths;
using summarize_detail::count_customers;
using summarize_detail::FeatureBuilder;
using summarize_detail::fill_report;
using summarize_detail::for_each_customer;
using summarize_detail::in_days;
using summarize_detail::partition_rows;
using summarize_detail::Partitioned;
using summarize_detail::Sum;

// The same steps as Summarizer(options).update(tx).finalize(), without keeping the
// day cells: each customer's cells go straight into the features.
Summary summarize(const Transactions& input, const SummarizeOptions& options) {
    const Summarizer checked(options);  // option checks
    check_lengths(input);
    std::vector<std::int64_t> days;
    const Transactions tx = in_days(input, days);
    Partitioned g = partition_rows(tx, options, 0);
    Summary result;
    SummarizeReport& report = result.report;
    report.transactions = static_cast<std::int64_t>(tx.customer.size());
    report.used = g.used_rows;
    report.after_as_of = g.after_total;
    report.rejected_rows = static_cast<std::int64_t>(g.rejects.size());
    result.rejects = std::move(g.rejects);
    const std::int64_t as_of = fill_report(report, options, g.max_day);
    report.refunds = build_features(
        options, as_of, !tx.margin.empty(), !tx.quantity.empty(), g.customers(), result,
        [&](std::size_t begin, std::size_t end, FeatureBuilder& build) {
            std::vector<Cell> scratch;
            std::int64_t refunds = 0;
            for_each_customer(g, tx, scratch, begin, end,
                              [&](std::size_t, std::int64_t id, std::span<const Cell> cells, const Sum& margin,
                                  const Sum& quantity, std::int64_t customer_refunds, std::int64_t after) {
                                  refunds += customer_refunds;
                                  build.add(id, cells, margin, quantity, after);
                              });
            return refunds;
        });
    count_customers(result);
    return result;
}

}  // namespace tierkit
