// Mergeable fit states: the quantile sketch's rank error, moments, the exact mode's
// equality with fit(), the sketch mode's passes, bytes, the thread-count invariance,
// and the refine mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "chunks.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/exact_sum.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/rules/builtin/expression.hpp"
#include "tierkit/rules/builtin/kmeans.hpp"
#include "tierkit/rules/builtin/quantiles.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;
using test_data::bytes_of;
using test_data::split;

namespace {

const FeatureTable& features() {
    static const FeatureTable table = [] {
        SyntheticOptions o;
        o.customers = 6000;
        o.seed = 11;
        auto d = synthetic(o);
        return summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity}).features;
    }();
    return table;
}

/// Fraction of values in `sorted` strictly below v, and at or below v.
std::pair<double, double> rank_range(const std::vector<double>& sorted, double v) {
    const auto lo = std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
    const auto hi = std::upper_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
    return {static_cast<double>(lo), static_cast<double>(hi)};
}

const char* policies[] = {
    // the default policy: percentile criteria, quantile cuts
    nullptr,
    R"({"criteria": [{"column": "revenue", "transform": "log1p", "clip": [0.05, 0.95], "normalizer": "robust"},
                     {"column": "frequency", "normalizer": "bins", "bins": 4},
                     {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"}],
        "weights": {"method": "critic"}, "rule": {"kind": "abc", "column": "revenue", "cuts": [0.8, 0.95]},
        "tiers": ["A", "B", "C"]})",
    R"({"method": "topsis", "criteria": [{"column": "revenue", "normalizer": "minmax"},
                     {"column": "orders", "normalizer": "percentile"},
                     {"column": "days_since_last", "direction": "lower", "normalizer": "minmax"}],
        "weights": {"method": "combined", "subjective": {"method": "manual"}, "objective": {"method": "entropy"}},
        "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})",
    R"({"criteria": [{"column": "revenue", "normalizer": "percentile"}, {"column": "frequency", "normalizer": "minmax"}],
        "rule": {"kind": "kmeans", "k": 3, "seed": 5}, "tiers": ["a", "b", "c"]})",
    R"({"criteria": ["revenue", "frequency"], "rule": {"kind": "thresholds", "cuts": [70, 40]},
        "tiers": ["a", "b", "c"]})",
};

/// Sketch and refine keep single rows' values: they fit a policy that opts out of the
/// default grouping (privacy.hpp) only, so the policies compared with fit() here do.
Policy exact_values(const Policy& p) { return p.min_group() ? p : p.with_min_group(1); }

Policy policy_at(std::size_t i) {
    return exact_values(policies[i] ? Policy::from_json(policies[i]) : Policy::default_policy());
}

}  // namespace

TEST(QuantileSketch, RankErrorWithinHalfAPercentInOneAndSixteenChunks) {
    // 200,000 values with heavy ties (a tenth are 0, many repeat) and a long tail.
    Xoshiro256 rng(3);
    std::vector<double> values(200000);
    for (auto& v : values) {
        const double u = rng.uniform();
        v = u < 0.1 ? 0.0 : (u < 0.4 ? std::floor(rng.uniform() * 20) : std::exp(5 * rng.uniform()));
    }
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const double n = static_cast<double>(values.size());
    for (std::size_t parts : {1u, 16u}) {
        QuantileSketch total;
        for (std::size_t p = 0; p < parts; ++p) {
            QuantileSketch s;
            for (std::size_t i = values.size() * p / parts; i < values.size() * (p + 1) / parts; ++i) s.add(values[i]);
            total.merge(s);
        }
        EXPECT_EQ(total.count(), values.size());
        double weight = 0;
        for (const auto& [v, w] : total.items()) weight += w;
        EXPECT_EQ(weight, n);  // the total weight is kept exactly
        double worst = 0;
        for (int q = 0; q <= 200; ++q) {
            const double r = q / 200.0 * (n - 1);
            const double v = total.at_rank(r);
            const auto [lo, hi] = rank_range(sorted, v);
            // v's rank range [lo, hi) against the asked rank r: the error is the distance.
            const double err = r < lo ? lo - r : (r >= hi ? r - hi + 1 : 0.0);
            worst = std::max(worst, err / n);
        }
        EXPECT_LE(worst, 0.005) << parts << " chunks";
        std::printf("[ measured ] sketch k=%u, %zu chunk(s): max rank error %.5f of n\n", total.capacity(), parts,
                    worst);
    }
}

TEST(QuantileSketch, SameTreeSameBytesAndExactWhenSmall) {
    QuantileSketch a, b;
    for (int i = 0; i < 500; ++i) {
        a.add(i % 7);
        b.add(i % 7);
    }
    EXPECT_EQ(a.items(), b.items());
    EXPECT_DOUBLE_EQ(a.quantile(0.5), 3.0);  // fewer than k values: exact
    EXPECT_THROW(QuantileSketch(4), InvalidInput);
    QuantileSketch c(16);
    EXPECT_THROW(a.merge(c), InvalidInput);
}

