// Progress reports (tierkit/core/progress.hpp): one call per Lloyd iteration and per CLV
// optimizer iteration, with values checked by hand or against the fit's own summary;
// results bit-identical with and without a callable; a throwing callable stops the fit.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tierkit/clv/clv.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/tierkit.hpp"
#include "weekly_features.hpp"

using namespace tierkit;

namespace {

/// One report, copied out of the call (its views die with it).
struct Seen {
    std::string stage;
    double done = 0, total = 0;
    std::map<std::string, double> values;
};

/// A Progress that records every report into `seen`.
Progress recorder(std::vector<Seen>& seen) {
    return [&seen](const ProgressStep& s) {
        Seen r{std::string(s.stage), s.done, s.total, {}};
        for (const auto& v : s.values) r.values[std::string(v.name)] = v.value;
        seen.push_back(std::move(r));
    };
}

/// What a callable throws to stop a fit.
struct Stop : std::runtime_error {
    Stop() : std::runtime_error("stopped by the progress callable") {}
};

/// A Progress that throws Stop at its `at`-th call.
Progress stop_at(int at) {
    return [at, calls = 0](const ProgressStep&) mutable {
        if (++calls == at) throw Stop();
    };
}

PointColumns points(const std::vector<std::vector<double>>& cols) {
    PointColumns x{cols.front().size(), {}};
    for (const auto& c : cols) x.columns.push_back(c.data());
    return x;
}

/// Synthetic customers with weekly recency and T, as the CLV models want them.
const FeatureTable& weekly_features() {
    static const FeatureTable t = test_data::weekly_synthetic_features(3000, 5);
    return t;
}

/// CLV fitted first, then kmeans on the clv and frequency criteria.
const char* kPolicy = R"({
  "name": "progress",
  "clv": {"model": "bgnbd", "spend": "gammagamma", "time_unit": "W"},
  "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.6}, {"column": "frequency", "weight": 0.4}]}],
  "rule": {"kind": "kmeans", "k": 3, "seed": 3},
  "tiers": ["key", "growth", "rest"]})";

std::string bytes_of(const Model& m) {
    std::ostringstream out;
    save(m, out, ArchiveKind::binary);
    return out.str();
}

std::vector<Seen> of_stage(const std::vector<Seen>& seen, const std::string& stage) {
    std::vector<Seen> out;
    for (const auto& s : seen)
        if (s.stage == stage) out.push_back(s);
    return out;
}

}  // namespace

TEST(Progress, LloydReportsEveryIterationByHand) {
    // {0, 1, 10, 11} from centres {0, 1} (see KMeansLloyd.OneDimensionByHand):
    // 1st iteration: labels 0 | 1, 10, 11, squared distances 0, 0, 81, 100 -> inertia
    //   181; centres move to 0, 22/3 -> shift (22/3 - 1)^2 = 361/9.
    // 2nd: labels 0, 1 | 10, 11: 0 + 1 + (8/3)^2 + (11/3)^2 = 194/9; centres 0.5, 10.5
    //   -> shift 0.5^2 + (10.5 - 22/3)^2 = 1/4 + 361/36.
    // 3rd: labels unchanged: inertia 4 * 0.25 = 1, shift 0.
    const std::vector<std::vector<double>> cols{{0, 1, 10, 11}};
    std::vector<Seen> seen;
    const Progress p = recorder(seen);
    const auto r = kmeans_lloyd(points(cols), {0, 1}, 300, 1e-4, 1, &p);
    ASSERT_EQ(seen.size(), 3u);
    const double inertia[] = {181, 194.0 / 9, 1}, shift[] = {361.0 / 9, 0.25 + 361.0 / 36, 0};
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(seen[i].stage, "kmeans");
        EXPECT_EQ(seen[i].done, static_cast<double>(i + 1));
        EXPECT_EQ(seen[i].total, 300);
        EXPECT_NEAR(seen[i].values.at("inertia"), inertia[i], 1e-12) << i;
        EXPECT_NEAR(seen[i].values.at("shift"), shift[i], 1e-12) << i;
    }
    EXPECT_EQ(seen.back().values.at("inertia"), r.inertia);  // converged: the labels stayed
}

