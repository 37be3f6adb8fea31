// summarize on hand-made transaction lists, checked by hand, and on CDNOW.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"

using namespace tierkit;

namespace {

std::int64_t d(int y, unsigned m, unsigned day) { return days_from_civil(y, m, day); }

struct Tx {
    std::vector<std::int64_t> customer, day;
    std::vector<double> amount, margin;
    Transactions view(bool with_margin = false) const {
        return Transactions{
            customer, day, amount, with_margin ? std::span<const double>(margin) : std::span<const double>{}, {}};
    }
    void add(std::int64_t c, std::int64_t dd, double a, double m = 0) {
        customer.push_back(c);
        day.push_back(dd);
        amount.push_back(a);
        margin.push_back(m);
    }
};

double col(const Summary& s, const std::string& name, std::size_t row) { return s.features.column(name)[row]; }

}  // namespace

TEST(Calendar, CivilRoundTrip) {
    EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
    EXPECT_EQ(days_from_civil(1997, 9, 30), 10134);
    EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
    for (std::int64_t z = -800000; z < 800000; z += 997) {
        int y;
        unsigned m, dd;
        civil_from_days(z, y, m, dd);
        EXPECT_EQ(days_from_civil(y, m, dd), z);
    }
}

TEST(Calendar, PeriodsMatchPandas) {
    // pandas: Period('1970-01-04', 'W') is the week ending Sunday 1970-01-04; 1970-01-05 starts the next.
    EXPECT_EQ(period_of(d(1970, 1, 4), Period::week), period_of(d(1970, 1, 1), Period::week));
    EXPECT_EQ(period_of(d(1970, 1, 5), Period::week), period_of(d(1970, 1, 4), Period::week) + 1);
    EXPECT_EQ(period_of(d(1969, 12, 29), Period::week), period_of(d(1970, 1, 1), Period::week));
    EXPECT_EQ(period_of(d(1969, 12, 28), Period::week), period_of(d(1970, 1, 1), Period::week) - 1);
    EXPECT_EQ(period_of(d(1997, 3, 31), Period::month), 27 * 12 + 2);
    EXPECT_EQ(period_of(d(1997, 4, 1), Period::month), 27 * 12 + 3);
}

TEST(Summarize, HandMadeDaily) {
    Tx tx;
    // customer 7: 2024-01-01 10 + 5 (same day, merged), 2024-01-11 20, 2024-01-21 30, refund -8 on 01-22
    tx.add(7, d(2024, 1, 11), 20, 4);
    tx.add(7, d(2024, 1, 1), 10, 2);
    tx.add(7, d(2024, 1, 1), 5, 1);
    tx.add(7, d(2024, 1, 21), 30, 6);
    tx.add(7, d(2024, 1, 22), -8, -1.5);
    // customer 3: a single purchase on 2024-01-31
    tx.add(3, d(2024, 1, 31), 100, 30);
    SummarizeOptions o;
    o.as_of = d(2024, 1, 31);
    o.windows_days = {15};
    o.trend_window_days = 15;
    auto s = summarize(tx.view(true), o);
    ASSERT_EQ(s.features.rows(), 2u);
    EXPECT_EQ(s.features.ids()[0], 3);  // sorted by id
    EXPECT_EQ(s.features.ids()[1], 7);
    // customer 3: x=0, t_x=0, T=0, monetary 0
    EXPECT_EQ(col(s, "frequency", 0), 0);
    EXPECT_EQ(col(s, "recency", 0), 0);
    EXPECT_EQ(col(s, "T", 0), 0);
    EXPECT_EQ(col(s, "monetary_value", 0), 0);
    EXPECT_EQ(col(s, "days_since_last", 0), 0);
    // customer 7: periods 01-01 (15), 01-11 (20), 01-21 (30): x=2, t_x=20, T=30, monetary=(20+30)/2
    EXPECT_EQ(col(s, "frequency", 1), 2);
    EXPECT_EQ(col(s, "recency", 1), 20);
    EXPECT_EQ(col(s, "T", 1), 30);
    EXPECT_DOUBLE_EQ(col(s, "monetary_value", 1), 25);
    EXPECT_EQ(col(s, "orders", 1), 4);           // refunds are not orders
    EXPECT_DOUBLE_EQ(col(s, "revenue", 1), 57);  // 65 - 8
    EXPECT_DOUBLE_EQ(col(s, "aov", 1), 65.0 / 4);
    EXPECT_DOUBLE_EQ(col(s, "margin", 1), 11.5);
    EXPECT_EQ(col(s, "days_since_last", 1), 10);  // last purchase 01-21, the refund is not one
    EXPECT_EQ(col(s, "active_periods", 1), 3);
    EXPECT_EQ(col(s, "first_purchase", 1), d(2024, 1, 1));
    EXPECT_EQ(col(s, "last_purchase", 1), d(2024, 1, 21));
    // windows of 15 days: (01-16, 01-31] holds 30 - 8 = 22; (01-01, 01-16] holds 20.
    EXPECT_DOUBLE_EQ(col(s, "revenue_15d", 1), 22);
    EXPECT_EQ(col(s, "orders_15d", 1), 1);
    EXPECT_DOUBLE_EQ(col(s, "trend", 1), 22.0 / 20.0);
    // customer 3: all in the latest window, nothing before -> trend_cap
    EXPECT_DOUBLE_EQ(col(s, "trend", 0), o.trend_cap);
    EXPECT_EQ(s.report.transactions, 6);
    EXPECT_EQ(s.report.used, 6);
    EXPECT_EQ(s.report.refunds, 1);
    EXPECT_TRUE(s.rejects.empty());
}

