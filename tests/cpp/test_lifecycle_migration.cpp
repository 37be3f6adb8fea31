// Migration matrix, events, revenue at risk and win-back on a hand-made join of two
// assignments; the Markov projection checked by hand and by its invariants.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numeric>

#include "tierkit/core/error.hpp"
#include "tierkit/lifecycle/migration.hpp"

using namespace tierkit;
using namespace tierkit::lifecycle;

namespace {
constexpr std::int32_t A = 0, B = 1, C = 2, none = absent;

// Ten customers over tiers A > B > C:
//  id  before after  stage before -> after   value
//   1   A      A     mature    -> mature      100
//   2   A      B     mature    -> declining    50
//   3   B      A     lost      -> won_back     30
//   4   B      B     growing   -> mature       20
//   5   B      C     mature    -> lost         10
//   6   C      -     declining -> -             5
//   7   -      C     -         -> new           1
//   8   C      C     declining -> declining     2
//   9   A      -     mature    -> -            80
//  10   -      A     -         -> won_back     40
struct Example {
    std::vector<std::int64_t> ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    std::vector<std::int32_t> before{A, A, B, B, B, C, none, C, A, none};
    std::vector<std::int32_t> after{A, B, A, B, C, none, C, C, none, A};
    std::vector<std::int32_t> stage_before{stage_code(Stage::mature),
                                           stage_code(Stage::mature),
                                           stage_code(Stage::lost),
                                           stage_code(Stage::growing),
                                           stage_code(Stage::mature),
                                           stage_code(Stage::declining),
                                           none,
                                           stage_code(Stage::declining),
                                           stage_code(Stage::mature),
                                           none};
    std::vector<std::int32_t> stage_after{
        stage_code(Stage::mature),     stage_code(Stage::declining), stage_code(Stage::won_back),
        stage_code(Stage::mature),     stage_code(Stage::lost),      none,
        stage_code(Stage::first_time), stage_code(Stage::declining), none,
        stage_code(Stage::won_back)};
    std::vector<double> value{100, 50, 30, 20, 10, 5, 1, 2, 80, 40};

    Transitions plain() const { return Transitions{ids, before, after, {}, {}, 3}; }
    Transitions staged() const { return Transitions{ids, before, after, stage_before, stage_after, 3}; }
};

template <class Fn>
void expect_invalid(Fn&& fn, const char* message) {
    try {
        fn();
        ADD_FAILURE() << "expected InvalidInput: " << message;
    } catch (const InvalidInput& x) {
        EXPECT_STREQ(x.what(), message);
    }
}

MigrationMatrix closed_two_tiers() {
    // 8 stay in A, 2 go A -> B, 1 goes B -> A, 9 stay in B; nobody enters or leaves.
    MigrationMatrix m;
    m.tiers = 2;
    m.counts = {8, 2, 0, 1, 9, 0, 0, 0, 0};
    return m;
}
}  // namespace

TEST(Migration, CountsSharesAndRevenueByHand) {
    Example e;
    const auto m = migration(e.plain(), e.value);
    ASSERT_EQ(m.size(), 4u);
    // rows A, B, C, new; columns A, B, C, exited
    EXPECT_EQ(m.counts, (std::vector<std::int64_t>{1, 1, 0, 1,  //
                                                   1, 1, 1, 0,  //
                                                   0, 0, 1, 1,  //
                                                   1, 0, 1, 0}));
    EXPECT_DOUBLE_EQ(m.share(0, 1), 1.0 / 3);
    EXPECT_DOUBLE_EQ(m.share(2, 3), 0.5);
    EXPECT_DOUBLE_EQ(m.share(3, 0), 0.5);
    EXPECT_EQ(m.revenue_moved, (std::vector<double>{100, 50, 0, 80, 30, 20, 10, 0, 0, 0, 2, 5, 40, 0, 1, 0}));
    EXPECT_EQ(m.before_sizes(), (std::vector<std::int64_t>{3, 3, 2, 2}));
    EXPECT_EQ(m.after_sizes(), (std::vector<std::int64_t>{3, 2, 3, 2}));
    EXPECT_TRUE(migration(e.plain()).revenue_moved.empty());
}

TEST(Migration, RowSharesSumToOneAndEmptyRowIsZero) {
    std::vector<std::int64_t> ids{1, 2};
    std::vector<std::int32_t> before{0, 0}, after{0, 2};
    const auto m = migration(Transitions{ids, before, after, {}, {}, 3});
    EXPECT_DOUBLE_EQ(m.share(0, 0) + m.share(0, 2), 1.0);
    for (std::size_t j = 0; j < 4; ++j) EXPECT_EQ(m.share(1, j), 0.0);
}

