// Lifecycle stages on hand-made customers, re-tiering with hysteresis (score cuts
// and tier-index rules), next actions and the policy's lifecycle/strategies sections.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "tierkit/core/error.hpp"
#include "tierkit/lifecycle/lifecycle.hpp"
#include "tierkit/model.hpp"

using namespace tierkit;
using lifecycle::PreviousAssignment;
using lifecycle::Stage;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::int8_t code(Stage s) { return static_cast<std::int8_t>(s); }

/// Customers with the summarize columns; the evaluation day is 1000 for all.
/// last_purchase = 1000 - days_since_last.
FeatureTable stage_table(const std::vector<double>& orders, const std::vector<double>& dsl,
                         const std::vector<double>& first, const std::vector<double>& trend) {
    std::vector<std::int64_t> ids;
    std::vector<double> last;
    for (std::size_t i = 0; i < orders.size(); ++i) {
        ids.push_back(static_cast<std::int64_t>(i + 1));
        last.push_back(1000 - dsl[i]);
    }
    FeatureTable t(ids);
    t.add_column("orders", orders);
    t.add_column("days_since_last", dsl);
    t.add_column("first_purchase", first);
    t.add_column("last_purchase", last);
    t.add_column("trend", trend);
    return t;
}

std::string stage_of(const lifecycle::Stages& s, std::size_t i) {
    return lifecycle::stage_names[static_cast<std::size_t>(s.stage[i])];
}

}  // namespace

TEST(Lifecycle, EachStageByActivity) {
    // Defaults: repeat within 90 days of the first purchase, active within 90 days,
    // trend 0.8 / 1.2, loyal from 5 purchases over 365 days, at risk after 180 days
    // without a purchase, lost after 365. Evaluation day 1000; tenure = 1000 - first.
    auto t = stage_table({0, kNaN, 5, 1, 8, 8, 3, 3, 8, 8, 8, 2, 8, 1, 4, 4, 1, 8, 8},
                         {0, kNaN, 400, 60, 20, 20, 20, 10, 365, 20, 20, 10, 20, 250, 250, 120, 60, 180, 181},
                         {0, kNaN, 100, 940, 600, 600, 600, 100, 100, 600, 600, 910, 600, 750, 100, 100, 940, 100, 100},
                         {0, kNaN, 0.1, 10, 0.5, 1.5, 1.0, 1.0, 1.0, 0.8, 1.2, 10, 1.0, 1.0, 1.0, 1.0, 10, 0, 0});
    std::vector<std::int8_t> prev(t.rows(), -1);
    prev[7] = code(Stage::lost);
    prev[2] = code(Stage::lost);  // still lost: stays lost
    lifecycle::LifecycleSpec spec;
    auto s = lifecycle::compute_stages(spec, t, prev);
    const char* want[] = {"prospect", "prospect",  "lost",       "first_time", "declining", "growing", "mature",
                          "won_back", "at_risk",   "declining",  "growing",    "repeat",    "loyal",   "at_risk",
                          "at_risk",  "declining", "first_time", "declining",  "at_risk"};
    for (std::size_t i = 0; i < t.rows(); ++i) EXPECT_EQ(stage_of(s, i), want[i]) << "row " << i;
    auto reason = [&](std::size_t i) { return s.reasons[static_cast<std::size_t>(s.reason[i])]; };
    // Row 8: exactly 365 days without a purchase is not yet lost, but at risk.
    EXPECT_EQ(reason(2), "lost: no purchase for more than 365 days");
    EXPECT_EQ(reason(8), "at_risk: no purchase for more than 180 days");
    EXPECT_EQ(reason(3), "first_time: one purchase so far");
    EXPECT_EQ(reason(9), "declining: trend <= 0.8");
    EXPECT_EQ(reason(6), "mature: bought within 90 days, trend between 0.8 and 1.2");
    EXPECT_EQ(reason(12), "loyal: 5+ purchases over 365+ days, trend between 0.8 and 1.2");
    // Row 11: first purchase 1000 - 910 = 90 days ago, bought again: a new repeat buyer
    // (its trend at the cap does not make it growing).
    EXPECT_EQ(reason(11), "repeat: bought again, first purchase within 90 days");
    // Rows 13 and 14: idle 250 days, both trend windows empty (trend 0/0 = 1): at risk,
    // not mature, one-time buyer or not. Row 15: idle 120 days with the same trend of 1:
    // not active, so declining. Row 16: a one-time buyer at the trend cap.
    EXPECT_EQ(reason(15), "declining: no purchase for more than 90 days");
    // Row 17: 180 days is not yet at risk; row 18: 181 is.
    // Without the previous stage, row 7 is an established, active, stable customer.
    auto s0 = lifecycle::compute_stages(spec, t, {});
    EXPECT_EQ(stage_of(s0, 7), "mature");
}