TEST(Summarize, WeeksAsUnitAndWeeklyPeriods) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 10);  // Monday
    tx.add(1, d(2024, 1, 7), 10);  // Sunday, same W-SUN week
    tx.add(1, d(2024, 1, 8), 10);  // next week
    SummarizeOptions o;
    o.as_of = d(2024, 1, 29);
    o.freq_multiplier = 7;  // daily periods, times in weeks
    auto s = summarize(tx.view(), o);
    EXPECT_EQ(col(s, "frequency", 0), 2);
    EXPECT_DOUBLE_EQ(col(s, "recency", 0), 1.0);
    EXPECT_DOUBLE_EQ(col(s, "T", 0), 4.0);
    o.period = Period::week;
    o.freq_multiplier = 1;
    s = summarize(tx.view(), o);
    EXPECT_EQ(col(s, "frequency", 0), 1);       // two weeks
    EXPECT_DOUBLE_EQ(col(s, "recency", 0), 1);  // in weeks
    EXPECT_DOUBLE_EQ(col(s, "T", 0), 4);
    EXPECT_DOUBLE_EQ(col(s, "monetary_value", 0), 10);
}

TEST(Summarize, AfterAsOfIsExcludedAndReported) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 10);
    tx.add(1, d(2024, 3, 1), 10);
    tx.add(2, d(2024, 3, 1), 10);
    SummarizeOptions o;
    o.as_of = d(2024, 2, 1);
    auto s = summarize(tx.view(), o);
    ASSERT_EQ(s.features.rows(), 1u);
    EXPECT_EQ(s.report.after_as_of, 2);
    ASSERT_EQ(s.rejects.size(), 1u);
    EXPECT_EQ(s.rejects[0].customer, 2);
    EXPECT_EQ(s.rejects[0].row, -1);
    EXPECT_EQ(s.rejects[0].reason, "no transaction on or before as_of (1 after it)");
    EXPECT_EQ(s.report.rejected_customers, 1);
}

TEST(Summarize, DefaultAsOfIsLastTransaction) {
    Tx tx;
    tx.add(5, d(2024, 1, 1), 10);
    tx.add(6, d(2024, 1, 10), 10);
    auto s = summarize(tx.view());
    EXPECT_EQ(s.report.as_of, d(2024, 1, 10));
    EXPECT_EQ(col(s, "T", 0), 9);
}

TEST(Summarize, OnlyRefundsIsARejectedCustomer) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 10);
    tx.add(2, d(2024, 1, 2), -10);
    auto s = summarize(tx.view());
    ASSERT_EQ(s.features.rows(), 1u);
    ASSERT_EQ(s.rejects.size(), 1u);
    EXPECT_EQ(s.rejects[0].customer, 2);
    EXPECT_EQ(s.rejects[0].reason, "no purchase on or before as_of (only refunds)");
}

TEST(Summarize, NaNAmountNamesTheRow) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 10);
    tx.add(1, d(2024, 1, 2), std::nan(""));
    try {
        summarize(tx.view());
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "row 1: column 'amount': must be a finite number, got nan");
    }
}

TEST(Summarize, MissingIdAndDateNameTheRow) {
    Tx tx;
    tx.add(missing_id, d(2024, 1, 1), 10);
    EXPECT_THROW(
        {
            try {
                summarize(tx.view());
            } catch (const InvalidInput& e) {
                EXPECT_STREQ(e.what(), "row 0: column 'customer': id is missing");
                throw;
            }
        },
        InvalidInput);
    Tx tx2;
    tx2.add(1, d(2024, 1, 1), 10);
    tx2.add(1, missing_day, 10);
    try {
        summarize(tx2.view());
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "row 1: column 'date': date is missing");
    }
}

TEST(Summarize, RejectModeKeepsEveryRowAccountedFor) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 10);
    tx.add(1, d(2024, 1, 2), std::numeric_limits<double>::infinity());
    tx.add(missing_id, d(2024, 1, 2), 3);
    tx.add(2, missing_day, 3);
    tx.add(3, d(2024, 1, 3), 4);
    SummarizeOptions o;
    o.reject_invalid = true;
    auto s = summarize(tx.view(), o);
    ASSERT_EQ(s.features.rows(), 2u);  // customers 1 and 3
    // rows 1, 2, 3 rejected; customer 2 rejected because all its rows were.
    ASSERT_EQ(s.rejects.size(), 4u);
    EXPECT_EQ(s.rejects[0].row, 1);
    EXPECT_EQ(s.rejects[0].reason, "column 'amount': must be a finite number, got inf");
    EXPECT_EQ(s.rejects[1].row, 2);
    EXPECT_EQ(s.rejects[2].row, 3);
    EXPECT_EQ(s.rejects[3].row, -1);
    EXPECT_EQ(s.rejects[3].customer, 2);
    EXPECT_EQ(s.report.rejected_rows, 3);
    EXPECT_EQ(s.report.used + s.report.rejected_rows + s.report.after_as_of, s.report.transactions);
    EXPECT_EQ(col(s, "frequency", 0), 0);  // the inf row of customer 1 did not count
}

