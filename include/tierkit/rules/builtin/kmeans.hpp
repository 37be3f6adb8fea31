#pragma once
/// @file kmeans.hpp
/// `kmeans`: k-means clustering of the normalized criteria of one score; clusters
/// ordered by the composite score of their centroid and mapped onto the policy's
/// ordered tiers.
///
/// @code{.json}
/// {"kind": "kmeans", "score": "value", "k": 4, "seed": 0,
///  "max_iter": 300, "tol": 1e-4, "n_init": 1}
/// {"kind": "kmeans", "k": "auto", "k_range": [4, 8], "select": "silhouette"}
/// {"kind": "kmeans", "init": [[0.9, 0.8], [0.6, 0.5], [0.3, 0.2], [0.1, 0.1]]}
/// @endcode
///
/// ## Data
/// The points are the score's criteria after their normalizers (each in [0, 1],
/// 1 = best; RuleInput::criteria), one dimension per criterion. `score` defaults to
/// the policy's first score.
///
/// ## Algorithm (the conventions of scikit-learn's KMeans, algorithm="lloyd")
/// - Seeding: greedy k-means++ (2 + floor(ln k) candidates per centre, the one that
///   lowers the potential most is kept), drawn from xoshiro256** seeded through
///   splitmix64 from `seed`: our own generator, so results do not change with the
///   standard library. `n_init` seedings run one after another from that stream and
///   the lowest inertia wins (the first on a tie). `init` gives the initial centroids
///   instead (then n_init must be 1).
/// - Lloyd iterations: assign every point to its nearest centroid (the lowest index
///   on an exact tie), move each centroid to the mean of its points; a cluster left
///   empty takes the point farthest from its centroid (as scikit-learn relocates).
///   Stop when the labels no longer change, or when the summed squared centroid
///   shift is <= tol * (mean over dimensions of the data's variance), or after
///   max_iter iterations (with tol = 0 the variance is not computed, as in
///   scikit-learn). If stopped by the tolerance or the cap, the labels are
///   recomputed for the final centroids.
/// - Inertia: the sum of squared distances of the points to their centroid.
/// - Distances are computed directly as sum_d (x_d - c_d)^2 (not through
///   ||x||^2 - 2 x.c + ||c||^2, which cancels badly for points near a centroid), in
///   blocks of 256 rows, adding the terms in the order of the dimensions. Fitting
///   takes four rows and four centroids at a time (one AVX2 register per four rows
///   when the CPU has AVX2; no FMA, so the same bits as the baseline build); assign()
///   runs plain loops over the criterion columns (inline, below). Both round alike, so a point's
///   distances and nearest centroid are the same bits in fit and assign.
/// - Fitting runs the blocks on all hardware threads; every sum is accumulated per
///   fixed block and the blocks are added in order, so results are bit-identical at
///   any thread count. assign() runs on the calling thread.
///
/// ## Clusters -> tiers
/// Clusters are sorted by the composite score of their centroid (the score's
/// weights . centroid), highest first (equal scores: k-means++ order), so cluster 0
/// is the best and names stay stable when the clustering is re-run on new data.
/// With a fixed k (an integer; it must equal the number of tiers, the default), the
/// j-th cluster is the j-th tier.
///
/// With `"k": "auto"`, every k in `k_range` (default [max(2, tiers), max(8, tiers)];
/// its lower end must be >= the number of tiers) is fitted and one is chosen:
/// - `silhouette` (default): the highest mean silhouette (Euclidean) on a sample of
///   at most `silhouette_sample` rows (default 2000) drawn with the seed; the
///   smallest k on a tie. A cluster of one point has silhouette 0 (scikit-learn).
/// - `elbow`: the k whose inertia lies farthest below the chord from the first to the
///   last candidate, both axes scaled to [0, 1] (the "kneedle" point); the smallest
///   k on a tie, so with only two candidates the smaller.
/// The chosen k's clusters, in score order, are then merged into the tiers by
/// cutting the ordered list at the tiers - 1 widest gaps between consecutive
/// centroid scores (one-dimensional single linkage; equal gaps: the better one
/// first). So every tier is a run of neighbouring clusters in score order, and a
/// cluster is never split.
///
/// ## Output
/// Reason code = cluster (in score order): "kmeans: cluster 1 of 4, centroid score
/// 0.812 (revenue 0.93, frequency 0.71)". extra_columns(): `cluster_distance`
/// (Euclidean distance to the own centroid) and `distance_<t>` for every tier t
/// (0-based tier index): the distance to the nearest centroid of that tier. The
/// fitted centroids, their scores and the inertia are in parameters() and saved
/// with the model. With the policy's privacy.min_group K > 1 (privacy.hpp) a
/// centroid must be the mean of at least K customers: fit() throws a PolicyError
/// naming the cluster when fewer rows are nearest to its centroid.
///
/// Thread safety: immutable after fit; assign() and extra_columns() are const and
/// may run concurrently.
#include <algorithm>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/progress.hpp"
#include "tierkit/core/random.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// n points of d dimensions stored as d contiguous columns of n values.
struct PointColumns {
    std::size_t rows = 0;
    std::vector<const double*> columns;
    std::size_t dims() const noexcept { return columns.size(); }
};

