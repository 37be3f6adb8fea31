// Per-customer features from transactions. See include/tierkit/features/summarize.hpp
// for the conventions; this file is the single pass that computes them.
#include "tierkit/features/summarize.hpp"

#include <algorithm>
#include <cmath>
#include <bit>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <type_traits>

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
        case Period::day: return day;
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

namespace {

/// Maps each row's customer id to a dense index in sorted-id order.
struct DenseIds {
    std::vector<std::int64_t> unique;   // sorted distinct ids
    std::vector<std::uint32_t> index;   // per row; UINT32_MAX for a missing id
};

DenseIds dense_ids(std::span<const std::int64_t> ids) {
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    DenseIds out;
    const std::size_t n = ids.size();
    out.index.assign(n, none);
    if (n == 0) return out;
    bool sorted = true;
    std::int64_t lo = std::numeric_limits<std::int64_t>::max();
    std::int64_t hi = std::numeric_limits<std::int64_t>::min();
    std::int64_t prev = std::numeric_limits<std::int64_t>::min();
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t v = ids[i];
        if (v == missing_id) continue;
        if (v < prev) sorted = false;
        prev = v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    if (lo > hi) return out;  // every id missing
    if (sorted) {
        std::int64_t last = 0;
        bool any = false;
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t v = ids[i];
            if (v == missing_id) continue;
            if (!any || v != last) {
                out.unique.push_back(v);
                last = v;
                any = true;
            }
            out.index[i] = static_cast<std::uint32_t>(out.unique.size() - 1);
        }
        return out;
    }
    const auto range = static_cast<unsigned long long>(hi) - static_cast<unsigned long long>(lo);
    if (range <= 4ULL * n + 1024ULL) {
        // Small id range: a direct table instead of sorting.
        std::vector<std::uint32_t> slot(static_cast<std::size_t>(range) + 1, none);
        for (std::size_t i = 0; i < n; ++i)
            if (ids[i] != missing_id) slot[static_cast<std::size_t>(ids[i] - lo)] = 0;
        std::uint32_t next = 0;
        for (std::size_t k = 0; k < slot.size(); ++k)
            if (slot[k] == 0) {
                slot[k] = next++;
                out.unique.push_back(lo + static_cast<std::int64_t>(k));
            }
        for (std::size_t i = 0; i < n; ++i)
            if (ids[i] != missing_id) out.index[i] = slot[static_cast<std::size_t>(ids[i] - lo)];
        return out;
    }
    out.unique.reserve(n);
    for (auto v : ids)
        if (v != missing_id) out.unique.push_back(v);
    std::sort(out.unique.begin(), out.unique.end());
    out.unique.erase(std::unique(out.unique.begin(), out.unique.end()), out.unique.end());
    for (std::size_t i = 0; i < n; ++i)
        if (ids[i] != missing_id)
            out.index[i] = static_cast<std::uint32_t>(
                std::lower_bound(out.unique.begin(), out.unique.end(), ids[i]) - out.unique.begin());
    return out;
}

}  // namespace

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
    ids_sorted_ = ids_sorted_ && (ids_.empty() || id > ids_.back());
    slot_of_.emplace(id, static_cast<std::uint32_t>(ids_.size()));
    ids_.push_back(id);
    after_of_.push_back(0);
    if (has_margin_ == 1) margin_.emplace_back();
    if (has_quantity_ == 1) quantity_.emplace_back();
}

std::uint32_t Summarizer::slot_for(std::int64_t id) {
    if (slot_of_.size() != ids_.size()) {  // first lookup after a fresh first chunk
        slot_of_.clear();
        slot_of_.reserve(ids_.size() * 2);
        for (std::size_t s = 0; s < ids_.size(); ++s) slot_of_.emplace(ids_[s], static_cast<std::uint32_t>(s));
    }
    const auto it = slot_of_.find(id);
    if (it != slot_of_.end()) return it->second;
    if (ids_.size() >= std::numeric_limits<std::uint32_t>::max())
        throw InvalidInput("customer: more than 2^32-1 distinct ids");
    add_slot(id);
    return static_cast<std::uint32_t>(ids_.size() - 1);
}