TEST(Summarize, LengthMismatchIsAnError) {
    std::vector<std::int64_t> c{1, 2}, dd{1};
    std::vector<double> a{1, 2};
    EXPECT_THROW(summarize(Transactions{c, dd, a, {}, {}}), InvalidInput);
}

TEST(Summarize, UnsortedWideIdsGiveSortedOutput) {
    Tx tx;
    const std::int64_t big = 9'000'000'000'000LL;
    tx.add(big, d(2024, 1, 1), 1);
    tx.add(-5, d(2024, 1, 1), 2);
    tx.add(big, d(2024, 1, 5), 3);
    tx.add(17, d(2024, 1, 2), 4);
    auto s = summarize(tx.view());
    ASSERT_EQ(s.features.rows(), 3u);
    EXPECT_EQ(s.features.ids()[0], -5);
    EXPECT_EQ(s.features.ids()[1], 17);
    EXPECT_EQ(s.features.ids()[2], big);
    EXPECT_EQ(col(s, "frequency", 2), 1);
    EXPECT_EQ(col(s, "monetary_value", 2), 3);
}

// CDNOW: the lifetimes reference summary, rebuilt from the raw transactions.
TEST(SummarizeCdnow, ReproducesLifetimesSummary) {
    const std::filesystem::path dir = TIERKIT_SHARED_DATA "/cdnow";
    if (!std::filesystem::exists(dir / "CDNOW_sample.txt") ||
        !std::filesystem::exists(dir / "cdnow_customers_summary_with_transactions.csv"))
        GTEST_SKIP() << "shared CDNOW data not found at " << dir << " (only present in the development workspace)";
    Tx tx;
    {
        std::ifstream in(dir / "CDNOW_sample.txt");
        std::int64_t master, sample, ymd;
        double cds, dollars;
        while (in >> master >> sample >> ymd >> cds >> dollars)
            tx.add(sample,
                   d(static_cast<int>(ymd / 10000), static_cast<unsigned>(ymd / 100 % 100),
                     static_cast<unsigned>(ymd % 100)),
                   dollars);
    }
    ASSERT_EQ(tx.customer.size(), 6919u);
    SummarizeOptions o;
    o.as_of = d(1997, 9, 30);
    o.freq_multiplier = 7;
    auto s = summarize(tx.view(), o);
    ASSERT_EQ(s.features.rows(), 2357u);
    std::ifstream ref(dir / "cdnow_customers_summary_with_transactions.csv");
    std::string line;
    std::getline(ref, line);
    std::size_t checked = 0;
    double sum_x = 0;
    while (std::getline(ref, line)) {
        std::istringstream row(line);
        std::string f;
        std::vector<double> v;
        while (std::getline(row, f, ',')) v.push_back(std::stod(f));
        ASSERT_EQ(v.size(), 5u);
        const std::size_t i = checked++;
        ASSERT_EQ(s.features.ids()[i], static_cast<std::int64_t>(v[0]));
        EXPECT_EQ(col(s, "frequency", i), v[1]) << "customer " << v[0];
        EXPECT_NEAR(col(s, "recency", i), v[2], 0.005 + 1e-9) << "customer " << v[0];
        EXPECT_NEAR(col(s, "T", i), v[3], 0.005 + 1e-9) << "customer " << v[0];
        EXPECT_NEAR(col(s, "monetary_value", i), v[4], 0.005 + 1e-9) << "customer " << v[0];
        sum_x += col(s, "frequency", i);
    }
    EXPECT_EQ(checked, 2357u);
    EXPECT_EQ(sum_x, 2457);  // README: sum of frequency
    EXPECT_EQ(s.report.used, 4960);
}

// ---- Summarizer: chunks, merges and bytes give exactly summarize() on all rows. ----

