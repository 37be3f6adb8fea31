// The kmeans rule: its centroids (set by fit, kmeans_fit.cpp, over the kernels of
// kmeans_lloyd.cpp), cluster -> tier mapping, reasons and the registry factory.
// The nearest-centroid assignment is inline in the header.
#include "tierkit/rules/builtin/kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "rules/builtin/kmeans_detail.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

using nlohmann::json;

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

// ---- factory ------------------------------------------------------------------------

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw PolicyError(path + ": " + what); }

std::string show(const json& j) {
    std::string s = j.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::int64_t whole_at(const json& p, const char* key, const std::string& path, std::int64_t fallback, std::int64_t lo) {
    if (!p.contains(key)) return fallback;
    const json& j = p.at(key);
    constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
    const bool ok =
        j.is_number_integer() && (j.is_number_unsigned() ? j.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)
                                                         : j.get<std::int64_t>() >= lo);
    if (!ok || j.get<std::int64_t>() < lo)
        fail(path + "." + key,
             "must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + show(j));
    return j.get<std::int64_t>();
}

}  // namespace

std::unique_ptr<Rule> make_kmeans_rule(const json& p, const std::string& path, std::size_t tiers) {
    if (!p.is_object()) fail(path, "must be an object, got " + show(p));
    for (auto it = p.begin(); it != p.end(); ++it) {
        static const char* keys[] = {"kind", "score",  "k",    "k_range",           "select",    "seed", "max_iter",
                                     "tol",  "n_init", "init", "silhouette_sample", "tier_names"};
        if (std::find_if(std::begin(keys), std::end(keys), [&](const char* k) { return it.key() == k; }) ==
            std::end(keys))
            fail(path + "." + it.key(),
                 "unknown key; expected one of: kind, score, k, k_range, select, seed, max_iter, tol, n_init, init, "
                 "silhouette_sample");
    }
    KMeansOptions o;
    if (p.contains("score")) {
        const json& s = p.at("score");
        if (!s.is_string() || s.get<std::string>().empty())
            fail(path + ".score", "must be a score name, got " + show(s));
        o.score = s.get<std::string>();
    }
    o.k = tiers;
    const bool automatic = p.contains("k") && p.at("k").is_string();
    if (automatic) {
        if (p.at("k").get<std::string>() != "auto")
            fail(path + ".k", "must be a whole number or \"auto\", got " + show(p.at("k")));
        o.k = 0;
        o.k_min = std::max<std::size_t>(2, tiers);
        o.k_max = std::max<std::size_t>(8, o.k_min);
        if (p.contains("k_range")) {
            const json& r = p.at("k_range");
            if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer() ||
                r[0].get<std::int64_t>() < 2 || r[0].get<std::int64_t>() > r[1].get<std::int64_t>() ||
                r[1].get<std::int64_t>() > 1000)
                fail(path + ".k_range", "must be [lo, hi] with 2 <= lo <= hi <= 1000 (whole numbers), got " + show(r));
            o.k_min = r[0].get<std::size_t>();
            o.k_max = r[1].get<std::size_t>();
        }
        if (p.contains("select")) {
            const json& s = p.at("select");
            const std::string v = s.is_string() ? s.get<std::string>() : "";
            if (v == "silhouette")
                o.select = KSelect::silhouette;
            else if (v == "elbow")
                o.select = KSelect::elbow;
            else
                fail(path + ".select", "must be one of silhouette, elbow, got " + show(s));
        }
        o.silhouette_sample = static_cast<std::size_t>(whole_at(p, "silhouette_sample", path, 2000, 2));
    } else {
        for (const char* key : {"k_range", "select", "silhouette_sample"})
            if (p.contains(key)) fail(path + "." + key, "only applies with \"k\": \"auto\"");
        if (p.contains("k")) {
            const json& k = p.at("k");
            if (!k.is_number_integer() || k.get<std::int64_t>() < 1)
                fail(path + ".k", "must be a whole number >= 1 or \"auto\", got " + show(k));
            if (k.get<std::size_t>() != tiers)
                fail(path + ".k", "must equal the number of tiers (" + std::to_string(tiers) + "), got " + show(k) +
                                      "; use \"k\": \"auto\" with a k_range to merge more clusters into the tiers");
        }
    }
    if (p.contains("seed")) {
        const json& s = p.at("seed");
        if (!s.is_number_integer() || (!s.is_number_unsigned() && s.get<std::int64_t>() < 0))
            fail(path + ".seed", "must be a whole number >= 0, got " + show(s));
        o.seed = s.get<std::uint64_t>();
    }
    o.max_iter = static_cast<int>(whole_at(p, "max_iter", path, 300, 1));
    o.n_init = static_cast<int>(whole_at(p, "n_init", path, 1, 1));
    if (p.contains("tol")) {
        const json& t = p.at("tol");
        if (!t.is_number() || !(t.get<double>() >= 0) || !std::isfinite(t.get<double>()))
            fail(path + ".tol", "must be a number >= 0, got " + show(t));
        o.tol = t.get<double>();
    }
    if (p.contains("init")) {
        const json& init = p.at("init");
        if (automatic) fail(path + ".init", "needs a fixed k, not \"auto\"");
        if (!init.is_array() || init.size() != o.k)
            fail(path + ".init", "must be " + std::to_string(o.k) + " centroids (one per tier), got " + show(init));
        std::size_t width = 0;
        for (std::size_t j = 0; j < init.size(); ++j) {
            const std::string cp = path + ".init[" + std::to_string(j) + "]";
            const json& row = init[j];
            if (!row.is_array() || row.empty())
                fail(cp, "must be an array of numbers (one per criterion), got " + show(row));
            if (j == 0) width = row.size();
            if (row.size() != width)
                fail(cp,
                     "must have " + std::to_string(width) + " values like init[0], got " + std::to_string(row.size()));
            for (std::size_t f = 0; f < row.size(); ++f) {
                if (!row[f].is_number() || !std::isfinite(row[f].get<double>()))
                    fail(cp + "[" + std::to_string(f) + "]", "must be a finite number, got " + show(row[f]));
                o.init.push_back(row[f].get<double>());
            }
        }
        if (o.n_init != 1)
            fail(path + ".n_init", "must be 1 with explicit init centroids, got " + std::to_string(o.n_init));
    }
    try {
        return std::make_unique<KMeansRule>(std::move(o), tiers);
    } catch (const PolicyError& e) {
        std::string msg = e.what();
        if (msg.rfind("rule", 0) == 0) msg = path + msg.substr(4);
        throw PolicyError(msg);
    }
}

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::KMeansRule, "kmeans", tierkit::make_kmeans_rule)
