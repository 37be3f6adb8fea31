// The kmeans rule: its centroids (set by fit, kmeans_fit.cpp, over the kernels of
// kmeans_lloyd.cpp), cluster -> tier mapping, reasons and the registration (the policy
// object is parsed in kmeans_json.cpp).
// The nearest-centroid assignment is inline in the header.
#include "tierkit/rules/builtin/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "rules/builtin/kmeans_detail.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

namespace {

std::string short_number(double v) {
    std::ostringstream os;
    os.precision(3);
    os << v;
    return os.str();
}

}  // namespace

// ---- the rule -----------------------------------------------------------------------

KMeansRule::KMeansRule(KMeansOptions options, std::size_t tiers) : options_(std::move(options)), tiers_(tiers) {
    if (tiers_ == 0) throw PolicyError("rule: kmeans needs at least one tier");
    if (options_.k == 0) {
        if (options_.k_min < 2 || options_.k_min > options_.k_max)
            throw PolicyError("rule.k_range: must be [lo, hi] with 2 <= lo <= hi, got [" +
                              std::to_string(options_.k_min) + ", " + std::to_string(options_.k_max) + "]");
        if (options_.k_min < tiers_)
            throw PolicyError("rule.k_range: the smallest k must be >= the " + std::to_string(tiers_) +
                              " tiers (clusters are merged into tiers, never split), got " +
                              std::to_string(options_.k_min));
        if (!options_.init.empty()) throw PolicyError("rule.init: needs a fixed k, not \"auto\"");
    } else if (options_.k != tiers_) {
        throw PolicyError("rule.k: must equal the number of tiers (" + std::to_string(tiers_) + "), got " +
                          std::to_string(options_.k) + "; use \"k\": \"auto\" to merge more clusters into the tiers");
    }
    if (!options_.init.empty()) {
        if (options_.n_init != 1)
            throw PolicyError("rule.n_init: must be 1 with explicit init centroids, got " +
                              std::to_string(options_.n_init));
        if (options_.init.size() % options_.k != 0)
            throw PolicyError("rule.init: must be " + std::to_string(options_.k) + " centroids of equal length");
    }
    if (options_.max_iter < 1)
        throw PolicyError("rule.max_iter: must be >= 1, got " + std::to_string(options_.max_iter));
    if (options_.n_init < 1) throw PolicyError("rule.n_init: must be >= 1, got " + std::to_string(options_.n_init));
    if (!(options_.tol >= 0)) throw PolicyError("rule.tol: must be >= 0, got " + format_number(options_.tol));
}

void KMeansRule::set_centroids(std::vector<std::string> names, std::vector<double> weights,
                               const std::vector<double>& centroids, double inertia, int iterations) {
    const std::size_t d = names.size();
    if (d == 0 || weights.size() != d || centroids.empty() || centroids.size() % d != 0)
        throw InvalidInput("kmeans: centroids need " + std::to_string(d) + " values each and one weight per criterion");
    if (options_.k != 0 && centroids.size() / d != options_.k)
        throw InvalidInput("kmeans: expected " + std::to_string(options_.k) + " centroids, got " +
                           std::to_string(centroids.size() / d));
    if (centroids.size() / d < tiers_)
        throw InvalidInput("kmeans: " + std::to_string(centroids.size() / d) + " centroids cannot make " +
                           std::to_string(tiers_) + " tiers");
    // Order the clusters by the composite score of their centroid, best first.
    const std::size_t k = centroids.size() / d;
    names_ = std::move(names);
    weights_ = std::move(weights);
    std::vector<double> score(k, 0.0);
    for (std::size_t j = 0; j < k; ++j)
        for (std::size_t f = 0; f < d; ++f) score[j] += weights_[f] * centroids[j * d + f];
    std::vector<std::size_t> order(k);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t c) { return score[a] > score[c]; });
    centroids_.assign(k * d, 0.0);
    centroid_score_.assign(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
        centroid_score_[j] = score[order[j]];
        for (std::size_t f = 0; f < d; ++f) centroids_[j * d + f] = centroids[order[j] * d + f];
    }
    // Clusters -> tiers: one to one, or cut at the tiers - 1 widest score gaps.
    cluster_tier_.assign(k, 0);
    if (k == tiers_) {
        std::iota(cluster_tier_.begin(), cluster_tier_.end(), 0);
    } else {
        std::vector<std::size_t> gaps(k - 1);
        std::iota(gaps.begin(), gaps.end(), std::size_t{0});
        std::stable_sort(gaps.begin(), gaps.end(), [&](std::size_t a, std::size_t c) {
            return centroid_score_[a] - centroid_score_[a + 1] > centroid_score_[c] - centroid_score_[c + 1];
        });
        std::vector<bool> cut(k, false);
        for (std::size_t q = 0; q + 1 < tiers_; ++q) cut[gaps[q]] = true;
        std::int32_t t = 0;
        for (std::size_t j = 0; j < k; ++j) {
            cluster_tier_[j] = t;
            if (cut[j]) ++t;
        }
    }
    inertia_ = inertia;
    iterations_ = iterations;
}

std::vector<std::string> KMeansRule::reasons() const {
    std::vector<std::string> out;
    const std::size_t k = centroid_score_.size(), d = names_.size();
    for (std::size_t j = 0; j < k; ++j) {
        std::string s = "kmeans: cluster " + std::to_string(j + 1) + " of " + std::to_string(k) + ", centroid score " +
                        short_number(centroid_score_[j]) + " (";
        for (std::size_t f = 0; f < d; ++f)
            s += (f ? ", " : "") + names_[f] + " " + short_number(centroids_[j * d + f]);
        out.push_back(s + ")");
    }
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> KMeansRule::parameters() const {
    std::vector<double> tiers(cluster_tier_.begin(), cluster_tier_.end());
    std::vector<std::pair<std::string, std::vector<double>>> out = {
        {"k", {static_cast<double>(centroid_score_.size())}},
        {"centroids", centroids_},
        {"centroid_scores", centroid_score_},
        {"cluster_tiers", std::move(tiers)},
        {"inertia", {inertia_}},
        {"iterations", {static_cast<double>(iterations_)}},
    };
    if (options_.k == 0) {
        out.emplace_back("k_candidates", candidates_);
        out.emplace_back(options_.select == KSelect::silhouette ? "silhouette" : "inertia_by_k", selection_);
    }
    return out;
}

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::KMeansRule, "kmeans", tierkit::make_kmeans_rule)