TEST(Migration, BadInputIsNamed) {
    Example e;
    e.after[4] = 3;
    expect_invalid([&] { migration(e.plain()); }, "tier_after: row 4: must be in [0, 3) or absent (-1), got 3");
    Example both;
    both.before[6] = none;
    both.after[6] = none;
    expect_invalid([&] { migration(both.plain()); }, "tier_after: row 6: customer 7 is absent from both assignments");
    Example nan;
    nan.value[2] = std::nan("");
    expect_invalid([&] { migration(nan.plain(), nan.value); }, "values: row 2: must be finite, got nan");
    Example shorter;
    shorter.before.pop_back();
    EXPECT_THROW(migration(shorter.plain()), InvalidInput);
    Example no_previous;
    EXPECT_THROW(migration(Transitions{no_previous.ids, {}, no_previous.after, {}, {}, 3}), InvalidInput);
    Example stage;
    stage.stage_after[0] = 10;
    EXPECT_THROW(migration(stage.staged()), InvalidInput);
}

TEST(Migration, SameResultAtAnyThreadCount) {
    const std::size_t n = 300'000;
    std::vector<std::int64_t> ids(n);
    std::vector<std::int32_t> before(n), after(n);
    std::vector<double> value(n);
    for (std::size_t i = 0; i < n; ++i) {
        ids[i] = static_cast<std::int64_t>(i);
        before[i] = static_cast<std::int32_t>(i % 5) - 1;
        after[i] = before[i] == none ? 1 : static_cast<std::int32_t>((i / 7) % 5) - 1;
        value[i] = 1.0 / static_cast<double>(i + 1);
    }
    const Transitions t{ids, before, after, {}, {}, 4};
    setenv("TIERKIT_NUM_THREADS", "1", 1);
    const auto one = migration(t, value);
    const auto ev1 = events(t);
    setenv("TIERKIT_NUM_THREADS", "3", 1);
    const auto three = migration(t, value);
    const auto ev3 = events(t);
    unsetenv("TIERKIT_NUM_THREADS");
    EXPECT_EQ(one.counts, three.counts);
    EXPECT_EQ(one.revenue_moved, three.revenue_moved);  // bit-identical
    EXPECT_EQ(ev1.rows, ev3.rows);
    EXPECT_EQ(ev1.kinds, ev3.kinds);
    EXPECT_EQ(std::accumulate(one.counts.begin(), one.counts.end(), std::int64_t{0}), static_cast<std::int64_t>(n));
}

TEST(Crosstab, DifferentCategoriesByHand) {
    // Five customers under a 3-tier and a 2-tier classification:
    //   a: 0 0 2 1 -    b: 1 0 1 - 0    values: 1 2 4 8 16
    // Cells (a, b): (0,1) (0,0) (2,1) (1,absent) (absent,0).
    const std::vector<std::int32_t> a{0, 0, 2, 1, none}, b{1, 0, 1, none, 0};
    const std::vector<double> v{1, 2, 4, 8, 16};
    const CrossTable x = crosstab(Codes{a, 3, "policy_a"}, Codes{b, 2, "policy_b"}, v);
    ASSERT_EQ(x.rows, 3u);
    ASSERT_EQ(x.cols, 2u);
    const std::vector<std::int64_t> counts{1, 1, 0,   // a = 0
                                           0, 0, 1,   // a = 1: absent from b
                                           0, 1, 0,   // a = 2
                                           1, 0, 0};  // absent from a
    EXPECT_EQ(x.counts, counts);
    const std::vector<double> sums{2, 1, 0, 0, 0, 8, 0, 4, 0, 16, 0, 0};
    EXPECT_EQ(x.sums, sums);
    EXPECT_EQ(x.count(3, 0), 1);
    EXPECT_TRUE(crosstab(Codes{a, 3}, Codes{b, 2}).sums.empty());
}

TEST(Crosstab, MigrationIsTheCrosstabOfTiersBeforeAndAfter) {
    const Example e;
    const MigrationMatrix m = migration(e.plain(), e.value);
    const CrossTable x = crosstab(Codes{e.before, 3}, Codes{e.after, 3}, e.value);
    EXPECT_EQ(m.counts, x.counts);
    EXPECT_EQ(m.revenue_moved, x.sums);
}