TEST(Progress, LloydResultsBitIdenticalWithAndWithout) {
    Xoshiro256 gen(11);
    std::vector<std::vector<double>> cols(3);
    for (auto& c : cols) {
        c.resize(20000);
        for (auto& v : c) v = gen.uniform() * gen.uniform();  // skewed, like normalized revenue
    }
    const auto x = points(cols);
    Xoshiro256 rng(5);
    const auto seeds = kmeans_plus_plus(x, 6, rng, 1);
    std::vector<Seen> seen;
    const Progress p = recorder(seen);
    const auto with = kmeans_lloyd(x, seeds, 50, 1e-6, 2, &p);
    const auto without = kmeans_lloyd(x, seeds, 50, 1e-6, 2);
    EXPECT_EQ(with.centroids, without.centroids);
    EXPECT_EQ(with.labels, without.labels);
    EXPECT_EQ(with.inertia, without.inertia);
    EXPECT_EQ(with.iterations, without.iterations);
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(with.iterations));
    ASSERT_GT(with.iterations, 2);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].done, static_cast<double>(i + 1));
        // Lloyd never increases the inertia.
        if (i > 0) EXPECT_LE(seen[i].values.at("inertia"), seen[i - 1].values.at("inertia") * (1 + 1e-12)) << i;
    }
}

TEST(Progress, ClvFitReportsEveryIterationWithTheLogLikelihood) {
    const FeatureTable& t = weekly_features();
    const auto data = clv::compress_rfm(t.column("frequency"), t.column("recency"), t.column("T"));
    std::vector<Seen> seen;
    const Progress p = recorder(seen);
    clv::FitOptions with;
    with.time_unit = clv::TimeUnit::weeks;
    with.progress = &p;
    clv::FitOptions without = with;
    without.progress = nullptr;
    const auto a = clv::fit_bg_nbd(data, with);
    const auto b = clv::fit_bg_nbd(data, without);
    EXPECT_EQ(a.params.values(), b.params.values());
    EXPECT_EQ(a.summary.se, b.summary.se);
    EXPECT_EQ(a.summary.log_likelihood, b.summary.log_likelihood);
    EXPECT_EQ(a.summary.iterations, b.summary.iterations);

    ASSERT_EQ(seen.size(), static_cast<std::size_t>(a.summary.iterations));  // L-BFGS iterations + Newton steps
    ASSERT_GT(seen.size(), 3u);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].stage, "clv bg/nbd");
        EXPECT_EQ(seen[i].done, static_cast<double>(i + 1));
        EXPECT_EQ(seen[i].total, 2000 + 20);  // one start tried: max_iterations + the Newton steps
        // Without a penalty, every accepted step raises the log-likelihood.
        if (i > 0) EXPECT_GE(seen[i].values.at("log_likelihood"), seen[i - 1].values.at("log_likelihood")) << i;
    }
    EXPECT_NEAR(seen.back().values.at("log_likelihood"), a.summary.log_likelihood,
                1e-9 * std::abs(a.summary.log_likelihood));

    // From the optimum, L-BFGS stops before its first line search; that is still an
    // iteration, and reported as one.
    seen.clear();
    const auto optimum = a.params.values();
    with.initial_params.assign(optimum.begin(), optimum.end());
    const auto again = clv::fit_bg_nbd(data, with);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(again.summary.iterations));
    ASSERT_FALSE(seen.empty());
    EXPECT_NEAR(seen.back().values.at("log_likelihood"), a.summary.log_likelihood,
                1e-9 * std::abs(a.summary.log_likelihood));
}

TEST(Progress, ThrowingCallableStopsTheClvFit) {
    // The optimizer treats its own line-search failures as "stop here"; a callable's
    // exception must not be mistaken for one.
    const FeatureTable& t = weekly_features();
    const auto data = clv::compress_rfm(t.column("frequency"), t.column("recency"), t.column("T"));
    const Progress first = stop_at(2), second = stop_at(2);
    clv::FitOptions o;
    o.progress = &first;
    EXPECT_THROW(clv::fit_bg_nbd(data, o), Stop);
    o.progress = &second;
    EXPECT_THROW(clv::fit_gamma_gamma(clv::compress_spend(t.column("frequency"), t.column("monetary_value")), o), Stop);
}

