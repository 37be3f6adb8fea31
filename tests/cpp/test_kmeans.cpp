// kmeans: the generator, Lloyd iterations by hand, separable blobs, ordering by
// centroid score, choosing k, determinism, policy errors and save/load.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/special_functions/nonfinite_num_facets.hpp>
#include <cmath>
#include <locale>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tierkit/core/error.hpp"
#include "tierkit/core/progress.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/builtin/kmeans.hpp"

using namespace tierkit;
using nlohmann::json;

namespace {

/// A rule input whose only score has the given normalized criteria.
struct KRun {
    FeatureTable table;
    std::vector<std::string> names{"value"};
    std::vector<std::vector<double>> scores;
    std::vector<CriteriaBlock> criteria;
    KRun(std::vector<std::vector<double>> columns, std::vector<double> weights) {
        const std::size_t n = columns.front().size();
        std::vector<std::int64_t> ids(n);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);
        table = FeatureTable(ids);
        scores.assign(1, std::vector<double>(n, 0.0));
        CriteriaBlock b;
        b.score = "value";
        for (std::size_t f = 0; f < columns.size(); ++f)
            b.names.push_back(f == 0 ? "revenue" : f == 1 ? "frequency" : "c" + std::to_string(f));
        b.normalized = std::move(columns);
        b.weights = std::move(weights);
        criteria.push_back(std::move(b));
    }
    RuleInput input() const { return RuleInput{table, names, scores, &criteria}; }
    std::vector<std::int32_t> tiers(const Rule& r, std::vector<std::int32_t>* reason = nullptr) const {
        std::vector<std::int32_t> t(table.rows(), -1), q(table.rows(), -1);
        r.assign(input(), t, q);
        if (reason) *reason = q;
        return t;
    }
};

/// Blobs: every centre gets the 5 x 5 grid of offsets +-0.02, so each blob's mean is
/// its centre and its squared deviations sum to 25 * 2 * 0.0002 = 0.01.
/// Rows cycle through the blobs in the order given by `row_order`.
std::vector<std::vector<double>> blobs(const std::vector<std::pair<double, double>>& centres,
                                       const std::vector<std::size_t>& row_order,
                                       std::vector<std::size_t>* blob_of = nullptr) {
    std::vector<std::vector<double>> cols(2);
    for (int dx = -2; dx <= 2; ++dx)
        for (int dy = -2; dy <= 2; ++dy)
            for (auto b : row_order) {
                cols[0].push_back(centres[b].first + 0.01 * dx);
                cols[1].push_back(centres[b].second + 0.01 * dy);
                if (blob_of) blob_of->push_back(b);
            }
    return cols;
}

std::unique_ptr<Rule> kmeans(json p, std::size_t tiers) {
    p["kind"] = "kmeans";
    return make_kmeans_rule(p, "rule", tiers);
}

PointColumns points(const std::vector<std::vector<double>>& cols) {
    PointColumns x{cols.front().size(), {}};
    for (const auto& c : cols) x.columns.push_back(c.data());
    return x;
}

}  // namespace

// ---- building blocks -------------------------------------------------------------------

TEST(Xoshiro256, MatchesTheReferenceAlgorithm) {
    // Expected values from the reference C code (splitmix64 seeding, xoshiro256**).
    Xoshiro256 a(0);
    EXPECT_EQ(a.next(), 0x99ec5f36cb75f2b4ULL);
    EXPECT_EQ(a.next(), 0xbf6e1f784956452aULL);
    EXPECT_EQ(a.next(), 0x1a5f849d4933e6e0ULL);
    Xoshiro256 b(42);
    EXPECT_EQ(b.next(), 0x15780b2e0c2ec716ULL);
    Xoshiro256 c(7);
    EXPECT_EQ(c.below(1000), 700u);
    Xoshiro256 d(7);
    EXPECT_DOUBLE_EQ(d.uniform(), 0.7005764821796896);
    Xoshiro256 e(3);
    for (int i = 0; i < 10000; ++i) {
        EXPECT_LT(e.below(7), 7u);
        const double u = e.uniform();
        EXPECT_TRUE(u >= 0 && u < 1);
    }
}