TEST(Crosstab, BadInputIsNamed) {
    const std::vector<std::int32_t> a{0, none}, b{0, none}, bad{0, 2}, short_b{0};
    auto message = [](auto&& fn) {
        try {
            fn();
        } catch (const InvalidInput& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message([&] { crosstab(Codes{a, 1, "x"}, Codes{b, 1, "y"}); }), "y: row 1: absent from both x and y");
    EXPECT_EQ(message([&] { crosstab(Codes{a, 1, "x"}, Codes{bad, 2, "y"}); }).find("y: row 1: must be in [0, 2)"), 0u);
    EXPECT_EQ(message([&] { crosstab(Codes{a, 1, "x"}, Codes{short_b, 1, "y"}); }), "y: expected 2 rows (as x), got 1");
    const std::vector<double> nan{1.0, std::nan("")};
    const std::vector<std::int32_t> full{0, 0};
    EXPECT_EQ(message([&] {
                  crosstab(Codes{full, 1, "x"}, Codes{full, 1, "y"}, nan);
              }).find("values: row 1: must be finite"),
              0u);
}

TEST(Events, WithoutStagesTierMovesEntriesAndExits) {
    Example e;
    const auto ev = events(e.plain());
    EXPECT_EQ(ev.rows, (std::vector<std::int64_t>{1, 2, 4, 5, 6, 8, 9}));
    std::vector<std::string_view> kinds;
    for (auto k : ev.kinds) kinds.push_back(to_string(static_cast<EventKind>(k)));
    EXPECT_EQ(kinds,
              (std::vector<std::string_view>{"downgrade", "upgrade", "downgrade", "lost", "new", "lost", "new"}));
}

TEST(Events, WithStagesOneRowPerCustomerByPrecedence) {
    Example e;
    const auto ev = events(e.staged());
    // 1 and 8: no change. 2: downgrade beats its stage change; 3: won_back beats
    // upgrade; 4: stage change only; 5: stage lost beats downgrade; 10: new beats won_back.
    EXPECT_EQ(ev.rows, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 8, 9}));
    std::vector<std::string_view> kinds;
    for (auto k : ev.kinds) kinds.push_back(to_string(static_cast<EventKind>(k)));
    EXPECT_EQ(kinds, (std::vector<std::string_view>{"downgrade", "won_back", "stage_change", "lost", "lost", "new",
                                                    "lost", "new"}));
}

TEST(RevenueAtRisk, WithStagesByHand) {
    Example e;
    const auto r = revenue_at_risk(e.staged(), e.value);
    // reported under the tier before (after for new customers):
    // A = {1, 2, 9, 10}, B = {3, 4, 5}, C = {6, 7, 8}
    EXPECT_EQ(r.tier_customers, (std::vector<std::int64_t>{4, 3, 3}));
    EXPECT_EQ(r.tier_value, (std::vector<double>{270, 60, 8}));
    // [tier][lost, downgraded, declining]
    EXPECT_EQ(r.customers, (std::vector<std::int64_t>{1, 1, 0, 1, 0, 0, 1, 0, 1}));
    EXPECT_EQ(r.value, (std::vector<double>{80, 50, 0, 10, 0, 0, 5, 0, 2}));
}

TEST(RevenueAtRisk, WithoutStagesDowngradesAndExitsOnly) {
    Example e;
    const auto r = revenue_at_risk(e.plain(), e.value);
    EXPECT_EQ(r.customers, (std::vector<std::int64_t>{1, 1, 0, 0, 1, 0, 1, 0, 0}));
    EXPECT_EQ(r.value, (std::vector<double>{80, 50, 0, 0, 10, 0, 5, 0, 0}));
}

TEST(RevenueAtRisk, WithoutPreviousStagesOnly) {
    Example e;
    // current assignment only: customers present after, reported under their tier after
    std::vector<std::int64_t> ids;
    std::vector<std::int32_t> tier, stage;
    std::vector<double> value;
    for (std::size_t i = 0; i < e.ids.size(); ++i)
        if (e.after[i] != none) {
            ids.push_back(e.ids[i]);
            tier.push_back(e.after[i]);
            stage.push_back(e.stage_after[i]);
            value.push_back(e.value[i]);
        }
    const auto r = revenue_at_risk(Transitions{ids, {}, tier, {}, stage, 3}, value);
    // A = {1, 3, 10}, B = {2, 4}: 2 declining, C = {5, 7, 8}: 5 lost, 8 declining
    EXPECT_EQ(r.tier_customers, (std::vector<std::int64_t>{3, 2, 3}));
    EXPECT_EQ(r.customers, (std::vector<std::int64_t>{0, 0, 0, 0, 0, 1, 1, 0, 1}));
    EXPECT_EQ(r.value, (std::vector<double>{0, 0, 0, 0, 0, 50, 10, 0, 2}));
    EXPECT_THROW(revenue_at_risk(Transitions{ids, {}, tier, {}, {}, 3}, value), InvalidInput);
}