TEST(Lifecycle, RepeatBoundary) {
    auto t = stage_table({2, 2, 1}, {5, 5, 5}, {910, 909, 500}, {1.0, 1.0, 1.0});  // tenure 90, 91, 500
    auto s = lifecycle::compute_stages({}, t, {});
    EXPECT_EQ(stage_of(s, 0), "repeat");
    EXPECT_EQ(stage_of(s, 1), "mature");
    EXPECT_EQ(stage_of(s, 2), "first_time");  // one purchase is never mature
}

TEST(Lifecycle, PurchasesArePurchasePeriodsWhenKnown) {
    // Three orders on one day (active_periods 1) are a first-time buyer; with
    // active_periods 5 over 400 days the customer is loyal.
    auto t = stage_table({3, 3, 5}, {5, 5, 5}, {995, 600, 600}, {1.0, 1.0, 1.0});
    auto by_orders = lifecycle::compute_stages({}, t, {});
    EXPECT_EQ(stage_of(by_orders, 0), "repeat");
    EXPECT_EQ(stage_of(by_orders, 2), "loyal");
    t.add_column("active_periods", {1, 3, 4});
    auto s = lifecycle::compute_stages({}, t, {});
    EXPECT_EQ(stage_of(s, 0), "first_time");
    EXPECT_EQ(stage_of(s, 1), "mature");
    EXPECT_EQ(stage_of(s, 2), "mature");  // 4 purchase periods < loyal_purchases 5
    lifecycle::LifecycleSpec spec;
    spec.loyal_purchases = 3;
    spec.loyal_days = 300;
    EXPECT_EQ(stage_of(lifecycle::compute_stages(spec, t, {}), 1), "loyal");
}

TEST(Lifecycle, StagesWithPAlive) {
    auto t = stage_table({5, 5, 5, 5, 5, 1}, {500, 10, 10, 10, 10, 200}, {100, 100, 100, 100, 100, 800},
                         {1.0, 1.0, 1.0, 1.5, 1.5, 1.0});
    t.add_column("p_alive", {0.9, 0.1, 0.3, 0.3, 0.7, 1.0});
    lifecycle::LifecycleSpec spec;  // lost < 0.2, at risk < 0.5
    auto s = lifecycle::compute_stages(spec, t, {});
    // Days count with p_alive too: 500 days idle is lost whatever P(alive) says.
    EXPECT_EQ(stage_of(s, 0), "lost");
    EXPECT_EQ(stage_of(s, 1), "lost");
    EXPECT_EQ(s.reasons[static_cast<std::size_t>(s.reason[1])], "lost: p_alive < 0.2");
    EXPECT_EQ(stage_of(s, 2), "at_risk");
    EXPECT_EQ(s.reasons[static_cast<std::size_t>(s.reason[2])], "at_risk: p_alive < 0.5");
    EXPECT_EQ(stage_of(s, 3), "at_risk");  // p_alive falling outweighs a rising trend
    EXPECT_EQ(stage_of(s, 4), "growing");
    // A one-time buyer has a BG/NBD P(alive) of 1 however long ago: its days decide.
    EXPECT_EQ(stage_of(s, 5), "at_risk");
}

