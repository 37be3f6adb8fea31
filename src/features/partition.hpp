#pragma once
// A chunk of transactions checked row by row and grouped by customer (private to
// src/features/): the radix partition summarize() and Summarizer::update() share.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "tierkit/features/summarize.hpp"

namespace tierkit::summarize_detail {

using Sum = Summarizer::Sum;
using Cell = Summarizer::Cell;

/// Sets the margin/quantity presence on the first non-empty input; later ones must agree.
void check_presence(int& known, bool given, const char* column);

/// Columns of one length (the customer column's), and at most 2^32-2 rows.
/// @throws InvalidInput naming the column.
void check_lengths(const Transactions& tx);

/// A transaction row with a customer id, as the radix partition moves it.
struct Record {
    std::int64_t id;
    std::int64_t day;
    double amount;
    std::uint32_t row;   ///< row in the chunk
    std::uint32_t kind;  ///< Partitioned::used, after (dated after as_of) or rejected
};

/// A chunk checked row by row, and its rows with an id grouped by customer: a radix
/// partition on the high bits of (id - lo) into cache-sized partitions (stable, so a
/// partition keeps row order), then an LSD radix sort of each partition on the low
/// bits. Partitions follow each other in id order, so the customers come out sorted
/// by id with each customer's rows in row order; no step looks an id up in a table
/// of all customers. Rows are numbered from `base`. The grouping does not depend on
/// the thread count.
struct Partitioned {
    enum : std::uint32_t { used = 0, after = 1, rejected = 2 };
    std::vector<Reject> rejects;
    std::int64_t max_day = std::numeric_limits<std::int64_t>::min();  ///< over valid rows
    std::int64_t used_rows = 0, after_total = 0;
    std::vector<Record> records;          ///< grouped by customer, customers in id order
    std::vector<std::size_t> part_start;  ///< per partition + 1: its records
    std::vector<std::size_t> cust_start;  ///< per partition + 1: customers before it
    /// Rows already grouped by id in increasing order, every id present: `records` stay
    /// empty and record k is row k of the chunk (partitions are row blocks).
    bool in_place = false;
    std::vector<std::uint8_t> bad;  ///< per row when some row is rejected (in place)
    std::int64_t cutoff = 0;
    std::size_t customers() const noexcept { return cust_start.empty() ? 0 : cust_start.back(); }
    /// Record k.
    Record at(const Transactions& tx, std::size_t k) const noexcept {
        if (!in_place) return records[k];
        const std::int64_t day = tx.day[k];
        const std::uint32_t kind = !bad.empty() && bad[k] ? rejected : day > cutoff ? after : used;
        return Record{tx.customer[k], day, tx.amount[k], static_cast<std::uint32_t>(k), kind};
    }
};

/// Checks every row of `tx` (numbered from `base`) and groups the rows with an id by
/// customer. @throws InvalidInput naming the first bad row unless
/// options.reject_invalid (then bad rows are in the rejects).
Partitioned partition_rows(const Transactions& tx, const SummarizeOptions& options, std::int64_t base);

/// The chunk's customer ids in increasing order.
std::vector<std::int64_t> customer_ids(const Partitioned& g, const Transactions& tx);

/// Per customer c in [first, last) of the chunk (in id order), its used rows merged into
/// day cells in `cells` (day order; a day's rows in row order; slot = c) with its margin
/// and quantity sums, refund count and rows after as_of:
/// f(c, id, cells, margin, quantity, refunds, after). Cells are empty for a customer
/// with no used row.
template <class F>
void for_each_customer(const Partitioned& g, const Transactions& tx, std::vector<Cell>& cells, std::size_t first,
                       std::size_t last, F&& f) {
    if (first >= last) return;
    const bool has_margin = !tx.margin.empty(), has_quantity = !tx.quantity.empty();
    // The partition holding customer `first`, and that customer's first record.
    std::size_t p = static_cast<std::size_t>(std::upper_bound(g.cust_start.begin(), g.cust_start.end(), first) -
                                             g.cust_start.begin()) -
                    1;
    std::size_t at = g.part_start[p];
    for (std::size_t skip = first - g.cust_start[p]; skip > 0; --skip) {
        const std::int64_t id = g.at(tx, at).id;
        while (at < g.part_start[p + 1] && g.at(tx, at).id == id) ++at;
    }
    std::vector<Record> scratch;
    for (std::size_t c = first; c < last; ++c) {
        while (at == g.part_start[p + 1]) ++p;  // partitions without customers
        const std::int64_t id = g.at(tx, at).id;
        std::size_t end = at + 1;
        while (end < g.part_start[p + 1] && g.at(tx, end).id == id) ++end;
        // The used rows in day order (a day's rows in row order): usually they already are.
        std::int64_t after = 0;
        bool plain = !g.in_place;
        std::int64_t prev_day = std::numeric_limits<std::int64_t>::min();
        for (std::size_t k = at; plain && k < end; ++k) {
            const Record& x = g.records[k];
            plain = x.kind == Partitioned::used && prev_day <= x.day;
            prev_day = x.day;
        }
        std::span<const Record> rows;
        if (plain) {
            rows = std::span<const Record>(g.records.data() + at, end - at);
        } else {
            scratch.clear();
            for (std::size_t k = at; k < end; ++k) {
                const Record x = g.at(tx, k);
                after += x.kind == Partitioned::after;
                if (x.kind == Partitioned::used) scratch.push_back(x);
            }
            if (!std::is_sorted(scratch.begin(), scratch.end(),
                                [](const Record& a, const Record& b) { return a.day < b.day; }))
                std::stable_sort(scratch.begin(), scratch.end(),
                                 [](const Record& a, const Record& b) { return a.day < b.day; });
            rows = scratch;
        }
        at = end;
        cells.clear();
        Sum margin, quantity;
        std::int64_t refunds = 0;
        bool first_row = true;
        for (const Record& x : rows) {
            const double a = x.amount;
            const bool refund = a < 0;  // a refund is not a purchase
            refunds += refund;
            if (cells.empty() || cells.back().day != x.day) {
                // {a, 0} is exactly Sum{} after add(a): most cells hold one row.
                cells.push_back(Cell{static_cast<std::uint32_t>(c), x.day, Sum{refund ? 0.0 : a, 0.0},
                                     Sum{refund ? a : 0.0, 0.0}, refund ? 0 : 1});
            } else {
                Cell& cell = cells.back();
                if (refund) {
                    cell.refund.add(a);
                } else {
                    cell.gross.add(a);
                    ++cell.purchases;
                }
            }
            if (first_row) {
                first_row = false;
                if (has_margin) margin.hi = tx.margin[x.row];
                if (has_quantity) quantity.hi = tx.quantity[x.row];
                continue;
            }
            if (has_margin) margin.add(tx.margin[x.row]);
            if (has_quantity) quantity.add(tx.quantity[x.row]);
        }
        f(c, id, std::span<const Cell>(cells), margin, quantity, refunds, after);
    }
}

}  // namespace tierkit::summarize_detail
