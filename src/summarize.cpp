// Per-customer features from transactions. See include/tierkit/features/summarize.hpp
// for the conventions; this file is the single pass that computes them.
#include "tierkit/features/summarize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "tierkit/core/envelope.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/core/parallel.hpp"

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

Summarizer::Summarizer(SummarizeOptions options) : options_(std::move(options)) {
    if (!(options_.freq_multiplier > 0) || !std::isfinite(options_.freq_multiplier))
        throw InvalidInput("freq_multiplier: must be > 0, got " + std::to_string(options_.freq_multiplier));
    if (options_.trend_window_days <= 0)
        throw InvalidInput("trend_window: must be > 0 days, got " + std::to_string(options_.trend_window_days));
    for (std::size_t k = 0; k < options_.windows_days.size(); ++k)
        if (options_.windows_days[k] <= 0)
            throw InvalidInput("windows[" + std::to_string(k) + "]: must be > 0 days, got " +
                               std::to_string(options_.windows_days[k]));
}

void Summarizer::add_slot(std::int64_t id) {
    ids_.push_back(id);
    after_of_.push_back(0);
    if (has_margin_ == 1) margin_.emplace_back();
    if (has_quantity_ == 1) quantity_.emplace_back();
}

void Summarizer::index() const {
    if (by_id_.size() == ids_.size()) return;
    by_id_.resize(ids_.size());
    std::iota(by_id_.begin(), by_id_.end(), 0u);
    if (!std::is_sorted(ids_.begin(), ids_.end()))
        std::sort(by_id_.begin(), by_id_.end(), [&](std::uint32_t a, std::uint32_t b) { return ids_[a] < ids_[b]; });
    sorted_ids_.resize(ids_.size());
    for (std::size_t k = 0; k < by_id_.size(); ++k) sorted_ids_[k] = ids_[by_id_[k]];
}

std::vector<std::uint32_t> Summarizer::slots_for(std::span<const std::int64_t> ids) {
    index();
    const std::size_t n = sorted_ids_.size();
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> out(ids.size(), none);
    std::size_t pos = 0, added = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        // Gallop from the previous id's place: every sorted id before `lo` is smaller.
        std::size_t lo = pos, step = 1;
        while (lo + step < n && sorted_ids_[lo + step] < ids[k]) {
            lo += step;
            step *= 2;
        }
        const auto first = sorted_ids_.begin() + static_cast<std::ptrdiff_t>(lo);
        const auto last = sorted_ids_.begin() + static_cast<std::ptrdiff_t>(std::min(n, lo + step + 1));
        pos = static_cast<std::size_t>(std::lower_bound(first, last, ids[k]) - sorted_ids_.begin());
        if (pos < n && sorted_ids_[pos] == ids[k])
            out[k] = by_id_[pos];
        else
            ++added;
    }
    if (added == 0) return out;
    if (ids_.size() + added >= none) throw InvalidInput("customer: more than 2^32-1 distinct ids");
    // New slots in id order, merged into the sorted index.
    std::vector<std::int64_t> merged_ids;
    std::vector<std::uint32_t> merged_slots;
    merged_ids.reserve(n + added);
    merged_slots.reserve(n + added);
    std::size_t j = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        if (out[k] != none) continue;
        for (; j < n && sorted_ids_[j] < ids[k]; ++j) {
            merged_ids.push_back(sorted_ids_[j]);
            merged_slots.push_back(by_id_[j]);
        }
        out[k] = static_cast<std::uint32_t>(ids_.size());
        add_slot(ids[k]);
        merged_ids.push_back(ids[k]);
        merged_slots.push_back(out[k]);
    }
    merged_ids.insert(merged_ids.end(), sorted_ids_.begin() + static_cast<std::ptrdiff_t>(j), sorted_ids_.end());
    merged_slots.insert(merged_slots.end(), by_id_.begin() + static_cast<std::ptrdiff_t>(j), by_id_.end());
    sorted_ids_ = std::move(merged_ids);
    by_id_ = std::move(merged_slots);
    return out;
}