namespace {

/// Synthetic transactions shuffled (ids and days out of order, customers spread over
/// every chunk), with a few bad rows for the rejects.
struct Shuffled {
    std::vector<std::int64_t> customer, day;
    std::vector<double> amount, margin, quantity;
    explicit Shuffled(bool with_bad) {
        SyntheticOptions o;
        o.customers = 800;
        o.seed = 7;
        o.threads = 1;
        auto d = synthetic(o);
        std::vector<std::size_t> perm(d.customer.size());
        std::iota(perm.begin(), perm.end(), 0);
        std::mt19937_64 rng(3);
        std::shuffle(perm.begin(), perm.end(), rng);
        for (std::size_t i : perm) {
            customer.push_back(d.customer[i] * 1000003);  // wide, unsorted ids
            day.push_back(d.day[i]);
            amount.push_back(d.amount[i]);
            margin.push_back(d.margin[i]);
            quantity.push_back(d.quantity[i]);
        }
        if (with_bad) {
            for (std::size_t i = 5; i < customer.size(); i += 401) amount[i] = std::nan("");
            for (std::size_t i = 9; i < customer.size(); i += 613) customer[i] = missing_id;
            for (std::size_t i = 11; i < customer.size(); i += 797) day[i] = missing_day;
            customer.push_back(42);  // a customer whose only row is bad
            day.push_back(missing_day);
            amount.push_back(1);
            margin.push_back(0);
            quantity.push_back(1);
        }
    }
    std::size_t size() const { return customer.size(); }
    Transactions rows(std::size_t from, std::size_t to) const {
        auto part = [&](const auto& v) { return std::span(v).subspan(from, to - from); };
        return Transactions{part(customer), part(day), part(amount), part(margin), part(quantity)};
    }
    Transactions all() const { return rows(0, size()); }
};

void expect_same(const Summary& a, const Summary& b) {
    ASSERT_EQ(a.features.rows(), b.features.rows());
    ASSERT_EQ(a.features.names(), b.features.names());
    for (std::size_t i = 0; i < a.features.rows(); ++i) ASSERT_EQ(a.features.ids()[i], b.features.ids()[i]);
    for (const auto& name : a.features.names()) {
        auto x = a.features.column(name), y = b.features.column(name);
        for (std::size_t i = 0; i < x.size(); ++i)
            ASSERT_EQ(x[i], y[i]) << name << " of customer " << a.features.ids()[i];  // bit for bit
    }
    ASSERT_EQ(a.rejects.size(), b.rejects.size());
    for (std::size_t i = 0; i < a.rejects.size(); ++i) {
        EXPECT_EQ(a.rejects[i].row, b.rejects[i].row);
        EXPECT_EQ(a.rejects[i].customer, b.rejects[i].customer);
        EXPECT_EQ(a.rejects[i].reason, b.rejects[i].reason);
    }
    const auto &p = a.report, &q = b.report;
    EXPECT_EQ(p.transactions, q.transactions);
    EXPECT_EQ(p.used, q.used);
    EXPECT_EQ(p.after_as_of, q.after_as_of);
    EXPECT_EQ(p.refunds, q.refunds);
    EXPECT_EQ(p.rejected_rows, q.rejected_rows);
    EXPECT_EQ(p.customers, q.customers);
    EXPECT_EQ(p.rejected_customers, q.rejected_customers);
    EXPECT_EQ(p.as_of, q.as_of);
}

std::vector<SummarizeOptions> streaming_options() {
    std::vector<SummarizeOptions> out(3);
    out[0].reject_invalid = true;  // as_of = last day
    out[1].reject_invalid = true;
    out[1].as_of = days_from_civil(2024, 3, 1);  // inside the data: some rows after it
    out[1].period = Period::week;
    out[1].freq_multiplier = 7;
    out[2].reject_invalid = true;
    out[2].period = Period::month;
    out[2].windows_days = {7, 60};
    return out;
}

}  // namespace

TEST(Summarizer, ChunkedEqualsWhole) {
    const Shuffled data(true);
    for (const auto& o : streaming_options()) {
        const Summary whole = summarize(data.all(), o);
        ASSERT_GT(whole.features.rows(), 400u);
        ASSERT_GT(whole.rejects.size(), 10u);
        for (std::size_t chunk : {1ul, 7ul, 500ul, 100000ul}) {
            Summarizer s(o);
            for (std::size_t from = 0; from < data.size(); from += chunk)
                s.update(data.rows(from, std::min(data.size(), from + chunk)));
            SCOPED_TRACE("chunk " + std::to_string(chunk));
            expect_same(s.finalize(), whole);
        }
    }
}

TEST(Summarizer, MergeInAnyGroupingEqualsWhole) {
    const Shuffled data(true);
    for (const auto& o : streaming_options()) {
        const Summary whole = summarize(data.all(), o);
        const std::size_t n = data.size();
        const std::size_t cut[5] = {0, n / 5, n / 2, n / 2 + 3, n};
        auto part = [&](int k) {
            Summarizer s(o);
            s.update(data.rows(cut[k], cut[k + 1]));
            return s;
        };
        Summarizer left = part(0);  // ((a+b)+c)+d
        left.merge(part(1)).merge(part(2)).merge(part(3));
        expect_same(left.finalize(), whole);
        Summarizer c = part(2);  // a+(b+(c+d))
        c.merge(part(3));
        Summarizer b = part(1);
        b.merge(c);
        Summarizer right = part(0);
        right.merge(b);
        expect_same(right.finalize(), whole);
        Summarizer ab = part(0), cd = part(2);  // (a+b)+(c+d), into an empty summarizer
        ab.merge(part(1));
        cd.merge(part(3));
        Summarizer tree(o);
        tree.merge(ab).merge(cd);
        expect_same(tree.finalize(), whole);
    }
}

TEST(Summarizer, MergeOrderOnlyRenumbersRows) {
    // b+a: the same features; rows of a come after b's.
    const Shuffled data(true);
    const SummarizeOptions o = streaming_options()[0];
    const std::size_t half = data.size() / 2;
    Summarizer a(o), b(o);
    a.update(data.rows(0, half));
    b.update(data.rows(half, data.size()));
    Summarizer ba = b;
    ba.merge(a);
    const Summary x = ba.finalize(), whole = summarize(data.all(), o);
    ASSERT_EQ(x.features.rows(), whole.features.rows());
    for (const auto& name : whole.features.names())
        for (std::size_t i = 0; i < whole.features.rows(); ++i)
            ASSERT_EQ(x.features.column(name)[i], whole.features.column(name)[i]) << name;
    const auto nb = static_cast<std::int64_t>(data.size() - half);
    for (std::size_t i = 0; i < whole.rejects.size(); ++i)
        if (whole.rejects[i].row >= 0) {
            const std::int64_t r = whole.rejects[i].row;
            const std::int64_t expected =
                r < static_cast<std::int64_t>(half) ? r + nb : r - static_cast<std::int64_t>(half);
            bool found = false;
            for (const auto& rj : x.rejects)
                found = found || (rj.row == expected && rj.reason == whole.rejects[i].reason);
            EXPECT_TRUE(found) << "row " << r;
        }
}

