// CLV in the engine: a policy's clv section fits a CLV model before the scores, and its
// columns (p_alive, expected_purchases, clv) are read by criteria and rules, returned as
// Assignment extras, and saved with the model. The derived columns must equal, bit for
// bit, what the clv API computes with the same parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/clv/clv.hpp"
#include "tierkit/clv/engine.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/tierkit.hpp"
#include "weekly_features.hpp"

using namespace tierkit;

namespace {

/// Synthetic customers summarized with daily periods and times in weeks (days / 7).
const FeatureTable& weekly_features() {
    static const FeatureTable t = test_data::weekly_synthetic_features(4000, 11);
    return t;
}

const std::vector<double>& extra(const Assignment& a, const std::string& name) {
    for (const auto& [n, values] : a.extras)
        if (n == name) return values;
    ADD_FAILURE() << "no extra column '" << name << "'";
    static const std::vector<double> none;
    return none;
}

std::vector<std::string> extra_names(const Assignment& a) {
    std::vector<std::string> out;
    for (const auto& [n, values] : a.extras) out.push_back(n);
    return out;
}

template <class Exception>
std::string message_of(const std::function<void()>& body) {
    try {
        body();
    } catch (const Exception& e) {
        return e.what();
    }
    ADD_FAILURE() << "no exception of the expected type";
    return {};
}

// clv and p_alive as criteria of one score, quantile tiers.
const char* kClvPolicy = R"({
  "name": "clv-engine",
  "clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01,
          "time_unit": "W"},
  "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.7}, {"column": "p_alive", "weight": 0.3}]}],
  "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]},
  "tiers": ["key", "growth", "rest"]})";

clv::RfmColumns rfm_of(const FeatureTable& t) { return {t.column("frequency"), t.column("recency"), t.column("T")}; }

}  // namespace

TEST(ClvEngine, ColumnsEqualTheClvApiBitForBit) {
    const FeatureTable& t = weekly_features();
    const Model m = fit(Policy::from_json(kClvPolicy), t);
    ASSERT_TRUE(m.clv().has_value());

    // The engine fits the same models as the clv API on the same columns.
    clv::FitOptions options;
    options.time_unit = clv::TimeUnit::weeks;
    const auto bg =
        clv::fit_bg_nbd(clv::compress_rfm(t.column("frequency"), t.column("recency"), t.column("T")), options);
    const auto gg = clv::fit_gamma_gamma(clv::compress_spend(t.column("frequency"), t.column("monetary_value")));
    const auto& stored = std::get<clv::Fitted<clv::BgNbdParams>>(m.clv()->transactions()).params;
    EXPECT_EQ(stored.values(), bg.params.values());
    EXPECT_EQ(stored.time_unit, clv::TimeUnit::weeks);
    ASSERT_TRUE(m.clv()->spend().has_value());
    EXPECT_EQ(m.clv()->spend()->params.values(), gg.params.values());
    EXPECT_EQ(m.clv()->transaction_summary().log_likelihood, bg.summary.log_likelihood);

    const std::size_t n = t.rows();
    std::vector<double> alive(n), purchases(n), value(n);
    clv::p_alive(bg.params, rfm_of(t), alive);
    clv::conditional_expected_purchases(bg.params, 12 * 4.345, rfm_of(t), purchases);
    clv::customer_lifetime_value(bg.params, gg.params, rfm_of(t), t.column("monetary_value"),
                                 clv::ClvHorizon{12, 0.01, clv::TimeUnit::weeks, 0.0}, value);

    const Assignment a = m.assign(t);
    EXPECT_EQ(extra_names(a), (std::vector<std::string>{"p_alive", "expected_purchases", "clv"}));
    EXPECT_EQ(extra(a, "p_alive"), alive);  // bit-identical doubles
    EXPECT_EQ(extra(a, "expected_purchases"), purchases);
    EXPECT_EQ(extra(a, "clv"), value);
    // Scalar API, a few customers: same numbers.
    for (std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
        const double x = t.column("frequency")[i], tx = t.column("recency")[i], T = t.column("T")[i];
        EXPECT_EQ(extra(a, "p_alive")[i], clv::p_alive(bg.params, x, tx, T));
        EXPECT_EQ(extra(a, "clv")[i],
                  clv::customer_lifetime_value(bg.params, gg.params, x, tx, T, t.column("monetary_value")[i],
                                               clv::ClvHorizon{12, 0.01, clv::TimeUnit::weeks, 0.0}));
    }
    // Plausible values: probabilities, non-negative purchases and value, someone is dead.
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(alive[i] >= 0 && alive[i] <= 1) << i;
        ASSERT_TRUE(purchases[i] >= 0 && std::isfinite(purchases[i])) << i;
        ASSERT_TRUE(value[i] >= 0 && std::isfinite(value[i])) << i;
    }
    EXPECT_LT(*std::min_element(alive.begin(), alive.end()), 0.5);
    EXPECT_GT(*std::max_element(value.begin(), value.end()), 0.0);

    // FittedClv::columns/add_columns give the same columns without a Model.
    const auto cols = m.clv()->columns(t);
    ASSERT_EQ(cols.size(), 3u);
    EXPECT_EQ(cols[0].second, alive);
    const FeatureTable view = m.clv()->add_columns(t);
    EXPECT_EQ(view.cols(), t.cols() + 3);
    EXPECT_TRUE(std::equal(value.begin(), value.end(), view.column("clv").begin()));
    EXPECT_FALSE(t.has("clv"));  // the caller's table is not touched
}

