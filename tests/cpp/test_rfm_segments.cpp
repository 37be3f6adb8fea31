// rfm_segments: quintiles worked out by hand, tie modes, the default table, the
// validator on the published R rfm tables, policy errors and save/load.
#include <gtest/gtest.h>

#include <boost/math/special_functions/nonfinite_num_facets.hpp>
#include <locale>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/builtin/rfm_segments.hpp"

using namespace tierkit;
using nlohmann::json;

namespace {

std::vector<int> scores_of(const RankBins& b, const std::vector<double>& v) {
    std::vector<std::uint8_t> out(v.size());
    EXPECT_EQ(b.score(v, out), v.size());
    return {out.begin(), out.end()};
}

/// A table of customers with recency (days_since_last), frequency and revenue.
struct RfmRun {
    FeatureTable table;
    std::vector<std::string> names;
    std::vector<std::vector<double>> scores;
    RfmRun(std::vector<double> days, std::vector<double> frequency, std::vector<double> revenue) {
        std::vector<std::int64_t> ids(days.size());
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
        table = FeatureTable(ids);
        table.add_column("days_since_last", std::move(days));
        table.add_column("frequency", std::move(frequency));
        table.add_column("revenue", std::move(revenue));
    }
    RuleInput input() const { return RuleInput{table, names, scores}; }
};

// Ten customers with distinct values: every quintile holds exactly two of them.
//   days 5,10 -> R5; 20,30 -> R4; 40,50 -> R3; 60,70 -> R2; 80,90 -> R1
//   frequency 9,8 -> F5; 7,6 -> F4; 5,4 -> F3; 3,2 -> F2; 1,0 -> F1
//   revenue 900,1000 -> M5; 700,800 -> M4; 500,600 -> M3; 300,400 -> M2; 100,200 -> M1
RfmRun ten_customers() {
    return RfmRun({5, 10, 20, 30, 40, 50, 60, 70, 80, 90}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
                  {1000, 100, 900, 200, 800, 300, 700, 400, 600, 500});
}

json policy_params(json rule) {
    rule["tier_names"] = default_segment_names();
    return rule;
}

std::vector<SegmentRange> r_table(const std::vector<std::string>& names, std::vector<double> rl, std::vector<double> ru,
                                  std::vector<double> fl, std::vector<double> fu, std::vector<double> ml,
                                  std::vector<double> mu) {
    std::vector<SegmentRange> t;
    for (std::size_t k = 0; k < names.size(); ++k) {
        SegmentRange s;
        s.name = names[k];
        s.r = {rl[k], ru[k]};
        s.f = {fl[k], fu[k]};
        s.m = {ml[k], mu[k]};
        t.push_back(s);
    }
    return t;
}

std::map<std::string, std::size_t> cells_by_segment(const std::vector<SegmentRange>& table, const SegmentReport& rep) {
    std::map<std::string, std::size_t> out;
    for (std::size_t k = 0; k < table.size(); ++k) out[table[k].name] += rep.cells_won[k];
    return out;
}

std::vector<int> codes(const std::vector<RfmCell>& cells) {
    std::vector<int> out;
    for (const auto& c : cells) out.push_back(c.code());
    return out;
}

}  // namespace

// ---- scores ----------------------------------------------------------------------------

TEST(RankBins, TenDistinctValuesGiveTwoPerQuintile) {
    const std::vector<double> m{1000, 100, 900, 200, 800, 300, 700, 400, 600, 500};
    const auto b = RankBins::fit(m, 5, RankTies::average);
    EXPECT_EQ(scores_of(b, m), (std::vector<int>{5, 1, 5, 1, 4, 2, 4, 2, 3, 3}));
    EXPECT_EQ(b.thresholds(), (std::vector<double>{300, 500, 700, 900}));
}

TEST(RankBins, TwentyValuesGiveFourPerQuintile) {
    std::vector<double> v;
    for (int i = 20; i >= 1; --i) v.push_back(i * 1.5);
    const auto b = RankBins::fit(v, 5, RankTies::average);
    const auto s = scores_of(b, v);
    // v descends: the first four (30, 28.5, 27, 25.5) are the top quintile.
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s[static_cast<std::size_t>(i)], 5 - i / 4) << i;
}

