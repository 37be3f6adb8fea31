// Criteria that are not plain numbers: value maps of labelled columns and missing
// values, through fit -> assign -> save/load, with scores computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tierkit/core/error.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"
#include "tierkit/scorer.hpp"

using namespace tierkit;

namespace {

const char* kRatingPolicy = R"({
  "criteria": [{"column": "credit_rating", "normalizer": "minmax",
                "order": ["D", "C", "B", "BB", "BBB", "A", "AA", "AAA"]}],
  "rule": {"kind": "thresholds", "cuts": [50]},
  "tiers": ["good", "rest"]})";

// Ratings BB, AAA, D, A (codes into sorted labels A, AAA, BB, D).
FeatureTable ratings() {
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4});
    t.add_category("credit_rating", {2, 1, 3, 0}, {"A", "AAA", "BB", "D"});
    return t;
}

std::string what_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(CriterionValues, OrderMapsLabelsToRanks) {
    const Model m = fit(Policy::from_json(kRatingPolicy), ratings());
    const Assignment a = m.assign(ratings());
    // order ranks: D 0, BB 3, A 5, AAA 7; minmax over [0, 7].
    EXPECT_NEAR(a.scores[0][0], 100.0 * 3 / 7, 1e-12);
    EXPECT_NEAR(a.scores[0][1], 100.0, 1e-12);
    EXPECT_NEAR(a.scores[0][2], 0.0, 1e-12);
    EXPECT_NEAR(a.scores[0][3], 100.0 * 5 / 7, 1e-12);
    EXPECT_EQ(a.tier[1], 0);
    EXPECT_EQ(a.tier[0], 1);
    EXPECT_TRUE(a.missing_filled.empty());
}

TEST(CriterionValues, ValueMapAndUnknownLabel) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "satisfaction", "normalizer": "minmax", "values": {"low": 0, "medium": 50, "high": 100}}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    FeatureTable t(std::vector<std::int64_t>{7, 8, 9});
    t.add_category("satisfaction", {0, 1, 2}, {"high", "low", "medium"});
    const Assignment a = fit(p, t).assign(t);
    EXPECT_NEAR(a.scores[0][0], 100, 1e-12);
    EXPECT_NEAR(a.scores[0][1], 0, 1e-12);
    EXPECT_NEAR(a.scores[0][2], 50, 1e-12);

    FeatureTable bad(std::vector<std::int64_t>{7, 8, 9});
    bad.add_category("satisfaction", {0, 1, 2}, {"high", "low", "meh"});
    const std::string msg = what_of([&] { fit(p, bad); });
    EXPECT_NE(msg.find("column 'satisfaction', row 2 (customer 9): unknown label 'meh'"), std::string::npos) << msg;
    EXPECT_THROW(fit(p, bad), InvalidInput);
    // A model fitted on known labels meets the unknown one at assign: the same error.
    EXPECT_THROW(fit(p, t).assign(bad), InvalidInput);
}

TEST(CriterionValues, UnknownAsMissingTakesTheFill) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "satisfaction", "normalizer": "minmax", "values": {"low": 0, "medium": 50, "high": 100},
                    "unknown": "missing", "missing": 25}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    FeatureTable t(std::vector<std::int64_t>{7, 8, 9, 10});
    t.add_category("satisfaction", {0, 1, 2, -1}, {"high", "low", "meh"});
    const Assignment a = fit(p, t).assign(t);
    // values 100, 0, 25 (unknown), 25 (missing code): minmax over [0, 100].
    EXPECT_NEAR(a.scores[0][2], 25, 1e-12);
    EXPECT_NEAR(a.scores[0][3], 25, 1e-12);
    ASSERT_EQ(a.missing_filled.size(), 1u);
    EXPECT_EQ(a.missing_filled[0].first, "score.satisfaction");
    EXPECT_EQ(a.missing_filled[0].second, 2);
}

TEST(CriterionValues, MissingMedianUsesTheFitMedian) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "nps", "normalizer": "minmax", "missing": "median"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5});
    t.add_column("nps", {10, nan, 30, 50, 20});
    const Model m = fit(p, t);
    // median of 10, 20, 30, 50 = 25; minmax over [10, 50]: (25 - 10) / 40.
    EXPECT_EQ(m.scores()[0].criteria[0].missing_fill, 25);
    EXPECT_EQ(m.scores()[0].criteria[0].missing_count, 1);
    const Assignment a = m.assign(t);
    EXPECT_NEAR(a.scores[0][1], 37.5, 1e-12);
    // New data: its own median (40) is not used; the fitted 25 is.
    FeatureTable later(std::vector<std::int64_t>{6, 7, 8});
    later.add_column("nps", {nan, 40, 40});
    const Assignment b = m.assign(later);
    EXPECT_NEAR(b.scores[0][0], 37.5, 1e-12);
    EXPECT_EQ(b.missing_filled.at(0).second, 1);
}

