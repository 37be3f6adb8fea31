#pragma once
// A chunk of transactions checked row by row and grouped by customer (private to
// src/features/): the radix partition summarize() and Summarizer::update() share.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
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

/// tx with its dates as whole days: tx itself when ticks_per_day is 1, otherwise tx
/// viewing `days`, filled with floor(tick / ticks_per_day) (missing_day stays missing).
/// @throws InvalidInput when ticks_per_day < 1.
Transactions in_days(const Transactions& tx, std::vector<std::int64_t>& days);

/// A transaction row with a customer id, as the radix partition moves it (and as
/// for_each_customer reads it).
struct Record {
    std::int64_t id;
    std::int64_t day;
    double amount;
    std::uint32_t row;   ///< row in the chunk
    std::uint32_t kind;  ///< Partitioned::used, after (dated after as_of) or rejected
};

/// A Record in half the bytes, for chunks without margin and quantity (no row to
/// look them up), whose ids span at most 2^32 values per partition and whose valid
/// days fit in an int32: the id is lo + (partition << skip) + key, a row is after
/// as_of when its day is, and a rejected row has the day `narrow_rejected`.
struct NarrowRecord {
    std::uint32_t key;  ///< low `skip` bits of (id - lo)
    std::int32_t day;
    double amount;
};
inline constexpr std::int32_t narrow_rejected = std::numeric_limits<std::int32_t>::min();

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
    std::vector<Record> records;       ///< grouped by customer, customers in id order
    std::vector<NarrowRecord> narrow;  ///< instead of `records` when every row fits one
    bool is_narrow = false;
    std::uint64_t lo = 0;                 ///< the smallest id (as unsigned), when narrow
    int skip = 0;                         ///< bits of (id - lo) below the partition's, when narrow
    std::vector<std::size_t> part_start;  ///< per partition + 1: its records
    std::vector<std::size_t> cust_start;  ///< per partition + 1: customers before it
    /// Rows already grouped by id in increasing order, every id present: `records` stay
    /// empty and record k is row k of the chunk (partitions are row blocks).
    bool in_place = false;
    std::vector<std::uint8_t> bad;  ///< per row when some row is rejected (in place)
    std::int64_t cutoff = 0;
    std::size_t customers() const noexcept { return cust_start.empty() ? 0 : cust_start.back(); }
    /// The id of record k of partition p.
    std::int64_t id_at(const Transactions& tx, std::size_t p, std::size_t k) const noexcept {
        if (in_place) return tx.customer[k];
        if (!is_narrow) return records[k].id;
        return static_cast<std::int64_t>(lo + (static_cast<std::uint64_t>(p) << skip) + narrow[k].key);
    }
    /// Record k of partition p (row is 0 in a narrow record: nothing reads it).
    Record at(const Transactions& tx, std::size_t p, std::size_t k) const noexcept {
        if (is_narrow) {
            const NarrowRecord& x = narrow[k];
            const std::uint32_t kind = x.day == narrow_rejected ? rejected : x.day > cutoff ? after : used;
            return Record{id_at(tx, p, k), x.day, x.amount, 0, kind};
        }
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
        const std::int64_t id = g.id_at(tx, p, at);
        while (at < g.part_start[p + 1] && g.id_at(tx, p, at) == id) ++at;
    }
    std::vector<Record> scratch;
    for (std::size_t c = first; c < last; ++c) {
        while (at == g.part_start[p + 1]) ++p;  // partitions without customers
        const std::int64_t id = g.id_at(tx, p, at);
        std::size_t end = at + 1;
        while (end < g.part_start[p + 1] && g.id_at(tx, p, end) == id) ++end;
        // The cells of the used rows, in day order (a day's rows in row order).
        cells.clear();
        Sum margin, quantity;
        std::int64_t refunds = 0;
        auto add_rows = [&](auto rows) {
            bool first_row = true;
            for (const auto& x : rows) {
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
                if constexpr (std::is_same_v<std::decay_t<decltype(x)>, Record>) {  // narrow: no margin, quantity
                    if (first_row) {
                        first_row = false;
                        if (has_margin) margin.hi = tx.margin[x.row];
                        if (has_quantity) quantity.hi = tx.quantity[x.row];
                        continue;
                    }
                    if (has_margin) margin.add(tx.margin[x.row]);
                    if (has_quantity) quantity.add(tx.quantity[x.row]);
                }
            }
        };
        // Usually a customer's rows are all used and already in day order: read in place.
        std::int64_t after = 0;
        bool plain = !g.in_place;
        std::int64_t prev_day = std::numeric_limits<std::int64_t>::min();
        if (g.is_narrow) {
            for (std::size_t k = at; plain && k < end; ++k) {
                const NarrowRecord& x = g.narrow[k];
                plain = x.day != narrow_rejected && x.day <= g.cutoff && prev_day <= x.day;
                prev_day = x.day;
            }
        } else {
            for (std::size_t k = at; plain && k < end; ++k) {
                const Record& x = g.records[k];
                plain = x.kind == Partitioned::used && prev_day <= x.day;
                prev_day = x.day;
            }
        }
        if (plain && g.is_narrow) {
            add_rows(std::span<const NarrowRecord>(g.narrow.data() + at, end - at));
        } else if (plain) {
            add_rows(std::span<const Record>(g.records.data() + at, end - at));
        } else {
            scratch.clear();
            for (std::size_t k = at; k < end; ++k) {
                const Record x = g.at(tx, p, k);
                after += x.kind == Partitioned::after;
                if (x.kind == Partitioned::used) scratch.push_back(x);
            }
            if (!std::is_sorted(scratch.begin(), scratch.end(),
                                [](const Record& a, const Record& b) { return a.day < b.day; }))
                std::stable_sort(scratch.begin(), scratch.end(),
                                 [](const Record& a, const Record& b) { return a.day < b.day; });
            add_rows(std::span<const Record>(scratch));
        }
        at = end;
        f(c, id, std::span<const Cell>(cells), margin, quantity, refunds, after);
    }
}

}  // namespace tierkit::summarize_detail