namespace {

/// Sets the margin/quantity presence on the first non-empty input; later ones must agree.
void check_presence(int& known, bool given, const char* column) {
    if (known < 0) {
        known = given ? 1 : 0;
        return;
    }
    if (known != static_cast<int>(given))
        throw InvalidInput(std::string("column '") + column + "': " + (given ? "given" : "missing") +
                           " here but " + (known ? "given" : "missing") + " in the earlier transactions");
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

/// A chunk checked row by row and its usable rows grouped by customer (counting sort
/// over the dense, id-sorted customer index). Rows are numbered from `base`.
struct Grouped {
    std::vector<Reject> rejects;
    std::int64_t max_day = std::numeric_limits<std::int64_t>::min();  ///< over valid rows
    DenseIds dense;
    std::vector<std::uint32_t> start;  ///< per customer + 1: its rows in `order`
    std::vector<std::uint32_t> after;  ///< per customer: rows after as_of
    std::vector<std::uint32_t> order;
    std::int64_t after_total = 0;
};

Grouped group_rows(const Transactions& tx, const SummarizeOptions& options, std::int64_t base) {
    const std::size_t n = tx.customer.size();
    const bool has_margin = !tx.margin.empty(), has_quantity = !tx.quantity.empty();
    Grouped g;
    // 1. Row validity.
    std::vector<std::uint8_t> bad(n, 0);
    auto reject_row = [&](std::size_t i, std::string reason) {
        const std::int64_t row = base + static_cast<std::int64_t>(i);
        if (!options.reject_invalid) throw InvalidInput("row " + std::to_string(row) + ": " + reason);
        bad[i] = 1;
        g.rejects.push_back(Reject{row, tx.customer[i], std::move(reason)});
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (tx.customer[i] == missing_id) { reject_row(i, "column 'customer': id is missing"); continue; }
        if (tx.day[i] == missing_day) { reject_row(i, "column 'date': date is missing"); continue; }
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
        g.max_day = std::max(g.max_day, tx.day[i]);
    }
    // Without an as_of nothing is after it: as_of is the last day of all rows.
    const std::int64_t cutoff = options.as_of ? *options.as_of : std::numeric_limits<std::int64_t>::max();

    // 2. Dense customer index and a counting sort of the usable rows by customer.
    g.dense = dense_ids(tx.customer);
    const std::size_t m = g.dense.unique.size();
    const auto& index = g.dense.index;
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    g.start.assign(m + 1, 0);
    g.after.assign(m, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t c = index[i];
        if (c == none || bad[i]) continue;
        if (tx.day[i] > cutoff) { ++g.after[c]; ++g.after_total; continue; }
        ++g.start[c + 1];
    }
    for (std::size_t c = 0; c < m; ++c) g.start[c + 1] += g.start[c];
    g.order.resize(g.start[m]);
    std::vector<std::uint32_t> fill(g.start.begin(), g.start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t c = index[i];
        if (c == none || bad[i] || tx.day[i] > cutoff) continue;
        g.order[fill[c]++] = static_cast<std::uint32_t>(i);
    }
    return g;
}

/// Per customer c in [first, last) of the chunk (in id order), its used rows merged into day cells in
/// `cells` (day order; a day's rows in row order; slot = c) with its margin and quantity
/// sums and refund count: f(c, cells, margin, quantity, refunds). Cells are empty for a
/// customer with no used row.
template <class F>
void for_each_customer(Grouped& g, const Transactions& tx, std::vector<Cell>& cells, std::size_t first,
                       std::size_t last, F&& f) {
    const bool has_margin = !tx.margin.empty(), has_quantity = !tx.quantity.empty();
    for (std::size_t c = first; c < last; ++c) {
        auto begin = g.order.begin() + g.start[c];
        auto end = g.order.begin() + g.start[c + 1];
        // Rows are usually already in date order; sort (by day, then row: stable) only when not.
        if (!std::is_sorted(begin, end, [&](std::uint32_t a, std::uint32_t b) { return tx.day[a] < tx.day[b]; }))
            std::sort(begin, end, [&](std::uint32_t a, std::uint32_t b) {
                return tx.day[a] != tx.day[b] ? tx.day[a] < tx.day[b] : a < b;
            });
        cells.clear();
        Sum margin, quantity;
        std::int64_t refunds = 0;
        for (auto it = begin; it != end; ++it) {
            const std::uint32_t i = *it;
            const std::int64_t day = tx.day[i];
            const double a = tx.amount[i];
            const bool refund = a < 0;  // a refund is not a purchase
            refunds += refund;
            if (cells.empty() || cells.back().day != day) {
                // {a, 0} is exactly Sum{} after add(a): most cells hold one row.
                cells.push_back(Cell{static_cast<std::uint32_t>(c), day, Sum{refund ? 0.0 : a, 0.0},
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
            if (it == begin) {
                if (has_margin) margin.hi = tx.margin[i];
                if (has_quantity) quantity.hi = tx.quantity[i];
                continue;
            }
            if (has_margin) margin.add(tx.margin[i]);
            if (has_quantity) quantity.add(tx.quantity[i]);
        }
        f(c, std::span<const Cell>(cells), margin, quantity, refunds);
    }
}

/// The output columns, allocated (uninitialized) for every customer. Ranges of
/// customers fill disjoint slices in parallel; close_gaps() then drops the rows of
/// customers that went to the rejects.
class Columns {
public:
    enum : std::size_t {
        frequency, recency, T, monetary, days_since, orders, revenue, aov, margin, quantity, first, last, active, trend,
        windows
    };
    Columns(std::size_t rows, std::size_t nw, bool has_margin, bool has_quantity)
        : has_margin_(has_margin), has_quantity_(has_quantity), nw_(nw),
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
        : o_(options), as_of_(as_of), as_of_period_(period_of(as_of, options.period)), out_(out), row_(row),
          rejects_(rejects), nw_(options.windows_days.size()) {
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
    void add(std::int64_t id, std::span<const Cell> cells, const Sum& margin, const Sum& quantity,
             std::int64_t after) {
        if (cells.empty()) {
            if (after > 0)
                rejects_.push_back(Reject{-1, id, "no transaction on or before as_of (" + std::to_string(after) +
                                                      " after it)"});
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
        if (before > 0) tr = std::min(recent / before, o_.trend_cap);
        else tr = recent > 0 ? o_.trend_cap : 1.0;
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
            std::string reason = std::string("column '") + input + "': the customer's sums overflow the largest double (" +
                                 feature_name(k) + " is not finite)";
            if (!o_.reject_invalid) throw InvalidInput("customer " + std::to_string(id) + ": " + reason);
            rejects_.push_back(Reject{-1, id, std::move(reason)});
            return;
        }
    }

private:
    std::string feature_name(std::size_t k) const {
        static const char* const names[] = {"frequency", "recency", "T", "monetary_value", "days_since_last",
                                            "orders", "revenue", "aov", "margin", "quantity", "first_purchase",
                                            "last_purchase", "active_periods", "trend"};
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
    report.as_of = options.as_of ? *options.as_of
                                 : (max_day == std::numeric_limits<std::int64_t>::min() ? 0 : max_day);
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
    Grouped g = group_rows(tx, options_, rows_);  // throws before anything changes

    // Customer slots. A first chunk keeps its sorted dense order, so its cells come
    // out compact; later chunks look their ids up.
    has_margin_ = margin_known;
    has_quantity_ = quantity_known;
    const std::size_t m = g.dense.unique.size();
    const bool fresh = ids_.empty() && cells_.empty();
    std::vector<std::uint32_t> slot(m);
    if (fresh) {
        ids_ = g.dense.unique;
        slot_of_.clear();
        after_of_.assign(m, 0);
        margin_.assign(has_margin_ == 1 ? m : 0, Sum{});
        quantity_.assign(has_quantity_ == 1 ? m : 0, Sum{});
        std::iota(slot.begin(), slot.end(), 0u);
    } else {
        for (std::size_t c = 0; c < m; ++c) slot[c] = slot_for(g.dense.unique[c]);
    }
    const std::size_t old_cells = cells_.size();
    std::vector<Cell> scratch;
    std::int64_t refunds = 0;
    for_each_customer(g, tx, scratch, 0, m, [&](std::size_t c, std::span<const Cell> cells, const Sum& margin,
                                          const Sum& quantity, std::int64_t customer_refunds) {
        const std::uint32_t s = slot[c];
        after_of_[s] += g.after[c];
        if (has_margin_ == 1) margin_[s].add(margin);
        if (has_quantity_ == 1) quantity_[s].add(quantity);
        refunds += customer_refunds;
        for (Cell cell : cells) {
            cell.slot = s;
            cells_.push_back(cell);
        }
    });

    rows_ += static_cast<std::int64_t>(n);
    used_ += static_cast<std::int64_t>(g.order.size());
    after_ += g.after_total;
    refunds_ += refunds;
    max_day_ = std::max(max_day_, g.max_day);
    for (auto& r : g.rejects) row_rejects_.push_back(std::move(r));
    if (fresh) {
        cell_start_.assign(m + 1, 0);
        for (const auto& c : cells_) ++cell_start_[c.slot + 1];
        for (std::size_t k = 0; k < m; ++k) cell_start_[k + 1] += cell_start_[k];
        compact_ = true;
        compacted_size_ = cells_.size();
    } else if (cells_.size() != old_cells) {
        compact_ = false;
        if (cells_.size() > 2 * compacted_size_ + (1u << 16)) compact();
    }
}

void Summarizer::compact() const {
    if (compact_) {  // slots added without cells (rows after as_of or rejected) have none
        cell_start_.resize(ids_.size() + 1, cell_start_.empty() ? 0 : cell_start_.back());
        return;
    }
    const std::size_t slots = ids_.size();
    std::vector<std::size_t> start(slots + 1, 0);
    for (const auto& c : cells_) ++start[c.slot + 1];
    for (std::size_t s = 0; s < slots; ++s) start[s + 1] += start[s];
    std::vector<Cell> sorted(cells_.size());
    {
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (const auto& c : cells_) sorted[fill[c.slot]++] = c;  // stable: chunk order kept
    }
    cells_.clear();
    cells_.shrink_to_fit();
    std::size_t w = 0;
    cell_start_.assign(slots + 1, 0);
    for (std::size_t s = 0; s < slots; ++s) {
        auto begin = sorted.begin() + static_cast<std::ptrdiff_t>(start[s]);
        auto end = sorted.begin() + static_cast<std::ptrdiff_t>(start[s + 1]);
        auto by_day = [](const Cell& a, const Cell& b) { return a.day < b.day; };
        if (!std::is_sorted(begin, end, by_day)) std::stable_sort(begin, end, by_day);
        for (auto it = begin; it != end; ++it) {
            if (w > cell_start_[s] && sorted[w - 1].day == it->day) {
                Cell& into = sorted[w - 1];
                into.gross.add(it->gross);
                into.refund.add(it->refund);
                into.purchases += it->purchases;
            } else {
                sorted[w++] = *it;
            }
        }
        cell_start_[s + 1] = w;
    }
    sorted.resize(w);
    sorted.shrink_to_fit();
    cells_ = std::move(sorted);
    compact_ = true;
    compacted_size_ = cells_.size();
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

    std::vector<std::uint32_t> slot(other.ids_.size());
    for (std::size_t s = 0; s < other.ids_.size(); ++s) {
        slot[s] = slot_for(other.ids_[s]);
        after_of_[slot[s]] += other.after_of_[s];
        if (has_margin_ == 1) margin_[slot[s]].add(other.margin_[s]);
        if (has_quantity_ == 1) quantity_[slot[s]].add(other.quantity_[s]);
    }
    if (!other.cells_.empty()) {
        cells_.reserve(cells_.size() + other.cells_.size());
        for (Cell c : other.cells_) {
            c.slot = slot[c.slot];
            cells_.push_back(c);
        }
        compact_ = false;
    }
    for (const auto& r : other.row_rejects_) row_rejects_.push_back(Reject{r.row + rows_, r.customer, r.reason});
    rows_ += other.rows_;
    used_ += other.used_;
    after_ += other.after_;
    refunds_ += other.refunds_;
    max_day_ = std::max(max_day_, other.max_day_);
    if (!compact_ && cells_.size() > 2 * compacted_size_ + (1u << 16)) compact();
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
    slot_of_ = std::move(slot_of);
    ids_sorted_ = std::is_sorted(ids_.begin(), ids_.end());
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
    std::vector<std::uint32_t> by_id(m);
    std::iota(by_id.begin(), by_id.end(), 0u);
    if (!ids_sorted_) std::sort(by_id.begin(), by_id.end(), [&](std::uint32_t a, std::uint32_t b) { return ids_[a] < ids_[b]; });
    const Sum zero;
    build_features(options_, as_of, has_margin_ == 1, has_quantity_ == 1, m, result,
                   [&](std::size_t begin, std::size_t end, FeatureBuilder& build) {
                       for (std::size_t k = begin; k < end; ++k) {
                           const std::uint32_t s = by_id[k];
                           build.add(ids_[s],
                                     std::span<const Cell>(cells_.data() + cell_start_[s], cells_.data() + cell_start_[s + 1]),
                                     has_margin_ == 1 ? margin_[s] : zero, has_quantity_ == 1 ? quantity_[s] : zero,
                                     after_of_[s]);
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
    Grouped g = group_rows(tx, options, 0);
    Summary result;
    SummarizeReport& report = result.report;
    report.transactions = static_cast<std::int64_t>(tx.customer.size());
    report.used = static_cast<std::int64_t>(g.order.size());
    report.after_as_of = g.after_total;
    report.rejected_rows = static_cast<std::int64_t>(g.rejects.size());
    result.rejects = std::move(g.rejects);
    const std::int64_t as_of = fill_report(report, options, g.max_day);
    report.refunds = build_features(options, as_of, !tx.margin.empty(), !tx.quantity.empty(), g.dense.unique.size(),
                                    result, [&](std::size_t begin, std::size_t end, FeatureBuilder& build) {
                                        std::vector<Cell> scratch;
                                        std::int64_t refunds = 0;
                                        for_each_customer(g, tx, scratch, begin, end,
                                                          [&](std::size_t c, std::span<const Cell> cells, const Sum& margin,
                                                              const Sum& quantity, std::int64_t customer_refunds) {
                                                              refunds += customer_refunds;
                                                              build.add(g.dense.unique[c], cells, margin, quantity, g.after[c]);
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
        if constexpr (std::is_floating_point_v<T>) bits = std::bit_cast<std::uint64_t>(static_cast<double>(v));
        else bits = static_cast<std::uint64_t>(v);
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
        if constexpr (std::is_floating_point_v<T>) return std::bit_cast<double>(bits);
        else return static_cast<T>(bits);
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
        if (has_margin_ == 1) { w.put<double>(margin_[s].hi); w.put<double>(margin_[s].lo); }
        if (has_quantity_ == 1) { w.put<double>(quantity_[s].hi); w.put<double>(quantity_[s].lo); }
    }
    w.put<std::uint64_t>(cells_.size());
    for (const Cell& c : cells_) {
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
    if (tw <= 0 || tw > std::numeric_limits<int>::max()) Reader::fail(at_tw, "trend_window " + std::to_string(tw) + " out of range");
    o.trend_window_days = static_cast<int>(tw);
    o.trend_cap = r.get<double>("trend_cap");
    o.windows_days.resize(r.count(8, "windows"));
    for (int& d : o.windows_days) {
        const std::size_t at = r.offset();
        const auto v = r.get<std::int64_t>("window");
        if (v <= 0 || v > std::numeric_limits<int>::max()) Reader::fail(at, "window " + std::to_string(v) + " out of range");
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
    for (std::int64_t* v : {&s.rows_, &s.used_, &s.after_, &s.refunds_, &s.max_day_}) *v = r.get<std::int64_t>("counter");
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
    for (std::size_t k = 0; k < slots; ++k) {
        const std::size_t at = r.offset();
        const auto id = r.get<std::int64_t>("customer id");
        if (id == missing_id || !s.slot_of_.emplace(id, static_cast<std::uint32_t>(k)).second)
            Reader::fail(at, "customer id " + std::to_string(id) + " is missing or repeated");
        s.ids_sorted_ = s.ids_sorted_ && (s.ids_.empty() || id > s.ids_.back());
        s.ids_.push_back(id);
        s.after_of_.push_back(r.get<std::int64_t>("rows after as_of"));
        if (s.after_of_.back() < 0) Reader::fail(at + 8, "negative count of rows after as_of");
        if (s.has_margin_ == 1) s.margin_.push_back(Sum{r.get<double>("margin"), r.get<double>("margin")});
        if (s.has_quantity_ == 1) s.quantity_.push_back(Sum{r.get<double>("quantity"), r.get<double>("quantity")});
    }
    const std::size_t cells = r.count(52, "cells");
    s.cells_.reserve(cells);
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
        s.cells_.push_back(c);
    }
    s.compact_ = s.cells_.empty();
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
            Reader::fail(at_reason + bad, "reject " + std::to_string(k) + ": the reason is not valid UTF-8 (byte " + byte + ")");
        }
        s.row_rejects_.push_back(std::move(rj));
    }
    if (!r.done()) Reader::fail(r.offset(), "unexpected bytes after the state");
    return s;
}

}  // namespace tierkit