TEST(RankBins, RecencyInDaysIsReversed) {
    const std::vector<double> days{5, 10, 20, 30, 40, 50, 60, 70, 80, 90};
    const auto b = RankBins::fit(days, 5, RankTies::average, /*lower_is_better=*/true);
    EXPECT_EQ(scores_of(b, days), (std::vector<int>{5, 5, 4, 4, 3, 3, 2, 2, 1, 1}));
    // Thresholds in days: R >= 2 within 70 days, R >= 5 within 10 days.
    EXPECT_EQ(b.thresholds(), (std::vector<double>{70, 50, 30, 10}));
    EXPECT_TRUE(b.lower_is_better());
    // New customers: between fitted values -> the worse neighbour's score.
    EXPECT_EQ(scores_of(b, {0, 11, 65, 1000}), (std::vector<int>{5, 4, 2, 1}));
}

TEST(RankBins, UnseenValuesTakeTheScoreOfTheFittedValueBelow) {
    const auto b = RankBins::fit(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, RankTies::average);
    EXPECT_EQ(scores_of(b, {-5, 2.99, 3, 8.5, 9, 1e9}), (std::vector<int>{1, 1, 2, 4, 5, 5}));
}

// Six customers tied at 1, then 2, 3, 4, 5 (n = 10). By hand, p = (rank - 1) / 9 and
// score = min(5, 1 + floor(5 p)):
//   average: the 1s have rank 3.5 -> p = 0.278 -> 2; 2 (rank 7) -> 3.33 -> 4; 3 -> 4; 4 -> 5; 5 -> 5
//   min:     the 1s have rank 1 -> 1;      max: rank 6 -> p = 0.556 -> 3
//   dense:   5 distinct values, ranks 1..5 -> p = 0, .25, .5, .75, 1 -> 1, 2, 3, 4, 5
//   first:   ranks 1..10 in row order -> 1 1 2 2 3 3 4 4 5 5 (pandas qcut of rank(method="first"))
TEST(RankBins, TieModesByHand) {
    const std::vector<double> v{1, 1, 1, 1, 1, 1, 2, 3, 4, 5};
    EXPECT_EQ(scores_of(RankBins::fit(v, 5, RankTies::average), v), (std::vector<int>{2, 2, 2, 2, 2, 2, 4, 4, 5, 5}));
    EXPECT_EQ(scores_of(RankBins::fit(v, 5, RankTies::min), v), (std::vector<int>{1, 1, 1, 1, 1, 1, 4, 4, 5, 5}));
    EXPECT_EQ(scores_of(RankBins::fit(v, 5, RankTies::max), v), (std::vector<int>{3, 3, 3, 3, 3, 3, 4, 4, 5, 5}));
    EXPECT_EQ(scores_of(RankBins::fit(v, 5, RankTies::dense), v), (std::vector<int>{1, 1, 1, 1, 1, 1, 2, 3, 4, 5}));
    const auto first = RankBins::fit(v, 5, RankTies::first);
    EXPECT_EQ(scores_of(first, v), (std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
    // The 1s straddle two boundaries: 2 of 6 stay below score 2, 4 of 6 below score 3.
    EXPECT_DOUBLE_EQ(first.split_below()[0], 2.0 / 6.0);
    EXPECT_DOUBLE_EQ(first.split_below()[1], 4.0 / 6.0);
    EXPECT_EQ(first.split_below()[2], 0.0);
    // Another table: its three 1s are split in the same proportion, in row order.
    EXPECT_EQ(scores_of(first, {5, 1, 2, 1, 1}), (std::vector<int>{5, 1, 4, 2, 3}));
}

TEST(RankBins, TiesNeverSplitExceptInFirstMode) {
    // 40 customers with only 3 distinct values: no score may hold two values' worth of split.
    std::vector<double> v;
    for (int i = 0; i < 40; ++i) v.push_back(i < 25 ? 0.0 : (i < 35 ? 1.0 : 2.0));
    for (auto mode : {RankTies::average, RankTies::min, RankTies::max, RankTies::dense}) {
        const auto s = scores_of(RankBins::fit(v, 5, mode), v);
        for (std::size_t i = 1; i < v.size(); ++i)
            if (v[i] == v[i - 1]) EXPECT_EQ(s[i], s[i - 1]) << to_string(mode) << " row " << i;
    }
    // average: the 25 zeros have rank 13 -> p = 12/39 -> 2; ones rank 30.5 -> 4; twos rank 38 -> 5.
    const auto s = scores_of(RankBins::fit(v, 5, RankTies::average), v);
    EXPECT_EQ(s[0], 2);
    EXPECT_EQ(s[30], 4);
    EXPECT_EQ(s[39], 5);
}

TEST(RankBins, ConstantColumnAndOneRowScoreTheMiddle) {
    EXPECT_EQ(scores_of(RankBins::fit(std::vector<double>{7, 7, 7}, 5, RankTies::average), {7, 7, 7, 0, 9}),
              (std::vector<int>{3, 3, 3, 1, 3}));
    EXPECT_EQ(scores_of(RankBins::fit(std::vector<double>{4}, 4, RankTies::first), {4}), (std::vector<int>{3}));
}

TEST(RankBins, BadInputIsNamed) {
    EXPECT_THROW(RankBins::fit(std::vector<double>{}, 5, RankTies::average), InvalidInput);
    try {
        RankBins::fit(std::vector<double>{1, std::nan(""), 3}, 5, RankTies::average);
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "row 1: must be finite, got nan");
    }
    const auto b = RankBins::fit(std::vector<double>{1, 2, 3}, 5, RankTies::average);
    std::vector<std::uint8_t> out(3);
    EXPECT_EQ(b.score(std::vector<double>{1, 2, INFINITY}, out), 2u);
}

// ---- the default table and the validator ---------------------------------------------------

TEST(SegmentTable, DefaultCoversEveryCellExactlyOnce) {
    const auto& t = default_segment_table();
    const auto rep = validate_segments(t, 5);
    EXPECT_TRUE(rep.exact());
    EXPECT_TRUE(rep.gaps.empty());
    EXPECT_TRUE(rep.overlaps.empty());
    EXPECT_TRUE(rep.unreachable.empty());
    std::size_t total = 0;
    for (auto c : rep.cells_won) total += c;
    EXPECT_EQ(total, 125u);
    for (std::size_t k = 0; k < t.size(); ++k) EXPECT_EQ(rep.cells_matched[k], rep.cells_won[k]) << t[k].name;
    const std::map<std::string, std::size_t> expected{{"Champions", 3},
                                                      {"Loyal Customers", 27},
                                                      {"Potential Loyalist", 28},
                                                      {"New Customers", 1},
                                                      {"Promising", 1},
                                                      {"Need Attention", 9},
                                                      {"About To Sleep", 6},
                                                      {"At Risk", 35},
                                                      {"Can't Lose Them", 3},
                                                      {"Hibernating", 5},
                                                      {"Lost", 7}};
    EXPECT_EQ(cells_by_segment(t, rep), expected);
    EXPECT_EQ(default_segment_names(),
              (std::vector<std::string>{"Champions", "Loyal Customers", "Potential Loyalist", "New Customers",
                                        "Promising", "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them",
                                        "Hibernating", "Lost"}));
    auto name_of = [&](int r, int f, int m) { return t[static_cast<std::size_t>(rep.winner_of({r, f, m}))].name; };
    EXPECT_EQ(name_of(5, 5, 5), "Champions");
    EXPECT_EQ(name_of(5, 5, 4), "Champions");  // (F+M)/2 = 4.5
    EXPECT_EQ(name_of(5, 4, 4), "Loyal Customers");
    EXPECT_EQ(name_of(5, 1, 1), "New Customers");
    EXPECT_EQ(name_of(4, 1, 1), "Promising");
    EXPECT_EQ(name_of(3, 3, 3), "Need Attention");
    EXPECT_EQ(name_of(3, 2, 1), "About To Sleep");
    EXPECT_EQ(name_of(1, 5, 5), "Can't Lose Them");
    EXPECT_EQ(name_of(1, 4, 4), "At Risk");
    EXPECT_EQ(name_of(2, 2, 2), "Hibernating");
    EXPECT_EQ(name_of(2, 1, 1), "Lost");
    EXPECT_EQ(name_of(1, 1, 1), "Lost");
    EXPECT_EQ(t[0].describe(), "R 5, (F+M)/2 4.5-5");
}

// rfm 0.3.0's default table (README / vignette), first match wins. SEGMENTATION.md 1.1:
// Champions 1 cell, Potential Loyalist 35, Loyal 15, New 15, Lost 14, About To Sleep 10,
// Promising 8, At Risk 7, Can't Lose Them 6, Need Attention 4, and 10 "Others" cells.
TEST(SegmentValidator, ReproducesTheRfm030Counts) {
    const auto t =
        r_table({"Champions", "Potential Loyalist", "Loyal Customers", "Promising", "New Customers", "Can't Lose Them",
                 "At Risk", "Need Attention", "About To Sleep", "Lost"},
                {5, 3, 2, 3, 4, 1, 1, 1, 2, 1}, {5, 5, 4, 4, 5, 2, 2, 3, 3, 1}, {5, 3, 2, 1, 1, 3, 2, 3, 1, 1},
                {5, 5, 4, 3, 3, 4, 5, 5, 3, 5}, {5, 2, 2, 3, 1, 4, 4, 3, 1, 1}, {5, 5, 4, 5, 5, 5, 5, 5, 4, 5});
    const auto rep = validate_segments(t, 5);
    EXPECT_EQ(codes(rep.gaps), (std::vector<int>{215, 241, 251, 252, 341, 351, 441, 451, 541, 551}));
    const std::map<std::string, std::size_t> expected{
        {"Champions", 1},       {"Potential Loyalist", 35}, {"Loyal Customers", 15}, {"New Customers", 15},
        {"Lost", 14},           {"About To Sleep", 10},     {"Promising", 8},        {"At Risk", 7},
        {"Can't Lose Them", 6}, {"Need Attention", 4}};
    EXPECT_EQ(cells_by_segment(t, rep), expected);
    EXPECT_TRUE(rep.unreachable.empty());
    EXPECT_FALSE(rep.overlaps.empty());
    // Every overlap lists its rules in table order, the winner first.
    for (const auto& o : rep.overlaps) {
        EXPECT_EQ(static_cast<std::int32_t>(o.rules.front()), rep.winner_of(o.cell));
        EXPECT_TRUE(std::is_sorted(o.rules.begin(), o.rules.end()));
    }
    const std::string text = rep.describe(t);
    EXPECT_NE(text.find("10 cells match no rule"), std::string::npos) << text;
    EXPECT_NE(text.find("no rule: 215 241 251 252 341 351 441 451 541 551"), std::string::npos) << text;
}

// The code of rfm 0.2.x's vignette (10 segments, no Hibernating): 36 "Others" cells,
// and New Customers, Promising and Can't Lose Them unreachable (SEGMENTATION.md 1.1).
TEST(SegmentValidator, ReproducesTheRfm02xCodeCounts) {
    const auto t =
        r_table({"Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising", "Need Attention",
                 "About To Sleep", "At Risk", "Can't Lose Them", "Lost"},
                {4, 2, 3, 4, 3, 2, 2, 1, 1, 1}, {5, 5, 5, 5, 4, 3, 3, 2, 1, 2}, {4, 3, 1, 1, 1, 2, 1, 2, 4, 1},
                {5, 5, 3, 1, 1, 3, 2, 5, 5, 2}, {4, 3, 1, 1, 1, 2, 1, 2, 4, 1}, {5, 5, 3, 1, 1, 3, 2, 5, 5, 2});
    const auto rep = validate_segments(t, 5);
    EXPECT_EQ(rep.gaps.size(), 36u);
    EXPECT_EQ(rep.unreachable, (std::vector<std::size_t>{3, 4, 8}));
    // Shadowed, not empty: each matches cells that earlier rules take.
    for (auto k : rep.unreachable) EXPECT_GT(rep.cells_matched[k], 0u) << t[k].name;
    const std::string text = rep.describe(t);
    EXPECT_NE(text.find("rule 3 (New Customers: R 4-5, F 1, M 1) loses every cell it matches to earlier rules"),
              std::string::npos)
        << text;
}

// The Putler map on R and (F+M)/2 with its published ranges read as inclusive:
// Recent, Promising, Can't Lose and Lost get zero cells (SEGMENTATION.md 1.5b).
TEST(SegmentValidator, PutlerRangesReadInclusivelyShadowFourSegments) {
    const json segments = json::parse(R"([
        {"name": "Champions", "r": [4, 5], "fm": [4, 5]},
        {"name": "Loyal", "r": [2, 5], "fm": [3, 5]},
        {"name": "Potential Loyalist", "r": [3, 5], "fm": [1, 3]},
        {"name": "Recent", "r": [4, 5], "fm": [0, 1]},
        {"name": "Promising", "r": [3, 4], "fm": [0, 1]},
        {"name": "Need Attention", "r": [2, 3], "fm": [2, 3]},
        {"name": "About to Sleep", "r": [2, 3], "fm": [0, 2]},
        {"name": "At Risk", "r": [0, 2], "fm": [2, 5]},
        {"name": "Can't Lose", "r": [0, 1], "fm": [4, 5]},
        {"name": "Hibernating", "r": [1, 2], "fm": [1, 2]},
        {"name": "Lost", "r": [0, 2], "fm": [0, 2]}])");
    const auto rule = make_rfm_segments_rule({{"kind", "rfm_segments"}, {"segments", segments}}, "rule", 11);
    const auto& r = dynamic_cast<const RfmSegmentRule&>(*rule);
    const auto& rep = r.report();
    std::vector<std::string> unreachable;
    for (auto k : rep.unreachable) unreachable.push_back(r.table()[k].name);
    EXPECT_EQ(unreachable, (std::vector<std::string>{"Recent", "Promising", "Can't Lose", "Lost"}));
    EXPECT_TRUE(rep.gaps.empty());
}