TEST(Summarizer, GlobalRowNumbersAndUnchangedStateOnError) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 10);
    tx.add(2, d(2024, 1, 2), 5);
    tx.add(1, d(2024, 1, 3), std::nan(""));
    Summarizer s;
    s.update(Transactions{
        std::span(tx.customer).first(2), std::span(tx.day).first(2), std::span(tx.amount).first(2), {}, {}});
    try {
        s.update(Transactions{
            std::span(tx.customer).subspan(2), std::span(tx.day).subspan(2), std::span(tx.amount).subspan(2), {}, {}});
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "row 2: column 'amount': must be a finite number, got nan");
    }
    EXPECT_EQ(s.transactions(), 2);
    const Summary out = s.finalize();
    ASSERT_EQ(out.features.rows(), 2u);
    EXPECT_EQ(out.features.column("revenue")[0], 10);
    // margin given now but not before
    std::vector<double> m{1.0};
    EXPECT_THROW(
        s.update(Transactions{
            std::span(tx.customer).first(1), std::span(tx.day).first(1), std::span(tx.amount).first(1), m, {}}),
        InvalidInput);
    SummarizeOptions other;
    other.windows_days = {30};
    Summarizer t(other);
    EXPECT_THROW(s.merge(t), InvalidInput);
}

TEST(Summarizer, HandCheckedAcrossChunks) {
    // customer 7 over two chunks: 01-01 10 | 01-01 5, 01-11 20, refund -8 on 01-11; as_of 01-31, daily.
    Tx a, b;
    a.add(7, d(2024, 1, 1), 10);
    b.add(7, d(2024, 1, 1), 5);
    b.add(7, d(2024, 1, 11), 20);
    b.add(7, d(2024, 1, 11), -8);
    SummarizeOptions o;
    o.as_of = d(2024, 1, 31);
    o.windows_days = {25};
    o.trend_window_days = 15;
    Summarizer s(o);
    s.update(a.view());
    s.update(b.view());
    const Summary out = s.finalize();
    ASSERT_EQ(out.features.rows(), 1u);
    EXPECT_EQ(col(out, "frequency", 0), 1);  // periods 01-01 and 01-11
    EXPECT_EQ(col(out, "recency", 0), 10);
    EXPECT_EQ(col(out, "T", 0), 30);
    EXPECT_EQ(col(out, "monetary_value", 0), 20);  // the repeat period's purchases
    EXPECT_EQ(col(out, "orders", 0), 3);
    EXPECT_EQ(col(out, "revenue", 0), 27);
    EXPECT_EQ(col(out, "aov", 0), 35.0 / 3);
    EXPECT_EQ(col(out, "revenue_25d", 0), 12);  // 01-11: 20 - 8
    EXPECT_EQ(col(out, "orders_25d", 0), 1);
    EXPECT_EQ(col(out, "trend", 0), 0);  // nothing in (01-16, 01-31], 12 in (01-01, 01-16]
    EXPECT_EQ(out.report.refunds, 1);
}

TEST(Summarizer, BytesRoundTripThenContinue) {
    const Shuffled data(true);
    for (const auto& o : streaming_options()) {
        const Summary whole = summarize(data.all(), o);
        const std::size_t half = data.size() / 3;
        Summarizer s(o);
        s.update(data.rows(0, half / 2));
        s.update(data.rows(half / 2, half));
        const std::string bytes = s.to_bytes();
        Summarizer back = Summarizer::from_bytes(bytes);
        EXPECT_EQ(back.to_bytes(), bytes);
        EXPECT_EQ(back.transactions(), static_cast<std::int64_t>(half));
        back.update(data.rows(half, data.size()));
        expect_same(back.finalize(), whole);
    }
    Summarizer empty;
    expect_same(Summarizer::from_bytes(empty.to_bytes()).finalize(), summarize(Transactions{}));
}