TEST(KMeansLloyd, OneDimensionByHand) {
    // {0, 1, 10, 11} from centres {0, 1}: 1st step labels 0|1,10,11 -> centres 0, 22/3;
    // 2nd: 0,1|10,11 -> 0.5, 10.5; 3rd: labels unchanged -> stop. Inertia 4 * 0.25.
    const std::vector<std::vector<double>> cols{{0, 1, 10, 11}};
    const auto r = kmeans_lloyd(points(cols), {0, 1}, 300, 1e-4);
    EXPECT_EQ(r.iterations, 3);
    EXPECT_TRUE(r.converged);
    EXPECT_EQ(r.centroids, (std::vector<double>{0.5, 10.5}));
    EXPECT_EQ(r.labels, (std::vector<std::int32_t>{0, 0, 1, 1}));
    EXPECT_DOUBLE_EQ(r.inertia, 1.0);
    // Capped after one iteration: centres 0, 22/3, labels recomputed for them.
    const auto one = kmeans_lloyd(points(cols), {0, 1}, 1, 1e-4);
    EXPECT_EQ(one.iterations, 1);
    EXPECT_FALSE(one.converged);
    EXPECT_DOUBLE_EQ(one.centroids[1], 22.0 / 3.0);
    EXPECT_EQ(one.labels, (std::vector<std::int32_t>{0, 0, 1, 1}));
    EXPECT_DOUBLE_EQ(one.inertia, 0 + 1 + (10 - 22.0 / 3) * (10 - 22.0 / 3) + (11 - 22.0 / 3) * (11 - 22.0 / 3));
}

TEST(KMeansLloyd, EmptyClusterTakesTheFarthestPoint) {
    // {0, 1, 2, 10} from centres {0, 100}: everything joins centre 0, cluster 1 is
    // empty and takes 10 (farthest from its centre) -> centres 1, 10. Then the labels
    // change (10 moves) but the centres do not: the tolerance stops it.
    const std::vector<std::vector<double>> cols{{0, 1, 2, 10}};
    std::vector<double> next(2);
    std::vector<std::int32_t> labels(4, -1);
    std::size_t changed = 0;
    const double shift = lloyd_iteration(points(cols), std::vector<double>{0, 100}, next, labels, 1, &changed);
    EXPECT_EQ(next, (std::vector<double>{1, 10}));
    EXPECT_DOUBLE_EQ(shift, 1 + 90 * 90);
    EXPECT_EQ(changed, 4u);
    const auto r = kmeans_lloyd(points(cols), {0, 100}, 300, 1e-4);
    EXPECT_EQ(r.iterations, 2);
    EXPECT_EQ(r.centroids, (std::vector<double>{1, 10}));
    EXPECT_EQ(r.labels, (std::vector<std::int32_t>{0, 0, 0, 1}));
    EXPECT_DOUBLE_EQ(r.inertia, 2.0);
}

TEST(KMeansPlusPlus, PicksDistinctPointsAndTheOutlier) {
    const std::vector<std::vector<double>> cols{{0, 1, 3, 7, 15}};
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        Xoshiro256 rng(seed);
        auto c = kmeans_plus_plus(points(cols), 5, rng);
        std::sort(c.begin(), c.end());
        EXPECT_EQ(c, cols[0]) << seed;
    }
    // 100 points at 0 and one at 1: the second centre always lands on the other value.
    std::vector<std::vector<double>> lopsided{std::vector<double>(100, 0.0)};
    lopsided[0].push_back(1.0);
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        Xoshiro256 rng(seed);
        auto c = kmeans_plus_plus(points(lopsided), 2, rng);
        std::sort(c.begin(), c.end());
        EXPECT_EQ(c, (std::vector<double>{0, 1})) << seed;
    }
    Xoshiro256 rng(0);
    EXPECT_THROW(kmeans_plus_plus(points(cols), 6, rng), InvalidInput);
}

TEST(KMeansLloyd, BitIdenticalAtAnyThreadCount) {
    Xoshiro256 gen(11);
    std::vector<std::vector<double>> cols(3, std::vector<double>(50000));
    for (std::size_t i = 0; i < 50000; ++i)
        for (std::size_t f = 0; f < 3; ++f) cols[f][i] = gen.uniform() * (1 + static_cast<double>((i % 5) * f));
    const auto x = points(cols);
    Xoshiro256 r1(5), r4(5);
    const auto seeds1 = kmeans_plus_plus(x, 6, r1, 1);
    const auto seeds4 = kmeans_plus_plus(x, 6, r4, 4);
    EXPECT_EQ(seeds1, seeds4);
    const auto a = kmeans_lloyd(x, seeds1, 50, 1e-6, 1);
    const auto b = kmeans_lloyd(x, seeds1, 50, 1e-6, 3);
    EXPECT_EQ(a.centroids, b.centroids);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.inertia, b.inertia);
    EXPECT_EQ(a.iterations, b.iterations);
    EXPECT_GT(a.iterations, 1);
    EXPECT_DOUBLE_EQ(a.inertia, kmeans_inertia(x, a.centroids, a.labels, 2));
}

