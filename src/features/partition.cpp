// The radix partition of a chunk of transactions by customer (see partition.hpp).
#include "features/partition.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "tierkit/core/day_ticks.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit::summarize_detail {

void check_presence(int& known, bool given, const char* column) {
    if (known < 0) {
        known = given ? 1 : 0;
        return;
    }
    if (known != static_cast<int>(given))
        throw InvalidInput(std::string("column '") + column + "': " + (given ? "given" : "missing") + " here but " +
                           (known ? "given" : "missing") + " in the earlier transactions");
}

void check_lengths(const Transactions& tx) {
    const std::size_t n = tx.customer.size();
    auto check_len = [n](std::size_t len, const char* name) {
        if (len != n)
            throw InvalidInput(std::string("column '") + name + "': expected " + std::to_string(n) +
                               " rows (as the customer column), got " + std::to_string(len));
    };
    check_len(tx.day.size(), "date");
    check_len(tx.amount.size(), "amount");
    if (!tx.margin.empty()) check_len(tx.margin.size(), "margin");
    if (!tx.quantity.empty()) check_len(tx.quantity.size(), "quantity");
    if (n >= std::numeric_limits<std::uint32_t>::max())
        throw InvalidInput("transactions: at most 2^32-2 rows per chunk, got " + std::to_string(n));
}

Transactions in_days(const Transactions& tx, std::vector<std::int64_t>& days) {
    if (tx.ticks_per_day == 1) return tx;
    days.resize(tx.day.size());
    day_numbers_from_ticks(tx.day, tx.ticks_per_day, missing_day, std::span<std::int64_t>(days), "date");
    Transactions out = tx;
    out.day = days;
    out.ticks_per_day = 1;
    return out;
}