TEST(CriterionValues, MissingWorstFollowsDirection) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "complaints", "direction": "lower", "normalizer": "minmax", "missing": "worst"},
                   {"column": "margin", "normalizer": "minmax", "missing": "zero"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3});
    t.add_column("complaints", {1, nan, 3});
    t.add_column("margin", {-2, 2, nan});
    const Model m = fit(p, t);
    EXPECT_EQ(m.scores()[0].criteria[0].missing_fill, 3);  // the most complaints seen
    EXPECT_EQ(m.scores()[0].criteria[1].missing_fill, 0);
    const Assignment a = m.assign(t);
    // complaints y: 1, 0, 0; margin y over [-2, 2]: 0, 1, 0.5; equal weights.
    EXPECT_NEAR(a.scores[0][0], 50, 1e-12);
    EXPECT_NEAR(a.scores[0][1], 50, 1e-12);
    EXPECT_NEAR(a.scores[0][2], 25, 1e-12);
}

TEST(CriterionValues, ScorerFillsMissingValuesAndRefusesLabels) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "complaints", "direction": "lower", "normalizer": "minmax", "missing": "worst"},
                   {"column": "margin", "normalizer": "minmax"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3});
    t.add_column("complaints", {1, nan, 3});
    t.add_column("margin", {-2, 2, 0});
    const Model m = fit(p, t);
    const Assignment a = m.assign(t);
    Scorer scorer(m, {"complaints", "margin"});
    ASSERT_TRUE(scorer.allocation_free());
    // Row 2: complaints missing -> the worst seen (3), y 0; margin 2 -> y 1: score 50.
    const double row2[] = {nan, 2};
    EXPECT_EQ(scorer.assign_one(row2).scores[0], a.scores[0][1]);
    EXPECT_NEAR(scorer.assign_one(row2).scores[0], 50, 1e-12);
    // margin has no missing option: a NaN there is an error naming it.
    const double bad[] = {1, nan};
    EXPECT_THROW(scorer.assign_one(bad), InvalidInput);
    EXPECT_NE(what_of([&] { scorer.assign_one(bad); }).find("column 'margin'"), std::string::npos);

    const Model rated = fit(Policy::from_json(kRatingPolicy), ratings());
    EXPECT_THROW(Scorer(rated, {"credit_rating"}), InvalidInput);
    EXPECT_NE(what_of([&] { Scorer(rated, {"credit_rating"}); }).find("criterion 'credit_rating' maps labels"),
              std::string::npos);
}