namespace {

/// The run kmeans_lloyd documents, written with lloyd_iteration calls: labels,
/// centres, iterations, inertia and the reported inertia per iteration.
KMeansResult step_by_step(const PointColumns& x, std::vector<double> centres, int max_iter, double tol_abs,
                          std::vector<double>& reported) {
    KMeansResult r;
    r.centroids = std::move(centres);
    r.labels.assign(x.rows, -1);
    std::vector<double> next(r.centroids.size());
    bool strict = false;
    for (int it = 0; it < max_iter; ++it) {
        std::size_t changed = 0;
        double inertia = 0;
        const double shift = lloyd_iteration(x, r.centroids, next, r.labels, 1, &changed, &inertia);
        reported.push_back(inertia);
        r.centroids.swap(next);
        r.iterations = it + 1;
        if (changed == 0) {
            strict = true;
            break;
        }
        if (shift <= tol_abs) break;
    }
    if (!strict) lloyd_iteration(x, r.centroids, next, r.labels, 1);  // labels of the final centres
    r.inertia = kmeans_inertia(x, r.centroids, r.labels, 1);
    return r;
}

/// The nearest centre by the definition: sum_f (x_f - c_f)^2 in the order of f, the
/// lowest index on a tie, one row and one centre at a time.
std::vector<std::int32_t> nearest_by_definition(const std::vector<std::vector<double>>& cols,
                                                const std::vector<double>& centres) {
    const std::size_t d = cols.size(), k = centres.size() / d, n = cols.front().size();
    std::vector<std::int32_t> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        double best = 0;
        for (std::size_t j = 0; j < k; ++j) {
            double s = 0;
            for (std::size_t f = 0; f < d; ++f)
                s += (cols[f][i] - centres[j * d + f]) * (cols[f][i] - centres[j * d + f]);
            if (j == 0 || s < best) {
                best = s;
                out[i] = static_cast<std::int32_t>(j);
            }
        }
    }
    return out;
}

}  // namespace

TEST(KMeansLloyd, RunEqualsLloydIterationsAndTheDefinition) {
    // kmeans_lloyd fuses the last labelling with the inertia and lloyd_iteration
    // takes the centres four at a time (padded with +inf centres); every result must
    // be the one of the definition, bit for bit. Grid data (multiples of 1/4, many
    // duplicates) makes exact ties between centres, which go to the lowest index;
    // 3001 rows leave a partial block and a partial group of four rows; d = 11 takes
    // the kernel for any dimension count; k = 1, 5, 6, 7, 9 pad the last group.
    struct Case {
        std::size_t d, k;
        bool grid;
    };
    for (const Case c : {Case{1, 3, true}, Case{2, 4, true}, Case{3, 5, false}, Case{8, 8, false}, Case{8, 6, true},
                         Case{11, 9, false}, Case{4, 1, false}, Case{5, 7, true}}) {
        Xoshiro256 gen(c.d * 100 + c.k);
        const std::size_t n = 3001;
        std::vector<std::vector<double>> cols(c.d, std::vector<double>(n));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t f = 0; f < c.d; ++f) {
                const double u = gen.uniform();
                // Two overlapping clouds in the uniform case, so the labels keep moving for a while.
                cols[f][i] = c.grid ? std::floor(u * 5) / 4 : u * u + (i % 3 == 0 ? 0.3 : 0.0);
            }
        const auto x = points(cols);
        std::vector<double> init(c.k * c.d);
        for (std::size_t j = 0; j < c.k; ++j)  // rows 0, 7, 14, ... (duplicates are likely on the grid)
            for (std::size_t f = 0; f < c.d; ++f) init[j * c.d + f] = cols[f][j * 7];
        const std::string what = "d " + std::to_string(c.d) + " k " + std::to_string(c.k);

        std::vector<double> next(init.size());
        std::vector<std::int32_t> labels(n, -1);
        lloyd_iteration(x, init, next, labels, 2);
        EXPECT_EQ(labels, nearest_by_definition(cols, init)) << what;

        std::vector<double> plain_reported, reported;
        const auto want = step_by_step(x, init, 60, 0.0, plain_reported);
        EXPECT_EQ(want.labels, nearest_by_definition(cols, want.centroids)) << what;
        if (c.k > 1) EXPECT_GT(want.iterations, 2) << what;
        const Progress record = [&](const ProgressStep& s) { reported.push_back(s.values[0].value); };
        for (unsigned threads : {1u, 2u, 3u}) {
            reported.clear();
            const auto got = kmeans_lloyd(x, init, 60, 0.0, threads, &record);
            const auto quiet = kmeans_lloyd(x, init, 60, 0.0, threads);
            const auto capped = kmeans_lloyd(x, init, 2, 0.0, threads);  // ends by the cap: the fused last pass
            std::vector<double> capped_reported;
            const auto capped_want = step_by_step(x, init, 2, 0.0, capped_reported);
            const std::string at = what + " threads " + std::to_string(threads);
            EXPECT_EQ(got.labels, want.labels) << at;
            EXPECT_EQ(got.centroids, want.centroids) << at;
            EXPECT_EQ(got.iterations, want.iterations) << at;
            EXPECT_EQ(got.inertia, want.inertia) << at;
            EXPECT_EQ(reported, plain_reported) << at;
            EXPECT_EQ(quiet.labels, want.labels) << at;
            EXPECT_EQ(quiet.centroids, want.centroids) << at;
            EXPECT_EQ(quiet.inertia, want.inertia) << at;
            EXPECT_EQ(capped.labels, capped_want.labels) << at;
            EXPECT_EQ(capped.centroids, capped_want.centroids) << at;
            EXPECT_EQ(capped.inertia, capped_want.inertia) << at;
        }
    }
}