TEST(Moments, MergeEqualsOnePassAndIsOrderFreeForMinMaxCount) {
    std::vector<double> x{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
    Moments all, left, right;
    for (double v : x) all.add(v);
    for (std::size_t i = 0; i < 5; ++i) left.add(x[i]);
    for (std::size_t i = 5; i < x.size(); ++i) right.add(x[i]);
    Moments lr = left, rl = right;
    lr.merge(right);
    rl.merge(left);
    EXPECT_EQ(lr.n, 11);
    EXPECT_EQ(lr.min, 1);
    EXPECT_EQ(lr.max, 9);
    EXPECT_EQ(lr.n, rl.n);
    EXPECT_EQ(lr.min, rl.min);
    EXPECT_EQ(lr.max, rl.max);
    EXPECT_NEAR(lr.mean, 4.0, 1e-14);
    EXPECT_NEAR(lr.m2, all.m2, 1e-12);
    EXPECT_NEAR(rl.m2 / 10, 5.6, 1e-12);  // sample variance by hand: 56 / 10
}

TEST(Fitter, ExactModeEqualsFitInOneAndSixteenChunks) {
    const auto& t = features();
    for (std::size_t i = 0; i < std::size(policies); ++i) {
        const Policy p = policy_at(i);
        const Model whole = fit(p, t);
        const auto expected = whole.assign(t, {.with_contributions = false});
        for (std::size_t parts : {1u, 16u}) {
            const auto chunks = split(t, parts);
            const Model m = fit_chunks(p, chunks, FitOptions{FitMode::exact});
            EXPECT_EQ(bytes_of(m), bytes_of(whole)) << "policy " << i << ", " << parts << " chunks";
            const auto a = m.assign(t, {.with_contributions = false});
            EXPECT_EQ(a.tier, expected.tier) << "policy " << i;
            EXPECT_EQ(a.scores, expected.scores) << "policy " << i;
        }
    }
}

TEST(Fitter, ExactModeExpressionRuleAndMergeOrder) {
    const auto p = Policy::from_json(R"({"criteria": ["revenue", "frequency"],
      "rule": {"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "top"}, {"else": "rest"}]},
      "tiers": ["top", "rest"]})");
    const auto& t = features();
    const auto chunks = split(t, 16);
    EXPECT_EQ(bytes_of(fit_chunks(p, chunks)), bytes_of(fit(p, t)));
    // Reverse merge order: only the row order changes, so order statistics and cuts do not.
    const Policy q = Policy::default_policy();
    Fitter f(q);
    PartialState reversed;
    for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) reversed = Fitter::merge(reversed, f.update(*it));
    f.advance(reversed);
    const Model m = f.model(), whole = fit(q, t);
    EXPECT_EQ(m.rule().parameters(), whole.rule().parameters());
    for (std::size_t k = 0; k < m.scores()[0].criteria.size(); ++k) {
        const auto &a = m.scores()[0].criteria[k], &b = whole.scores()[0].criteria[k];
        EXPECT_EQ(a.n, b.n);
        EXPECT_EQ(a.min, b.min);
        EXPECT_EQ(a.max, b.max);
        EXPECT_EQ(a.knots, b.knots);
        EXPECT_EQ(a.knot_y, b.knot_y);
        EXPECT_NEAR(a.mean, b.mean, 1e-12 * std::fabs(b.mean) + 1e-300);
    }
}