namespace {

/// Sets the margin/quantity presence on the first non-empty input; later ones must agree.
void check_presence(int& known, bool given, const char* column) {
    if (known < 0) {
        known = given ? 1 : 0;
        return;
    }
    if (known != static_cast<int>(given))
        throw InvalidInput(std::string("column '") + column + "': " + (given ? "given" : "missing") + " here but " +
                           (known ? "given" : "missing") + " in the earlier transactions");
}

using Sum = Summarizer::Sum;
using Cell = Summarizer::Cell;

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

/// The ids' range and order, from check_rows().
struct IdRange {
    std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
    bool sorted = true;  ///< non-decreasing, and no id missing
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

/// Stable LSD radix sort of `r` by (id - lo) >> skip over `bits` bits, through `tmp`.
void sort_by_id(std::span<Record> r, std::vector<Record>& tmp, std::uint64_t lo, int skip, int bits) {
    if (r.size() < 2 || bits <= 0 ||
        std::is_sorted(r.begin(), r.end(), [](const Record& a, const Record& b) { return a.id < b.id; }))
        return;
    if (r.size() <= 32) {  // insertion sort: stable, and cheaper for a handful of rows
        for (std::size_t i = 1; i < r.size(); ++i) {
            const Record x = r[i];
            std::size_t j = i;
            for (; j > 0 && r[j - 1].id > x.id; --j) r[j] = r[j - 1];
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
    std::span<Record> from = r, to(tmp.data(), r.size());
    std::vector<std::size_t> count(std::size_t{1} << digit);
    for (int shift = skip; shift < skip + bits; shift += digit) {
        std::fill(count.begin(), count.end(), std::size_t{0});
        auto key = [&](const Record& x) {
            return static_cast<std::size_t>(((static_cast<std::uint64_t>(x.id) - lo) >> shift) & mask);
        };
        for (const Record& x : from) ++count[key(x)];
        std::size_t sum = 0, nonzero = 0;
        for (auto& c : count) {
            nonzero += c != 0;
            const std::size_t v = c;
            c = sum;
            sum += v;
        }
        if (nonzero == 1) continue;  // one digit value: the order stays
        for (const Record& x : from) to[count[key(x)]++] = x;
        std::swap(from, to);
    }
    if (from.data() != r.data()) std::copy(from.begin(), from.end(), r.begin());
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
    g.records.resize(total);
    fork_join(static_cast<unsigned>(ranges), [&](unsigned r) {
        auto& at = fill[r];
        Record* out = g.records.data();
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
            out[at[part_of(id)]++] = Record{id, day, tx.amount[i], static_cast<std::uint32_t>(i), kind};
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
    std::vector<std::size_t> customers(parts, 0);
    const std::size_t tasks = std::min<std::size_t>(parts, 64);
    fork_join(static_cast<unsigned>(tasks), [&](unsigned t) {
        std::vector<Record> tmp;
        for (std::size_t p = parts * t / tasks, end = parts * (t + 1) / tasks; p < end; ++p) {
            std::span<Record> r(g.records.data() + g.part_start[p], g.part_start[p + 1] - g.part_start[p]);
            sort_by_id(r, tmp, ulo, 0, skip);
            std::size_t c = 0;
            for (std::size_t k = 0; k < r.size(); ++k) c += k == 0 || r[k].id != r[k - 1].id;
            customers[p] = c;
        }
    });
    g.cust_start.assign(parts + 1, 0);
    for (std::size_t p = 0; p < parts; ++p) g.cust_start[p + 1] = g.cust_start[p] + customers[p];
    return g;
}

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

/// The chunk's customer ids in increasing order.
std::vector<std::int64_t> customer_ids(const Partitioned& g, const Transactions& tx) {
    std::vector<std::int64_t> ids;
    ids.reserve(g.customers());
    for (std::size_t p = 0; p + 1 < g.part_start.size(); ++p)
        for (std::size_t k = g.part_start[p]; k < g.part_start[p + 1]; ++k) {
            const std::int64_t id = g.at(tx, k).id;
            if (k == g.part_start[p] || id != ids.back()) ids.push_back(id);
        }
    return ids;
}

/// The output columns, allocated (uninitialized) for every customer. Ranges of
/// customers fill disjoint slices in parallel; close_gaps() then drops the rows of
/// customers that went to the rejects.
class Columns {
public:
    enum : std::size_t {
        frequency,
        recency,
        T,
        monetary,
        days_since,
        orders,
        revenue,
        aov,
        margin,
        quantity,
        first,
        last,
        active,
        trend,
        windows
    };
    Columns(std::size_t rows, std::size_t nw, bool has_margin, bool has_quantity)
        : has_margin_(has_margin),
          has_quantity_(has_quantity),
          nw_(nw),
          ids_(std::make_shared_for_overwrite<std::int64_t[]>(std::max<std::size_t>(rows, 1))),
          v_(windows + 2 * nw) {
        for (std::size_t k = 0; k < v_.size(); ++k)
            if ((k != margin || has_margin) && (k != quantity || has_quantity))
                v_[k] = std::make_shared_for_overwrite<double[]>(std::max<std::size_t>(rows, 1));
    }
    std::int64_t* ids() noexcept { return ids_.get(); }
    double* operator[](std::size_t k) noexcept { return v_[k].get(); }
    std::size_t count() const noexcept { return v_.size(); }

    /// Move `n` rows from row `from` down to row `to` (to <= from).
    void move_rows(std::size_t from, std::size_t to, std::size_t n) {
        if (from == to || n == 0) return;
        std::memmove(ids_.get() + to, ids_.get() + from, n * sizeof(std::int64_t));
        for (auto& col : v_)
            if (col) std::memmove(col.get() + to, col.get() + from, n * sizeof(double));
    }

    FeatureTable table(const SummarizeOptions& o, std::size_t rows) && {
        FeatureTable t(std::span<const std::int64_t>(ids_.get(), rows), ids_);
        auto add = [&](const std::string& name, std::size_t k) {
            t.add_column_view(name, std::span<const double>(v_[k].get(), rows), v_[k]);
        };
        add("frequency", frequency);
        add("recency", recency);
        add("T", T);
        add("monetary_value", monetary);
        add("days_since_last", days_since);
        add("orders", orders);
        add("revenue", revenue);
        add("aov", aov);
        if (has_margin_) add("margin", margin);
        if (has_quantity_) add("quantity", quantity);
        add("first_purchase", first);
        add("last_purchase", last);
        add("active_periods", active);
        add("trend", trend);
        for (std::size_t k = 0; k < nw_; ++k) {
            const std::string w = std::to_string(o.windows_days[k]);
            add("revenue_" + w + "d", windows + 2 * k);
            add("orders_" + w + "d", windows + 2 * k + 1);
        }
        return t;
    }

private:
    bool has_margin_, has_quantity_;
    std::size_t nw_;
    std::shared_ptr<std::int64_t[]> ids_;
    std::vector<std::shared_ptr<double[]>> v_;
};

/// Computes the features of customers (in id order) from their day cells, writing
/// rows from `row` on; customers without features go to `rejects`.
class FeatureBuilder {
public:
    FeatureBuilder(const SummarizeOptions& options, std::int64_t as_of, Columns& out, std::size_t row,
                   std::vector<Reject>& rejects)
        : o_(options),
          as_of_(as_of),
          as_of_period_(period_of(as_of, options.period)),
          out_(out),
          row_(row),
          rejects_(rejects),
          nw_(options.windows_days.size()) {
        // Thresholds (days back from as_of): the windows, then the trend's w and 2w.
        for (int w : options.windows_days) limits_.push_back(w);
        limits_.push_back(options.trend_window_days);
        limits_.push_back(2 * static_cast<std::int64_t>(options.trend_window_days));
        tail_at_.resize(limits_.size());
        orders_at_.resize(limits_.size());
        by_limit_.resize(limits_.size());
        std::iota(by_limit_.begin(), by_limit_.end(), std::size_t{0});
        std::stable_sort(by_limit_.begin(), by_limit_.end(),
                         [&](std::size_t a, std::size_t b) { return limits_[a] < limits_[b]; });
    }

    std::size_t row() const noexcept { return row_; }

    /// One customer: `cells` in day order (empty when no row was used).
    void add(std::int64_t id, std::span<const Cell> cells, const Sum& margin, const Sum& quantity, std::int64_t after) {
        if (cells.empty()) {
            if (after > 0)
                rejects_.push_back(
                    Reject{-1, id, "no transaction on or before as_of (" + std::to_string(after) + " after it)"});
            else
                rejects_.push_back(Reject{-1, id, "every transaction of the customer was rejected"});
            return;
        }
        // Newest first: the revenue of the cells seen so far is the revenue over
        // (as_of - age, as_of], read off at each threshold.
        Sum tail, gross;
        std::int64_t tail_orders = 0, n_orders = 0, periods = 0, period = 0, last_period = 0, first_day = 0,
                     last_day = 0;
        const std::size_t nl = limits_.size();
        std::size_t next = 0;  // thresholds by_limit_[0, next) are read off
        for (std::size_t k = cells.size(); k-- > 0;) {
            const Cell& c = cells[k];
            const std::int64_t age = as_of_ - c.day;  // >= 0
            for (; next < nl && age >= limits_[by_limit_[next]]; ++next) {
                tail_at_[by_limit_[next]] = tail;
                orders_at_[by_limit_[next]] = tail_orders;
            }
            tail.add(c.gross);  // (Sum{} + x is exactly {x, 0}; adding zero is a no-op)
            if (c.refund.hi != 0) tail.add(c.refund);
            tail_orders += c.purchases;
            if (c.purchases == 0) continue;  // refunds only: no purchase period
            n_orders += c.purchases;
            gross.add(c.gross);
            const std::int64_t p = period_of(c.day, o_.period);
            if (periods == 0) {
                last_period = period = p;
                last_day = c.day;
                periods = 1;
            } else if (p != period) {
                period = p;
                ++periods;
            }
            first_day = c.day;
        }
        if (periods == 0) {
            rejects_.push_back(Reject{-1, id, "no purchase on or before as_of (only refunds)"});
            return;
        }
        for (; next < nl; ++next) {
            tail_at_[by_limit_[next]] = tail;
            orders_at_[by_limit_[next]] = tail_orders;
        }
        const std::int64_t first_period = period;
        // monetary_value: the purchases after the first period.
        Sum repeat;
        if (periods > 1) {
            repeat = gross;
            for (const Cell& c : cells) {
                if (c.purchases == 0) continue;
                if (period_of(c.day, o_.period) != first_period) break;
                repeat.add(Sum{-c.gross.hi, -c.gross.lo});
            }
        }
        const std::size_t i = row_++;
        Columns& out = out_;
        out.ids()[i] = id;
        const double x = static_cast<double>(periods - 1);
        out[Columns::frequency][i] = x;
        out[Columns::recency][i] = static_cast<double>(last_period - first_period) / o_.freq_multiplier;
        out[Columns::T][i] = static_cast<double>(as_of_period_ - first_period) / o_.freq_multiplier;
        out[Columns::monetary][i] = periods > 1 ? repeat.value() / x : 0.0;
        out[Columns::days_since][i] = static_cast<double>(as_of_ - last_day);
        out[Columns::orders][i] = static_cast<double>(n_orders);
        out[Columns::revenue][i] = tail.value();
        out[Columns::aov][i] = gross.value() / static_cast<double>(n_orders);
        if (double* m = out[Columns::margin]) m[i] = margin.value();
        if (double* q = out[Columns::quantity]) q[i] = quantity.value();
        out[Columns::first][i] = static_cast<double>(first_day);
        out[Columns::last][i] = static_cast<double>(last_day);
        out[Columns::active][i] = static_cast<double>(periods);
        const Sum& recent_sum = tail_at_[nw_];
        Sum before_sum = tail_at_[nw_ + 1];
        before_sum.add(Sum{-recent_sum.hi, -recent_sum.lo});
        const double recent = std::max(recent_sum.value(), 0.0);
        const double before = std::max(before_sum.value(), 0.0);
        double tr;
        if (before > 0)
            tr = std::min(recent / before, o_.trend_cap);
        else
            tr = recent > 0 ? o_.trend_cap : 1.0;
        out[Columns::trend][i] = tr;
        for (std::size_t k = 0; k < nw_; ++k) {
            out[Columns::windows + 2 * k][i] = tail_at_[k].value();
            out[Columns::windows + 2 * k + 1][i] = static_cast<double>(orders_at_[k]);
        }
        // Sums past the largest double (amounts near 1e308) leave no finite feature: the
        // customer goes to the rejects (or the call raises), never a NaN in the table.
        for (std::size_t k = 0; k < out.count(); ++k) {
            const double* col = out[k];
            if (col == nullptr || std::isfinite(col[i])) continue;
            --row_;
            const char* input = k == Columns::margin ? "margin" : k == Columns::quantity ? "quantity" : "amount";
            std::string reason = std::string("column '") + input +
                                 "': the customer's sums overflow the largest double (" + feature_name(k) +
                                 " is not finite)";
            if (!o_.reject_invalid) throw InvalidInput("customer " + std::to_string(id) + ": " + reason);
            rejects_.push_back(Reject{-1, id, std::move(reason)});
            return;
        }
    }

private:
    std::string feature_name(std::size_t k) const {
        static const char* const names[] = {
            "frequency", "recency", "T",        "monetary_value", "days_since_last", "orders",         "revenue",
            "aov",       "margin",  "quantity", "first_purchase", "last_purchase",   "active_periods", "trend"};
        if (k < Columns::windows) return names[k];
        const std::string w = std::to_string(o_.windows_days[(k - Columns::windows) / 2]);
        return ((k - Columns::windows) % 2 == 0 ? "revenue_" : "orders_") + w + "d";
    }

    const SummarizeOptions& o_;
    std::int64_t as_of_, as_of_period_;
    Columns& out_;
    std::size_t row_;
    std::vector<Reject>& rejects_;
    std::size_t nw_;
    std::vector<std::int64_t> limits_, orders_at_;
    std::vector<Sum> tail_at_;
    std::vector<std::size_t> by_limit_;  ///< threshold indices by increasing days
};

/// The feature table of `customers` customers (in id order): body(begin, end, builder)
/// adds customers [begin, end) and returns their refund rows. Fixed contiguous
/// ranges run in parallel; the table and the rejects (appended to `rejects` in id
/// order) do not depend on the thread count. Returns the refunds counted.
template <class Body>
std::int64_t build_features(const SummarizeOptions& o, std::int64_t as_of, bool has_margin, bool has_quantity,
                            std::size_t customers, Summary& result, Body&& body) {
    Columns cols(customers, o.windows_days.size(), has_margin, has_quantity);
    constexpr std::size_t grain = 1 << 14;
    const std::size_t ranges =
        std::max<std::size_t>(1, std::min<std::size_t>(num_threads(), (customers + grain - 1) / grain));
    std::vector<std::vector<Reject>> rejects(ranges);
    std::vector<std::size_t> ends(ranges);
    std::vector<std::int64_t> refunds(ranges);
    fork_join(static_cast<unsigned>(ranges), [&](unsigned r) {
        FeatureBuilder build(o, as_of, cols, customers * r / ranges, rejects[r]);
        refunds[r] = body(customers * r / ranges, customers * (r + 1) / ranges, build);
        ends[r] = build.row();
    });
    std::size_t rows = 0;
    std::int64_t refund_rows = 0;
    for (std::size_t r = 0; r < ranges; ++r) {
        const std::size_t begin = customers * r / ranges;
        cols.move_rows(begin, rows, ends[r] - begin);
        rows += ends[r] - begin;
        refund_rows += refunds[r];
        for (auto& rj : rejects[r]) result.rejects.push_back(std::move(rj));
    }
    result.features = std::move(cols).table(o, rows);
    return refund_rows;
}

/// The report fields that do not come from the customers, and the as_of to use.
std::int64_t fill_report(SummarizeReport& report, const SummarizeOptions& options, std::int64_t max_day) {
    report.as_of = options.as_of ? *options.as_of : (max_day == std::numeric_limits<std::int64_t>::min() ? 0 : max_day);
    return options.as_of ? *options.as_of : max_day;
}

void count_customers(Summary& s) {
    s.report.customers = static_cast<std::int64_t>(s.features.rows());
    for (const auto& r : s.rejects)
        if (r.row < 0) ++s.report.rejected_customers;
}

}  // namespace

void Summarizer::update(const Transactions& tx) {
    check_lengths(tx);
    const std::size_t n = tx.customer.size();
    if (n == 0) return;
    int margin_known = has_margin_, quantity_known = has_quantity_;
    check_presence(margin_known, !tx.margin.empty(), "margin");
    check_presence(quantity_known, !tx.quantity.empty(), "quantity");
    Partitioned g = partition_rows(tx, options_, rows_);  // throws before anything changes

    // Customer slots. A first chunk keeps its sorted order, so its cells come out
    // compact; later chunks look their ids up (once per customer, not per row).
    has_margin_ = margin_known;
    has_quantity_ = quantity_known;
    const std::size_t m = g.customers();
    const bool fresh = ids_.empty() && cells() == 0;
    std::vector<std::uint32_t> slot;
    if (fresh) {
        ids_.clear();
        ids_.reserve(m);
        sorted_ids_.clear();
        by_id_.clear();
        after_of_.assign(m, 0);
        margin_.assign(has_margin_ == 1 ? m : 0, Sum{});
        quantity_.assign(has_quantity_ == 1 ? m : 0, Sum{});
    } else {
        slot = slots_for(customer_ids(g, tx));
    }
    const std::size_t old_cells = cells();
    std::vector<Cell> scratch;
    std::int64_t refunds = 0;
    for_each_customer(g, tx, scratch, 0, m,
                      [&](std::size_t c, std::int64_t id, std::span<const Cell> cells, const Sum& margin,
                          const Sum& quantity, std::int64_t customer_refunds, std::int64_t after) {
                          std::uint32_t s;
                          if (fresh) {
                              s = static_cast<std::uint32_t>(c);
                              ids_.push_back(id);
                          } else {
                              s = slot[c];
                          }
                          after_of_[s] += after;
                          if (has_margin_ == 1) margin_[s].add(margin);
                          if (has_quantity_ == 1) quantity_[s].add(quantity);
                          refunds += customer_refunds;
                          for (Cell cell : cells) {
                              cell.slot = s;
                              add_cell(cell);
                          }
                      });

    rows_ += static_cast<std::int64_t>(n);
    used_ += g.used_rows;
    after_ += g.after_total;
    refunds_ += refunds;
    max_day_ = std::max(max_day_, g.max_day);
    for (auto& r : g.rejects) row_rejects_.push_back(std::move(r));
    if (fresh) {  // one chunk's cells: by slot, each slot's in day order, one per day
        cell_start_.assign(m + 1, 0);
        small_start_.assign(m + 1, 0);
        for (const auto& c : cells_) ++cell_start_[c.slot + 1];
        for (const auto& c : small_) ++small_start_[c.slot + 1];
        for (std::size_t k = 0; k < m; ++k) {
            cell_start_[k + 1] += cell_start_[k];
            small_start_[k + 1] += small_start_[k];
        }
        compact_ = true;
        compacted_size_ = cells();
    } else if (cells() != old_cells) {
        compact_ = false;
        if (cells() > 2 * compacted_size_ + (1u << 16)) compact();
    }
}

namespace {

/// Whether a cell is exactly a SmallCell (one purchase, no refund, a day in int32).
bool fits_small(const Summarizer::Cell& c) noexcept {
    constexpr auto bits = [](double v) { return std::bit_cast<std::uint64_t>(v); };
    return c.purchases == 1 && bits(c.gross.lo) == 0 && bits(c.refund.hi) == 0 && bits(c.refund.lo) == 0 &&
           c.day >= std::numeric_limits<std::int32_t>::min() && c.day <= std::numeric_limits<std::int32_t>::max();
}

}  // namespace

void Summarizer::add_cell(const Cell& c) const {
    if (fits_small(c))
        small_.push_back(SmallCell{c.slot, static_cast<std::int32_t>(c.day), c.gross.hi});
    else
        cells_.push_back(c);
}

std::span<const Summarizer::Cell> Summarizer::cells_of(std::size_t slot, std::vector<Cell>& scratch) const {
    const Cell* full = cells_.data() + cell_start_[slot];
    const std::size_t nf = cell_start_[slot + 1] - cell_start_[slot];
    const SmallCell* small = small_.data() + small_start_[slot];
    const std::size_t ns = small_start_[slot + 1] - small_start_[slot];
    if (ns == 0) return {full, nf};
    scratch.clear();
    std::size_t f = 0;
    for (std::size_t k = 0; k < ns; ++k) {
        for (; f < nf && full[f].day < small[k].day; ++f) scratch.push_back(full[f]);
        scratch.push_back(Cell{small[k].slot, small[k].day, Sum{small[k].amount, 0.0}, Sum{}, 1});
    }
    for (; f < nf; ++f) scratch.push_back(full[f]);
    return scratch;
}

std::size_t Summarizer::state_bytes() const noexcept {
    std::size_t bytes = sizeof(*this) + ids_.capacity() * sizeof(std::int64_t) +
                        sorted_ids_.capacity() * sizeof(std::int64_t) + by_id_.capacity() * sizeof(std::uint32_t) +
                        after_of_.capacity() * sizeof(std::int64_t) +
                        (margin_.capacity() + quantity_.capacity()) * sizeof(Sum) + cells_.capacity() * sizeof(Cell) +
                        cell_start_.capacity() * sizeof(std::size_t) + small_.capacity() * sizeof(SmallCell) +
                        small_start_.capacity() * sizeof(std::size_t) + row_rejects_.capacity() * sizeof(Reject);
    for (const auto& r : row_rejects_) bytes += r.reason.capacity() > 15 ? r.reason.capacity() + 1 : 0;
    return bytes;
}

void Summarizer::compact() const {
    const std::size_t slots = ids_.size();
    if (compact_) {  // slots added without cells (rows after as_of or rejected) have none
        cell_start_.resize(slots + 1, cell_start_.empty() ? 0 : cell_start_.back());
        small_start_.resize(slots + 1, small_start_.empty() ? 0 : small_start_.back());
        return;
    }
    // Counting sort of both lists by slot (stable: chunk order kept within a list).
    auto by_slot = [slots](auto& cells, std::vector<std::size_t>& start) {
        start.assign(slots + 1, 0);
        for (const auto& c : cells) ++start[c.slot + 1];
        for (std::size_t s = 0; s < slots; ++s) start[s + 1] += start[s];
        std::remove_reference_t<decltype(cells)> sorted(cells.size());
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (const auto& c : cells) sorted[fill[c.slot]++] = c;
        cells = std::move(sorted);
    };
    std::vector<std::size_t> full_start, small_start;
    by_slot(cells_, full_start);
    by_slot(small_, small_start);
    // Per slot: its cells in day order (usually they are: chunks come in time order),
    // one per day. Small cells are rewritten in place (merging never adds one); merged
    // days become full cells.
    std::vector<Cell> full, day_cells;
    full.reserve(cells_.size());
    cell_start_.assign(slots + 1, 0);
    small_start_.assign(slots + 1, 0);
    std::size_t w_small = 0;
    auto by_day = [](const Cell& a, const Cell& b) { return a.day < b.day; };
    for (std::size_t s = 0; s < slots; ++s) {
        day_cells.assign(cells_.begin() + static_cast<std::ptrdiff_t>(full_start[s]),
                         cells_.begin() + static_cast<std::ptrdiff_t>(full_start[s + 1]));
        for (std::size_t k = small_start[s]; k < small_start[s + 1]; ++k) {
            const SmallCell& c = small_[k];
            day_cells.push_back(Cell{c.slot, c.day, Sum{c.amount, 0.0}, Sum{}, 1});
        }
        if (!std::is_sorted(day_cells.begin(), day_cells.end(), by_day))
            std::stable_sort(day_cells.begin(), day_cells.end(), by_day);
        for (std::size_t k = 0; k < day_cells.size();) {
            Cell c = day_cells[k++];
            for (; k < day_cells.size() && day_cells[k].day == c.day; ++k) {
                c.gross.add(day_cells[k].gross);
                c.refund.add(day_cells[k].refund);
                c.purchases += day_cells[k].purchases;
            }
            if (fits_small(c))
                small_[w_small++] = SmallCell{c.slot, static_cast<std::int32_t>(c.day), c.gross.hi};
            else
                full.push_back(c);
        }
        cell_start_[s + 1] = full.size();
        small_start_[s + 1] = w_small;
    }
    small_.resize(w_small);
    small_.shrink_to_fit();
    full.shrink_to_fit();
    cells_ = std::move(full);
    compact_ = true;
    compacted_size_ = cells();
}

namespace {

const char* differing_option(const SummarizeOptions& a, const SummarizeOptions& b) {
    if (a.as_of != b.as_of) return "as_of";
    if (a.period != b.period) return "freq";
    if (a.freq_multiplier != b.freq_multiplier) return "freq_multiplier";
    if (a.trend_window_days != b.trend_window_days) return "trend_window";
    if (a.trend_cap != b.trend_cap) return "trend_cap";
    if (a.windows_days != b.windows_days) return "windows";
    if (a.reject_invalid != b.reject_invalid) return "reject_invalid";
    return nullptr;
}

}  // namespace

Summarizer& Summarizer::merge(const Summarizer& other) {
    if (this == &other) {
        // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): merging with itself reads what it writes
        const Summarizer copy = other;
        return merge(copy);
    }
    if (const char* what = differing_option(options_, other.options_))
        throw InvalidInput(std::string("merge: the summarizers differ in option '") + what + "'");
    int m = has_margin_, q = has_quantity_;
    if (other.has_margin_ >= 0) check_presence(m, other.has_margin_ == 1, "margin");
    if (other.has_quantity_ >= 0) check_presence(q, other.has_quantity_ == 1, "quantity");
    if (has_margin_ < 0 && m == 1) margin_.assign(ids_.size(), Sum{});
    if (has_quantity_ < 0 && q == 1) quantity_.assign(ids_.size(), Sum{});
    has_margin_ = m;
    has_quantity_ = q;

    other.index();
    const std::vector<std::uint32_t> by_id = slots_for(other.sorted_ids_);
    std::vector<std::uint32_t> slot(other.ids_.size());
    for (std::size_t k = 0; k < by_id.size(); ++k) slot[other.by_id_[k]] = by_id[k];
    for (std::size_t s = 0; s < other.ids_.size(); ++s) {
        after_of_[slot[s]] += other.after_of_[s];
        if (has_margin_ == 1) margin_[slot[s]].add(other.margin_[s]);
        if (has_quantity_ == 1) quantity_[slot[s]].add(other.quantity_[s]);
    }
    if (other.cells() != 0) {
        cells_.reserve(cells_.size() + other.cells_.size());
        for (Cell c : other.cells_) {
            c.slot = slot[c.slot];
            cells_.push_back(c);
        }
        small_.reserve(small_.size() + other.small_.size());
        for (SmallCell c : other.small_) {
            c.slot = slot[c.slot];
            small_.push_back(c);
        }
        compact_ = false;
    }
    for (const auto& r : other.row_rejects_) row_rejects_.push_back(Reject{r.row + rows_, r.customer, r.reason});
    rows_ += other.rows_;
    used_ += other.used_;
    after_ += other.after_;
    refunds_ += other.refunds_;
    max_day_ = std::max(max_day_, other.max_day_);
    if (!compact_ && cells() > 2 * compacted_size_ + (1u << 16)) compact();
    return *this;
}

void Summarizer::map_ids(std::span<const std::int64_t> to) {
    auto mapped = [&](std::int64_t id) {
        return id >= 0 && static_cast<std::uint64_t>(id) < to.size() ? to[static_cast<std::size_t>(id)] : id;
    };
    std::vector<std::int64_t> ids(ids_.size());
    std::unordered_map<std::int64_t, std::uint32_t> slot_of;
    slot_of.reserve(ids_.size() * 2);
    for (std::size_t s = 0; s < ids_.size(); ++s) {
        ids[s] = mapped(ids_[s]);
        if (ids[s] == missing_id || !slot_of.emplace(ids[s], static_cast<std::uint32_t>(s)).second)
            throw InvalidInput("map_ids: customer " + std::to_string(ids_[s]) + " would get the id " +
                               std::to_string(ids[s]) + ", which is missing or taken");
    }
    ids_ = std::move(ids);
    sorted_ids_.clear();
    by_id_.clear();
    for (auto& r : row_rejects_)
        if (r.customer != missing_id) r.customer = mapped(r.customer);
}

Summary Summarizer::finalize() const {
    compact();
    Summary result;
    SummarizeReport& report = result.report;
    report.transactions = rows_;
    report.used = used_;
    report.after_as_of = after_;
    report.refunds = refunds_;
    report.rejected_rows = static_cast<std::int64_t>(row_rejects_.size());
    result.rejects = row_rejects_;
    const std::int64_t as_of = fill_report(report, options_, max_day_);
    const std::size_t m = ids_.size();
    index();
    const std::vector<std::uint32_t>& by_id = by_id_;
    const Sum zero;
    build_features(options_, as_of, has_margin_ == 1, has_quantity_ == 1, m, result,
                   [&](std::size_t begin, std::size_t end, FeatureBuilder& build) {
                       std::vector<Cell> scratch;
                       for (std::size_t k = begin; k < end; ++k) {
                           const std::uint32_t s = by_id[k];
                           build.add(ids_[s], cells_of(s, scratch), has_margin_ == 1 ? margin_[s] : zero,
                                     has_quantity_ == 1 ? quantity_[s] : zero, after_of_[s]);
                       }
                       return std::int64_t{0};
                   });
    count_customers(result);
    return result;
}

// The same steps as Summarizer(options).update(tx).finalize(), without keeping the
// day cells: each customer's cells go straight into the features.
Summary summarize(const Transactions& tx, const SummarizeOptions& options) {
    const Summarizer checked(options);  // option checks
    check_lengths(tx);
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

namespace {

// The state: tierkit's envelope (core/envelope.hpp, content kind summarizer state,
// encoding record) around the little-endian record below.
constexpr std::uint32_t state_version = 1;
constexpr const char* who = "Summarizer.from_bytes";

class Writer {
public:
    template <class T>
    void put(T v) {
        static_assert(std::is_arithmetic_v<T>);
        std::uint64_t bits = 0;
        if constexpr (std::is_floating_point_v<T>)
            bits = std::bit_cast<std::uint64_t>(static_cast<double>(v));
        else
            bits = static_cast<std::uint64_t>(v);
        constexpr std::size_t size = std::is_floating_point_v<T> ? 8 : sizeof(T);
        char b[8];
        for (std::size_t k = 0; k < size; ++k) b[k] = static_cast<char>((bits >> (8 * k)) & 0xff);
        out.append(b, size);
    }
    void put(const std::string& text) {
        put<std::uint64_t>(text.size());
        out.append(text);
    }
    std::string out;
};

class Reader {
public:
    /// `bytes` start at byte `base` of the state.
    Reader(std::string_view bytes, std::size_t base) : in(bytes), base_(base) {}
    template <class T>
    T get(const char* what) {
        constexpr std::size_t size = std::is_floating_point_v<T> ? 8 : sizeof(T);
        need(size, what);
        std::uint64_t bits = 0;
        for (std::size_t k = 0; k < size; ++k)
            bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + k])) << (8 * k);
        pos += size;
        if constexpr (std::is_floating_point_v<T>)
            return std::bit_cast<double>(bits);
        else
            return static_cast<T>(bits);
    }
    /// A count of records of `record` bytes each, checked against what is left.
    std::size_t count(std::size_t record, const char* what) {
        const std::size_t at = offset();
        const auto n = get<std::uint64_t>(what);
        if (record > 0 && n > (in.size() - pos) / record)
            fail(at, std::string(what) + ": " + std::to_string(n) + " records do not fit in the " +
                         std::to_string(in.size() - pos) + " bytes left");
        return static_cast<std::size_t>(n);
    }
    std::string text(const char* what) {
        const std::size_t n = count(1, what);
        std::string s(in.substr(pos, n));
        pos += n;
        return s;
    }
    std::size_t offset() const { return base_ + pos; }
    bool done() const { return pos == in.size(); }
    [[noreturn]] static void fail(std::size_t at, const std::string& message) {
        throw FormatError(std::string(who) + ": " + message + " (at byte " + std::to_string(at) + ")");
    }

private:
    void need(std::size_t size, const char* what) {
        if (in.size() - pos < size)
            fail(offset(), std::string("truncated payload: ") + what + " needs " + std::to_string(size) + " bytes, " +
                               std::to_string(in.size() - pos) + " left");
    }
    std::string_view in;
    std::size_t base_;
    std::size_t pos = 0;
};

}  // namespace

std::string Summarizer::to_bytes() const {
    compact();
    Writer w;
    const auto& o = options_;
    w.put<std::uint8_t>(o.as_of.has_value());
    w.put<std::int64_t>(o.as_of.value_or(0));
    w.put<std::uint8_t>(static_cast<std::uint8_t>(o.period));
    w.put<double>(o.freq_multiplier);
    w.put<std::int64_t>(o.trend_window_days);
    w.put<double>(o.trend_cap);
    w.put<std::uint64_t>(o.windows_days.size());
    for (int d : o.windows_days) w.put<std::int64_t>(d);
    w.put<std::uint8_t>(o.reject_invalid);
    w.put<std::int8_t>(static_cast<std::int8_t>(has_margin_));
    w.put<std::int8_t>(static_cast<std::int8_t>(has_quantity_));
    for (std::int64_t v : {rows_, used_, after_, refunds_, max_day_}) w.put<std::int64_t>(v);
    w.put<std::uint64_t>(ids_.size());
    for (std::size_t s = 0; s < ids_.size(); ++s) {
        w.put<std::int64_t>(ids_[s]);
        w.put<std::int64_t>(after_of_[s]);
        if (has_margin_ == 1) {
            w.put<double>(margin_[s].hi);
            w.put<double>(margin_[s].lo);
        }
        if (has_quantity_ == 1) {
            w.put<double>(quantity_[s].hi);
            w.put<double>(quantity_[s].lo);
        }
    }
    w.put<std::uint64_t>(cells());
    std::vector<Cell> scratch;
    for (std::size_t s = 0; s < ids_.size(); ++s)
        for (const Cell& c : cells_of(s, scratch)) {
            w.put<std::uint32_t>(c.slot);
            w.put<std::int64_t>(c.day);
            for (double v : {c.gross.hi, c.gross.lo, c.refund.hi, c.refund.lo}) w.put<double>(v);
            w.put<std::int64_t>(c.purchases);
        }
    w.put<std::uint64_t>(row_rejects_.size());
    for (const Reject& r : row_rejects_) {
        w.put<std::int64_t>(r.row);
        w.put<std::int64_t>(r.customer);
        w.put(r.reason);
    }
    return envelope::write_envelope(envelope::Content::summarizer_state, envelope::Encoding::record, state_version,
                                    w.out);
}

Summarizer Summarizer::from_bytes(std::string_view bytes) {
    const auto [header, payload] =
        envelope::read_envelope(bytes, {envelope::Content::summarizer_state, state_version, max_state_bytes, who});
    if (header.encoding != envelope::Encoding::record)
        Reader::fail(12, "payload encoding " + std::to_string(static_cast<int>(header.encoding)) +
                             " is not a summarizer record (3)");
    Reader r(payload, header.size);
    SummarizeOptions o;
    const bool has_as_of = r.get<std::uint8_t>("as_of flag") != 0;
    const auto as_of = r.get<std::int64_t>("as_of");
    if (has_as_of) o.as_of = as_of;
    const std::size_t at_period = r.offset();
    const auto period = r.get<std::uint8_t>("freq");
    if (period > 2) Reader::fail(at_period, "unknown period code " + std::to_string(period));
    o.period = static_cast<Period>(period);
    o.freq_multiplier = r.get<double>("freq_multiplier");
    const std::size_t at_tw = r.offset();
    const auto tw = r.get<std::int64_t>("trend_window");
    if (tw <= 0 || tw > std::numeric_limits<int>::max())
        Reader::fail(at_tw, "trend_window " + std::to_string(tw) + " out of range");
    o.trend_window_days = static_cast<int>(tw);
    o.trend_cap = r.get<double>("trend_cap");
    o.windows_days.resize(r.count(8, "windows"));
    for (int& d : o.windows_days) {
        const std::size_t at = r.offset();
        const auto v = r.get<std::int64_t>("window");
        if (v <= 0 || v > std::numeric_limits<int>::max())
            Reader::fail(at, "window " + std::to_string(v) + " out of range");
        d = static_cast<int>(v);
    }
    o.reject_invalid = r.get<std::uint8_t>("reject_invalid") != 0;
    Summarizer s = [&] {
        try {
            return Summarizer(o);
        } catch (const InvalidInput& e) {
            Reader::fail(r.offset(), std::string("bad options: ") + e.what());
        }
    }();
    const std::size_t at_flags = r.offset();
    s.has_margin_ = r.get<std::int8_t>("margin flag");
    s.has_quantity_ = r.get<std::int8_t>("quantity flag");
    if (s.has_margin_ < -1 || s.has_margin_ > 1 || s.has_quantity_ < -1 || s.has_quantity_ > 1 ||
        (s.has_margin_ < 0) != (s.has_quantity_ < 0))
        Reader::fail(at_flags, "bad margin/quantity flags");
    for (std::int64_t* v : {&s.rows_, &s.used_, &s.after_, &s.refunds_, &s.max_day_})
        *v = r.get<std::int64_t>("counter");
    if (s.max_day_ != std::numeric_limits<std::int64_t>::min() &&
        (s.max_day_ <= -(std::int64_t{1} << 40) || s.max_day_ >= (std::int64_t{1} << 40)))
        Reader::fail(at_flags + 2, "last day out of range");
    if (s.rows_ < 0 || s.used_ < 0 || s.after_ < 0 || s.refunds_ < 0 || s.used_ + s.after_ > s.rows_)
        Reader::fail(at_flags + 2, "inconsistent row counters");
    const std::size_t per_slot = 16 + (s.has_margin_ == 1 ? 16 : 0) + (s.has_quantity_ == 1 ? 16 : 0);
    const std::size_t slots = r.count(per_slot, "customers");
    if (slots >= std::numeric_limits<std::uint32_t>::max()) Reader::fail(r.offset(), "too many customers");
    if (s.has_margin_ < 0 && slots > 0) Reader::fail(at_flags, "customers without a first chunk");
    s.ids_.reserve(slots);
    s.after_of_.reserve(slots);
    std::unordered_set<std::int64_t> seen;  // only to name a repeated id where it is
    seen.reserve(slots);
    for (std::size_t k = 0; k < slots; ++k) {
        const std::size_t at = r.offset();
        const auto id = r.get<std::int64_t>("customer id");
        if (id == missing_id || !seen.insert(id).second)
            Reader::fail(at, "customer id " + std::to_string(id) + " is missing or repeated");
        s.ids_.push_back(id);
        s.after_of_.push_back(r.get<std::int64_t>("rows after as_of"));
        if (s.after_of_.back() < 0) Reader::fail(at + 8, "negative count of rows after as_of");
        if (s.has_margin_ == 1) s.margin_.push_back(Sum{r.get<double>("margin"), r.get<double>("margin")});
        if (s.has_quantity_ == 1) s.quantity_.push_back(Sum{r.get<double>("quantity"), r.get<double>("quantity")});
    }
    const std::size_t cells = r.count(52, "cells");

    for (std::size_t k = 0; k < cells; ++k) {
        const std::size_t at = r.offset();
        Cell c{};
        c.slot = r.get<std::uint32_t>("cell customer");
        c.day = r.get<std::int64_t>("cell day");
        c.gross.hi = r.get<double>("cell purchases");
        c.gross.lo = r.get<double>("cell purchases");
        c.refund.hi = r.get<double>("cell refunds");
        c.refund.lo = r.get<double>("cell refunds");
        c.purchases = r.get<std::int64_t>("cell purchase count");
        // Days stay far from overflow in as_of - day (|day| < 2^40: any real date).
        constexpr std::int64_t day_limit = std::int64_t{1} << 40;
        if (c.slot >= slots || c.purchases < 0 || c.day <= -day_limit || c.day >= day_limit)
            Reader::fail(at, "cell " + std::to_string(k) + " is inconsistent");
        s.add_cell(c);
    }
    s.compact_ = s.cells() == 0;
    s.compacted_size_ = 0;
    s.cell_start_.clear();
    const std::size_t rejects = r.count(24, "rejects");
    for (std::size_t k = 0; k < rejects; ++k) {
        Reject rj;
        rj.row = r.get<std::int64_t>("reject row");
        rj.customer = r.get<std::int64_t>("reject customer");
        const std::size_t at_reason = r.offset() + 8;  // after the length
        rj.reason = r.text("reject reason");
        // Reasons reach messages and Python's str: tierkit writes them as UTF-8.
        if (const std::size_t bad = invalid_utf8_at(rj.reason); bad != std::string::npos) {
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(rj.reason[bad]));
            Reader::fail(at_reason + bad,
                         "reject " + std::to_string(k) + ": the reason is not valid UTF-8 (byte " + byte + ")");
        }
        s.row_rejects_.push_back(std::move(rj));
    }
    if (!r.done()) Reader::fail(r.offset(), "unexpected bytes after the state");
    return s;
}

}  // namespace tierkit