TEST(ClvEngine, CriterionOnClvNormalizesTheClvColumn) {
    const FeatureTable& t = weekly_features();
    const Model m = fit(Policy::from_json(R"({
      "clv": {"model": "bgnbd", "spend": "gammagamma", "time_unit": "W"},
      "criteria": [{"column": "clv", "normalizer": "minmax"}],
      "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["high", "low"], "privacy": {"min_group": 1}})"),
                        t);
    const Assignment a = m.assign(t);
    const auto& value = extra(a, "clv");
    const double lo = *std::min_element(value.begin(), value.end());
    const double hi = *std::max_element(value.begin(), value.end());
    ASSERT_GT(hi, lo);
    EXPECT_EQ(m.scores()[0].criteria[0].min, lo);
    EXPECT_EQ(m.scores()[0].criteria[0].max, hi);
    for (std::size_t i = 0; i < t.rows(); ++i) {
        const double expected = 100 * (value[i] - lo) / (hi - lo);
        ASSERT_NEAR(a.scores[0][i], expected, 1e-9) << i;
        ASSERT_EQ(a.tier[i], a.scores[0][i] >= 50 ? 0 : 1) << i;
    }
    EXPECT_EQ(a.contribution_names[0], (std::vector<std::string>{"clv"}));
}

TEST(ClvEngine, QuantilesOnAValueScoreBuiltFromClv) {
    const FeatureTable& t = weekly_features();
    const Model m = fit(Policy::from_json(kClvPolicy), t);
    const Assignment a = m.assign(t);
    const std::size_t n = t.rows();
    const auto& score = a.scores[0];
    // The score is 0.7 x percentile(clv) + 0.3 x percentile(p_alive); its contributions
    // are read from those two columns.
    EXPECT_EQ(a.contribution_names[0], (std::vector<std::string>{"clv", "p_alive"}));
    const auto& clv_values = extra(a, "clv");
    std::size_t best_clv = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (clv_values[i] > clv_values[best_clv]) best_clv = i;
    EXPECT_NEAR(a.contributions[0][0][best_clv], 70.0, 1e-9);  // top clv: percentile 1
    // Quantile tiers: about 10% / 30% / 60% of customers, ordered by the score.
    std::vector<std::size_t> count(3, 0);
    std::vector<double> lowest(3, 1e300), highest(3, -1e300);
    for (std::size_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(a.tier[i]);
        ++count[k];
        lowest[k] = std::min(lowest[k], score[i]);
        highest[k] = std::max(highest[k], score[i]);
    }
    EXPECT_NEAR(static_cast<double>(count[0]) / static_cast<double>(n), 0.1, 0.01);
    EXPECT_NEAR(static_cast<double>(count[1]) / static_cast<double>(n), 0.3, 0.01);
    EXPECT_GE(lowest[0], highest[1]);
    EXPECT_GE(lowest[1], highest[2]);
}