TEST(Lifecycle, StageErrors) {
    auto t = stage_table({1, 2}, {5, 5}, {100, 100}, {1.0, kNaN});
    try {
        lifecycle::compute_stages({}, t, {});
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_NE(std::string(e.what()).find("column 'trend', row 1"), std::string::npos) << e.what();
    }
    FeatureTable missing(std::vector<std::int64_t>{1});
    missing.add_column("orders", {1});
    EXPECT_THROW(lifecycle::compute_stages({}, missing, {}), UnknownColumn);
}

namespace {

/// thresholds on column x: >= 60 -> a, >= 30 -> b, else c.
Model threshold_model(const std::string& hysteresis) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "x", "normalizer": "minmax"}],
      "rule": {"kind": "thresholds", "column": "x", "cuts": [60, 30]},
      "lifecycle": {"hysteresis": )" +
                               hysteresis + R"(},
      "tiers": [{"name": "a", "mode": "strategic"}, {"name": "b", "mode": "cooperative"}, "c"]})");
    FeatureTable fit_table(std::vector<std::int64_t>{1, 2});
    fit_table.add_column("x", {0, 100});
    return fit(p, fit_table);
}

FeatureTable x_table(const std::vector<double>& x) {
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < x.size(); ++i) ids.push_back(static_cast<std::int64_t>(100 + i));
    FeatureTable t(ids);
    t.add_column("x", x);
    return t;
}

PreviousAssignment previous(const FeatureTable& t, std::vector<std::int32_t> tier,
                            std::vector<std::int32_t> below = {}) {
    PreviousAssignment p;
    p.ids.assign(t.ids().begin(), t.ids().end());
    p.tier = std::move(tier);
    p.below_count = std::move(below);
    return p;
}

/// The previous evaluation taken from an assignment's tier and below_count.
PreviousAssignment previous_of(const FeatureTable& t, const Assignment& a) {
    return previous(t, std::vector<std::int32_t>(a.tier.begin(), a.tier.end()),
                    std::vector<std::int32_t>(a.below_count.begin(), a.below_count.end()));
}

/// Re-tier `t` against `p` (a temporary lives until the end of the call's full expression).
Assignment assign_after(const Model& m, const FeatureTable& t, const PreviousAssignment& p) {
    return m.assign(t, {.with_contributions = false, .previous = &p});
}
}  // namespace

TEST(Hysteresis, MarginsAndConsecutiveEvaluations) {
    Model m = threshold_model(R"({"up_margin": 5, "down_margin": 5, "k": 2, "max_demotion": 1})");
    //              0    1    2    3    4    5   6    7    8
    auto t = x_table({62, 66, 58, 54, 54, 10, 62, 29, 40});
    auto prev = previous(t, {1, 1, 0, 0, 0, 0, -1, 1, 2}, {0, 0, 0, 0, 1, 1, 0, 0, 3});
    auto a = m.assign(t, {.with_contributions = false, .previous = &prev});
    const std::int32_t want_tier[] = {1, 0, 0, 0, 1, 1, 0, 1, 1};
    const std::int32_t want_below[] = {0, 0, 0, 1, 0, 2, 0, 0, 0};
    for (std::size_t i = 0; i < t.rows(); ++i) {
        EXPECT_EQ(a.tier[i], want_tier[i]) << "row " << i;
        EXPECT_EQ(a.below_count[i], want_below[i]) << "row " << i;
    }
    // 0: 62 is above a's cut 60 but not by up_margin 5: stays b. 1: 66 >= 65: promoted.
    EXPECT_EQ(a.reasons[static_cast<std::size_t>(a.reason[0])], "hysteresis: b: a better tier needs x >= its cut + 5");
    EXPECT_EQ(a.reasons[static_cast<std::size_t>(a.reason[1])], "thresholds: x >= 60");
    // 2: 58 is within down_margin of 60: kept, no counter. 3: 54 < 55, first time: kept, counter 1.
    EXPECT_EQ(a.reasons[static_cast<std::size_t>(a.reason[3])],
              "hysteresis: kept a: demotion needs x < its cut - 5 for 2 evaluations in a row");
    // 4: second evaluation below: demoted to b, landed (counter 0).
    // 5: second evaluation far below (c level): one tier per evaluation -> b, counter stays 2.
    EXPECT_EQ(a.reasons[static_cast<std::size_t>(a.reason[5])],
              "hysteresis: down to b (at most 1 tier(s) per evaluation)");
    // 6: new to the book: the plain rule (62 -> a) without margins.
    EXPECT_EQ(a.new_to_book, 1);
    // 7: 29 is within down_margin of b's cut 30: kept b. 8: promotion from c to b is
    // 40 >= 30 + 5: promoted (an old counter does not matter).
    EXPECT_EQ(a.rule_reason, a.reason);
}