/// The result of a k-means run. Centroids are k x d, row-major.
struct KMeansResult {
    std::vector<double> centroids;
    std::vector<std::int32_t> labels;
    double inertia = 0;
    int iterations = 0;
    bool converged = false;  ///< stopped by unchanged labels or the tolerance (not the cap)
};

// The building blocks below take `threads` (0 = tierkit::num_threads()). Sums are
// accumulated per fixed block of rows and the blocks added in order, so the
// results do not depend on the thread count.

/// Greedy k-means++ seeding; k x d row-major centroids taken from the points.
/// @throws InvalidInput when k is 0 or larger than the number of points.
std::vector<double> kmeans_plus_plus(const PointColumns& x, std::size_t k, Xoshiro256& rng, unsigned threads = 0);

/// One Lloyd iteration: labels[i] = nearest of `centers`, new_centers = the means
/// of the clusters (an empty cluster relocated to the farthest point).
/// @param changed if not null, receives how many labels differ from the values
///   `labels` held before the call.
/// @param inertia if not null, receives the sum of squared distances of the points
///   to their nearest centre of `centers` (the inertia of the new labels against the
///   centres before the move, as scikit-learn's verbose output shows it).
/// @returns the summed squared shift sum_j ||new_j - old_j||^2.
double lloyd_iteration(const PointColumns& x, std::span<const double> centers, std::span<double> new_centers,
                       std::span<std::int32_t> labels, unsigned threads = 0, std::size_t* changed = nullptr,
                       double* inertia = nullptr);

/// Lloyd iterations from `init` (k x d row-major) until the labels stop changing,
/// the squared shift is <= tol * mean variance, or max_iter.
/// @param progress if given, called after every iteration (from this thread) with
///   stage "kmeans", done = iterations so far, total = max_iter and the values
///   "inertia" and "shift" of lloyd_iteration; results do not depend on it.
/// @throws InvalidInput when init's size is not a multiple of d or there are fewer
///   points than centroids; whatever `progress` throws (the run stops there).
KMeansResult kmeans_lloyd(const PointColumns& x, std::vector<double> init, int max_iter, double tol,
                          unsigned threads = 0, const Progress* progress = nullptr);

/// Sum of squared distances of every point to centroids[labels[i]].
double kmeans_inertia(const PointColumns& x, std::span<const double> centroids, std::span<const std::int32_t> labels,
                      unsigned threads = 0);

/// Mean silhouette (Euclidean) of the labelled points at `rows` (all when empty).
/// A point alone in its cluster scores 0; fewer than 2 clusters give 0.
double mean_silhouette(const PointColumns& x, std::span<const std::int32_t> labels, std::size_t k,
                       std::span<const std::size_t> rows = {});

/// How `"k": "auto"` picks k.
enum class KSelect { silhouette, elbow };