// A summarizer state written by tierkit 0.1.0 (its own "TKSTATE" envelope) still
// loads: continuing it gives summarize()'s features bit for bit.
TEST(Summarizer, GoldenStateStillLoads) {
    const Shuffled data(true);
    const SummarizeOptions o = streaming_options()[1];
    const std::string path = std::string(TIERKIT_TEST_DATA) + "/golden/summarizer.v1.tkstate";
    constexpr std::size_t saved = 600, total = 1200;
    if (std::getenv("TIERKIT_WRITE_GOLDEN")) {
        Summarizer s(o);
        s.update(data.rows(0, saved));
        std::ofstream(path, std::ios::binary) << s.to_bytes();
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path;
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(bytes.substr(0, 8), std::string("TKSTATE\0", 8));
    Summarizer s = Summarizer::from_bytes(bytes);
    EXPECT_EQ(s.transactions(), static_cast<std::int64_t>(saved));
    s.update(data.rows(saved, total));
    expect_same(s.finalize(), summarize(data.rows(0, total), o));
}

namespace {

void expect_format_error(const std::string& bytes, const std::string& part) {
    try {
        Summarizer::from_bytes(bytes);
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << " lacks '" << part << "'";
        return;
    }
    ADD_FAILURE() << "expected FormatError with '" << part << "'";
}

void put32(std::string& b, std::size_t at, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) b[at + k] = static_cast<char>((v >> (8 * k)) & 0xff);
}

void fix_crc(std::string& b) {
    boost::crc_32_type crc;
    crc.process_bytes(b.data() + 32, b.size() - 32);
    put32(b, 28, crc.checksum());
}

}  // namespace

TEST(Summarizer, BadBytesAreFormatErrors) {
    const Shuffled data(false);
    Summarizer s;
    s.update(data.rows(0, 200));
    const std::string good = s.to_bytes();
    expect_format_error("", "bad magic");
    expect_format_error("TKSTATX" + std::string(40, '\0'), "bad magic");
    expect_format_error(std::string("TIERKIT\0", 8) + std::string(40, '\0'), "format version 0 at byte 8");
    expect_format_error(good.substr(0, 20), "truncated header");
    std::string b = good;
    put32(b, 8, 99);
    expect_format_error(b, "format version 99");
    b = good;
    b[14] = 7;
    expect_format_error(b, "unknown content kind 7 at byte 14");
    b = good;
    b[14] = 0;  // a model's envelope
    expect_format_error(b, "holds a tierkit model (content kind 0 at byte 14), not a tierkit summarizer state");
    b = good;
    b[12] = 0;  // a binary archive, not a record
    expect_format_error(b, "payload encoding 0 is not a summarizer record");
    b = good;
    b[27] = 0x7f;  // length far above the cap
    expect_format_error(b, "exceeds the cap");
    expect_format_error(good.substr(0, good.size() - 1), "announces");
    b = good;
    b[good.size() / 2] ^= 0x10;
    expect_format_error(b, "checksum mismatch");
    // Valid checksum, inconsistent content: the first customer id repeated.
    b = good;
    const std::size_t windows = 3, ids_at = 32 + 1 + 8 + 1 + 8 + 8 + 8 + 8 + 8 * windows + 1 + 2 + 5 * 8 + 8;
    std::memcpy(b.data() + ids_at + 48, b.data() + ids_at, 8);  // 48 bytes per customer with margin and quantity
    fix_crc(b);
    expect_format_error(b, "missing or repeated");
    // Valid checksum, a count larger than the bytes left.
    b = good;
    b[ids_at - 1] = 0x7f;
    fix_crc(b);
    expect_format_error(b, "do not fit");
    // Truncated payload with a matching header and checksum.
    b = good.substr(0, 32 + 30);  // inside the options
    for (int k = 0; k < 8; ++k) b[20 + k] = static_cast<char>(((b.size() - 32) >> (8 * k)) & 0xff);
    fix_crc(b);
    expect_format_error(b, "truncated payload");
}

// A state's reject reasons reach messages and Python's str: bytes that are not UTF-8
// (a damaged or forged state with a valid checksum) are a FormatError at their offset.
TEST(Summarizer, RejectReasonsMustBeUtf8) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 5);
    tx.add(2, d(2024, 1, 2), std::numeric_limits<double>::quiet_NaN());
    SummarizeOptions o;
    o.reject_invalid = true;
    Summarizer s(o);
    s.update(tx.view());
    const std::string good = s.to_bytes();
    const std::string reason = "column 'amount': must be a finite number, got nan";
    const std::size_t at = good.find(reason);
    ASSERT_NE(at, std::string::npos);
    for (const auto& [bytes, offset] : {std::pair<std::string, std::size_t>{"\xff", 0},
                                        {"ab\xc3(", 2},
                                        {"\xe2\x82", 0},
                                        {"\xc0\xaf", 0},
                                        {"\xed\xa0\x80", 0}}) {
        std::string b = good;
        b.replace(at + 8, bytes.size(), bytes);  // inside "'amount'"
        fix_crc(b);
        expect_format_error(b, "reject 0: the reason is not valid UTF-8 (byte 0x");
        expect_format_error(b, "(at byte " + std::to_string(at + 8 + offset) + ")");
    }
    std::string b = good;
    b.replace(at + 8, 2, "\xc3\xa9");  // valid UTF-8 (an e with an acute accent) loads as it is
    fix_crc(b);
    const Summary out = Summarizer::from_bytes(b).finalize();
    ASSERT_EQ(out.rejects.size(), 2u);  // the row, then its customer (no valid transaction left)
    EXPECT_EQ(out.rejects[0].row, 1);
    EXPECT_EQ(out.rejects[0].reason, "column '\xc3\xa9ount': must be a finite number, got nan");
    EXPECT_EQ(out.rejects[1].reason, "every transaction of the customer was rejected");

    EXPECT_EQ(invalid_utf8_at("plain \xc3\xa9 \xf0\x9f\x98\x80"), std::string_view::npos);
    EXPECT_EQ(invalid_utf8_at("ab\x80"), 2u);
    EXPECT_EQ(invalid_utf8_at("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
    EXPECT_EQ(printable_utf8("a\xff"
                             "b\xc3\xa9\xe2\x82"),
              "a\\xffb\xc3\xa9\\xe2\\x82");
}

// Sums past the largest double: the customer goes to the rejects with the reason (or
// the call raises naming it), never NaN revenue/aov/monetary_value in the table.
TEST(Summarize, OverflowingSumsRejectTheCustomer) {
    Tx tx;
    tx.add(1, d(2024, 1, 1), 1e308);
    tx.add(1, d(2024, 1, 2), 1e308);
    tx.add(2, d(2024, 1, 3), 1e308);  // one such amount is finite and stays
    tx.add(3, d(2024, 1, 3), 5);
    SummarizeOptions o;
    o.reject_invalid = true;
    auto s = summarize(tx.view(), o);
    ASSERT_EQ(s.features.rows(), 2u);
    EXPECT_EQ(s.features.ids()[0], 2);
    EXPECT_EQ(s.features.ids()[1], 3);
    EXPECT_EQ(col(s, "revenue", 0), 1e308);
    ASSERT_EQ(s.rejects.size(), 1u);
    EXPECT_EQ(s.rejects[0].row, -1);
    EXPECT_EQ(s.rejects[0].customer, 1);
    EXPECT_EQ(s.rejects[0].reason,
              "column 'amount': the customer's sums overflow the largest double (monetary_value is not finite)");
    EXPECT_EQ(s.report.rejected_customers, 1);
    try {
        summarize(tx.view());
        ADD_FAILURE() << "no error";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(),
                     "customer 1: column 'amount': the customer's sums overflow the largest double (monetary_value is "
                     "not finite)");
    }
}