TEST(KMeansLloyd, NearestCentreTakesTheLowestIndexOnATie) {
    // Points 0..4 on a line, three times (15 rows: groups of four and a tail), centres
    // at 1, 3 and again 1: point 2 is as near to 1 as to 3, and centres 0 and 2
    // coincide, so every tie goes to the lower index and centre 2 gets no point.
    std::vector<std::vector<double>> cols(2);
    for (int rep = 0; rep < 3; ++rep)
        for (int v = 0; v < 5; ++v) {
            cols[0].push_back(v);
            cols[1].push_back(0.5);
        }
    const std::vector<double> centres{1, 0.5, 3, 0.5, 1, 0.5};
    std::vector<double> next(6);
    std::vector<std::int32_t> labels(15, -1);
    std::size_t changed = 0;
    double inertia = 0;
    lloyd_iteration(points(cols), centres, next, labels, 1, &changed, &inertia);
    std::vector<std::int32_t> want;
    for (int rep = 0; rep < 3; ++rep) want.insert(want.end(), {0, 0, 0, 1, 1});
    EXPECT_EQ(labels, want);
    EXPECT_EQ(changed, 15u);
    EXPECT_EQ(inertia, 3 * (1.0 + 0 + 1 + 0 + 1));
}

TEST(Silhouette, TwoPairsByHand) {
    // 1-D {0, 1} and {5, 6}: for 0, a = 1, b = (5 + 6) / 2 = 5.5 -> s = 4.5 / 5.5; for 1,
    // a = 1, b = 4.5 -> 3.5 / 4.5; symmetric for the other pair.
    const std::vector<std::vector<double>> cols{{0, 1, 5, 6}};
    const std::vector<std::int32_t> labels{0, 0, 1, 1};
    EXPECT_NEAR(mean_silhouette(points(cols), labels, 2), (4.5 / 5.5 + 3.5 / 4.5) / 2, 1e-15);
    // A singleton cluster scores 0: {0}, {1, 5, 6}. For 1: a = (4 + 5) / 2, b = 1.
    const std::vector<std::int32_t> lone{0, 1, 1, 1};
    const double s1 = (1 - 4.5) / 4.5, s5 = (5 - 2.5) / 5, s6 = (6 - 3.0) / 6;
    EXPECT_NEAR(mean_silhouette(points(cols), lone, 2), (0 + s1 + s5 + s6) / 4, 1e-15);
    const std::vector<std::size_t> rows{0, 1};  // only the first pair: one cluster present
    EXPECT_EQ(mean_silhouette(points(cols), labels, 2, rows), 0.0);
}

// ---- the rule --------------------------------------------------------------------------