TEST(CriterionValues, RejectNamesColumnAndRow) {
    auto p = Policy::from_json(R"({"criteria": [{"column": "nps", "normalizer": "minmax"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    FeatureTable t(std::vector<std::int64_t>{1, 2});
    t.add_column("nps", {1, std::numeric_limits<double>::quiet_NaN()});
    EXPECT_THROW(fit(p, t), InvalidInput);
    auto q = Policy::from_json(R"({"criteria": [{"column": "nps", "missing": "reject",
      "values": {"x": 1, "y": 2}}], "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    FeatureTable c(std::vector<std::int64_t>{1, 2});
    c.add_category("nps", {0, -1}, {"x"});
    const std::string msg = what_of([&] { fit(q, c); });
    EXPECT_NE(msg.find("column 'nps', row 1 (customer 2): value is missing"), std::string::npos) << msg;
    // Labels without a map, a map on numbers: typed errors that say what to do.
    EXPECT_NE(what_of([&] { fit(p, c); }).find("give the criterion an \"order\""), std::string::npos);
    EXPECT_NE(what_of([&] { fit(q, t); }).find("holds numbers"), std::string::npos);
    // Every row missing leaves nothing to take a median of.
    auto r = Policy::from_json(R"({"criteria": [{"column": "nps", "missing": "median"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    FeatureTable empty(std::vector<std::int64_t>{1});
    empty.add_column("nps", {std::numeric_limits<double>::quiet_NaN()});
    EXPECT_NE(what_of([&] { fit(r, empty); }).find("every row is missing"), std::string::npos);
}

TEST(CriterionValues, PolicyPaths) {
    auto err = [](const char* crit) {
        return what_of([&] {
            Policy::from_json(std::string(R"({"criteria": [)") + crit +
                              R"(], "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
        });
    };
    EXPECT_EQ(err(R"({"column": "r", "order": ["A", "B"], "values": {"A": 1}})").rfind("criteria[0].order:", 0), 0u);
    EXPECT_EQ(err(R"({"column": "r", "order": ["A", "A"]})").rfind("criteria[0].order[1]: label 'A' appears twice", 0),
              0u);
    EXPECT_EQ(err(R"({"column": "r", "order": ["A", 3]})").rfind("criteria[0].order[1]:", 0), 0u);
    EXPECT_EQ(err(R"({"column": "r", "values": {"A": "x"}})").rfind("criteria[0].values.A:", 0), 0u);
    EXPECT_EQ(err(R"({"column": "r", "missing": "mean"})").rfind("criteria[0].missing:", 0), 0u);
    EXPECT_EQ(err(R"({"column": "r", "missing": true})").rfind("criteria[0].missing:", 0), 0u);
    EXPECT_EQ(err(R"({"column": "r", "unknown": "missing"})").rfind("criteria[0].unknown:", 0), 0u);
    // The normalized JSON parses back to the same policy.
    auto p = Policy::from_json(
        R"({"criteria": [{"column": "r", "order": ["C", "B", "A"], "missing": -1, "unknown": "missing"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
    EXPECT_EQ(Policy::from_json(p.to_json()).to_json(), p.to_json());
    const auto& c = p.scores()[0].criteria[0];
    EXPECT_EQ(c.labels, (std::vector<std::string>{"A", "B", "C"}));
    EXPECT_EQ(c.label_values, (std::vector<double>{2, 1, 0}));
    EXPECT_EQ(c.missing, Missing::value);
    EXPECT_EQ(c.missing_value, -1);
}

TEST(CriterionValues, SaveLoadKeepsMapAndFill) {
    auto p = Policy::from_json(R"({
      "criteria": [{"column": "credit_rating", "normalizer": "percentile", "order": ["D", "C", "B", "BB", "BBB", "A", "AA", "AAA"],
                    "missing": "median", "weight": 2},
                   {"column": "nps", "normalizer": "minmax", "missing": "median", "weight": 1}],
      "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5});
    t.add_category("credit_rating", {2, 1, 3, 0, -1}, {"A", "AAA", "BB", "D"});
    t.add_column("nps", {10, nan, 30, 50, 20});
    const Model m = fit(p, t);
    const Assignment a = m.assign(t);
    for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
        std::stringstream buf;
        save(m, buf, kind);
        const Model back = load(buf);
        EXPECT_EQ(back.scores()[0].criteria[0].spec.labels, m.scores()[0].criteria[0].spec.labels);
        EXPECT_EQ(back.scores()[0].criteria[1].missing_fill, 25);
        const Assignment b = back.assign(t);
        for (std::size_t i = 0; i < 5; ++i) {
            EXPECT_EQ(b.scores[0][i], a.scores[0][i]);
            EXPECT_EQ(b.tier[i], a.tier[i]);
        }
        EXPECT_EQ(b.missing_filled, a.missing_filled);
    }
}

TEST(CriterionValues, SketchAndRefineRefuseThemTheExactModeFitsThem) {
    // The fill and the map need the whole table: the out-of-core modes say so.
    for (FitMode mode : {FitMode::sketch, FitMode::refine}) {
        const std::string msg = what_of([mode] { Fitter f(Policy::from_json(kRatingPolicy), FitOptions{mode}); });
        EXPECT_NE(msg.find("criterion 'credit_rating': value maps and missing options need the whole table; fit it "
                           "with fit() or the exact mode"),
                  std::string::npos)
            << msg;
    }
    // The exact mode gathers the whole table: two chunks give fit()'s model.
    const FeatureTable t = ratings();
    const std::vector<std::size_t> first{0, 1}, second{2, 3};
    const std::vector<FeatureTable> chunks{t.subset(first), t.subset(second)};
    const Policy p = Policy::from_json(kRatingPolicy);
    std::ostringstream chunked, whole;
    save(fit_chunks(p, chunks), chunked);
    save(fit(p, t), whole);
    EXPECT_EQ(chunked.str(), whole.str());
    EXPECT_EQ(fit_chunks(p, chunks).assign(t).tier, (std::vector<std::int32_t>{1, 0, 1, 0}));
}