// ---- the rule ------------------------------------------------------------------------------

TEST(RfmSegmentRule, HandWorkedTenCustomers) {
    auto run = ten_customers();
    auto rule = make_rfm_segments_rule(policy_params({{"kind", "rfm_segments"}}), "rule", 11);
    rule->fit(run.input());
    std::vector<std::int32_t> tier(10, -1), reason(10, -1);
    rule->assign(run.input(), tier, reason);
    // cells: 555 551 445 441 334 332 224 222 113 113; (F+M)/2: 5 3 4.5 2.5 3.5 2.5 3 2 2 2
    const auto extra = rule->extra_columns(run.input());
    ASSERT_EQ(extra.size(), 4u);
    EXPECT_EQ(extra[0].first, "r_score");
    EXPECT_EQ(extra[3].first, "rfm_cell");
    EXPECT_EQ(extra[3].second, (std::vector<double>{555, 551, 445, 441, 334, 332, 224, 222, 113, 113}));
    EXPECT_EQ(extra[0].second, (std::vector<double>{5, 5, 4, 4, 3, 3, 2, 2, 1, 1}));
    EXPECT_EQ(extra[2].second, (std::vector<double>{5, 1, 5, 1, 4, 2, 4, 2, 3, 3}));
    // Champions, Potential Loyalist, Loyal, Potential Loyalist, Loyal, Need Attention,
    // At Risk, Hibernating, Lost, Lost (tiers in default_segment_names() order).
    EXPECT_EQ(tier, (std::vector<std::int32_t>{0, 2, 1, 2, 1, 5, 7, 9, 10, 10}));
    const auto reasons = rule->reasons();
    EXPECT_EQ(reasons[static_cast<std::size_t>(reason[0])], "rfm_segments: Champions (R 5, (F+M)/2 4.5-5)");
    EXPECT_EQ(reasons[static_cast<std::size_t>(reason[2])], "rfm_segments: Loyal Customers (R 3-4, (F+M)/2 3.5-5)");
    EXPECT_EQ(reasons[static_cast<std::size_t>(reason[8])], "rfm_segments: Lost (R 1, (F+M)/2 1-2)");
    const auto params = rule->parameters();
    EXPECT_EQ(params[1].first, "r_thresholds");
    EXPECT_EQ(params[1].second, (std::vector<double>{70, 50, 30, 10}));
    EXPECT_EQ(params[3].second, (std::vector<double>{300, 500, 700, 900}));
}