/// The policy's options of the kmeans rule (see the file comment).
struct KMeansOptions {
    std::string score;  ///< criteria block; empty = the first score
    std::size_t k = 0;  ///< clusters; 0 = auto
    std::size_t k_min = 2, k_max = 8;
    KSelect select = KSelect::silhouette;
    std::uint64_t seed = 0;
    int max_iter = 300;
    double tol = 1e-4;
    int n_init = 1;
    std::vector<double> init;  ///< explicit initial centroids, row-major (k rows), or empty
    std::size_t silhouette_sample = 2000;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("score", score);
        ar& make_nvp("k", k);
        ar& make_nvp("k_min", k_min);
        ar& make_nvp("k_max", k_max);
        ar& make_nvp("select", select);
        ar& make_nvp("seed", seed);
        ar& make_nvp("max_iter", max_iter);
        ar& make_nvp("tol", tol);
        ar& make_nvp("n_init", n_init);
        ar& make_nvp("init", init);
        ar& make_nvp("silhouette_sample", silhouette_sample);
    }
};

class KMeansRule : public Rule {
public:
    KMeansRule() = default;  ///< for loading
    /// @throws PolicyError for options that cannot work (k = 0 without auto, an
    ///   auto range below the tiers, init with n_init > 1 or a size that is not k rows).
    KMeansRule(KMeansOptions options, std::size_t tiers);

    std::string kind() const override { return "kmeans"; }
    std::size_t tiers() const override { return tiers_; }
    bool needs_criteria() const override { return true; }
    /// Reports every Lloyd iteration to input.progress when given: stage "kmeans",
    /// done counting the iterations of all runs (n_init seedings, every k tried by
    /// "auto"), total = max_iter x the number of runs.
    /// @throws InvalidInput when the criteria are missing, init's width is not the
    ///   number of criteria, or there are fewer rows than clusters; whatever the
    ///   progress callable throws.
    void fit(const RuleInput& input) override;
    /// @throws InvalidInput when the criteria are missing or differ from the fitted ones.
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override;
    std::vector<std::string> reasons() const override;
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override;
    std::unique_ptr<Rule> clone() const override { return std::make_unique<KMeansRule>(*this); }
    /// cluster_distance and distance_<t> per tier. @throws as assign().
    std::vector<std::pair<std::string, std::vector<double>>> extra_columns(const RuleInput& input) const override;

    const KMeansOptions& options() const noexcept { return options_; }
    /// Its passes in a fit by chunks (fit/rule_state.hpp; defined in src/rules/builtin/kmeans_fit.cpp).
    std::unique_ptr<RuleState> make_state(const FitOptions& options) const override;
    std::size_t clusters() const noexcept { return centroid_score_.size(); }
    /// Fitted centroids in score order, clusters() x dims() row-major.
    const std::vector<double>& centroids() const noexcept { return centroids_; }
    const std::vector<double>& centroid_scores() const noexcept { return centroid_score_; }
    /// Per cluster (score order): its tier.
    const std::vector<std::int32_t>& cluster_tiers() const noexcept { return cluster_tier_; }
    const std::vector<std::string>& criteria() const noexcept { return names_; }
    /// Install centroids found elsewhere (fit() ends here; the out-of-core Fitter's
    /// distributed Lloyd iterations too): order them by score and map them to tiers.
    /// @param centroids k x d row-major, any order. @throws InvalidInput when the sizes
    ///   do not fit (k must equal the fixed k, and be at least the tiers).
    void set_centroids(std::vector<std::string> names, std::vector<double> weights,
                       const std::vector<double>& centroids, double inertia, int iterations);
    double inertia() const noexcept { return inertia_; }
    int iterations() const noexcept { return iterations_; }
    /// One customer: the nearest centroid in the normalized criteria of its score.
    /// @throws InvalidInput when the layout has no such score or its criteria differ
    ///   in number from the fitted centroids'.
    std::unique_ptr<RowAssigner> row_assigner(const RowLayout& layout) const override;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& make_nvp("options", options_);
        ar& make_nvp("tiers", tiers_);
        ar& make_nvp("criteria", names_);
        ar& make_nvp("weights", weights_);
        ar& make_nvp("centroids", centroids_);
        ar& make_nvp("centroid_scores", centroid_score_);
        ar& make_nvp("cluster_tiers", cluster_tier_);
        ar& make_nvp("inertia", inertia_);
        ar& make_nvp("iterations", iterations_);
        ar& make_nvp("candidates", candidates_);
        ar& make_nvp("selection", selection_);
        if constexpr (Archive::is_loading::value) check_loaded();
    }