TEST(Fitter, SketchModeWithinTheRankErrorAndExactStatistics) {
    const auto& t = features();
    const double n = static_cast<double>(t.rows());
    for (std::size_t i = 0; i < std::size(policies); ++i) {
        const Policy p = policy_at(i);
        const Model whole = fit(p, t);
        const auto expected = whole.assign(t, {.with_contributions = false});
        for (std::size_t parts : {1u, 16u}) {
            const Model m = fit_chunks(p, split(t, parts), FitOptions{FitMode::sketch});
            const auto a = m.assign(t, {.with_contributions = false});
            // Exact statistics: count, min and max of every criterion.
            for (std::size_t k = 0; k < m.scores()[0].criteria.size(); ++k) {
                const auto &x = m.scores()[0].criteria[k], &y = whole.scores()[0].criteria[k];
                if (x.spec.clip) continue;  // clip bounds come from the sketch
                EXPECT_EQ(x.n, y.n);
                EXPECT_EQ(x.min, y.min);
                EXPECT_EQ(x.max, y.max);
                EXPECT_NEAR(x.mean, y.mean, 1e-9 * (1 + std::fabs(y.mean)));
                EXPECT_NEAR(x.sd, y.sd, 1e-9 * (1 + y.sd));
            }
            for (std::size_t k = 0; k < m.scores()[0].weights.size(); ++k)  // (policy 1 clips: sketch bounds)
                EXPECT_NEAR(m.scores()[0].weights[k], whole.scores()[0].weights[k], i == 1 ? 1e-3 : 1e-9)
                    << "policy " << i;

            // Tiers: the share of customers whose tier differs is bounded by the rank error
            // of the cuts (and, for kmeans, by the few points near a boundary).
            double differ = 0;
            for (std::size_t r = 0; r < a.tier.size(); ++r) differ += a.tier[r] != expected.tier[r];
            EXPECT_LE(differ / n, i == 3 ? 0.02 : 0.01) << "policy " << i << ", " << parts << " chunks";
            if (i == 0) {
                // Quantile cuts: the rank of each sketch cut within 0.5% of n of the exact cut's.
                const auto assigned = whole.assign(t, {.with_contributions = false});
                std::vector<double> score(assigned.scores[0].begin(), assigned.scores[0].end());
                std::sort(score.begin(), score.end());
                const auto& exact = dynamic_cast<const QuantileRule&>(whole.rule()).cuts();
                const auto& approx = dynamic_cast<const QuantileRule&>(m.rule()).cuts();
                for (std::size_t c = 0; c < exact.size(); ++c) {
                    const double re = rank_range(score, exact[c]).first, ra = rank_range(score, approx[c]).first;
                    EXPECT_LE(std::fabs(re - ra) / n, 0.005) << "cut " << c;
                }
            }
        }
    }
}

TEST(Fitter, SketchModeFitsTheClvSectionFromMergedPatternsBitForBit) {
    // The CLV models read only the merged (frequency, recency, T) and spend patterns,
    // which are exact: the parameters equal fit()'s in 1 and 16 chunks.
    const auto p = Policy::from_json(R"({
      "clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "time_unit": "W"},
      "scores": [{"name": "value", "criteria": [{"column": "clv", "normalizer": "minmax", "weight": 0.7},
                                                {"column": "p_alive", "normalizer": "minmax", "weight": 0.3}]}],
      "rule": {"kind": "thresholds", "score": "value", "cuts": [60, 30]}, "tiers": ["key", "growth", "rest"]})")
                       .with_min_group(1);
    const auto& t = features();
    const Model whole = fit(p, t);
    const auto expected = whole.assign(t, {.with_contributions = false});
    for (std::size_t parts : {1u, 16u}) {
        Fitter f(p, FitOptions{FitMode::sketch});
        EXPECT_EQ(f.stage(), "clv");
        const auto chunks = split(t, parts);
        while (!f.done()) {
            PartialState total;
            // Merge in reverse: the patterns are sorted, so the order does not matter.
            for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) total = Fitter::merge(total, f.update(*it));
            f = Fitter::from_bytes(f.to_bytes());
            f.advance(total);
        }
        const Model m = f.model();
        ASSERT_TRUE(m.clv().has_value());
        EXPECT_EQ(m.clv()->transaction_summary().coef, whole.clv()->transaction_summary().coef);
        EXPECT_EQ(m.clv()->spend()->summary.coef, whole.clv()->spend()->summary.coef);
        // minmax criteria are exact too (min and max), so with fixed cuts the tiers are equal.
        EXPECT_EQ(m.assign(t, {.with_contributions = false}).tier, expected.tier) << parts << " chunks";
    }
}