TEST(KMeansRule, SeparableBlobsGoToTiersByCentroidScore) {
    // Centre scores with weights (0.5, 0.5): 0.9, 0.65, 0.35, 0.1 -> tiers 0..3.
    const std::vector<std::pair<double, double>> centres{{0.9, 0.9}, {0.7, 0.6}, {0.4, 0.3}, {0.1, 0.1}};
    std::vector<std::size_t> blob;
    KRun run(blobs(centres, {2, 0, 3, 1}, &blob), {0.5, 0.5});
    for (std::uint64_t seed : {0ULL, 1ULL, 2ULL, 12345ULL}) {
        auto rule = kmeans({{"seed", seed}}, 4);
        EXPECT_TRUE(rule->needs_criteria());
        rule->fit(run.input());
        std::vector<std::int32_t> reason;
        const auto tier = run.tiers(*rule, &reason);
        for (std::size_t i = 0; i < tier.size(); ++i)
            ASSERT_EQ(tier[i], static_cast<std::int32_t>(blob[i])) << "seed " << seed;
        EXPECT_EQ(reason, tier);
        const auto& k = dynamic_cast<const KMeansRule&>(*rule);
        for (std::size_t j = 0; j < 4; ++j) {
            EXPECT_NEAR(k.centroids()[2 * j], centres[j].first, 1e-12);
            EXPECT_NEAR(k.centroids()[2 * j + 1], centres[j].second, 1e-12);
        }
        EXPECT_NEAR(k.centroid_scores()[0], 0.9, 1e-12);
        EXPECT_NEAR(k.centroid_scores()[1], 0.65, 1e-12);
        EXPECT_NEAR(k.inertia(), 4 * 0.01, 1e-12);
        EXPECT_EQ(k.cluster_tiers(), (std::vector<std::int32_t>{0, 1, 2, 3}));
        EXPECT_EQ(rule->reasons()[0], "kmeans: cluster 1 of 4, centroid score 0.9 (revenue 0.9, frequency 0.9)");
        EXPECT_EQ(rule->reasons()[2], "kmeans: cluster 3 of 4, centroid score 0.35 (revenue 0.4, frequency 0.3)");
    }
}

TEST(KMeansRule, OrderFollowsTheScoreWeights) {
    // Three blobs; which one is "best" depends only on the weights.
    const std::vector<std::pair<double, double>> centres{{0.9, 0.1}, {0.5, 0.5}, {0.1, 0.9}};
    std::vector<std::size_t> blob;
    const auto cols = blobs(centres, {0, 1, 2}, &blob);
    KRun by_x(cols, {1.0, 0.0}), by_y(cols, {0.0, 1.0});
    auto rx = kmeans({}, 3), ry = kmeans({}, 3);
    rx->fit(by_x.input());
    ry->fit(by_y.input());
    const auto tx = by_x.tiers(*rx), ty = by_y.tiers(*ry);
    for (std::size_t i = 0; i < blob.size(); ++i) {
        EXPECT_EQ(tx[i], static_cast<std::int32_t>(blob[i]));
        EXPECT_EQ(ty[i], static_cast<std::int32_t>(2 - blob[i]));
    }
}

TEST(KMeansRule, SameSeedGivesTheSameModel) {
    Xoshiro256 gen(99);
    std::vector<std::vector<double>> cols(3, std::vector<double>(3000));
    for (auto& c : cols)
        for (auto& v : c) v = gen.uniform();
    KRun run(cols, {0.5, 0.3, 0.2});
    auto a = kmeans({{"seed", 7}, {"n_init", 3}}, 5), b = kmeans({{"seed", 7}, {"n_init", 3}}, 5);
    a->fit(run.input());
    b->fit(run.input());
    const auto& ka = dynamic_cast<const KMeansRule&>(*a);
    const auto& kb = dynamic_cast<const KMeansRule&>(*b);
    EXPECT_EQ(ka.centroids(), kb.centroids());  // bit for bit
    EXPECT_EQ(ka.inertia(), kb.inertia());
    EXPECT_EQ(run.tiers(*a), run.tiers(*b));
    EXPECT_TRUE(std::is_sorted(ka.centroid_scores().rbegin(), ka.centroid_scores().rend()));
    // More inits never do worse than the first of them.
    auto single = kmeans({{"seed", 7}}, 5);
    single->fit(run.input());
    EXPECT_LE(ka.inertia(), dynamic_cast<const KMeansRule&>(*single).inertia());
}