TEST(RfmSegmentRule, TiersAreMatchedByNameInAnyOrder) {
    auto run = ten_customers();
    auto names = default_segment_names();
    std::reverse(names.begin(), names.end());  // Lost first ... Champions last
    auto rule = make_rfm_segments_rule({{"kind", "rfm_segments"}, {"tier_names", names}}, "rule", 11);
    rule->fit(run.input());
    std::vector<std::int32_t> tier(10), reason(10);
    rule->assign(run.input(), tier, reason);
    EXPECT_EQ(tier, (std::vector<std::int32_t>{10, 8, 9, 8, 9, 5, 3, 1, 0, 0}));
}

TEST(RfmSegmentRule, CustomTableWithFallbackAndFourBins) {
    // 4 bins over 8 customers: two per bin. Only the corners are named.
    RfmRun run({1, 2, 3, 4, 5, 6, 7, 8}, {8, 7, 6, 5, 4, 3, 2, 1}, {80, 70, 60, 50, 40, 30, 20, 10});
    const json p = {{"kind", "rfm_segments"},
                    {"bins", 4},
                    {"segments", json::parse(R"([{"name": "top", "r": [4, 4], "f": [3, 4]},
                                                 {"name": "bottom", "r": [1, 1]}])")},
                    {"fallback", "middle"},
                    {"tier_names", {"top", "middle", "bottom"}}};
    auto rule = make_rfm_segments_rule(p, "rule", 3);
    rule->fit(run.input());
    std::vector<std::int32_t> tier(8), reason(8);
    rule->assign(run.input(), tier, reason);
    EXPECT_EQ(tier, (std::vector<std::int32_t>{0, 0, 1, 1, 1, 1, 2, 2}));
    EXPECT_EQ(reason, (std::vector<std::int32_t>{0, 0, 2, 2, 2, 2, 1, 1}));
    EXPECT_EQ(rule->reasons()[2], "rfm_segments: middle (fallback: the cell matches no segment)");
    EXPECT_EQ(rule->reasons()[1], "rfm_segments: bottom (R 1)");
    const auto& r = dynamic_cast<const RfmSegmentRule&>(*rule);
    EXPECT_EQ(r.report().gaps.size(), 64u - 8u - 16u);
}