TEST(Hysteresis, SoftLandingOverTwoEvaluations) {
    Model m = threshold_model(R"({"k": 2, "max_demotion": 1})");
    auto t = x_table({10});
    auto a1 = assign_after(m, t, previous(t, {0}, {0}));
    EXPECT_EQ(a1.tier[0], 0);  // first evaluation below: kept
    EXPECT_EQ(a1.below_count[0], 1);
    auto a2 = assign_after(m, t, previous_of(t, a1));
    EXPECT_EQ(a2.tier[0], 1);  // second: one step down, still below b
    EXPECT_EQ(a2.below_count[0], 2);
    auto a3 = assign_after(m, t, previous_of(t, a2));
    EXPECT_EQ(a3.tier[0], 2);  // third: lands in c
    EXPECT_EQ(a3.below_count[0], 0);
    // With max_demotion 2 it falls both tiers once k is reached.
    Model fast = threshold_model(R"({"k": 2, "max_demotion": 2})");
    auto b2 = assign_after(fast, t, previous_of(t, a1));
    EXPECT_EQ(b2.tier[0], 2);
    EXPECT_EQ(b2.below_count[0], 0);
}

TEST(Hysteresis, WithoutMarginsMatchesThePlainRuleJustAroundTheCut) {
    Model m = threshold_model(R"({"k": 1, "max_demotion": 2})");
    auto t = x_table({60, 59.999, 30, 29.999});
    auto plain = m.assign(t, {.with_contributions = false});
    auto a = assign_after(m, t, previous(t, {1, 0, 2, 1}));
    EXPECT_EQ(plain.tier, (std::vector<std::int32_t>{0, 1, 1, 2}));
    EXPECT_EQ(a.tier, plain.tier);
    EXPECT_EQ(a.reason, plain.reason);
    // A customer a hair above the cut with an up_margin stays; a hair below with a down_margin stays.
    Model held = threshold_model(R"({"up_margin": 0.5, "down_margin": 0.5})");
    auto h = assign_after(held, t, previous(t, {1, 0, 2, 1}));
    EXPECT_EQ(h.tier, (std::vector<std::int32_t>{1, 0, 2, 1}));
}

TEST(Hysteresis, RuleWithoutCutsUsesTierIndices) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "x", "normalizer": "minmax"}],
      "rule": {"kind": "expression", "branches": [{"when": "x >= 60", "tier": "a"}, {"when": "x >= 30", "tier": "b"},
                                                  {"else": "c"}]},
      "lifecycle": {"hysteresis": {"up_margin": 50, "down_margin": 50, "k": 2, "max_demotion": 1}},
      "tiers": ["a", "b", "c"]})");
    FeatureTable fit_table(std::vector<std::int64_t>{1, 2});
    fit_table.add_column("x", {0, 100});
    Model m = fit(p, fit_table);
    EXPECT_TRUE(m.rule().score_cuts().source.empty());
    auto t = x_table({61, 10, 10, 10});
    auto a = assign_after(m, t, previous(t, {2, 0, 0, 1}, {0, 0, 1, 1}));
    // Margins do not apply: 61 is promoted c -> a at once. Demotions wait k = 2 and move one tier.
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 0, 1, 2}));
    EXPECT_EQ(a.below_count, (std::vector<std::int32_t>{0, 1, 2, 0}));
}