private:
    /// A loaded rule's sizes agree (k centroids of one value per criterion, one tier
    /// per cluster, each below the tiers): assign indexes by them.
    /// @throws FormatError otherwise.
    void check_loaded() const {
        const std::size_t d = names_.size(), k = centroid_score_.size();
        bool ok = d > 0 && k > 0 && tiers_ > 0 && weights_.size() == d && centroids_.size() / d == k &&
                  centroids_.size() % d == 0 && cluster_tier_.size() == k;
        for (std::size_t j = 0; ok && j < k; ++j)
            ok = cluster_tier_[j] >= 0 && static_cast<std::size_t>(cluster_tier_[j]) < tiers_;
        if (!ok)
            throw FormatError("kmeans: the archived rule's sizes disagree (" + std::to_string(d) + " criteria, " +
                              std::to_string(weights_.size()) + " weights, " + std::to_string(centroids_.size()) +
                              " centroid values, " + std::to_string(k) + " clusters, " +
                              std::to_string(cluster_tier_.size()) + " cluster tiers for " + std::to_string(tiers_) +
                              " tiers)");
    }
    /// The criteria block of the score, checked.
    const CriteriaBlock& block(const RuleInput& input) const;
    /// Nearest centroid per row; optionally the distance to it and to every tier.
    void nearest(const CriteriaBlock& b, std::span<std::int32_t> cluster, double* own_distance,
                 std::vector<std::vector<double>>* tier_distance) const;

    KMeansOptions options_;
    std::size_t tiers_ = 0;
    std::vector<std::string> names_;  ///< criteria, fitted order
    std::vector<double> weights_;
    std::vector<double> centroids_;       ///< score order, row-major
    std::vector<double> centroid_score_;  ///< weights . centroid, descending
    std::vector<std::int32_t> cluster_tier_;
    double inertia_ = 0;
    int iterations_ = 0;
    std::vector<double> candidates_;  ///< auto: the k tried
    std::vector<double> selection_;   ///< auto: silhouette or inertia per candidate
};

namespace kmeans_detail {

/// Rows per block: the unit of every distance computation and partial sum. Small
/// enough that a block's columns and its distances to 8 centres stay in L1.
inline constexpr std::size_t block_rows = 256;

/// Squared distances of rows [i0, i0 + b) to each of k centres (row-major k x d):
/// dist[j * block_rows + i]. Direct differences, vectorized down the rows; the
/// same operations, in the same order, as the fit's kernels (kmeans_lloyd.cpp).
inline void block_distances(const PointColumns& x, std::size_t i0, std::size_t b, const double* centers, std::size_t k,
                            double* dist) {
    const std::size_t d = x.dims();
    for (std::size_t j = 0; j < k; ++j) {
        double* out = dist + j * block_rows;
        const double* c = centers + j * d;
        if (d == 0) {
            std::fill(out, out + b, 0.0);
            continue;
        }
        const double* x0 = x.columns[0] + i0;
        for (std::size_t i = 0; i < b; ++i) {
            const double t = x0[i] - c[0];
            out[i] = t * t;
        }
        for (std::size_t f = 1; f < d; ++f) {
            const double* xf = x.columns[f] + i0;
            const double cf = c[f];
            for (std::size_t i = 0; i < b; ++i) {
                const double t = xf[i] - cf;
                out[i] += t * t;
            }
        }
    }
}

/// Per block scratch: squared distances (k columns of block_rows), and per row the
/// nearest centre (as a double, so the search vectorizes) and its distance.
struct BlockScratch {
    std::vector<double> dist, best, label;
    explicit BlockScratch(std::size_t k) : dist(block_rows * k), best(block_rows), label(block_rows) {}
};

/// Distances of rows [i0, i0 + b) to the k centres and the nearest of them (the
/// lowest index on a tie). Branch-free, so random labels cost no mispredictions.
inline void block_nearest(const PointColumns& x, std::size_t i0, std::size_t b, const double* centers, std::size_t k,
                          BlockScratch& s) {
    block_distances(x, i0, b, centers, k, s.dist.data());
    double* best = s.best.data();
    double* label = s.label.data();
    const double* d0 = s.dist.data();
    for (std::size_t i = 0; i < b; ++i) {
        best[i] = d0[i];
        label[i] = 0.0;
    }
    for (std::size_t j = 1; j < k; ++j) {
        const double* dj = s.dist.data() + j * block_rows;
        const double jj = static_cast<double>(j);
        // Written so that GCC and Clang vectorize it (min + blend, no branch).
        for (std::size_t i = 0; i < b; ++i) {
            const double v = dj[i], b0 = best[i], l0 = label[i];
            best[i] = std::min(v, b0);
            label[i] = v < b0 ? jj : l0;
        }
    }
}

}  // namespace kmeans_detail