TEST(ClvEngine, RuleReadsPAliveAsAColumn) {
    const FeatureTable& t = weekly_features();
    const Model m = fit(Policy::from_json(R"({
      "clv": {"model": "paretonbd", "time_unit": "W"},
      "criteria": ["revenue"],
      "rule": {"kind": "thresholds", "column": "p_alive", "cuts": [0.7, 0.3]},
      "tiers": ["active", "at-risk", "lapsed"]})"),
                        t);
    const Assignment a = m.assign(t);
    // Without a spend model there is no clv column.
    EXPECT_EQ(extra_names(a), (std::vector<std::string>{"p_alive", "expected_purchases"}));
    const auto& params = std::get<clv::Fitted<clv::ParetoNbdParams>>(m.clv()->transactions()).params;
    std::vector<double> alive(t.rows()), purchases(t.rows());
    clv::p_alive(params, rfm_of(t), alive);
    clv::conditional_expected_purchases(params, 12 * 4.345, rfm_of(t), purchases);
    EXPECT_EQ(extra(a, "p_alive"), alive);
    EXPECT_EQ(extra(a, "expected_purchases"), purchases);
    std::vector<std::size_t> count(3, 0);
    for (std::size_t i = 0; i < t.rows(); ++i) {
        const int expected = alive[i] >= 0.7 ? 0 : alive[i] >= 0.3 ? 1 : 2;
        ASSERT_EQ(a.tier[i], expected) << i;
        ++count[static_cast<std::size_t>(expected)];
    }
    for (std::size_t k = 0; k < 3; ++k) EXPECT_GT(count[k], 0u) << k;  // every tier is used
}

TEST(ClvEngine, SaveLoadGivesIdenticalTiersAndColumns) {
    const FeatureTable& t = weekly_features();
    const Model m = fit(Policy::from_json(kClvPolicy), t);
    const Assignment expected = m.assign(t);
    for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
        std::stringstream buffer;
        save(m, buffer, kind);
        const Model loaded = load(buffer, kind);
        ASSERT_TRUE(loaded.clv().has_value());
        EXPECT_EQ(loaded.clv()->spec(), m.clv()->spec());
        EXPECT_EQ(std::get<0>(loaded.clv()->transactions()).params.values(),
                  std::get<0>(m.clv()->transactions()).params.values());
        EXPECT_EQ(loaded.clv()->spend()->params.values(), m.clv()->spend()->params.values());
        EXPECT_EQ(loaded.clv()->transaction_summary().se, m.clv()->transaction_summary().se);
        const Assignment got = loaded.assign(t);
        EXPECT_EQ(got.tier, expected.tier);
        EXPECT_EQ(got.scores, expected.scores);
        EXPECT_EQ(got.extras, expected.extras);
        EXPECT_EQ(loaded.policy().to_json(), m.policy().to_json());
    }
}

TEST(ClvEngine, VersionZeroModelRecordsStillLoad) {
    // Written by tierkit before the clv section existed (ModelRecord version 0): a minmax
    // score of revenue fitted on 0, 10, ..., 100 with a cut at 50.
    std::ifstream in(std::string(TIERKIT_TEST_DATA) + "/model_record_v0.xml", std::ios::binary);
    ASSERT_TRUE(in) << "missing tests/data/model_record_v0.xml";
    const Model m = load(in, ArchiveKind::xml);
    EXPECT_FALSE(m.clv().has_value());
    EXPECT_FALSE(m.policy().clv().has_value());
    EXPECT_EQ(m.policy().name(), "frozen-v0");
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5});
    t.add_column("revenue", {100, 75, 50, 25, 0});
    const Assignment a = m.assign(t);
    EXPECT_EQ(a.scores[0], (std::vector<double>{100, 75, 50, 25, 0}));
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 0, 0, 1, 1}));
    EXPECT_TRUE(a.extras.empty());
}