TEST(Hysteresis, QuantileAndAbcRulesExposeTheirCuts) {
    auto q = Policy::from_json(
        R"({"criteria": ["x"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})");
    FeatureTable f(std::vector<std::int64_t>{1, 2, 3, 4});
    f.add_column("x", {1, 2, 3, 4});
    Model m = fit(q, f);
    const auto cuts = m.rule().score_cuts();
    EXPECT_EQ(cuts.source, "score");
    ASSERT_EQ(cuts.cuts.size(), 1u);
    auto plain = m.assign(f, {.with_contributions = false});
    EXPECT_DOUBLE_EQ(cuts.cuts[0], plain.scores[0][2]);  // the 2nd highest score
    auto abc = Policy::from_json(
        R"({"criteria": ["x"], "rule": {"kind": "abc", "column": "x", "cuts": [0.5]}, "tiers": ["a", "b"]})");
    Model ma = fit(abc, f);
    EXPECT_EQ(ma.rule().score_cuts().source, "x");
    // Revenue share before 4 is 0, before 3 is 40% (< 50%), before 2 is 70%: A = {4, 3}, cut 3.
    EXPECT_EQ(ma.rule().score_cuts().cuts, (std::vector<double>{3}));
}

TEST(Hysteresis, PreviousErrorsNameColumnAndRow) {
    Model m = threshold_model("{}");
    auto t = x_table({10, 20});
    auto message = [&](PreviousAssignment p) -> std::string {
        try {
            m.assign(t, {.with_contributions = false, .previous = &p});
        } catch (const InvalidInput& e) {
            return e.what();
        }
        return "no error";
    };
    EXPECT_EQ(message(previous(t, {0, 3})), "previous: column 'tier', row 1: tier index must be in [-1, 3), got 3");
    EXPECT_EQ(message(previous(t, {0, 1}, {0, -2})), "previous: column 'below_count', row 1: must be >= 0, got -2");
    auto dup = previous(t, {0, 1});
    dup.ids = {7, 7};
    EXPECT_EQ(message(dup), "previous: ids, row 1: customer 7 appears more than once (first at row 0)");
    auto bad_stage = previous(t, {0, 1});
    bad_stage.stage = {0, 12};
    EXPECT_EQ(message(bad_stage), "previous: column 'stage', row 1: stage code must be in [-1, 10), got 12");
}

TEST(Hysteresis, MatchesByIdInAnyOrder) {
    Model m = threshold_model(R"({"k": 2})");
    auto t = x_table({10, 70, 40});  // ids 100, 101, 102
    PreviousAssignment p;
    p.ids = {102, 999, 100};  // 101 is new to the book; 999 left
    p.tier = {0, 0, 0};
    auto a = m.assign(t, {.with_contributions = false, .previous = &p});
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 0, 0}));
    EXPECT_EQ(a.below_count, (std::vector<std::int32_t>{1, 0, 1}));
    EXPECT_EQ(a.new_to_book, 1);
    EXPECT_EQ(a.previous_dropped, 1);
}