TEST(RfmSegmentRule, RecencyDirectionHigherForDates) {
    // last_purchase as a day number: higher is more recent.
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5});
    t.add_column("last_purchase", {100, 200, 300, 400, 500});
    t.add_column("frequency", {1, 2, 3, 4, 5});
    t.add_column("revenue", {1, 2, 3, 4, 5});
    std::vector<std::string> names;
    std::vector<std::vector<double>> scores;
    const RuleInput in{t, names, scores};
    const json p = {{"kind", "rfm_segments"},
                    {"recency", "last_purchase"},
                    {"recency_direction", "higher"},
                    {"segments", json::parse(R"([{"name": "recent", "r": [4, 5]}, {"name": "old", "r": [1, 3]}])")}};
    auto rule = make_rfm_segments_rule(p, "rule", 2);
    rule->fit(in);
    std::vector<std::int32_t> tier(5), reason(5);
    rule->assign(in, tier, reason);
    EXPECT_EQ(tier, (std::vector<std::int32_t>{1, 1, 1, 0, 0}));
}

TEST(RfmSegmentRule, BadValuesNameColumnAndRow) {
    RfmRun run({1, 2, 3}, {1, std::nan(""), 3}, {1, 2, 3});
    auto rule = make_rfm_segments_rule(policy_params({{"kind", "rfm_segments"}}), "rule", 11);
    try {
        rule->fit(run.input());
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 'frequency', row 1: must be finite, got nan");
    }
    RfmRun good({1, 2, 3}, {1, 2, 3}, {1, 2, 3});
    rule->fit(good.input());
    std::vector<std::int32_t> tier(3), reason(3);
    try {
        rule->assign(run.input(), tier, reason);
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 'frequency', row 1: must be finite, got nan");
    }
    RfmRun missing({1, 2}, {1, 2}, {1, 2});
    auto other =
        make_rfm_segments_rule(policy_params({{"kind", "rfm_segments"}, {"monetary", "monetary_value"}}), "rule", 11);
    EXPECT_THROW(other->fit(missing.input()), UnknownColumn);
}

