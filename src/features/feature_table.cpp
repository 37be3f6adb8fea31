// Each customer's features from its day cells (see feature_table.hpp).
#include "features/feature_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>

#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit::summarize_detail {

using Sum = Summarizer::Sum;
using Cell = Summarizer::Cell;

/// The output columns, allocated (uninitialized) for every customer. Ranges of
/// customers fill disjoint slices in parallel; build_features() then moves the rows
/// of each range down over the rows of customers that went to the rejects.
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

FeatureBuilder::FeatureBuilder(const SummarizeOptions& options, std::int64_t as_of, Columns& out, std::size_t row,
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

void FeatureBuilder::add(std::int64_t id, std::span<const Cell> cells, const Sum& margin, const Sum& quantity,
                         std::int64_t after) {
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
    std::int64_t tail_orders = 0, n_orders = 0, periods = 0, period = 0, last_period = 0, first_day = 0, last_day = 0;
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
        std::string reason = std::string("column '") + input + "': the customer's sums overflow the largest double (" +
                             feature_name(k) + " is not finite)";
        if (!o_.reject_invalid) throw InvalidInput("customer " + std::to_string(id) + ": " + reason);
        rejects_.push_back(Reject{-1, id, std::move(reason)});
        return;
    }
}

std::string FeatureBuilder::feature_name(std::size_t k) const {
    static const char* const names[] = {
        "frequency", "recency", "T",        "monetary_value", "days_since_last", "orders",         "revenue",
        "aov",       "margin",  "quantity", "first_purchase", "last_purchase",   "active_periods", "trend"};
    if (k < Columns::windows) return names[k];
    const std::string w = std::to_string(o_.windows_days[(k - Columns::windows) / 2]);
    return ((k - Columns::windows) % 2 == 0 ? "revenue_" : "orders_") + w + "d";
}

std::int64_t build_features(const SummarizeOptions& o, std::int64_t as_of, bool has_margin, bool has_quantity,
                            std::size_t customers, Summary& result, const FeatureBody& body) {
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

}  // namespace tierkit::summarize_detail