TEST(NextAction, DefaultTableAndPolicyStrategies) {
    const char* policy = R"({
      "criteria": [{"column": "x", "normalizer": "minmax"}],
      "rule": {"kind": "thresholds", "column": "x", "cuts": [60, 30]},
      %s
      "tiers": [{"name": "a", "mode": "strategic"}, {"name": "b", "mode": "cooperative"}, "c"]})";
    auto make = [&](const std::string& extra) {
        char buf[2048];
        std::snprintf(buf, sizeof buf, policy, extra.c_str());
        return Policy::from_json(buf);
    };
    // a declining, b growing, c lost, c prospect, a mature, b at_risk, c first_time, a loyal
    auto t = stage_table({5, 5, 5, 0, 3, 5, 1, 5}, {10, 10, 500, 0, 10, 200, 10, 10},
                         {100, 100, 100, 0, 100, 100, 990, 100}, {0.5, 1.5, 1.0, 0, 1.0, 0, 10, 1.0});
    t.add_column("x", {70, 40, 10, 10, 90, 40, 10, 90});
    FeatureTable f(std::vector<std::int64_t>{1, 2});
    f.add_column("x", {0, 100});
    auto a = fit(make(""), f).assign(t, {.with_contributions = false});
    auto action = [&](const Assignment& as, std::size_t i) {
        return as.next_actions[static_cast<std::size_t>(as.next_action[i])];
    };
    ASSERT_EQ(a.stage.size(), 8u);
    EXPECT_EQ(action(a, 0), "executive retention call");
    EXPECT_EQ(action(a, 1), "upsell review");
    EXPECT_EQ(action(a, 2), "win-back campaign");
    EXPECT_EQ(action(a, 3), "nurture campaign");
    EXPECT_EQ(action(a, 4), "executive business review");
    EXPECT_EQ(action(a, 5), "account manager retention review");
    EXPECT_EQ(action(a, 6), "second-purchase incentive");
    EXPECT_EQ(action(a, 7), "executive business review");
    auto b = fit(make(R"("strategies": [{"tier": ["a"], "stage": "declining", "action": "CEO visit"},
                                        {"stage": ["lost", "prospect"], "mode": "transactional", "action": "email"}],)"),
                 f)
                 .assign(t, {.with_contributions = false});
    EXPECT_EQ(action(b, 0), "CEO visit");
    EXPECT_EQ(action(b, 1), "upsell review");  // falls through to the default table
    EXPECT_EQ(action(b, 2), "email");
    EXPECT_EQ(action(b, 3), "email");
    // A manual override changes the tier, and the next action follows it.
    std::vector<ManualOverride> pins{{1, 2, "moved"}};
    auto c = fit(make(""), f).assign(t, {.with_contributions = false, .overrides = pins});
    EXPECT_EQ(action(c, 0), "retention offer");
}

TEST(NextAction, StagesAbsentWithoutTheColumnsUnlessRequired) {
    // Only hysteresis settings: stages where the columns are.
    EXPECT_TRUE(threshold_model("{}").assign(x_table({1}), {.with_contributions = false}).stage.empty());
    // A stage threshold or strategies: stages required.
    auto strict =
        Policy::from_json(R"({"criteria": ["x"], "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"],
                                        "lifecycle": {"new_days": 30}})");
    EXPECT_TRUE(strict.requires_stages());
    try {
        fit(strict, x_table({1, 2})).assign(x_table({1}), {.with_contributions = false});
        FAIL() << "expected UnknownColumn";
    } catch (const UnknownColumn& e) {
        EXPECT_EQ(std::string(e.what()).rfind("lifecycle: ", 0), 0u) << e.what();
    }
    auto p =
        Policy::from_json(R"({"criteria": ["x"], "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    auto t = x_table({1, 2});
    auto a = fit(p, t).assign(t, {.with_contributions = false});
    EXPECT_TRUE(a.stage.empty());
    EXPECT_TRUE(a.next_action.empty());
    EXPECT_EQ(a.below_count, (std::vector<std::int32_t>{0, 0}));
}