// ---- policy errors ---------------------------------------------------------------------------

namespace {
std::string policy_error(const json& p, std::size_t tiers) {
    try {
        make_rfm_segments_rule(p, "rule", tiers);
    } catch (const PolicyError& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST(RfmSegmentPolicy, GapsWithoutFallbackListTheFirstCells) {
    const json segments = json::parse(R"([
        {"name": "Champions", "r": [5, 5], "f": [5, 5], "m": [5, 5]},
        {"name": "Potential Loyalist", "r": [3, 5], "f": [3, 5], "m": [2, 5]},
        {"name": "Loyal Customers", "r": [2, 4], "f": [2, 4], "m": [2, 4]},
        {"name": "Promising", "r": [3, 4], "f": [1, 3], "m": [3, 5]},
        {"name": "New Customers", "r": [4, 5], "f": [1, 3], "m": [1, 5]},
        {"name": "Can't Lose Them", "r": [1, 2], "f": [3, 4], "m": [4, 5]},
        {"name": "At Risk", "r": [1, 2], "f": [2, 5], "m": [4, 5]},
        {"name": "Need Attention", "r": [1, 3], "f": [3, 5], "m": [3, 5]},
        {"name": "About To Sleep", "r": [2, 3], "f": [1, 3], "m": [1, 4]},
        {"name": "Lost", "r": [1, 1], "f": [1, 5], "m": [1, 5]}])");
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"}, {"segments", segments}}, 10),
              "rule.segments: 10 of 125 cells match no segment: 215, 241, 251, 252, 341, 351, 441, 451, 541, 551; "
              "add segments or name a \"fallback\" segment");
    // With a fallback the same table is accepted; its overlaps are reported.
    auto rule =
        make_rfm_segments_rule({{"kind", "rfm_segments"}, {"segments", segments}, {"fallback", "Others"}}, "rule", 11);
    std::map<std::string, std::vector<double>> params;
    for (auto& [k, v] : rule->parameters()) params[k] = v;
    EXPECT_EQ(params["fallback_cells"], (std::vector<double>{215, 241, 251, 252, 341, 351, 441, 451, 541, 551}));
    EXPECT_FALSE(params["overlap_cells"].empty());
    EXPECT_EQ(params["segment_cells"].back(), 10.0);
}

TEST(RfmSegmentPolicy, SegmentNamesMustBeTheTiers) {
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"},
                            {"segments", json::parse(R"([{"name": "a", "r": [1, 3]}, {"name": "b", "r": [4, 5]}])")},
                            {"tier_names", {"a", "c"}}},
                           2),
              "rule.segments: the policy's tiers must be the segment names, one tier per segment; segments: a, b; "
              "tiers: a, c");
    const std::string msg = policy_error({{"kind", "rfm_segments"}, {"tier_names", {"key", "high", "low"}}}, 3);
    EXPECT_NE(msg.find("segments: Champions, Loyal Customers, Potential Loyalist,"), std::string::npos) << msg;
    EXPECT_NE(msg.find("; tiers: key, high, low"), std::string::npos) << msg;
}