TEST(ClvEngine, PolicySectionNormalizesAndRoundTrips) {
    const Policy p = Policy::from_json(R"({
      "clv": {"model": "mbgnbd", "spend": "gammagamma", "horizon_months": 6, "discount_rate": 0.02,
              "time_unit": "D", "periods_per_month": 30.4, "penalizer": 0.001,
              "columns": {"recency": "recency_days", "T": "age_days"}},
      "criteria": ["clv"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]}})");
    ASSERT_TRUE(p.clv().has_value());
    const auto& s = *p.clv();
    EXPECT_EQ(s.model, clv::TransactionModel::mbg_nbd);
    EXPECT_TRUE(s.gamma_gamma);
    EXPECT_EQ(s.horizon_months, 6);
    EXPECT_EQ(s.discount_rate, 0.02);
    EXPECT_EQ(s.time_unit, clv::TimeUnit::days);
    EXPECT_EQ(s.periods_per_month, 30.4);
    EXPECT_EQ(s.horizon_periods(), 6 * 30.4);
    EXPECT_EQ(s.penalizer, 0.001);
    EXPECT_EQ(s.spend_penalizer, 0.0);
    EXPECT_EQ(s.frequency, "frequency");
    EXPECT_EQ(s.recency, "recency_days");
    EXPECT_EQ(s.T, "age_days");
    EXPECT_EQ(s.input_columns(), (std::vector<std::string>{"frequency", "recency_days", "age_days", "monetary_value"}));
    // The normalized document carries the section, and reads back equal.
    const Policy again = Policy::from_json(p.to_json());
    ASSERT_TRUE(again.clv().has_value());
    EXPECT_EQ(*again.clv(), s);
    EXPECT_NE(p.to_json().find("\"time_unit\": \"days\""), std::string::npos);
    EXPECT_FALSE(Policy::default_policy().clv().has_value());
}

TEST(ClvEngine, MappedColumnsAndPeriodsPerMonth) {
    // The clv section reads renamed columns; periods_per_month sets the horizon length.
    const FeatureTable& base = weekly_features();
    FeatureTable t(base.ids(), nullptr);
    for (std::size_t j = 0; j < base.cols(); ++j) {
        const std::string& name = base.name(j);
        const std::string renamed = name == "frequency" ? "repeats"
                                    : name == "recency" ? "last_weeks"
                                    : name == "T"       ? "age_weeks"
                                                        : name;
        t.add_column_view(renamed, base.column(j), base.owner(j));
    }
    const Model m = fit(Policy::from_json(R"({
      "clv": {"model": "bgnbd", "time_unit": "W", "horizon_months": 12, "periods_per_month": 4.3333333333333333,
              "columns": {"frequency": "repeats", "recency": "last_weeks", "T": "age_weeks"}},
      "criteria": ["expected_purchases"], "rule": {"kind": "quantiles", "shares": [0.2]}, "tiers": ["top", "rest"]})"),
                        t);
    const Assignment a = m.assign(t);
    const auto& params = std::get<clv::Fitted<clv::BgNbdParams>>(m.clv()->transactions()).params;
    std::vector<double> purchases(t.rows());
    clv::conditional_expected_purchases(params, 12 * 4.3333333333333333, rfm_of(base), purchases);
    EXPECT_EQ(extra(a, "expected_purchases"), purchases);
    // The same fit as on the original names.
    const Model same = fit(Policy::from_json(R"({"clv": {"model": "bgnbd", "time_unit": "W"},
      "criteria": ["expected_purchases"], "rule": {"kind": "quantiles", "shares": [0.2]}, "tiers": ["top", "rest"]})"),
                           base);
    EXPECT_EQ(std::get<0>(same.clv()->transactions()).params.values(), params.values());
}

TEST(ClvEngine, PublishedCustomerThroughFittedClv) {
    // BTYD's BG/NBD fit of CDNOW (weeks); customer x = 26, t_x = 216 / 7, T = 31 expects
    // 25.75659 purchases in the next 52 weeks and P(alive) = 0.9688523 (issue 4).
    clv::ClvSpec spec;
    spec.time_unit = clv::TimeUnit::weeks;
    spec.horizon_months = 12;
    spec.periods_per_month = 52.0 / 12.0;
    clv::Fitted<clv::BgNbdParams> bg;
    bg.params = {0.2425982, 4.4136842, 0.7929899, 2.4261667, clv::TimeUnit::weeks};
    const clv::FittedClv fitted(spec, bg);
    FeatureTable t(std::vector<std::int64_t>{7});
    t.add_column("frequency", {26});
    t.add_column("recency", {216.0 / 7.0});
    t.add_column("T", {31});
    const auto cols = fitted.columns(t);
    EXPECT_NEAR(cols[0].second[0], 0.9688523, 5e-7);
    EXPECT_NEAR(cols[1].second[0], 25.75659, 1e-4);
}