TEST(KMeansRule, ExplicitInitIsUsedAsIs) {
    // 1-D as in the hand example, through the rule: init {1, 0} in any order.
    KRun run({{0, 1, 10, 11}}, {1.0});
    auto rule = kmeans({{"init", {{1}, {0}}}}, 2);
    rule->fit(run.input());
    const auto& k = dynamic_cast<const KMeansRule&>(*rule);
    EXPECT_EQ(k.centroids(), (std::vector<double>{10.5, 0.5}));  // best score first
    EXPECT_EQ(k.iterations(), 3);
    EXPECT_DOUBLE_EQ(k.inertia(), 1.0);
    EXPECT_EQ(run.tiers(*rule), (std::vector<std::int32_t>{1, 1, 0, 0}));
}

TEST(KMeansRule, DistanceColumns) {
    KRun run({{0, 1, 10, 11, 4}}, {1.0});
    auto rule = kmeans({{"init", {{0}, {11}}}}, 2);
    rule->fit(run.input());
    const auto& k = dynamic_cast<const KMeansRule&>(*rule);
    // {0, 1, 4} and {10, 11}: centroids 5/3 and 10.5.
    EXPECT_DOUBLE_EQ(k.centroids()[0], 10.5);
    EXPECT_DOUBLE_EQ(k.centroids()[1], 5.0 / 3.0);
    const auto extra = rule->extra_columns(run.input());
    ASSERT_EQ(extra.size(), 3u);
    EXPECT_EQ(extra[0].first, "cluster_distance");
    EXPECT_EQ(extra[1].first, "distance_0");
    EXPECT_EQ(extra[2].first, "distance_1");
    const std::vector<double> x{0, 1, 10, 11, 4};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_DOUBLE_EQ(extra[1].second[i], std::fabs(x[i] - 10.5));
        EXPECT_DOUBLE_EQ(extra[2].second[i], std::fabs(x[i] - 5.0 / 3.0));
        EXPECT_DOUBLE_EQ(extra[0].second[i], std::min(extra[1].second[i], extra[2].second[i]));
    }
    EXPECT_EQ(run.tiers(*rule), (std::vector<std::int32_t>{1, 1, 0, 0, 1}));
}

TEST(KMeansRule, AutoKBySilhouetteAndElbowMergesAtTheWidestGap) {
    // Three blobs with centroid scores 0.9, 0.6, 0.1 and two tiers: k = 3 is chosen,
    // and the widest gap (0.6 -> 0.1) separates the tiers.
    std::vector<std::size_t> blob;
    KRun run(blobs({{0.9, 0.9}, {0.6, 0.6}, {0.1, 0.1}}, {1, 2, 0}, &blob), {0.5, 0.5});
    for (const char* select : {"silhouette", "elbow"}) {
        auto rule = kmeans({{"k", "auto"}, {"k_range", {2, 6}}, {"select", select}}, 2);
        rule->fit(run.input());
        const auto& k = dynamic_cast<const KMeansRule&>(*rule);
        EXPECT_EQ(k.clusters(), 3u) << select;
        EXPECT_EQ(k.cluster_tiers(), (std::vector<std::int32_t>{0, 0, 1})) << select;
        const auto tier = run.tiers(*rule);
        for (std::size_t i = 0; i < tier.size(); ++i) EXPECT_EQ(tier[i], blob[i] == 2 ? 1 : 0);
        std::map<std::string, std::vector<double>> p;
        for (auto& [name, v] : rule->parameters()) p[name] = v;
        EXPECT_EQ(p["k_candidates"], (std::vector<double>{2, 3, 4, 5, 6}));
        const auto& metric = p[std::string(select) == "silhouette" ? "silhouette" : "inertia_by_k"];
        ASSERT_EQ(metric.size(), 5u);
        if (std::string(select) == "silhouette") {
            EXPECT_EQ(std::max_element(metric.begin(), metric.end()) - metric.begin(), 1);
        } else {
            EXPECT_NEAR(metric[1], 3 * 0.01, 1e-12);  // three exact blobs
            EXPECT_TRUE(std::is_sorted(metric.rbegin(), metric.rend()));
        }
        // Distances per tier: the nearest centroid of the tier.
        const auto extra = rule->extra_columns(run.input());
        ASSERT_EQ(extra.size(), 3u);
        for (std::size_t i = 0; i < tier.size(); ++i)
            EXPECT_DOUBLE_EQ(extra[0].second[i], extra[1 + static_cast<std::size_t>(tier[i])].second[i]);
    }
}