TEST(Fitter, SketchModeGathersRulesThatNeedEveryRow) {
    // Rules with no passes of their own get the default gathering state: fitted on
    // every row of what they read. minmax criteria are exact in sketch mode (min and
    // max), so the scores are fit()'s and the rule must be too: same parameters, same
    // tiers, in 1 and 5 chunks and through bytes between the passes.
    const auto& t = features();
    const std::string criteria =
        R"("criteria": [{"column": "revenue", "normalizer": "minmax"}, {"column": "frequency", "normalizer": "minmax"}],
           "privacy": {"min_group": 1}, )";
    const char* rules[] = {
        R"("rule": {"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "a"},
                    {"when": "pct(score) >= 0.5", "tier": "b"}, {"else": "c"}]}, "tiers": ["a", "b", "c"]})",
        R"("rule": {"kind": "rfm_segments", "bins": 4, "segments": [{"name": "a", "r": [3, 4], "f": [3, 4]},
                    {"name": "b", "r": [2, 4]}], "fallback": "c"}, "tiers": ["a", "b", "c"]})",
        R"("rule": {"kind": "chain", "first": {"kind": "quantiles", "shares": [0.3], "tiers": ["a", "c"]},
                    "then": {"a": {"kind": "quantiles", "column": "orders", "shares": [0.5], "tiers": ["a", "b"]}}},
           "tiers": ["a", "b", "c"]})",
        R"("rule": {"kind": "kmeans", "k": "auto", "k_range": [3, 4], "seed": 3}, "tiers": ["a", "b", "c"]})",
    };
    for (const char* rule : rules) {
        const Policy p = Policy::from_json("{" + criteria + rule);
        const Model whole = fit(p, t);
        const auto expected = whole.assign(t, {.with_contributions = false}).tier;
        for (std::size_t parts : {1u, 5u}) {
            const auto chunks = split(t, parts);
            Fitter f(p, FitOptions{FitMode::sketch});
            while (!f.done()) {
                PartialState total;
                for (const auto& c : chunks)
                    total = Fitter::merge(total, PartialState::from_bytes(f.update(c).to_bytes()));
                if (f.stage() == "rule_gather") {
                    EXPECT_EQ(total.ids.size(), t.rows()) << rule;
                    f = Fitter::from_bytes(f.to_bytes());
                }
                f.advance(total);
                f = Fitter::from_bytes(f.to_bytes());  // the gathered rows travel with the Fitter
            }
            const Model m = f.model();
            EXPECT_EQ(m.rule().parameters(), whole.rule().parameters()) << rule << ", " << parts << " chunks";
            EXPECT_EQ(m.assign(t, {.with_contributions = false}).tier, expected) << rule << ", " << parts << " chunks";
        }
    }
    // group_by gathers its category column too.
    FeatureTable regions = t;
    std::vector<std::int32_t> code(t.rows());
    for (std::size_t i = 0; i < t.rows(); ++i) code[i] = static_cast<std::int32_t>(i % 3);
    regions.add_category("region", code, {"n", "s", "w"});
    const Policy grouped = Policy::from_json(
        "{" + criteria +
        R"("rule": {"kind": "quantiles", "shares": [0.2], "group_by": "region"}, "tiers": ["a", "b"]})");
    const Model m = fit_chunks(grouped, split(regions, 4), FitOptions{FitMode::sketch});
    EXPECT_EQ(m.rule().parameters(), fit(grouped, regions).rule().parameters());
    // refine mode does not gather (its models do not depend on the merge order).
    try {
        Fitter f(grouped, FitOptions{FitMode::refine});
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot be fitted in refine mode"), std::string::npos) << e.what();
    }
}

TEST(Fitter, BytesRoundTripMidFitAndRejectCorruption) {
    const auto& t = features();
    const auto chunks = split(t, 4);
    const Policy p = policy_at(3);  // kmeans: several passes
    Fitter f(p, FitOptions{FitMode::sketch});
    EXPECT_EQ(f.stage(), "criteria");
    std::size_t passes = 0;
    while (!f.done()) {
        PartialState total;
        for (const auto& c : chunks) {
            // Ship the state as a worker would.
            total = Fitter::merge(total, PartialState::from_bytes(f.update(c).to_bytes()));
        }
        f = Fitter::from_bytes(f.to_bytes());
        f.advance(total);
        ++passes;
    }
    EXPECT_GE(passes, 3u);  // criteria, kmeans_seed, >= 1 Lloyd iteration
    EXPECT_EQ(bytes_of(f.model()), bytes_of(fit_chunks(p, chunks, FitOptions{FitMode::sketch})));
    EXPECT_THROW(f.update(chunks[0]), PolicyError);
    Fitter g(p, FitOptions{FitMode::sketch});
    std::string bytes = g.update(chunks[0]).to_bytes();
    bytes[bytes.size() / 2] ^= 0x20;
    EXPECT_THROW(PartialState::from_bytes(bytes), FormatError);
    EXPECT_THROW(PartialState::from_bytes("nonsense"), FormatError);
    EXPECT_THROW(Fitter::from_bytes(bytes), FormatError);
    EXPECT_THROW(g.model(), PolicyError);
    // A state of another pass is refused.
    Fitter h(p, FitOptions{FitMode::exact});
    EXPECT_THROW(g.advance(h.update(chunks[0])), InvalidInput);
    EXPECT_THROW(Fitter::merge(g.update(chunks[0]), h.update(chunks[0])), InvalidInput);
    // A state of the same pass but another policy (4 criteria, not 2) is refused too.
    Fitter other(policy_at(0), FitOptions{FitMode::sketch});
    try {
        other.advance(g.update(chunks[0]));
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "Fitter.advance: the state does not have the layout of pass 'criteria' of this policy");
    }
}