TEST(ClvEngine, SameColumnsAtAnyThreadCountAndBadRowsNamedInTheTable) {
    // Three copies of the customers: more rows than one parallel range holds.
    const FeatureTable& t = weekly_features();
    const Model m = fit(Policy::from_json(kClvPolicy), t);
    const std::size_t n = t.rows(), copies = 3;
    std::vector<std::int64_t> ids(n * copies);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i + 1);
    auto repeated = [&](const char* name) {
        std::vector<double> v;
        for (std::size_t c = 0; c < copies; ++c) v.insert(v.end(), t.column(name).begin(), t.column(name).end());
        return v;
    };
    FeatureTable big(ids);
    for (const char* name : {"frequency", "recency", "T", "monetary_value"}) big.add_column(name, repeated(name));

    const char* previous = std::getenv("TIERKIT_NUM_THREADS");
    const std::string saved = previous ? previous : "";
    setenv("TIERKIT_NUM_THREADS", "1", 1);
    const auto serial = m.clv()->columns(big);
    setenv("TIERKIT_NUM_THREADS", "3", 1);
    const auto threaded = m.clv()->columns(big);
    EXPECT_EQ(threaded, serial);
    const auto single = m.clv()->columns(t);
    for (std::size_t k = 0; k < serial.size(); ++k)
        EXPECT_TRUE(std::equal(single[k].second.begin(), single[k].second.end(), serial[k].second.begin() + 2 * n));

    // An invalid row in the last range is reported by its row number in the table.
    std::vector<double> recency = repeated("recency");
    const std::size_t bad = 2 * n + 17;
    recency[bad] = big.column("T")[bad] + 1;
    FeatureTable broken(ids);
    for (const char* name : {"frequency", "T", "monetary_value"}) broken.add_column(name, repeated(name));
    broken.add_column("recency", recency);
    const std::string message = message_of<InvalidInput>([&] { m.assign(broken); });
    EXPECT_EQ(message.rfind("clv: recency[" + std::to_string(bad) + "]: must be <= T", 0), 0u) << message;
    if (previous)
        setenv("TIERKIT_NUM_THREADS", saved.c_str(), 1);
    else
        unsetenv("TIERKIT_NUM_THREADS");
}