TEST(KMeansRule, InputErrors) {
    KRun run({{0.1, 0.2, 0.3}, {0.3, 0.2, 0.1}}, {0.5, 0.5});
    auto rule = kmeans({}, 2);
    const RuleInput no_criteria{run.table, run.names, run.scores};
    try {
        rule->fit(no_criteria);
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(),
                     "kmeans: needs the normalized criteria of the first score (RuleInput::criteria is empty)");
    }
    auto wide = kmeans({{"init", {{0.1}, {0.2}}}}, 2);
    try {
        wide->fit(run.input());
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "kmeans: init centroids have 1 values each but the score has 2 criteria");
    }
    auto many = kmeans({}, 4);
    EXPECT_THROW(many->fit(run.input()), InvalidInput);
    auto other = kmeans({{"score", "potential"}}, 2);
    try {
        other->fit(run.input());
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "kmeans: no criteria for score 'potential'; scores: value");
    }
    // Assign with other criteria than fitted.
    rule->fit(run.input());
    KRun renamed({{0.1, 0.2, 0.3}, {0.3, 0.2, 0.1}}, {0.5, 0.5});
    renamed.criteria[0].names[1] = "aov";
    std::vector<std::int32_t> t(3), q(3);
    try {
        rule->assign(renamed.input(), t, q);
        FAIL();
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(),
                     "kmeans: the criteria are (revenue, aov) but the model was fitted on (revenue, frequency)");
    }
}

// ---- policy errors -----------------------------------------------------------------------

TEST(KMeansPolicy, BadParametersNameTheirPath) {
    auto error = [](json p, std::size_t tiers) -> std::string {
        try {
            kmeans(std::move(p), tiers);
        } catch (const PolicyError& e) {
            return e.what();
        }
        return "(no error)";
    };
    EXPECT_EQ(error({{"k", 3}}, 4),
              "rule.k: must equal the number of tiers (4), got 3; use \"k\": \"auto\" with a k_range to merge more "
              "clusters into the tiers");
    EXPECT_EQ(
        error({{"k", "auto"}, {"k_range", {2, 8}}}, 4),
        "rule.k_range: the smallest k must be >= the 4 tiers (clusters are merged into tiers, never split), got 2");
    EXPECT_EQ(error({{"k", "auto"}, {"k_range", {5, 3}}}, 2),
              "rule.k_range: must be [lo, hi] with 2 <= lo <= hi <= 1000 (whole numbers), got [5,3]");
    EXPECT_EQ(error({{"k", "many"}}, 2), "rule.k: must be a whole number or \"auto\", got \"many\"");
    EXPECT_EQ(error({{"init", {{0.1}, {0.2}}}}, 4), "rule.init: must be 4 centroids (one per tier), got [[0.1],[0.2]]");
    EXPECT_EQ(error({{"init", {{0.1, 0.2}, {0.2}}}}, 2), "rule.init[1]: must have 2 values like init[0], got 1");
    EXPECT_EQ(error({{"init", {{0.1}, {0.2}}}, {"n_init", 3}}, 2),
              "rule.n_init: must be 1 with explicit init centroids, got 3");
    EXPECT_EQ(error({{"k", "auto"}, {"init", {{0.1}, {0.2}}}}, 2), "rule.init: needs a fixed k, not \"auto\"");
    EXPECT_EQ(error({{"select", "elbow"}}, 2), "rule.select: only applies with \"k\": \"auto\"");
    EXPECT_EQ(error({{"k", "auto"}, {"select", "gap"}}, 2),
              "rule.select: must be one of silhouette, elbow, got \"gap\"");
    EXPECT_EQ(error({{"tol", -1}}, 2), "rule.tol: must be a number >= 0, got -1");
    EXPECT_EQ(error({{"max_iter", 0}}, 2), "rule.max_iter: must be a whole number in 1..2147483647, got 0");
    EXPECT_EQ(error({{"seed", -3}}, 2), "rule.seed: must be a whole number >= 0, got -3");
    EXPECT_EQ(error({{"clusters", 3}}, 2),
              "rule.clusters: unknown key; expected one of: kind, score, k, k_range, select, seed, max_iter, tol, "
              "n_init, init, silhouette_sample");
    EXPECT_EQ(error({{"tier_names", {"a", "b"}}, {"seed", 18446744073709551615ULL}}, 2), "(no error)");
}

// ---- save / load -------------------------------------------------------------------------