TEST(Parallel, SetNumThreadsOverridesAndResultsAreBitIdentical) {
    set_num_threads(3);
    EXPECT_EQ(get_num_threads(), 3u);
    // More rows than one parallel_for range (65536), so 2 and 4 threads really split the work.
    SyntheticOptions o;
    o.customers = 70000;
    o.seed = 5;
    const auto d = synthetic(o);
    std::string first;
    for (unsigned threads : {1u, 2u, 4u}) {
        set_num_threads(threads);
        EXPECT_EQ(num_threads(), threads);
        const auto s = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity});
        std::string bytes;
        auto put = [&](const void* p, std::size_t n) { bytes.append(static_cast<const char*>(p), n); };
        for (std::size_t j = 0; j < s.features.cols(); ++j)
            put(s.features.column(j).data(), s.features.column(j).size_bytes());
        for (const char* text : {policies[1], policies[3]}) {
            const Model m = fit(Policy::from_json(text), s.features);
            const auto a = m.assign(s.features);
            bytes += bytes_of(m);
            for (const auto& sc : a.scores) put(sc.data(), sc.size() * sizeof(double));
            for (const auto& per : a.contributions)
                for (const auto& c : per) put(c.data(), c.size() * sizeof(double));
            put(a.tier.data(), a.tier.size() * sizeof(std::int32_t));
            for (const auto& [name, v] : a.extras) put(v.data(), v.size() * sizeof(double));
        }
        if (threads == 1) first = bytes;
        EXPECT_TRUE(bytes == first) << threads << " threads: results differ from 1 thread";
    }
    set_num_threads(0);
    EXPECT_GE(num_threads(), 1u);
}

// ---- refine mode: the exact sum it rests on, model bytes equal to fit() on the whole
// table at 1, 4 and 16 chunks (heavy ties, and more distinct values than the
// percentile curve has knots), the rows it gathers, and the policies it refuses.

namespace {

double sum_of(std::initializer_list<double> xs) {
    ExactSum s;
    for (double x : xs) s.add(x);
    return s.value();
}

/// Customers with heavy ties (orders: small counts; days: 0..365) and a continuous
/// column (revenue: log-normal, all distinct).
FeatureTable customers(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::lognormal_distribution<double> revenue(4.0, 1.2);
    std::poisson_distribution<int> orders(2.0);
    std::uniform_int_distribution<int> days(0, 365);
    std::vector<std::int64_t> ids(n);
    std::vector<double> rev(n), ord(n), since(n), aov(n);
    for (std::size_t i = 0; i < n; ++i) {
        ids[i] = static_cast<std::int64_t>(i) * 7 + 3;
        ord[i] = orders(rng);
        rev[i] = ord[i] == 0 ? 0.0 : revenue(rng);
        since[i] = days(rng);
        aov[i] = ord[i] == 0 ? 0.0 : rev[i] / ord[i];
    }
    FeatureTable t(ids);
    t.add_column("revenue", rev);
    t.add_column("frequency", ord);
    t.add_column("days_since_last", since);
    t.add_column("aov", aov);
    return t;
}

/// Run a refine Fitter over the chunks (merged left to right); returns it done.
Fitter run(const Policy& p, const std::vector<FeatureTable>& chunks, FitOptions o) {
    Fitter f(p, o);
    while (!f.done()) {
        PartialState total;
        for (const auto& c : chunks) total = Fitter::merge(total, f.update(c));
        f.advance(total);
    }
    return f;
}

const char* refine_policies[] = {
    // percentile criteria (ties and > max_knots distinct values), quantile cuts
    nullptr,
    R"({"criteria": [{"column": "revenue", "transform": "log1p", "clip": [0.05, 0.95], "normalizer": "robust"},
                     {"column": "frequency", "normalizer": "bins", "bins": 4, "clip": [0.0, 0.9]},
                     {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"},
                     {"column": "aov", "normalizer": "minmax"}],
        "weights": {"method": "manual"}, "rule": {"kind": "quantiles", "shares": [0.05, 0.2, 0.5]},
        "tiers": ["a", "b", "c", "d"]})",
    R"({"method": "topsis", "criteria": [{"column": "revenue", "normalizer": "percentile"},
                     {"column": "frequency", "normalizer": "percentile"},
                     {"column": "days_since_last", "direction": "lower", "normalizer": "minmax"}],
        "weights": {"method": "ahp", "matrix": [[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]},
        "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})",
    R"({"criteria": [{"column": "revenue", "normalizer": "percentile"}, {"column": "frequency", "normalizer": "zscore"}],
        "rule": {"kind": "thresholds", "cuts": [70, 40]}, "tiers": ["a", "b", "c"]})",
    // abc on a column (many zeros) and on the score
    R"({"criteria": [{"column": "revenue", "normalizer": "minmax"}], "rule": {"kind": "abc", "column": "revenue"},
        "tiers": ["A", "B", "C"]})",
    R"({"criteria": [{"column": "revenue", "normalizer": "percentile"}, {"column": "frequency", "normalizer": "percentile"}],
        "rule": {"kind": "abc", "cuts": [0.5, 0.8, 0.95]}, "tiers": ["A", "B", "C", "D"]})",
};

Policy refine_policy(std::size_t i) {
    return exact_values(refine_policies[i] ? Policy::from_json(refine_policies[i]) : Policy::default_policy());
}

}  // namespace