TEST(ClvEngine, ErrorsNameThePathOrTheColumn) {
    auto policy_error = [](const std::string& clv_section) {
        return message_of<PolicyError>([&] {
            Policy::from_json(R"({"clv": )" + clv_section + R"(, "criteria": ["clv"], "tiers": ["a", "b"],
                                 "rule": {"kind": "quantiles", "shares": [0.5]}})");
        });
    };
    EXPECT_EQ(policy_error(R"({"model": "bgnbd"})"),
              "clv.time_unit: required: the unit of recency and T in the table (H, D, W or M); it is never guessed");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "fortnights"})"),
              "clv.time_unit: must be one of H, D, W, M (hours, days, weeks, months), got 'fortnights'");
    EXPECT_EQ(policy_error(R"({"model": "bgndb", "time_unit": "W"})"),
              "clv.model: must be one of bgnbd, mbgnbd, paretonbd, got 'bgndb'");
    EXPECT_EQ(policy_error(R"({"time_unit": "W"})"),
              "clv.model: required: the transaction model, one of bgnbd, mbgnbd, paretonbd");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "W", "horizon_months": -1})"),
              "clv.horizon_months: must be > 0, got -1");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "W", "horizon_months": 1.5})"),
              "clv.horizon_months: must be a whole number of months, got 1.5");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "W", "discount_rate": -0.1})"),
              "clv.discount_rate: must be >= 0 (a monthly rate), got -0.1");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "W", "spend": "lognormal"})"),
              "clv.spend: must be gammagamma or none, got 'lognormal'");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "W", "horizon": 12})"),
              "clv.horizon: unknown key; expected one of: model, spend, horizon_months, discount_rate, time_unit, "
              "periods_per_month, penalizer, spend_penalizer, columns");
    EXPECT_EQ(policy_error(R"({"model": "bgnbd", "time_unit": "W", "columns": {"freq": "f"}})"),
              "clv.columns.freq: unknown key; expected one of: frequency, recency, T, monetary_value");
    EXPECT_EQ(policy_error(R"("bgnbd")"), "clv: must be an object, got \"bgnbd\"");

    // A table that already has a derived column's name: at fit and at assign.
    const FeatureTable& t = weekly_features();
    FeatureTable taken = t;
    taken.add_column("clv", std::vector<double>(t.rows(), 1.0));
    const Policy p = Policy::from_json(kClvPolicy);
    const std::string taken_message =
        "clv: the table already has a column 'clv', which the policy's clv section computes; rename or drop the "
        "table's column";
    EXPECT_EQ(message_of<InvalidInput>([&] { fit(p, taken); }), taken_message);
    const Model m = fit(p, t);
    EXPECT_EQ(message_of<InvalidInput>([&] { m.assign(taken); }), taken_message);
    // Without a spend model "clv" is not derived, so a table's own clv column is fine.
    const Model no_spend = fit(Policy::from_json(R"({"clv": {"model": "bgnbd", "time_unit": "W"},
      "criteria": ["clv"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})"),
                               taken);
    EXPECT_EQ(no_spend.assign(taken).scores[0], std::vector<double>(t.rows(), 50.0));  // constant column

    // A missing input column lists the available ones; an invalid row is named.
    FeatureTable no_T(std::vector<std::int64_t>{1, 2});
    no_T.add_column("frequency", {1, 0});
    no_T.add_column("recency", {2, 0});
    EXPECT_EQ(message_of<UnknownColumn>([&] { fit(p, no_T); }),
              "clv.columns.T: unknown column 'T'; available: frequency, recency");
    FeatureTable bad(std::vector<std::int64_t>{1, 2});
    bad.add_column("frequency", {1, 0});
    bad.add_column("recency", {5, 0});
    bad.add_column("T", {4, 3});
    bad.add_column("monetary_value", {10, 0});
    const std::string bad_row = message_of<InvalidInput>([&] { fit(p, bad); });
    EXPECT_EQ(bad_row.rfind("clv: recency[0]: must be <= T", 0), 0u) << bad_row;
    // No repeat purchase at all: the fit cannot identify the model.
    FeatureTable flat(std::vector<std::int64_t>{1, 2});
    flat.add_column("frequency", {0, 0});
    flat.add_column("recency", {0, 0});
    flat.add_column("T", {4, 3});
    flat.add_column("monetary_value", {0, 0});
    EXPECT_EQ(message_of<NumericError>([&] { fit(p, flat); }).rfind("clv: ", 0), 0u);

    // A clv criterion without a spend model: an unknown column that lists what exists.
    const std::string unknown = message_of<UnknownColumn>([&] {
        fit(Policy::from_json(R"({"clv": {"model": "bgnbd", "time_unit": "W"}, "criteria": ["clv"],
                                 "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})"),
            t);
    });
    EXPECT_NE(unknown.find("unknown column 'clv'"), std::string::npos) << unknown;
    EXPECT_NE(unknown.find("p_alive, expected_purchases"), std::string::npos) << unknown;

    // Parameters that do not match the spec.
    clv::ClvSpec spec;
    spec.time_unit = clv::TimeUnit::weeks;
    spec.gamma_gamma = true;
    clv::Fitted<clv::BgNbdParams> bg;
    bg.params = {0.24, 4.4, 0.79, 2.4, clv::TimeUnit::days};
    EXPECT_EQ(message_of<InvalidInput>([&] { clv::FittedClv(spec, bg); }),
              "clv: the spec has a spend model but no fitted gamma-gamma was given");
    spec.gamma_gamma = false;
    EXPECT_EQ(message_of<InvalidInput>([&] { clv::FittedClv(spec, bg); }),
              "clv: time_unit: the horizon is in weeks but the model was fitted in days");
    spec.time_unit = clv::TimeUnit::unspecified;
    EXPECT_EQ(message_of<InvalidInput>([&] { clv::FittedClv(spec, bg); }),
              "clv spec: clv.time_unit: required: the unit of recency and T in the table (H, D, W or M); it is never "
              "guessed");
}