namespace {
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

TEST(KMeansRule, SaveLoadGivesIdenticalAssignments) {
    Xoshiro256 gen(5);
    std::vector<std::vector<double>> cols(4, std::vector<double>(2000));
    for (auto& c : cols)
        for (auto& v : c) v = gen.uniform();
    KRun run(cols, {0.4, 0.3, 0.2, 0.1});
    for (json p : {json{{"seed", 3}}, json{{"k", "auto"}, {"k_range", {3, 5}}, {"select", "elbow"}}}) {
        std::shared_ptr<Rule> rule(kmeans(p, 3));
        rule->fit(run.input());
        std::vector<std::int32_t> reason;
        const auto tier = run.tiers(*rule, &reason);
        const auto extra = rule->extra_columns(run.input());
        for (int kind = 0; kind < 3; ++kind) {
            std::shared_ptr<Rule> loaded =
                kind == 0   ? round_trip<boost::archive::text_oarchive, boost::archive::text_iarchive>(rule)
                : kind == 1 ? round_trip<boost::archive::xml_oarchive, boost::archive::xml_iarchive>(rule)
                            : round_trip<boost::archive::binary_oarchive, boost::archive::binary_iarchive>(rule);
            ASSERT_TRUE(loaded);
            EXPECT_EQ(loaded->kind(), "kmeans");
            EXPECT_TRUE(loaded->needs_criteria());
            std::vector<std::int32_t> r2;
            EXPECT_EQ(run.tiers(*loaded, &r2), tier) << kind;
            EXPECT_EQ(r2, reason);
            EXPECT_EQ(loaded->extra_columns(run.input()), extra) << kind;
            EXPECT_EQ(loaded->parameters(), rule->parameters()) << kind;
            EXPECT_EQ(loaded->reasons(), rule->reasons());
        }
        EXPECT_EQ(run.tiers(*rule->clone()), tier);
    }
}

// ---- through a policy ------------------------------------------------------------------------

#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"
#include "tierkit/rules/registry.hpp"

TEST(KMeansPolicy, FitAssignSaveLoadThroughAModel) {
    SyntheticOptions o;
    o.customers = 4000;
    o.seed = 21;
    const auto d = synthetic(o);
    const FeatureTable features = summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    const json policy = {
        {"criteria",
         {{{"column", "revenue"}, {"transform", "log1p"}, {"normalizer", "minmax"}, {"weight", 0.5}},
          {{"column", "frequency"}, {"normalizer", "minmax"}, {"weight", 0.3}},
          {{"column", "days_since_last"}, {"direction", "lower"}, {"normalizer", "minmax"}, {"weight", 0.2}}}},
        {"rule", {{"kind", "kmeans"}, {"seed", 4}, {"tol", 0}, {"max_iter", 1000}}},
        {"tiers", {"key", "high", "ordinary", "low"}}};
    const Model model = fit(Policy::from_json(policy.dump()), features);
    const auto& rule = dynamic_cast<const KMeansRule&>(model.rule());
    const Assignment a = model.assign(features);
    ASSERT_EQ(a.extras.size(), 5u);
    EXPECT_EQ(a.extras[0].first, "cluster_distance");
    EXPECT_EQ(a.extras[4].first, "distance_3");
    // Converged on unchanged labels, so each centroid is the mean of its customers
    // and, the score being linear in the criteria, the tier's mean score is 100 x the
    // centroid's score: descending from the first tier.
    std::vector<double> sum(4, 0.0), count(4, 0.0);
    for (std::size_t i = 0; i < a.tier.size(); ++i) {
        sum[static_cast<std::size_t>(a.tier[i])] += a.scores[0][i];
        count[static_cast<std::size_t>(a.tier[i])] += 1;
    }
    for (std::size_t t = 0; t < 4; ++t) {
        ASSERT_GT(count[t], 0);
        EXPECT_NEAR(sum[t] / count[t], 100 * rule.centroid_scores()[t], 1e-9) << t;
    }
    EXPECT_GT(sum[0] / count[0], sum[1] / count[1]);
    EXPECT_GT(sum[2] / count[2], sum[3] / count[3]);
    double inertia = 0;
    for (double dist : a.extras[0].second) inertia += dist * dist;
    EXPECT_NEAR(inertia, rule.inertia(), 1e-9 * rule.inertia());
    for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
        std::stringstream buffer;
        save(model, buffer, kind);
        const Model loaded = load(buffer, kind);
        const Assignment b = loaded.assign(features);
        EXPECT_EQ(b.tier, a.tier);
        EXPECT_EQ(b.reasons, a.reasons);
        EXPECT_EQ(b.extras, a.extras);
    }
}