TEST(ExactSum, CorrectlyRoundedAndOrderFree) {
    const double tiny = std::numeric_limits<double>::denorm_min();
    EXPECT_EQ(sum_of({1e100, 1.0, -1e100}), 1.0);
    EXPECT_EQ(sum_of({-1e100, 1e100, 1.0}), 1.0);
    EXPECT_EQ(sum_of({0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}), 1.0);  // math.fsum's answer
    EXPECT_EQ(sum_of({1.0, std::ldexp(1.0, -53)}), 1.0);                         // a tie: to even
    EXPECT_EQ(sum_of({1.0, std::ldexp(1.0, -53), std::ldexp(1.0, -100)}), std::nextafter(1.0, 2.0));
    EXPECT_EQ(sum_of({1.0, std::ldexp(1.0, -53), std::ldexp(1.0, -53)}), 1.0 + std::ldexp(1.0, -52));
    EXPECT_EQ(sum_of({tiny, tiny, tiny}), 3 * tiny);
    EXPECT_EQ(sum_of({-2.5, -0.25}), -2.75);
    EXPECT_EQ(sum_of({3.0, -3.0}), 0.0);
    EXPECT_EQ(sum_of({}), 0.0);
    const double big = std::numeric_limits<double>::max();
    EXPECT_EQ(sum_of({big, -big, 1.0}), 1.0);
    EXPECT_EQ(sum_of({big, big}), std::numeric_limits<double>::infinity());
    EXPECT_EQ(sum_of({-big, -big}), -std::numeric_limits<double>::infinity());

    // Any order and any chunking give the same bits.
    std::mt19937_64 rng(3);
    std::vector<double> v(20000);
    for (auto& x : v)
        x = std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng),
                       std::uniform_int_distribution<int>(-60, 60)(rng));
    ExactSum whole;
    for (double x : v) whole.add(x);
    std::shuffle(v.begin(), v.end(), rng);
    ExactSum a, b;
    for (std::size_t i = 0; i < v.size(); ++i) (i % 3 ? a : b).add(v[i]);
    b.merge(a);
    EXPECT_EQ(b.value(), whole.value());
    // The sum of values that are exact small integers times 2^-30 is exact: compare with an integer sum.
    std::int64_t units = 0;
    ExactSum c;
    for (int i = 0; i < 1000; ++i) {
        const std::int64_t u = std::uniform_int_distribution<std::int64_t>(-(1LL << 40), 1LL << 40)(rng);
        units += u;
        c.add(std::ldexp(static_cast<double>(u), -30));
    }
    EXPECT_EQ(c.value(), std::ldexp(static_cast<double>(units), -30));
}

TEST(FitterRefine, ModelBytesEqualFitInOneFourAndSixteenChunks) {
    const FeatureTable t = customers(30000, 5);  // revenue: > max_knots distinct values; orders: heavy ties
    for (std::size_t i = 0; i < std::size(refine_policies); ++i) {
        const Policy p = refine_policy(i);
        const std::string expected = bytes_of(fit(p, t));
        for (std::size_t parts : {1, 4, 16}) {
            // Small sketches and few buckets: most target ranks fall in buckets that must be gathered.
            const Fitter f = run(p, split(t, parts), FitOptions{FitMode::refine, 64, 4096, 1u << 12});
            EXPECT_EQ(bytes_of(f.model()), expected) << "policy " << i << ", " << parts << " chunks";
            EXPECT_GT(f.collected_rows(), 0.0) << "policy " << i;
        }
    }
}

TEST(FitterRefine, GathersFewRowsAndNoneForTiedColumns) {
    const FeatureTable t = customers(200000, 9);
    const double n = static_cast<double>(t.rows());
    // A continuous percentile column: the values pass gathers the rows of the buckets
    // holding the 16385 knot ranks, about max_knots / refine_buckets of the rows.
    const Policy continuous = Policy::from_json(R"({"criteria": [{"column": "revenue", "normalizer": "percentile"}],
        "rule": {"kind": "quantiles", "shares": [0.1, 0.4]}, "tiers": ["a", "b", "c"]})")
                                  .with_min_group(1);
    const Fitter f = run(continuous, split(t, 16), FitOptions{FitMode::refine});
    EXPECT_EQ(bytes_of(f.model()), bytes_of(fit(continuous, t)));
    // Each knot rank's own row (8% of the rows here, 1.6% of 10^6) plus about
    // n / min(n, refine_buckets) rows around it.
    const double knots = static_cast<double>(FittedCriterion::max_knots);
    EXPECT_LT(f.collected_rows(), 1.2 * knots * (1 + n / std::min(n, 262144.0)));
    EXPECT_LT(f.collected_rows() / n, 0.2);
    EXPECT_EQ(f.passes(), 6u);  // criteria: sketch, count, values; rule: the same
    // Columns with at most max_knots distinct values are counted exactly in the count
    // pass; quantile cuts on tied scores sit in buckets of one value.
    const Policy tied = Policy::from_json(R"({"criteria": [{"column": "frequency", "normalizer": "percentile"},
                                                            {"column": "days_since_last", "normalizer": "percentile"}],
        "rule": {"kind": "quantiles", "shares": [0.1, 0.4]}, "tiers": ["a", "b", "c"]})")
                            .with_min_group(1);
    const Fitter g = run(tied, split(t, 16), FitOptions{FitMode::refine});
    EXPECT_EQ(bytes_of(g.model()), bytes_of(fit(tied, t)));
    EXPECT_LT(g.collected_rows() / n, 0.01);
}