TEST(RfmSegmentPolicy, BadParametersNameTheirPath) {
    const json ok_segments = json::parse(R"([{"name": "a", "r": [1, 3]}, {"name": "b", "r": [4, 5]}])");
    auto with = [&](const char* key, json value) {
        json p = {{"kind", "rfm_segments"}, {"segments", ok_segments}};
        p[key] = std::move(value);
        return policy_error(p, 2);
    };
    EXPECT_EQ(with("ties", "random"), "rule.ties: must be one of average, min, max, dense, first, got 'random'");
    EXPECT_EQ(with("bins", 12), "rule.bins: must be a whole number in 2..9, got 12");
    EXPECT_EQ(with("recency_direction", "up"), "rule.recency_direction: must be one of lower, higher, got 'up'");
    EXPECT_EQ(with("colour", 1),
              "rule.colour: unknown key; expected one of: kind, recency, frequency, monetary, "
              "recency_direction, bins, ties, segments, fallback, tier_names");
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"}, {"bins", 4}}, 11),
              "rule.segments: required when bins is not 5 (the default table is for 5 bins), got bins = 4");
    const json bad_range = json::parse(R"([{"name": "a", "r": [1, 3]}, {"name": "b", "r": [4, 5]},
                                          {"name": "b", "r": [4, 7]}])");
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"}, {"segments", bad_range}}, 2),
              "rule.segments[2].r: must be [lo, hi] with 0 <= lo <= hi <= 5 (whole numbers), got [4,7]");
    const json bad_fm = json::parse(R"([{"name": "a", "fm": [1, 2.25]}])");
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"}, {"segments", bad_fm}}, 1),
              "rule.segments[0].fm: must be [lo, hi] with 0 <= lo <= hi <= 5 (in steps of 0.5), got [1,2.25]");
    const json both = json::parse(R"([{"name": "a", "f": [1, 5], "fm": [1, 5]}])");
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"}, {"segments", both}}, 1),
              "rule.segments[0]: give fm (on (F+M)/2), or f and m, not both");
    const json unnamed = json::parse(R"([{"r": [1, 5]}])");
    EXPECT_EQ(policy_error({{"kind", "rfm_segments"}, {"segments", unnamed}}, 1),
              "rule.segments[0].name: required: the segment (and tier) name");
}

// ---- save / load -------------------------------------------------------------------------

namespace {
// As the model archives do (io.cpp): text and XML need the non-finite facets to
// read back infinite bounds.
template <class OArchive, class IArchive>
std::shared_ptr<Rule> round_trip(const std::shared_ptr<Rule>& rule) {
    std::stringstream buffer;
    std::locale with_put(buffer.getloc(), new boost::math::nonfinite_num_put<char>);
    buffer.imbue(std::locale(with_put, new boost::math::nonfinite_num_get<char>));
    {
        OArchive out(buffer, boost::archive::no_codecvt);
        out << boost::serialization::make_nvp("rule", rule);
    }
    std::shared_ptr<Rule> loaded;
    IArchive in(buffer, boost::archive::no_codecvt);
    in >> boost::serialization::make_nvp("rule", loaded);
    return loaded;
}
}  // namespace