// ---- the assign kernel (inline: a host compiles it into its own code) ----------------

inline const CriteriaBlock& KMeansRule::block(const RuleInput& input) const {
    const std::string shown = options_.score.empty() ? "the first score" : "score '" + options_.score + "'";
    if (!input.criteria || input.criteria->empty())
        throw InvalidInput("kmeans: needs the normalized criteria of " + shown + " (RuleInput::criteria is empty)");
    const CriteriaBlock* b = nullptr;
    if (options_.score.empty()) {
        b = &input.criteria->front();
    } else {
        for (const auto& c : *input.criteria)
            if (c.score == options_.score) b = &c;
    }
    if (!b) {
        std::string list;
        for (const auto& c : *input.criteria) list += (list.empty() ? "" : ", ") + c.score;
        throw InvalidInput("kmeans: no criteria for score '" + options_.score + "'; scores: " + list);
    }
    if (b->names.empty() || b->normalized.size() != b->names.size() || b->weights.size() != b->names.size())
        throw InvalidInput("kmeans: the criteria of " + shown + " need one column and one weight per criterion");
    for (std::size_t f = 0; f < b->names.size(); ++f)
        if (b->normalized[f].size() != input.table.rows())
            throw InvalidInput("kmeans: criterion '" + b->names[f] + "' has " +
                               std::to_string(b->normalized[f].size()) + " values for " +
                               std::to_string(input.table.rows()) + " rows");
    return *b;
}

inline void KMeansRule::nearest(const CriteriaBlock& b, std::span<std::int32_t> cluster, double* own_distance,
                                std::vector<std::vector<double>>* tier_distance) const {
    const std::size_t d = names_.size(), k = centroid_score_.size();
    if (k == 0) throw InvalidInput("kmeans: assign before fit");
    if (b.names != names_) {
        std::string got, want;
        for (const auto& s : b.names) got += (got.empty() ? "" : ", ") + s;
        for (const auto& s : names_) want += (want.empty() ? "" : ", ") + s;
        throw InvalidInput("kmeans: the criteria are (" + got + ") but the model was fitted on (" + want + ")");
    }
    const std::size_t n = b.normalized.front().size();
    PointColumns x{n, {}};
    for (const auto& col : b.normalized) x.columns.push_back(col.data());
    kmeans_detail::BlockScratch s(k);
    const std::vector<double>& dist = s.dist;
    for (std::size_t i0 = 0; i0 < n; i0 += kmeans_detail::block_rows) {
        const std::size_t rows = std::min(kmeans_detail::block_rows, n - i0);
        kmeans_detail::block_nearest(x, i0, rows, centroids_.data(), k, s);
        for (std::size_t i = 0; i < rows; ++i) {
            const double best = s.best[i];
            const auto label = static_cast<std::int32_t>(s.label[i]);
            if (!std::isfinite(best)) {
                for (std::size_t f = 0; f < d; ++f)
                    if (!std::isfinite(x.columns[f][i0 + i]))
                        throw InvalidInput("kmeans: criterion '" + names_[f] + "', row " + std::to_string(i0 + i) +
                                           ": must be finite, got " + format_number(x.columns[f][i0 + i]));
            }
            cluster[i0 + i] = label;
            if (own_distance) own_distance[i0 + i] = std::sqrt(best);
            if (tier_distance) {
                for (auto& t : *tier_distance) t[i0 + i] = std::numeric_limits<double>::infinity();
                for (std::size_t j = 0; j < k; ++j) {
                    double& t = (*tier_distance)[static_cast<std::size_t>(cluster_tier_[j])][i0 + i];
                    t = std::min(t, dist[j * kmeans_detail::block_rows + i]);
                }
                for (auto& t : *tier_distance) t[i0 + i] = std::sqrt(t[i0 + i]);
            }
        }
    }
}