TEST(FitterRefine, BytesRoundTripBetweenPassesAndMergeOrder) {
    const FeatureTable t = customers(30000, 2);  // > max_knots distinct clipped revenues
    const auto chunks = split(t, 4);
    for (std::size_t i : {1, 5}) {
        const Policy p = refine_policy(i);
        Fitter f(p, FitOptions{FitMode::refine, 64, 4096, 1u << 10});
        std::vector<std::string> stages;
        while (!f.done()) {
            stages.push_back(f.stage());
            // Merge as a tree in reverse order, through bytes: exact statistics are order-free.
            std::vector<PartialState> s;
            for (const auto& c : chunks) s.push_back(PartialState::from_bytes(f.update(c).to_bytes()));
            const PartialState total = Fitter::merge(Fitter::merge(s[3], s[2]), Fitter::merge(s[1], s[0]));
            f = Fitter::from_bytes(f.to_bytes());
            f.advance(total);
        }
        EXPECT_EQ(bytes_of(f.model()), bytes_of(fit(p, t))) << "policy " << i;
        std::vector<std::string> expected{"criteria", "criteria_count", "criteria_values",
                                          "rule",     "rule_count",     "rule_values"};
        if (i == 1) expected.insert(expected.begin(), {"clip", "clip_count", "clip_values"});
        EXPECT_EQ(stages, expected) << "policy " << i;
    }
}

TEST(FitterRefine, RefusesWhatItCannotMakeExact) {
    auto refused = [](const char* json, const std::string& part) {
        try {
            Fitter(Policy::from_json(json), FitOptions{FitMode::refine});
            ADD_FAILURE() << json;
        } catch (const PolicyError& e) {
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    refused(R"({"criteria": ["revenue"], "rule": {"kind": "kmeans", "k": 3}, "tiers": ["a", "b", "c"]})",
            "kind 'kmeans'");
    refused(
        R"({"criteria": ["revenue", "frequency"], "weights": {"method": "entropy"}, "rule": {"kind": "thresholds", "cuts": [50]},
               "tiers": ["a", "b"]})",
        "method 'entropy'");
    refused(R"({"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"],
               "privacy": {"min_group": 5}})",
            "privacy.min_group");
}

TEST(RuleState, MergeOrderDoesNotChangeTheModel) {
    // A rule's state merges its chunks' passes by exact counts and sums: fitting the
    // same chunks in another order (and merged as another tree) gives the same model,
    // which is fit() on the whole table.
    const FeatureTable t = customers(20000, 4);
    auto chunks = split(t, 7);
    auto shuffled = chunks;
    std::mt19937_64 rng(7);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    auto fit_in_order = [](const Policy& p, const std::vector<FeatureTable>& parts, bool tree) {
        Fitter f(p, FitOptions{FitMode::refine, 64, 4096, 1u << 10});
        while (!f.done()) {
            std::vector<PartialState> s;
            for (const auto& c : parts) s.push_back(f.update(c));
            PartialState total;
            if (tree) {  // pairs, then pairs of pairs
                while (s.size() > 1) {
                    std::vector<PartialState> up;
                    for (std::size_t i = 0; i < s.size(); i += 2)
                        up.push_back(i + 1 < s.size() ? Fitter::merge(s[i], s[i + 1]) : s[i]);
                    s = std::move(up);
                }
                total = s[0];
            } else {
                for (const auto& x : s) total = Fitter::merge(total, x);
            }
            f.advance(total);
        }
        return bytes_of(f.model());
    };
    const char* rules[] = {
        R"({"kind": "abc", "column": "revenue", "cuts": [0.5, 0.8, 0.95]})",
        R"({"kind": "abc", "column": "frequency", "cuts": [0.4, 0.6, 0.9]})",
        R"({"kind": "abc", "score": "score", "cuts": [0.3, 0.7, 0.9]})",
        R"({"kind": "quantiles", "shares": [0.05, 0.2, 0.5]})",
        R"({"kind": "quantiles", "column": "revenue", "shares": [0.1, 0.3, 0.3]})",
        R"({"kind": "thresholds", "cuts": [80, 50, 20]})",
    };
    for (const char* rule : rules) {
        const Policy p = Policy::from_json(
            std::string(R"({"criteria": ["revenue", {"column": "frequency", "normalizer": "percentile"}],
            "tiers": ["a", "b", "c", "d"], "privacy": {"min_group": 1}, "rule": )") +
            rule + "}");
        const std::string in_order = fit_in_order(p, chunks, false);
        EXPECT_EQ(fit_in_order(p, shuffled, false), in_order) << rule;
        EXPECT_EQ(fit_in_order(p, shuffled, true), in_order) << rule;
        EXPECT_EQ(in_order, bytes_of(fit(p, t))) << rule;
    }
}