TEST(WinBack, HighestValueFirst) {
    Example e;
    EXPECT_EQ(win_back(e.staged(), e.value), (std::vector<std::int64_t>{8, 1, 4, 5, 7}));
    EXPECT_EQ(win_back(e.staged(), e.value, 2), (std::vector<std::int64_t>{8, 1}));
    EXPECT_EQ(win_back(e.plain(), e.value), (std::vector<std::int64_t>{8, 1, 4, 5}));
    e.value[1] = 80;  // tie with customer 9: the lower id first
    EXPECT_EQ(win_back(e.plain(), e.value, 2), (std::vector<std::int64_t>{1, 8}));
}

TEST(Projection, TwoTiersByHand) {
    const auto p = project(closed_two_tiers(), 2, std::vector<double>{10, 1});
    // after: A = 8 + 1 = 9, B = 2 + 9 = 11; P = [[0.8, 0.2], [0.1, 0.9]]
    EXPECT_EQ(p.sizes[0], 9);
    EXPECT_EQ(p.sizes[1], 11);
    EXPECT_NEAR(p.sizes[2], 8.3, 1e-12);
    EXPECT_NEAR(p.sizes[3], 11.7, 1e-12);
    EXPECT_NEAR(p.sizes[4], 7.81, 1e-12);
    EXPECT_NEAR(p.sizes[5], 12.19, 1e-12);
    EXPECT_NEAR(p.value[4], 78.1, 1e-11);
    EXPECT_NEAR(p.value[5], 12.19, 1e-12);
    EXPECT_EQ(p.exited[2], 0);
}

TEST(Projection, ClosedChainConservesAndReachesStationary) {
    const auto m = closed_two_tiers();
    const auto p = project(m, 300);
    for (std::size_t t = 0; t <= 300; ++t) EXPECT_NEAR(p.sizes[2 * t] + p.sizes[2 * t + 1], 20.0, 1e-9);
    // stationary: pi_A = 0.1 / (0.2 + 0.1) = 1/3
    const auto s = steady_state(transition_model(m), 20.0);
    EXPECT_NEAR(s[0], 20.0 / 3, 1e-12);
    EXPECT_NEAR(s[1], 40.0 / 3, 1e-12);
    EXPECT_NEAR(p.sizes[600], 20.0 / 3, 1e-9);
    EXPECT_NEAR(p.sizes[601], 40.0 / 3, 1e-9);
}

TEST(Projection, EntriesAndExitsByHand) {
    Example e;
    const auto m = migration(e.plain());
    const auto p = project(m, 1);
    // P: A -> [1/3, 1/3, 0 | exit 1/3], B -> [1/3, 1/3, 1/3 | 0], C -> [0, 0, 1/2 | 1/2]
    // entries [1, 0, 1]; after sizes [3, 2, 3]
    EXPECT_NEAR(p.sizes[3], 1 + 2.0 / 3 + 1, 1e-12);
    EXPECT_NEAR(p.sizes[4], 1 + 2.0 / 3, 1e-12);
    EXPECT_NEAR(p.sizes[5], 2.0 / 3 + 1.5 + 1, 1e-12);
    EXPECT_DOUBLE_EQ(p.entered[1], 2);
    EXPECT_NEAR(p.exited[1], 2.5, 1e-12);
    // the open chain settles at its fixed point x = x P + entries
    const auto far = project(m, 400);
    const auto s = steady_state(transition_model(m), 0);
    for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(far.sizes[400 * 3 + j], s[j], 1e-9);
}

TEST(Projection, WithoutEntriesAndExitsTotalIsConserved) {
    Example e;
    const auto m = migration(e.plain());
    const ProjectionOptions closed{false, false};
    const auto p = project(m, 200, {}, closed);
    for (std::size_t t = 0; t <= 200; ++t)
        EXPECT_NEAR(p.sizes[3 * t] + p.sizes[3 * t + 1] + p.sizes[3 * t + 2], 8.0, 1e-9);
    // C absorbs everyone: A -> [1/2, 1/2, 0], B -> [1/3, 1/3, 1/3], C -> [0, 0, 1]
    const auto s = steady_state(transition_model(m, closed), 8.0);
    EXPECT_NEAR(s[0], 0, 1e-12);
    EXPECT_NEAR(s[2], 8, 1e-12);
    EXPECT_NEAR(p.sizes[600], 0, 1e-9);
    EXPECT_NEAR(p.sizes[602], 8, 1e-9);
}

TEST(Projection, NonUniqueSteadyStateIsANumericError) {
    MigrationMatrix m;
    m.tiers = 2;
    m.counts = {5, 0, 0, 0, 4, 0, 0, 0, 0};  // nobody moves: any split is stationary
    EXPECT_THROW(steady_state(transition_model(m), 9), NumericError);
    EXPECT_THROW(project(m, 1, std::vector<double>{1}), InvalidInput);
}
