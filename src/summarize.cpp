// Per-customer features from transactions. See include/tierkit/features/summarize.hpp
// for the conventions; this file is the single pass that computes them.
#include "tierkit/features/summarize.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tierkit/error.hpp"

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

std::string row_text(std::size_t row) { return "row " + std::to_string(row); }

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

Summary summarize(const Transactions& tx, const SummarizeOptions& options) {
    const std::size_t n = tx.customer.size();
    auto check_len = [n](std::size_t len, const char* name) {
        if (len != n)
            throw InvalidInput(std::string("column '") + name + "': expected " + std::to_string(n) +
                               " rows (as the customer column), got " + std::to_string(len));
    };
    check_len(tx.day.size(), "date");
    check_len(tx.amount.size(), "amount");
    const bool has_margin = !tx.margin.empty();
    const bool has_quantity = !tx.quantity.empty();
    if (has_margin) check_len(tx.margin.size(), "margin");
    if (has_quantity) check_len(tx.quantity.size(), "quantity");
    if (!(options.freq_multiplier > 0) || !std::isfinite(options.freq_multiplier))
        throw InvalidInput("freq_multiplier: must be > 0, got " + std::to_string(options.freq_multiplier));
    if (options.trend_window_days <= 0)
        throw InvalidInput("trend_window: must be > 0 days, got " + std::to_string(options.trend_window_days));
    for (std::size_t k = 0; k < options.windows_days.size(); ++k)
        if (options.windows_days[k] <= 0)
            throw InvalidInput("windows[" + std::to_string(k) + "]: must be > 0 days, got " +
                               std::to_string(options.windows_days[k]));

    Summary result;
    SummarizeReport& report = result.report;
    report.transactions = static_cast<std::int64_t>(n);

    // 1. Row validity.
    std::vector<std::uint8_t> bad(n, 0);
    auto reject_row = [&](std::size_t i, std::string reason) {
        if (!options.reject_invalid) throw InvalidInput(row_text(i) + ": " + reason);
        bad[i] = 1;
        result.rejects.push_back(Reject{static_cast<std::int64_t>(i), tx.customer[i], std::move(reason)});
    };
    std::int64_t max_day = std::numeric_limits<std::int64_t>::min();
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
        max_day = std::max(max_day, tx.day[i]);
    }
    report.rejected_rows = static_cast<std::int64_t>(result.rejects.size());
    const std::int64_t as_of = options.as_of ? *options.as_of : max_day;
    report.as_of = options.as_of ? *options.as_of : (max_day == std::numeric_limits<std::int64_t>::min() ? 0 : max_day);

    // 2. Dense customer index and a counting sort of the usable rows by customer.
    const DenseIds dense = dense_ids(tx.customer);
    const std::size_t m = dense.unique.size();
    std::vector<std::uint32_t> start(m + 1, 0);
    std::vector<std::uint32_t> after(m, 0);
    std::vector<std::uint8_t> any_row(m, 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (dense.index[i] == std::numeric_limits<std::uint32_t>::max()) continue;
        const std::uint32_t c = dense.index[i];
        any_row[c] = 1;
        if (bad[i]) continue;
        if (tx.day[i] > as_of) { ++after[c]; ++report.after_as_of; continue; }
        ++start[c + 1];
    }
    for (std::size_t c = 0; c < m; ++c) start[c + 1] += start[c];
    std::vector<std::uint32_t> order(start[m]);
    {
        std::vector<std::uint32_t> fill(start.begin(), start.end() - 1);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t c = dense.index[i];
            if (c == std::numeric_limits<std::uint32_t>::max() || bad[i] || tx.day[i] > as_of) continue;
            order[fill[c]++] = static_cast<std::uint32_t>(i);
        }
    }
    report.used = static_cast<std::int64_t>(order.size());

    // 3. Per customer, in day order.
    const std::size_t nw = options.windows_days.size();
    std::vector<std::int64_t> out_ids;
    out_ids.reserve(m);
    std::vector<double> frequency, recency, T, monetary, days_since, orders, revenue, aov, margin, quantity,
        first_p, last_p, active, trend;
    std::vector<std::vector<double>> win_rev(nw), win_ord(nw);
    for (auto* v : {&frequency, &recency, &T, &monetary, &days_since, &orders, &revenue, &aov, &first_p,
                    &last_p, &active, &trend})
        v->reserve(m);
    const std::int64_t as_of_period = period_of(as_of, options.period);
    const std::int64_t tw = options.trend_window_days;
    std::vector<double> wr(nw, 0.0), wo(nw, 0.0);

    for (std::size_t c = 0; c < m; ++c) {
        auto begin = order.begin() + start[c];
        auto end = order.begin() + start[c + 1];
        const std::int64_t id = dense.unique[c];
        if (begin == end) {
            if (after[c] > 0)
                result.rejects.push_back(Reject{-1, id, "no transaction on or before as_of (" +
                                                            std::to_string(after[c]) + " after it)"});
            else if (any_row[c])
                result.rejects.push_back(Reject{-1, id, "every transaction of the customer was rejected"});
            continue;
        }
        // Rows are usually already in date order; sort (by day, then row: stable) only when not.
        if (!std::is_sorted(begin, end, [&](std::uint32_t a, std::uint32_t b) { return tx.day[a] < tx.day[b]; }))
            std::sort(begin, end, [&](std::uint32_t a, std::uint32_t b) {
                return tx.day[a] != tx.day[b] ? tx.day[a] < tx.day[b] : a < b;
            });
        double rev = 0, mar = 0, qty = 0, gross = 0, n_orders = 0;
        double rev_recent = 0, rev_before = 0;
        std::int64_t periods = 0, first_period = 0, cur_period = 0, first_day = 0, last_day = 0;
        double repeat_spend = 0, cur_sum = 0;
        bool first_closed = false;
        std::fill(wr.begin(), wr.end(), 0.0);
        std::fill(wo.begin(), wo.end(), 0.0);
        for (auto it = begin; it != end; ++it) {
            const std::uint32_t i = *it;
            const double a = tx.amount[i];
            const std::int64_t day = tx.day[i];
            rev += a;
            if (has_margin) mar += tx.margin[i];
            if (has_quantity) qty += tx.quantity[i];
            const std::int64_t age = as_of - day;  // >= 0
            if (age < tw) rev_recent += a;
            else if (age < 2 * tw) rev_before += a;
            for (std::size_t k = 0; k < nw; ++k)
                if (age < options.windows_days[k]) {
                    wr[k] += a;
                    if (a >= 0) wo[k] += 1;
                }
            if (a < 0) {  // a refund is not a purchase
                ++report.refunds;
                continue;
            }
            n_orders += 1;
            gross += a;
            const std::int64_t p = period_of(day, options.period);
            if (periods == 0) {
                first_period = cur_period = p;
                first_day = day;
                periods = 1;
                cur_sum = a;
            } else if (p == cur_period) {
                cur_sum += a;
            } else {
                if (first_closed) repeat_spend += cur_sum;
                first_closed = true;
                cur_period = p;
                cur_sum = a;
                ++periods;
            }
            last_day = day;
        }
        if (periods == 0) {
            result.rejects.push_back(Reject{-1, id, "no purchase on or before as_of (only refunds)"});
            continue;
        }
        if (periods > 1) repeat_spend += cur_sum;
        out_ids.push_back(id);
        const double x = static_cast<double>(periods - 1);
        frequency.push_back(x);
        recency.push_back(static_cast<double>(cur_period - first_period) / options.freq_multiplier);
        T.push_back(static_cast<double>(as_of_period - first_period) / options.freq_multiplier);
        monetary.push_back(periods > 1 ? repeat_spend / x : 0.0);
        days_since.push_back(static_cast<double>(as_of - last_day));
        orders.push_back(n_orders);
        revenue.push_back(rev);
        aov.push_back(gross / n_orders);
        if (has_margin) margin.push_back(mar);
        if (has_quantity) quantity.push_back(qty);
        first_p.push_back(static_cast<double>(first_day));
        last_p.push_back(static_cast<double>(last_day));
        active.push_back(static_cast<double>(periods));
        rev_recent = std::max(rev_recent, 0.0);
        rev_before = std::max(rev_before, 0.0);
        double tr;
        if (rev_before > 0) tr = std::min(rev_recent / rev_before, options.trend_cap);
        else tr = rev_recent > 0 ? options.trend_cap : 1.0;
        trend.push_back(tr);
        for (std::size_t k = 0; k < nw; ++k) {
            win_rev[k].push_back(wr[k]);
            win_ord[k].push_back(wo[k]);
        }
    }

    report.customers = static_cast<std::int64_t>(out_ids.size());
    for (const auto& r : result.rejects)
        if (r.row < 0) ++report.rejected_customers;

    FeatureTable table(std::move(out_ids));
    table.add_column("frequency", std::move(frequency));
    table.add_column("recency", std::move(recency));
    table.add_column("T", std::move(T));
    table.add_column("monetary_value", std::move(monetary));
    table.add_column("days_since_last", std::move(days_since));
    table.add_column("orders", std::move(orders));
    table.add_column("revenue", std::move(revenue));
    table.add_column("aov", std::move(aov));
    if (has_margin) table.add_column("margin", std::move(margin));
    if (has_quantity) table.add_column("quantity", std::move(quantity));
    table.add_column("first_purchase", std::move(first_p));
    table.add_column("last_purchase", std::move(last_p));
    table.add_column("active_periods", std::move(active));
    table.add_column("trend", std::move(trend));
    for (std::size_t k = 0; k < nw; ++k) {
        const std::string w = std::to_string(options.windows_days[k]);
        table.add_column("revenue_" + w + "d", std::move(win_rev[k]));
        table.add_column("orders_" + w + "d", std::move(win_ord[k]));
    }
    result.features = std::move(table);
    return result;
}

}  // namespace tierkit