namespace {

/// The ids' range and order, from check_rows().
struct IdRange {
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    bool sorted = true;                                               ///< non-decreasing, and no id missing
    std::int64_t min_day = std::numeric_limits<std::int64_t>::max();  ///< over valid rows
};

/// Checks every row; returns the per-row rejected flags (empty when every row is valid).
/// @throws InvalidInput naming the first bad row unless options.reject_invalid.
std::vector<std::uint8_t> check_rows(const Transactions& tx, const SummarizeOptions& options, std::int64_t base,
                                     Partitioned& g, IdRange& ids) {
    const std::size_t n = tx.customer.size();
    const bool has_margin = !tx.margin.empty(), has_quantity = !tx.quantity.empty();
    // Fast pass over fixed row ranges: whether any row is bad, the last valid day, the
    // ids' range and whether they are sorted (each combine is order-free).
    constexpr std::size_t grain = std::size_t{1} << 18;
    const std::size_t ranges = std::max<std::size_t>(1, std::min<std::size_t>(num_threads(), (n + grain - 1) / grain));
    struct Scan {
        bool any_bad = false;
        std::int64_t max_day = std::numeric_limits<std::int64_t>::min();
        std::int64_t min_day = std::numeric_limits<std::int64_t>::max();
        IdRange ids;
    };
    std::vector<Scan> scans(ranges);
    fork_join(static_cast<unsigned>(ranges), [&](unsigned r) {
        Scan sc;
        std::int64_t prev = std::numeric_limits<std::int64_t>::min();
        for (std::size_t i = n * r / ranges, end = n * (r + 1) / ranges; i < end; ++i) {
            const std::int64_t id = tx.customer[i];
            bool ok = id != missing_id && tx.day[i] != missing_day && std::isfinite(tx.amount[i]);
            if (has_margin) ok = ok && std::isfinite(tx.margin[i]);
            if (has_quantity) ok = ok && std::isfinite(tx.quantity[i]);
            sc.any_bad |= !ok;
            sc.max_day = std::max(sc.max_day, ok ? tx.day[i] : sc.max_day);
            sc.min_day = std::min(sc.min_day, ok ? tx.day[i] : sc.min_day);
            sc.ids.sorted = sc.ids.sorted && id != missing_id && id >= prev;
            prev = id;
            if (id == missing_id) continue;
            sc.ids.lo = std::min(sc.ids.lo, id);
            sc.ids.hi = std::max(sc.ids.hi, id);
        }
        scans[r] = sc;
    });
    bool any_bad = false;
    std::int64_t max_day = std::numeric_limits<std::int64_t>::min();
    for (std::size_t r = 0; r < ranges; ++r) {
        const Scan& sc = scans[r];
        any_bad |= sc.any_bad;
        max_day = std::max(max_day, sc.max_day);
        ids.min_day = std::min(ids.min_day, sc.min_day);
        ids.sorted = ids.sorted && sc.ids.sorted &&
                     (r == 0 || n * r / ranges == n * (r + 1) / ranges ||
                      tx.customer[n * r / ranges - 1] <= tx.customer[n * r / ranges]);
        ids.lo = std::min(ids.lo, sc.ids.lo);
        ids.hi = std::max(ids.hi, sc.ids.hi);
    }
    g.max_day = max_day;
    std::vector<std::uint8_t> bad;
    if (!any_bad) return bad;
    bad.assign(n, 0);
    auto reject_row = [&](std::size_t i, std::string reason) {
        const std::int64_t row = base + static_cast<std::int64_t>(i);
        if (!options.reject_invalid) throw InvalidInput("row " + std::to_string(row) + ": " + reason);
        bad[i] = 1;
        g.rejects.push_back(Reject{row, tx.customer[i], std::move(reason)});
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (tx.customer[i] == missing_id) {
            reject_row(i, "column 'customer': id is missing");
            continue;
        }
        if (tx.day[i] == missing_day) {
            reject_row(i, "column 'date': date is missing");
            continue;
        }
        if (!std::isfinite(tx.amount[i])) {
            reject_row(i, "column 'amount': must be a finite number, got " + std::to_string(tx.amount[i]));
            continue;
        }
        if (has_margin && !std::isfinite(tx.margin[i])) {
            reject_row(i, "column 'margin': must be a finite number, got " + std::to_string(tx.margin[i]));
            continue;
        }
        if (has_quantity && !std::isfinite(tx.quantity[i])) {
            reject_row(i, "column 'quantity': must be a finite number, got " + std::to_string(tx.quantity[i]));
            continue;
        }
    }
    return bad;
}

/// Stable LSD radix sort of `r` by the low `bits` bits of key_of(record), through `tmp`.
template <class R, class KeyOf>
void sort_by_key(std::span<R> r, std::vector<R>& tmp, KeyOf key_of, int bits) {
    if (r.size() < 2 || bits <= 0 ||
        std::is_sorted(r.begin(), r.end(), [&](const R& a, const R& b) { return key_of(a) < key_of(b); }))
        return;
    if (r.size() <= 32) {  // insertion sort: stable, and cheaper for a handful of rows
        for (std::size_t i = 1; i < r.size(); ++i) {
            const R x = r[i];
            std::size_t j = i;
            for (; j > 0 && key_of(r[j - 1]) > key_of(x); --j) r[j] = r[j - 1];
            r[j] = x;
        }
        return;
    }
    tmp.resize(r.size());
    // As few passes as 12-bit digits allow, with digits of equal width (at most 32 KiB
    // of counters).
    const int passes = (bits + 11) / 12;
    const int digit = (bits + passes - 1) / passes;
    const std::uint64_t mask = (std::uint64_t{1} << digit) - 1;
    std::span<R> from = r, to(tmp.data(), r.size());
    std::vector<std::size_t> count(std::size_t{1} << digit);
    for (int shift = 0; shift < bits; shift += digit) {
        std::fill(count.begin(), count.end(), std::size_t{0});
        auto key = [&](const R& x) { return static_cast<std::size_t>((key_of(x) >> shift) & mask); };
        for (const R& x : from) ++count[key(x)];
        std::size_t sum = 0, nonzero = 0;
        for (auto& c : count) {
            nonzero += c != 0;
            const std::size_t v = c;
            c = sum;
            sum += v;
        }
        if (nonzero == 1) continue;  // one digit value: the order stays
        for (const R& x : from) to[count[key(x)]++] = x;
        std::swap(from, to);
    }
    if (from.data() != r.data()) std::copy(from.begin(), from.end(), r.begin());
}

/// Sorts each partition of `records` by key_of (the low `bits` bits) and counts its
/// customers (distinct keys) into g.cust_start.
template <class R, class KeyOf>
void sort_partitions(Partitioned& g, std::vector<R>& records, KeyOf key_of, int bits) {
    const std::size_t parts = g.part_start.size() - 1;
    std::vector<std::size_t> customers(parts, 0);
    const std::size_t tasks = std::min<std::size_t>(parts, 64);
    fork_join(static_cast<unsigned>(tasks), [&](unsigned t) {
        std::vector<R> tmp;
        for (std::size_t p = parts * t / tasks, end = parts * (t + 1) / tasks; p < end; ++p) {
            std::span<R> r(records.data() + g.part_start[p], g.part_start[p + 1] - g.part_start[p]);
            sort_by_key(r, tmp, key_of, bits);
            std::size_t c = 0;
            for (std::size_t k = 0; k < r.size(); ++k) c += k == 0 || key_of(r[k]) != key_of(r[k - 1]);
            customers[p] = c;
        }
    });
    g.cust_start.assign(parts + 1, 0);
    for (std::size_t p = 0; p < parts; ++p) g.cust_start[p + 1] = g.cust_start[p] + customers[p];
}

/// Rows already sorted by id: blocks of about 2^16 rows that end at a customer's
/// last row serve as partitions, without moving any row.
Partitioned grouped_in_place(const Transactions& tx, std::vector<std::uint8_t> bad, Partitioned g) {
    const std::size_t n = tx.customer.size();
    g.in_place = true;
    g.bad = std::move(bad);
    constexpr std::size_t block = std::size_t{1} << 16;
    g.part_start.assign(1, 0);
    g.cust_start.assign(1, 0);
    std::size_t customers = 0;
    for (std::size_t i = 0; i < n; ++i) {
        customers += i == 0 || tx.customer[i] != tx.customer[i - 1];
        if (i + 1 == n || (i + 1 - g.part_start.back() >= block && tx.customer[i + 1] != tx.customer[i])) {
            g.part_start.push_back(i + 1);
            g.cust_start.push_back(customers);
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (!g.bad.empty() && g.bad[i]) continue;
        if (tx.day[i] > g.cutoff)
            ++g.after_total;
        else
            ++g.used_rows;
    }
    return g;
}

}  // namespace

Partitioned partition_rows(const Transactions& tx, const SummarizeOptions& options, std::int64_t base) {
    const std::size_t n = tx.customer.size();
    Partitioned g;
    IdRange ids;
    std::vector<std::uint8_t> bad = check_rows(tx, options, base, g, ids);
    // Without an as_of nothing is after it: as_of is the last day of all rows.
    const std::int64_t cutoff = options.as_of ? *options.as_of : std::numeric_limits<std::int64_t>::max();
    g.cutoff = cutoff;
    if (ids.sorted && n > 0) return grouped_in_place(tx, std::move(bad), std::move(g));

    const std::int64_t lo = ids.lo, hi = ids.hi;
    if (lo > hi) {  // no row has an id
        g.part_start.assign(2, 0);
        g.cust_start.assign(2, 0);
        return g;
    }
    const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    const int bits = std::bit_width(range);
    // About 2^14 records (512 KiB, within a core's L2) per partition, at most 2^10
    // partitions (so the scatter writes to few streams).
    const int part_bits = std::min({bits, 10, static_cast<int>(std::bit_width(n >> 14))});
    const int skip = bits - part_bits;
    const std::size_t parts = std::size_t{1} << part_bits;
    const auto ulo = static_cast<std::uint64_t>(lo);
    auto part_of = [&](std::int64_t id) {
        return part_bits == 0 ? std::size_t{0}
                              : static_cast<std::size_t>((static_cast<std::uint64_t>(id) - ulo) >> skip);
    };

    // Histograms per fixed row range, then a stable scatter (ranges in row order).
    constexpr std::size_t grain = std::size_t{1} << 18;
    const std::size_t ranges = std::max<std::size_t>(1, std::min<std::size_t>(num_threads(), (n + grain - 1) / grain));
    std::vector<std::vector<std::size_t>> fill(ranges, std::vector<std::size_t>(parts, 0));
    std::vector<std::int64_t> after(ranges, 0), used(ranges, 0);
    fork_join(static_cast<unsigned>(ranges), [&](unsigned r) {
        auto& count = fill[r];
        for (std::size_t i = n * r / ranges, end = n * (r + 1) / ranges; i < end; ++i)
            if (tx.customer[i] != missing_id) ++count[part_of(tx.customer[i])];
    });
    g.part_start.assign(parts + 1, 0);
    std::size_t total = 0;
    for (std::size_t p = 0; p < parts; ++p) {
        g.part_start[p] = total;
        for (std::size_t r = 0; r < ranges; ++r) {
            const std::size_t c = fill[r][p];
            fill[r][p] = total;
            total += c;
        }
    }
    g.part_start[parts] = total;
    // Narrow records (16 bytes for 32) when nothing needs the row and the keys and
    // days fit: the same grouping, half the memory traffic.
    g.is_narrow = tx.margin.empty() && tx.quantity.empty() && skip <= 32 && ids.min_day > narrow_rejected &&
                  g.max_day <= std::numeric_limits<std::int32_t>::max();
    g.lo = ulo;
    g.skip = skip;
    const std::uint64_t key_mask = skip == 0 ? 0 : (~std::uint64_t{0} >> (64 - skip));
    if (g.is_narrow)
        g.narrow.resize(total);
    else
        g.records.resize(total);
    fork_join(static_cast<unsigned>(ranges), [&](unsigned r) {
        auto& at = fill[r];
        Record* out = g.records.data();
        NarrowRecord* narrow = g.narrow.data();
        std::int64_t n_after = 0, n_used = 0;
        for (std::size_t i = n * r / ranges, end = n * (r + 1) / ranges; i < end; ++i) {
            const std::int64_t id = tx.customer[i];
            if (id == missing_id) continue;
            const std::int64_t day = tx.day[i];
            std::uint32_t kind = Partitioned::used;
            if (!bad.empty() && bad[i])
                kind = Partitioned::rejected;
            else if (day > cutoff)
                kind = Partitioned::after;
            n_after += kind == Partitioned::after;
            n_used += kind == Partitioned::used;
            const std::size_t to = at[part_of(id)]++;
            if (narrow != nullptr)
                narrow[to] = NarrowRecord{
                    static_cast<std::uint32_t>((static_cast<std::uint64_t>(id) - ulo) & key_mask),
                    kind == Partitioned::rejected ? narrow_rejected : static_cast<std::int32_t>(day), tx.amount[i]};
            else
                out[to] = Record{id, day, tx.amount[i], static_cast<std::uint32_t>(i), kind};
        }
        after[r] = n_after;
        used[r] = n_used;
    });
    for (std::size_t r = 0; r < ranges; ++r) {
        g.after_total += after[r];
        g.used_rows += used[r];
    }
    fill.clear();

    // Sort each partition by id; count its customers.
    if (g.is_narrow)
        sort_partitions(
            g, g.narrow, [](const NarrowRecord& x) { return std::uint64_t{x.key}; }, skip);
    else
        sort_partitions(
            g, g.records, [ulo](const Record& x) { return static_cast<std::uint64_t>(x.id) - ulo; }, skip);
    return g;
}

std::vector<std::int64_t> customer_ids(const Partitioned& g, const Transactions& tx) {
    std::vector<std::int64_t> ids;
    ids.reserve(g.customers());
    for (std::size_t p = 0; p + 1 < g.part_start.size(); ++p)
        for (std::size_t k = g.part_start[p]; k < g.part_start[p + 1]; ++k) {
            const std::int64_t id = g.id_at(tx, p, k);
            if (k == g.part_start[p] || id != ids.back()) ids.push_back(id);
        }
    return ids;
}

}  // namespace tierkit::summarize_detail
