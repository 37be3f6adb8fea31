// summarize on hand-made transaction lists, checked by hand, and on CDNOW.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tierkit/error.hpp"
#include "tierkit/features/summarize.hpp"

using namespace tierkit;

namespace {

std::int64_t d(int y, unsigned m, unsigned day) { return days_from_civil(y, m, day); }

struct Tx {
    std::vector<std::int64_t> customer, day;
    std::vector<double> amount, margin;
    Transactions view(bool with_margin = false) const {
        return Transactions{customer, day, amount, with_margin ? std::span<const double>(margin) : std::span<const double>{}, {}};
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
    EXPECT_EQ(col(s, "orders", 1), 4);                 // refunds are not orders
    EXPECT_DOUBLE_EQ(col(s, "revenue", 1), 57);        // 65 - 8
    EXPECT_DOUBLE_EQ(col(s, "aov", 1), 65.0 / 4);
    EXPECT_DOUBLE_EQ(col(s, "margin", 1), 11.5);
    EXPECT_EQ(col(s, "days_since_last", 1), 10);       // last purchase 01-21, the refund is not one
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
    tx.add(1, d(2024, 1, 1), 10);   // Monday
    tx.add(1, d(2024, 1, 7), 10);   // Sunday, same W-SUN week
    tx.add(1, d(2024, 1, 8), 10);   // next week
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
            tx.add(sample, d(static_cast<int>(ymd / 10000), static_cast<unsigned>(ymd / 100 % 100), static_cast<unsigned>(ymd % 100)), dollars);
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