/// The fields of two states that merge exactly are equal: gathered rows, counts, exact
/// sums (by value), distinct values, the sample, lows and highs, and the moments' count,
/// min and max. (Sketches, plain sums and the moments' mean and m2 merge within rounding.)
void expect_exact_fields_equal(const PartialState& a, const PartialState& b) {
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.names, b.names);
    EXPECT_EQ(a.columns, b.columns);
    EXPECT_EQ(a.category_names, b.category_names);
    EXPECT_EQ(a.category_codes, b.category_codes);
    EXPECT_EQ(a.category_labels, b.category_labels);
    EXPECT_EQ(a.buckets, b.buckets);
    ASSERT_EQ(a.values.size(), b.values.size());
    for (std::size_t j = 0; j < a.values.size(); ++j) {
        EXPECT_EQ(a.values[j].values, b.values[j].values);
        EXPECT_EQ(a.values[j].counts, b.values[j].counts);
        EXPECT_EQ(a.values[j].overflow, b.values[j].overflow);
    }
    ASSERT_EQ(a.exact_sums.size(), b.exact_sums.size());
    for (std::size_t j = 0; j < a.exact_sums.size(); ++j) EXPECT_EQ(a.exact_sums[j].value(), b.exact_sums[j].value());
    EXPECT_EQ(a.sample_keys, b.sample_keys);
    EXPECT_EQ(a.sample_ids, b.sample_ids);
    EXPECT_EQ(a.sample_points, b.sample_points);
    EXPECT_EQ(a.lows, b.lows);
    EXPECT_EQ(a.highs, b.highs);
    ASSERT_EQ(a.moments.size(), b.moments.size());
    for (std::size_t j = 0; j < a.moments.size(); ++j) {
        EXPECT_EQ(a.moments[j].n, b.moments[j].n);
        EXPECT_EQ(a.moments[j].min, b.moments[j].min);
        EXPECT_EQ(a.moments[j].max, b.moments[j].max);
    }
}

TEST(RuleState, TwoHalvesMergedEqualOnePassWhereExact) {
    // Every rule pass whose state merges exactly (counts, exact sums, gathered values and
    // rows, the bottom-k sample) gives, for two halves of a table merged, the state of
    // one pass over the whole table, byte for byte. The sketch passes and the plain sums
    // (abc_mass, lloyd) merge within their stated error instead, so they are not compared.
    const FeatureTable t = customers(6000, 9);
    const auto halves = split(t, 2);
    const std::vector<std::string> exact_passes{"rule_count", "rule_values", "kmeans_seed", "rule_gather"};
    struct Run {
        const char* rule;
        FitMode mode;
    };
    const Run runs[] = {
        {R"({"kind": "abc", "column": "revenue", "cuts": [0.5, 0.8, 0.95]})", FitMode::refine},
        {R"({"kind": "quantiles", "shares": [0.05, 0.2, 0.5]})", FitMode::refine},
        {R"({"kind": "kmeans", "k": 4, "seed": 2})", FitMode::sketch},
        {R"({"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "a"},
             {"when": "score >= 50", "tier": "b"}, {"when": "pct(frequency) >= 0.5", "tier": "c"}, {"else": "d"}]})",
         FitMode::sketch},
    };
    for (const auto& run : runs) {
        const Policy p = Policy::from_json(
            std::string(R"({"criteria": ["revenue", {"column": "frequency", "normalizer": "percentile"}],
            "tiers": ["a", "b", "c", "d"], "privacy": {"min_group": 1}, "rule": )") +
            run.rule + "}");
        Fitter f(p, FitOptions{run.mode, 64, 512, 1u << 10});
        std::vector<std::string> compared;
        while (!f.done()) {
            const PartialState whole = f.update(t);
            const PartialState merged = Fitter::merge(f.update(halves[0]), f.update(halves[1]));
            if (std::find(exact_passes.begin(), exact_passes.end(), f.stage()) != exact_passes.end()) {
                SCOPED_TRACE(std::string(run.rule) + ", pass " + f.stage());
                expect_exact_fields_equal(merged, whole);
                compared.push_back(f.stage());
            }
            f.advance(merged);
        }
        EXPECT_FALSE(compared.empty()) << run.rule;  // each run has at least one exact pass
    }
}
