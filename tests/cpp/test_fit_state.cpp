// Mergeable fit states: the quantile sketch's rank error, moments, the exact mode's
// equality with fit(), the sketch mode's passes, bytes, and the thread-count invariance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tierkit/error.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/parallel.hpp"
#include "tierkit/rules/expression.hpp"
#include "tierkit/rules/kmeans.hpp"
#include "tierkit/rules/quantiles.hpp"
#include "tierkit/rules/registry.hpp"

using namespace tierkit;

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

std::vector<FeatureTable> split(const FeatureTable& t, std::size_t parts) {
    std::vector<FeatureTable> out;
    for (std::size_t p = 0; p < parts; ++p) {
        std::vector<std::size_t> rows;
        for (std::size_t i = t.rows() * p / parts; i < t.rows() * (p + 1) / parts; ++i) rows.push_back(i);
        out.push_back(t.subset(rows));
    }
    return out;
}

std::string bytes_of(const Model& m) {
    std::ostringstream out;
    save(m, out);
    return out.str();
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

Policy policy_at(std::size_t i) { return policies[i] ? Policy::from_json(policies[i]) : Policy::default_policy(); }

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
        std::printf("[ measured ] sketch k=%u, %zu chunk(s): max rank error %.5f of n\n", total.capacity(), parts, worst);
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
        const auto expected = whole.assign(t, false);
        for (std::size_t parts : {1u, 16u}) {
            const auto chunks = split(t, parts);
            const Model m = fit_chunks(p, chunks, FitOptions{FitMode::exact});
            EXPECT_EQ(bytes_of(m), bytes_of(whole)) << "policy " << i << ", " << parts << " chunks";
            const auto a = m.assign(t, false);
            EXPECT_EQ(a.tier, expected.tier) << "policy " << i;
            EXPECT_EQ(a.scores, expected.scores) << "policy " << i;
        }
    }
}

TEST(Fitter, ExactModeExpressionRuleAndMergeOrder) {
    register_rule("expression", make_expression_rule);
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
        const auto expected = whole.assign(t, false);
        for (std::size_t parts : {1u, 16u}) {
            const Model m = fit_chunks(p, split(t, parts), FitOptions{FitMode::sketch});
            const auto a = m.assign(t, false);
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
                EXPECT_NEAR(m.scores()[0].weights[k], whole.scores()[0].weights[k], i == 1 ? 1e-3 : 1e-9) << "policy " << i;

            // Tiers: the share of customers whose tier differs is bounded by the rank error
            // of the cuts (and, for kmeans, by the few points near a boundary).
            double differ = 0;
            for (std::size_t r = 0; r < a.tier.size(); ++r) differ += a.tier[r] != expected.tier[r];
            EXPECT_LE(differ / n, i == 3 ? 0.02 : 0.01) << "policy " << i << ", " << parts << " chunks";
            if (i == 0) {
                // Quantile cuts: the rank of each sketch cut within 0.5% of n of the exact cut's.
                const auto assigned = whole.assign(t, false);
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
      "rule": {"kind": "thresholds", "score": "value", "cuts": [60, 30]}, "tiers": ["key", "growth", "rest"]})");
    const auto& t = features();
    const Model whole = fit(p, t);
    const auto expected = whole.assign(t, false);
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
        EXPECT_EQ(m.assign(t, false).tier, expected.tier) << parts << " chunks";
    }
}

TEST(Fitter, SketchModeRejectsRulesThatNeedEveryRow) {
    register_rule("expression", make_expression_rule);
    const auto expr = Policy::from_json(R"({"criteria": ["revenue"],
      "rule": {"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "top"}, {"else": "rest"}]},
      "tiers": ["top", "rest"]})");
    try {
        Fitter f(expr, FitOptions{FitMode::sketch});
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "rule: kind 'expression' (or group_by) cannot be fitted in sketch mode, it needs every row at once; "
                  "use the exact mode");
    }
    const auto autok = Policy::from_json(R"({"criteria": ["revenue", "frequency"],
      "rule": {"kind": "kmeans", "k": "auto", "k_range": [3, 4]}, "tiers": ["a", "b", "c"]})");
    EXPECT_THROW(Fitter(autok, FitOptions{FitMode::sketch}), PolicyError);
    EXPECT_NO_THROW(Fitter(autok, FitOptions{FitMode::exact}));
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
        for (std::size_t j = 0; j < s.features.cols(); ++j) put(s.features.column(j).data(), s.features.column(j).size_bytes());
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