TEST(RfmSegmentRule, SaveLoadGivesIdenticalAssignments) {
    // `first` ties so that the split shares travel too.
    RfmRun run({3, 3, 3, 9, 1, 7, 7, 2, 5, 3, 8, 8}, {1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 1, 1},
               {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100, 100});
    std::shared_ptr<Rule> rule(
        make_rfm_segments_rule(policy_params({{"kind", "rfm_segments"}, {"ties", "first"}}), "rule", 11));
    rule->fit(run.input());
    std::vector<std::int32_t> tier(12), reason(12);
    rule->assign(run.input(), tier, reason);
    const auto extra = rule->extra_columns(run.input());
    for (int kind = 0; kind < 3; ++kind) {
        std::shared_ptr<Rule> loaded =
            kind == 0   ? round_trip<boost::archive::text_oarchive, boost::archive::text_iarchive>(rule)
            : kind == 1 ? round_trip<boost::archive::xml_oarchive, boost::archive::xml_iarchive>(rule)
                        : round_trip<boost::archive::binary_oarchive, boost::archive::binary_iarchive>(rule);
        ASSERT_TRUE(loaded);
        EXPECT_EQ(loaded->kind(), "rfm_segments");
        std::vector<std::int32_t> t2(12), r2(12);
        loaded->assign(run.input(), t2, r2);
        EXPECT_EQ(t2, tier) << kind;
        EXPECT_EQ(r2, reason) << kind;
        EXPECT_EQ(loaded->extra_columns(run.input()), extra) << kind;
        EXPECT_EQ(loaded->reasons(), rule->reasons());
        EXPECT_EQ(loaded->parameters(), rule->parameters());
    }
    // clone() is independent and equal.
    auto copy = rule->clone();
    std::vector<std::int32_t> t3(12), r3(12);
    copy->assign(run.input(), t3, r3);
    EXPECT_EQ(t3, tier);
}

// ---- through a policy ------------------------------------------------------------------------

#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"
#include "tierkit/rules/registry.hpp"

TEST(RfmSegmentPolicy, FitAssignSaveLoadThroughAModel) {
    SyntheticOptions o;
    o.customers = 3000;
    o.seed = 8;
    const auto d = synthetic(o);
    const FeatureTable features = summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    json policy = {{"criteria", {"revenue"}}, {"rule", {{"kind", "rfm_segments"}}}, {"tiers", default_segment_names()}};
    const Model model = fit(Policy::from_json(policy.dump()), features);
    const Assignment a = model.assign(features);
    ASSERT_EQ(a.tier.size(), features.rows());
    std::map<std::string, std::vector<double>> extra(a.extras.begin(), a.extras.end());
    ASSERT_EQ(extra.size(), 4u);
    const auto& table = default_segment_table();
    const auto report = validate_segments(table, 5);
    std::vector<std::size_t> per_tier(11, 0);
    for (std::size_t i = 0; i < a.tier.size(); ++i) {
        const int r = static_cast<int>(extra["r_score"][i]), f = static_cast<int>(extra["f_score"][i]),
                  m = static_cast<int>(extra["m_score"][i]);
        EXPECT_EQ(extra["rfm_cell"][i], 100 * r + 10 * f + m);
        // The segment is the table's lookup of the cell, and the tier has its name.
        const auto rule = static_cast<std::size_t>(report.winner_of({r, f, m}));
        ASSERT_EQ(a.reason[i], static_cast<std::int32_t>(rule));
        ASSERT_EQ(a.tier_names[static_cast<std::size_t>(a.tier[i])], table[rule].name);
        ++per_tier[static_cast<std::size_t>(a.tier[i])];
    }
    // Quintiles: about a fifth of the customers at each R score (ties in days aside).
    std::size_t r5 = 0;
    for (double r : extra["r_score"]) r5 += r == 5 ? 1 : 0;
    EXPECT_NEAR(static_cast<double>(r5) / 3000.0, 0.2, 0.05);
    EXPECT_GT(per_tier[0], 0u);   // Champions
    EXPECT_GT(per_tier[10], 0u);  // Lost
    for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
        std::stringstream buffer;
        save(model, buffer, kind);
        const Model loaded = load(buffer, kind);
        const Assignment b = loaded.assign(features);
        EXPECT_EQ(b.tier, a.tier);
        EXPECT_EQ(b.reason, a.reason);
        EXPECT_EQ(b.reasons, a.reasons);
        EXPECT_EQ(b.extras, a.extras);
    }
}