TEST(LifecyclePolicy, DefaultsErrorsAndRoundTrip) {
    auto p =
        Policy::from_json(R"({"criteria": ["x"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]},
                                   "lifecycle": {"lost_days": 180, "hysteresis": {"k": 3}}})");
    EXPECT_TRUE(p.has_lifecycle());
    EXPECT_TRUE(p.requires_stages());
    EXPECT_EQ(p.lifecycle().lost_days, 180);
    EXPECT_EQ(p.lifecycle().at_risk_days, 180);  // follows lost_days down when not given
    EXPECT_EQ(p.lifecycle().active_days, 90);
    EXPECT_EQ(p.lifecycle().new_days, 90);
    EXPECT_EQ(p.lifecycle().hysteresis.k, 3);
    EXPECT_EQ(p.lifecycle().hysteresis.max_demotion, 1);
    auto again = Policy::from_json(p.to_json());
    EXPECT_EQ(again.to_json(), p.to_json());
    EXPECT_EQ(again.lifecycle().hysteresis.k, 3);
    auto error = [](const std::string& extra) -> std::string {
        try {
            Policy::from_json(
                R"({"criteria": ["x"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]}, )" + extra +
                "}");
        } catch (const PolicyError& e) {
            return e.what();
        }
        return "no error";
    };
    EXPECT_EQ(
        error(R"("lifecycle": {"lost_dayz": 1})"),
        "lifecycle.lost_dayz: unknown key; expected one of: new_days, active_days, growing_trend, declining_trend, "
        "loyal_purchases, loyal_days, at_risk_days, at_risk_p_alive, declining_p_alive, lost_days, lost_p_alive, "
        "hysteresis");
    EXPECT_EQ(error(R"("lifecycle": {"at_risk_days": 400})"),
              "lifecycle.at_risk_days: must be <= lost_days 365, got 400");
    EXPECT_EQ(error(R"("lifecycle": {"active_days": 200})"),
              "lifecycle.active_days: must be <= at_risk_days 180, got 200");
    EXPECT_EQ(error(R"("lifecycle": {"loyal_purchases": 1})"), "lifecycle.loyal_purchases: must be >= 2, got 1");
    EXPECT_EQ(error(R"("lifecycle": {"declining_p_alive": 0.4, "at_risk_p_alive": 0.4})"),
              "lifecycle.declining_p_alive: is the former name of at_risk_p_alive; give only at_risk_p_alive");
    EXPECT_EQ(error(R"("lifecycle": {"lost_p_alive": 0.6})"),
              "lifecycle.lost_p_alive: must be <= at_risk_p_alive 0.5, got 0.6");
    EXPECT_EQ(error(R"("lifecycle": {"hysteresis": {"k": 1.5}})"),
              "lifecycle.hysteresis.k: must be a whole number, got 1.5");
    EXPECT_EQ(error(R"("lifecycle": {"hysteresis": {"up_margin": -1}})"),
              "lifecycle.hysteresis.up_margin: must be >= 0, got -1");
    EXPECT_EQ(error(R"("lifecycle": {"declining_trend": 2})"),
              "lifecycle.declining_trend: must be < growing_trend 1.2, got 2");
    EXPECT_EQ(error(R"("strategies": [{"tier": "z", "action": "x"}])"),
              "strategies[0].tier: unknown tier 'z'; the policy's tiers: a, b");
    EXPECT_EQ(error(R"("strategies": [{"stage": "dormant", "action": "x"}])"),
              "strategies[0].stage: must be one of prospect, first_time, repeat, loyal, growing, mature, at_risk, "
              "declining, lost, won_back, got 'dormant'");
    EXPECT_EQ(error(R"("strategies": [{"stage": "lost"}])"),
              "strategies[0].action: required: the next action for matching customers");
    EXPECT_EQ(error(R"("strategies": [{"mode": "x", "action": "y"}])"),
              "strategies[0].mode: must be one of transactional, cooperative, strategic, emotional, got 'x'");
    // A tierkit 0.1 lifecycle section (as model files store it) reads declining_p_alive
    // as at_risk_p_alive and writes the new name.
    auto old =
        Policy::from_json(R"({"criteria": ["x"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]},
        "lifecycle": {"new_days": 90, "growing_trend": 1.2, "declining_trend": 0.8, "declining_p_alive": 0.4,
                      "lost_p_alive": 0.2, "lost_days": 365}})");
    EXPECT_EQ(old.lifecycle().at_risk_p_alive, 0.4);
    EXPECT_EQ(old.lifecycle().at_risk_days, 180);
    EXPECT_NE(old.to_json().find("at_risk_p_alive"), std::string::npos) << old.to_json();
    EXPECT_EQ(Policy::from_json(old.to_json()).lifecycle().at_risk_p_alive, 0.4);
    EXPECT_EQ(old.to_json().find("declining_p_alive"), std::string::npos);
    // Without the sections, the normalized JSON has neither.
    auto plain =
        Policy::from_json(R"({"criteria": ["x"], "tiers": ["a"], "rule": {"kind": "quantiles", "shares": []}})");
    EXPECT_EQ(plain.to_json().find("lifecycle"), std::string::npos);
    EXPECT_FALSE(plain.has_lifecycle());
    EXPECT_FALSE(plain.requires_stages());
}