// ---- A log in time order: the radix partition and the compact streaming state. ----

namespace {

/// `rows` transactions of rows/8 customers (sparse ids) in time order, with refunds
/// and repeated days, so customers come in random order.
Shuffled time_ordered(std::size_t rows) {
    Shuffled log(false);
    log.customer.clear();
    log.day.clear();
    log.amount.clear();
    log.margin.clear();
    log.quantity.clear();
    std::mt19937_64 rng(17);
    const std::size_t m = rows / 8;
    for (std::size_t i = 0; i < rows; ++i) {
        log.customer.push_back(static_cast<std::int64_t>(rng() % m) * 7919 + 5);
        log.day.push_back(19'000 + static_cast<std::int64_t>(i * 700 / rows));  // non-decreasing
        const double cents = static_cast<double>(rng() % 20000) / 100;
        log.amount.push_back(rng() % 10 == 0 ? -cents : cents);
        log.margin.push_back(cents / 4);
        log.quantity.push_back(1);
    }
    return log;
}

}  // namespace

TEST(Summarize, TimeOrderedEqualsCustomerOrderedAtAnyThreadCount) {
    const Shuffled log = time_ordered(200'000);  // many partitions
    // The same rows grouped by customer (stable: each customer's rows keep their order).
    std::vector<std::size_t> perm(log.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::stable_sort(perm.begin(), perm.end(),
                     [&](std::size_t a, std::size_t b) { return log.customer[a] < log.customer[b]; });
    Shuffled sorted = log;
    for (std::size_t k = 0; k < perm.size(); ++k) {
        sorted.customer[k] = log.customer[perm[k]];
        sorted.day[k] = log.day[perm[k]];
        sorted.amount[k] = log.amount[perm[k]];
        sorted.margin[k] = log.margin[perm[k]];
        sorted.quantity[k] = log.quantity[perm[k]];
    }
    SummarizeOptions o;
    o.as_of = 19'600;  // some rows after it
    Summary reference = summarize(sorted.all(), o);
    ASSERT_GT(reference.features.rows(), 24'000u);
    ASSERT_GT(reference.report.after_as_of, 0);
    for (unsigned threads : {1u, 2u, 5u}) {
        set_num_threads(threads);
        SCOPED_TRACE("threads " + std::to_string(threads));
        expect_same(summarize(log.all(), o), reference);
    }
    set_num_threads(0);
}

TEST(Summarize, NarrowAndWideRecordsAgree) {
    // Without margin and quantity, ids within 2^32 of each other below the partition
    // bits and int32 days, the rows are grouped in 16-byte records; with a margin
    // column, or ids spread over 2^58, in 32-byte ones. The features are the same.
    Shuffled log = time_ordered(200'000);
    for (std::size_t i = 7; i < log.size(); i += 997) log.amount[i] = std::nan("");
    for (std::size_t i = 13; i < log.size(); i += 1499) log.day[i] = missing_day;
    SummarizeOptions o;
    o.as_of = 19'600;  // some rows after it
    o.reject_invalid = true;
    auto without_extras = [](const Shuffled& x) {
        Transactions t = x.all();
        t.margin = {};
        t.quantity = {};
        return t;
    };
    const Summary narrow = summarize(without_extras(log), o);
    ASSERT_GT(narrow.features.rows(), 24'000u);
    ASSERT_GT(narrow.report.after_as_of, 0);
    ASSERT_GT(narrow.report.rejected_rows, 200);
    const Summary with_margin = summarize(log.all(), o);
    Shuffled spread = log;
    constexpr std::int64_t scale = std::int64_t{1} << 30;
    for (auto& c : spread.customer) c *= scale;
    const Summary wide_ids = summarize(without_extras(spread), o);
    for (const Summary* other : {&with_margin, &wide_ids}) {
        const std::int64_t k = other == &wide_ids ? scale : 1;
        ASSERT_EQ(other->features.rows(), narrow.features.rows());
        for (std::size_t i = 0; i < narrow.features.rows(); ++i)
            ASSERT_EQ(other->features.ids()[i], narrow.features.ids()[i] * k);
        for (const auto& name : narrow.features.names()) {
            auto x = narrow.features.column(name), y = other->features.column(name);
            for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], y[i]) << name << " row " << i;
        }
        ASSERT_EQ(other->rejects.size(), narrow.rejects.size());
        for (std::size_t i = 0; i < narrow.rejects.size(); ++i) {
            EXPECT_EQ(other->rejects[i].row, narrow.rejects[i].row);
            EXPECT_EQ(other->rejects[i].customer, narrow.rejects[i].customer * k);
            EXPECT_EQ(other->rejects[i].reason, narrow.rejects[i].reason);
        }
        EXPECT_EQ(other->report.used, narrow.report.used);
        EXPECT_EQ(other->report.after_as_of, narrow.report.after_as_of);
        EXPECT_EQ(other->report.refunds, narrow.report.refunds);
        EXPECT_EQ(other->report.rejected_customers, narrow.report.rejected_customers);
    }
    for (unsigned threads : {1u, 5u}) {
        set_num_threads(threads);
        SCOPED_TRACE("threads " + std::to_string(threads));
        expect_same(summarize(without_extras(log), o), narrow);
    }
    set_num_threads(0);
}

TEST(Summarizer, OnePurchaseDaysCostSixteenBytes) {
    // 4000 customers, each buying once on each of 10 days, in time order over chunks.
    Shuffled log(false);
    log.customer.clear();
    log.day.clear();
    log.amount.clear();
    for (std::int64_t d = 0; d < 10; ++d)
        for (std::int64_t c = 0; c < 4000; ++c) {
            log.customer.push_back((c * 37) % 4000 * 1000 + 1);
            log.day.push_back(19'000 + 3 * d);
            log.amount.push_back(1.25 + static_cast<double>(c % 7));
        }
    Summarizer s;
    for (std::size_t from = 0; from < log.customer.size(); from += 3000) {
        const std::size_t to = std::min(log.customer.size(), from + 3000);
        auto part = [&](const auto& v) { return std::span(v).subspan(from, to - from); };
        s.update(Transactions{part(log.customer), part(log.day), part(log.amount), {}, {}});
    }
    const Summary whole = summarize(Transactions{log.customer, log.day, log.amount, {}, {}});
    expect_same(s.finalize(), whole);
    EXPECT_EQ(s.cells(), 40'000u);
    // 10 cells of 16 bytes, plus id, rows after as_of, two cell offsets and a hash
    // table entry: far below the 56 bytes a full cell takes.
    const double per_customer = static_cast<double>(s.state_bytes()) / static_cast<double>(s.customers());
    EXPECT_LT(per_customer, 10 * 16 + 100.0);
    EXPECT_GT(per_customer, 10 * 16.0);
    // The bytes hold full cells, as before: they load back to the same state.
    const Summarizer back = Summarizer::from_bytes(s.to_bytes());
    EXPECT_EQ(back.cells(), 40'000u);
    expect_same(back.finalize(), whole);
}

TEST(Summarize, TimestampTicksReadAsDays) {
    // A datetime64[ns] column as it is (ticks_per_day) gives the features of its whole
    // days: a time of day never moves a purchase to another day, NaT is a missing date,
    // and the streaming Summarizer reads the same ticks the same way.
    constexpr std::int64_t ns = 86'400'000'000'000;
    Shuffled days(true);
    Shuffled ticks = days;
    for (std::size_t i = 0; i < ticks.day.size(); ++i)
        if (ticks.day[i] != missing_day)
            ticks.day[i] = ticks.day[i] * ns + static_cast<std::int64_t>(i % 86'400) * 1'000'000'000;
    SummarizeOptions o;
    o.reject_invalid = true;
    const Summary whole = summarize(days.all(), o);
    ASSERT_GT(whole.rejects.size(), 5u);
    Transactions in_ticks = ticks.all();
    in_ticks.ticks_per_day = ns;
    expect_same(summarize(in_ticks, o), whole);
    Summarizer s(o);
    const std::size_t half = ticks.day.size() / 2;
    auto part = [&](std::size_t begin, std::size_t end) {
        Transactions t = in_ticks;
        t.customer = t.customer.subspan(begin, end - begin);
        t.day = t.day.subspan(begin, end - begin);
        t.amount = t.amount.subspan(begin, end - begin);
        t.margin = t.margin.subspan(begin, end - begin);
        t.quantity = t.quantity.subspan(begin, end - begin);
        return t;
    };
    s.update(part(0, half));
    s.update(part(half, ticks.day.size()));
    expect_same(s.finalize(), whole);
    in_ticks.ticks_per_day = 0;
    EXPECT_THROW(summarize(in_ticks, o), InvalidInput);
}