inline void KMeansRule::assign(const RuleInput& input, std::span<std::int32_t> tier,
                               std::span<std::int32_t> reason) const {
    const CriteriaBlock& b = block(input);
    nearest(b, reason, nullptr, nullptr);
    const std::size_t n = input.table.rows();
    for (std::size_t i = 0; i < n; ++i) tier[i] = cluster_tier_[static_cast<std::size_t>(reason[i])];
}

inline std::vector<std::pair<std::string, std::vector<double>>> KMeansRule::extra_columns(
    const RuleInput& input) const {
    const CriteriaBlock& b = block(input);
    const std::size_t n = input.table.rows();
    std::vector<std::int32_t> cluster(n);
    std::vector<double> own(n);
    std::vector<std::vector<double>> per_tier(tiers_, std::vector<double>(n));
    nearest(b, cluster, own.data(), &per_tier);
    std::vector<std::pair<std::string, std::vector<double>>> out;
    out.emplace_back("cluster_distance", std::move(own));
    for (std::size_t t = 0; t < tiers_; ++t) out.emplace_back("distance_" + std::to_string(t), std::move(per_tier[t]));
    return out;
}

/// The nearest of k centroids (k x y.size(), row-major) to y by squared Euclidean
/// distance; the lowest index on a tie.
inline std::size_t nearest_centroid(std::span<const double> y, std::span<const double> centroids,
                                    std::size_t k) noexcept {
    const std::size_t d = y.size();
    double best = 0;
    std::size_t label = 0;
    for (std::size_t j = 0; j < k; ++j) {
        double dist = 0;
        for (std::size_t f = 0; f < d; ++f) {
            const double t = y[f] - centroids[j * d + f];
            dist += t * t;
        }
        if (j == 0 || dist < best) {
            best = dist;
            label = j;
        }
    }
    return label;
}

/// KMeansRule's one-customer path: the cluster is the reason, its tier the tier.
class KMeansRowAssigner : public RowAssigner {
public:
    KMeansRowAssigner(const KMeansRule& rule, std::size_t score) : rule_(rule), score_(score) {}
    void assign_one(const RowInput& in, std::int32_t& tier, std::int32_t& reason) const override {
        const std::size_t label = nearest_centroid(in.normalized[score_], rule_.centroids(), rule_.clusters());
        reason = static_cast<std::int32_t>(label);
        tier = rule_.cluster_tiers()[label];
    }

private:
    const KMeansRule& rule_;
    std::size_t score_;
};

inline std::unique_ptr<RowAssigner> KMeansRule::row_assigner(const RowLayout& layout) const {
    std::size_t j = 0;
    if (!options_.score.empty()) {
        const std::ptrdiff_t s = layout.score_index(options_.score);
        if (s < 0) throw InvalidInput("kmeans: no score named '" + options_.score + "'");
        j = static_cast<std::size_t>(s);
    }
    if (layout.score_names.empty() || names_.size() != layout.criteria[j].size() ||
        centroids_.size() != clusters() * names_.size() || cluster_tier_.size() != clusters())
        throw InvalidInput("kmeans: the fitted centroids do not match the criteria of its score");
    return std::make_unique<KMeansRowAssigner>(*this, j);
}

/// Registry factory for {"kind": "kmeans", ...} (keys in the file comment).
/// @throws PolicyError naming the JSON path of the bad value.
std::unique_ptr<Rule> make_kmeans_rule(const nlohmann::json& params, const std::string& path, std::size_t tiers);

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::KMeansOptions, 0)
BOOST_CLASS_VERSION(tierkit::KMeansRule, 0)