TEST(Progress, FitReportsClvThenKMeansAndTheModelIsUnchanged) {
    const FeatureTable& t = weekly_features();
    const Policy policy = Policy::from_json(kPolicy);
    std::vector<Seen> seen;
    const Progress p = recorder(seen);
    const Model with = fit(policy, t, &p);
    const Model without = fit(policy, t);
    EXPECT_EQ(bytes_of(with), bytes_of(without));

    // Stages in order, each counting its own iterations.
    std::vector<std::string> order;
    for (const auto& s : seen)
        if (order.empty() || order.back() != s.stage) order.push_back(s.stage);
    EXPECT_EQ(order, (std::vector<std::string>{"clv bg/nbd", "clv gamma-gamma", "kmeans"}));
    EXPECT_EQ(of_stage(seen, "clv bg/nbd").size(),
              static_cast<std::size_t>(with.clv()->transaction_summary().iterations));
    EXPECT_EQ(of_stage(seen, "clv gamma-gamma").size(),
              static_cast<std::size_t>(with.clv()->spend()->summary.iterations));
    const auto& rule = dynamic_cast<const KMeansRule&>(with.rule());
    const auto kmeans = of_stage(seen, "kmeans");
    ASSERT_EQ(kmeans.size(), static_cast<std::size_t>(rule.iterations()));
    EXPECT_EQ(kmeans.back().done, rule.iterations());
    EXPECT_EQ(kmeans.back().total, 300);
}

TEST(Progress, KMeansAutoCountsEveryRunOnOneScale) {
    // k from 3 to 5, two seedings each: 6 runs of at most 40 iterations.
    const FeatureTable& t = weekly_features();
    nlohmann::json j = nlohmann::json::parse(kPolicy);
    j.erase("clv");
    j["scores"][0]["criteria"] = {{{"column", "monetary_value"}, {"weight", 0.6}},
                                  {{"column", "frequency"}, {"weight", 0.4}}};
    j["rule"] = {{"kind", "kmeans"}, {"k", "auto"},    {"k_range", {3, 5}},
                 {"n_init", 2},      {"max_iter", 40}, {"select", "elbow"}};
    std::vector<Seen> seen;
    const Progress p = recorder(seen);
    const Model m = fit(Policy::from_json(j.dump()), t, &p);
    ASSERT_GE(seen.size(), 6u);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].done, static_cast<double>(i + 1));
        EXPECT_EQ(seen[i].total, 6 * 40);
    }
    EXPECT_EQ(bytes_of(m), bytes_of(fit(Policy::from_json(j.dump()), t)));
}

TEST(Progress, ThrowingCallableStopsTheKMeansFit) {
    const FeatureTable& t = weekly_features();
    nlohmann::json j = nlohmann::json::parse(kPolicy);
    j.erase("clv");
    j["scores"][0]["criteria"] = {{{"column", "monetary_value"}, {"weight", 0.6}},
                                  {{"column", "frequency"}, {"weight", 0.4}}};
    const Progress p = stop_at(2);
    EXPECT_THROW(fit(Policy::from_json(j.dump()), t, &p), Stop);
    const Progress empty;  // an empty std::function: no reports
    EXPECT_EQ(bytes_of(fit(Policy::from_json(j.dump()), t, &empty)), bytes_of(fit(Policy::from_json(j.dump()), t)));
}

TEST(Progress, GroupedKMeansReportsContinueFromGroupToGroup) {
    // group_by: one kmeans per group, run one after another; the reports read as one
    // run: done counts every group's iterations, total grows by each group's max_iter.
    FeatureTable t = weekly_features();
    std::vector<std::int32_t> codes(t.rows());
    for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<std::int32_t>(i % 3 == 0);
    t.add_category("region", std::move(codes), {"north", "south"});
    nlohmann::json j = nlohmann::json::parse(kPolicy);
    j.erase("clv");
    j["scores"][0]["criteria"] = {{{"column", "monetary_value"}, {"weight", 0.6}},
                                  {{"column", "frequency"}, {"weight", 0.4}}};
    j["rule"] = {{"kind", "kmeans"}, {"k", 3}, {"max_iter", 50}, {"group_by", "region"}};
    std::vector<Seen> seen;
    const Progress p = recorder(seen);
    const Model m = fit(Policy::from_json(j.dump()), t, &p);
    double iterations = 0, first = 0;
    for (const auto& [name, v] : m.rule().parameters()) {
        if (name == "north.iterations") first = v.at(0);
        if (name.ends_with(".iterations")) iterations += v.at(0);
    }
    ASSERT_GT(first, 0);
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(iterations));
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_EQ(seen[i].stage, "kmeans");
        EXPECT_EQ(seen[i].done, static_cast<double>(i + 1));
        EXPECT_EQ(seen[i].total, i < static_cast<std::size_t>(first) ? 50 : 100);  // north's run, then south's
    }
    EXPECT_EQ(bytes_of(m), bytes_of(fit(Policy::from_json(j.dump()), t)));
}
