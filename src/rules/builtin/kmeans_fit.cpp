// The kmeans rule's fit: KMeansRule::fit on every row (k-means++ and Lloyd over the
// kernels of kmeans_lloyd.cpp, k selection, the privacy check), and its passes in a
// fit by chunks (fit/rule_state.hpp), sketch mode only:
// a bottom-k sample by hashed customer id seeds k-means++ (as fit() does on all rows),
// then every Lloyd iteration is one pass of per-cluster sums and counts (a map-reduce).
// The iterations stop when the squared centroid shift is <= tol * the data's mean
// variance or after max_iter (an empty cluster keeps its centroid; the inertia is the
// last pass's, against the centroids before their last move).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <unordered_set>

#include "rules/builtin/kmeans_detail.hpp"
#include "tierkit/core/random.hpp"
#include "tierkit/fit/rule_state.hpp"
#include "tierkit/rules/builtin/kmeans.hpp"

namespace tierkit {

namespace {

// The passes, numbered after the cut rules' as a Fitter's bytes number them.
enum Pass : std::uint32_t { seed_pass = 4, lloyd_pass = 5 };

/// The rule's criteria block among `blocks`.
const CriteriaBlock& block_of(const std::vector<CriteriaBlock>* blocks, const std::string& score) {
    if (blocks)
        for (const auto& b : *blocks)
            if (score.empty() || b.score == score) return b;
    throw InvalidInput("kmeans: no criteria for score '" + score + "'");
}

class KMeansState final : public RuleState {
public:
    explicit KMeansState(const KMeansOptions& options) : options_(options) {}
    std::unique_ptr<RuleState> clone() const override { return std::make_unique<KMeansState>(*this); }
    std::uint32_t first_pass() const override { return seed_pass; }
    std::string pass_name(std::uint32_t pass) const override { return pass == seed_pass ? "kmeans_seed" : "lloyd"; }

    void update(std::uint32_t pass, const RuleInput& input, const RuleFitContext& context,
                const RefineBuckets& /*buckets*/, PartialState& out) const override {
        const CriteriaBlock& b = block_of(input.criteria, options_.score);
        const auto ids = input.table.ids();
        const std::size_t d = b.names.size(), n = input.table.rows();
        if (pass == seed_pass) {
            out.moments.resize(d);
            std::vector<std::pair<std::uint64_t, std::size_t>> keyed(n);
            for (std::size_t i = 0; i < n; ++i) {
                for (std::size_t f = 0; f < d; ++f) out.moments[f].add(b.normalized[f][i]);
                keyed[i] = {splitmix64_hash(static_cast<std::uint64_t>(ids[i]) ^ splitmix64_hash(options_.seed)), i};
            }
            out.sample_capacity = context.options.kmeans_sample;
            const std::size_t keep = std::min<std::size_t>(n, context.options.kmeans_sample);
            std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(keep), keyed.end());
            for (std::size_t r = 0; r < keep; ++r) {
                const std::size_t i = keyed[r].second;
                out.sample_keys.push_back(keyed[r].first);
                out.sample_ids.push_back(ids[i]);
                for (std::size_t f = 0; f < d; ++f) out.sample_points.push_back(b.normalized[f][i]);
            }
            return;
        }
        const std::size_t k = centroids_.size() / d;
        out.sums.assign(k * d + k + 1, 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t best = 0;
            double best_d = std::numeric_limits<double>::infinity();
            for (std::size_t j = 0; j < k; ++j) {
                double dist = 0;
                for (std::size_t f = 0; f < d; ++f) {
                    const double diff = b.normalized[f][i] - centroids_[j * d + f];
                    dist += diff * diff;
                }
                if (dist < best_d) {
                    best_d = dist;
                    best = j;
                }
            }
            for (std::size_t f = 0; f < d; ++f) out.sums[best * d + f] += b.normalized[f][i];
            out.sums[k * d + best] += 1;
            out.sums[k * d + k] += best_d;
        }
    }

    bool has_layout(std::uint32_t pass, const PartialState& total, const RefineBuckets& /*buckets*/) const override {
        if (pass == seed_pass)
            return total.sample_ids.size() == total.sample_keys.size() &&
                   total.sample_points.size() == total.sample_keys.size() * total.moments.size();
        return !names_.empty() && centroids_.size() % names_.size() == 0 &&
               total.sums.size() == centroids_.size() + centroids_.size() / names_.size() + 1;
    }

    std::uint32_t advance(std::uint32_t pass, const PartialState& total, const RuleFitContext& context,
                          RefineBuckets& /*buckets*/) override {
        if (pass == seed_pass) {
            seed(total, context.scores);
            return !centroids_.empty() && iterations_ < options_.max_iter ? lloyd_pass : no_more_passes;
        }
        const std::size_t d = names_.size(), k = centroids_.size() / d;
        if (total.sums.size() != k * d + k + 1)
            throw InvalidInput("Fitter.advance: the Lloyd state has the wrong size");
        double shift = 0;
        for (std::size_t j = 0; j < k; ++j) {
            const double count = total.sums[k * d + j];
            if (count == 0) continue;  // an empty cluster keeps its centroid
            for (std::size_t f = 0; f < d; ++f) {
                const double c = total.sums[j * d + f] / count;
                shift += (c - centroids_[j * d + f]) * (c - centroids_[j * d + f]);
                centroids_[j * d + f] = c;
            }
        }
        inertia_ = total.sums[k * d + k];
        ++iterations_;
        return shift <= options_.tol * mean_variance_ || iterations_ >= options_.max_iter ? no_more_passes : lloyd_pass;
    }

    void finish(Rule& rule, const RuleFitContext& /*context*/) const override {
        dynamic_cast<KMeansRule&>(rule).set_centroids(names_, weights_, centroids_, inertia_, iterations_);
    }
    void save(RuleStateRecord& record) const override {
        record.points = centroids_;
        record.names = names_;
        record.weights = weights_;
        record.scale = mean_variance_;
        record.objective = inertia_;
        record.iterations = iterations_;
    }
    void load(const RuleStateRecord& record, const RefineBuckets& /*buckets*/) override {
        centroids_ = record.points;
        names_ = record.names;
        weights_ = record.weights;
        mean_variance_ = record.scale;
        inertia_ = record.objective;
        iterations_ = record.iterations;
    }

private:
    /// k-means++ on the sample (or the policy's init centroids), n_init times as fit().
    void seed(const PartialState& total, const std::vector<FittedScore>& scores) {
        const std::size_t d = total.moments.size(), rows = total.sample_keys.size(), k = options_.k;
        if (d == 0 || total.moments[0].n == 0) throw InvalidInput("fit: the table has no rows");
        if (static_cast<double>(k) > total.moments[0].n)
            throw InvalidInput("kmeans: needs at least as many rows as clusters (" + std::to_string(k) + "), got " +
                               std::to_string(static_cast<std::size_t>(total.moments[0].n)));
        mean_variance_ = 0;
        for (const auto& m : total.moments) mean_variance_ += m.m2 / m.n / static_cast<double>(d);
        for (const auto& s : scores)
            if (options_.score.empty() || s.name == options_.score) {
                names_.clear();
                for (const auto& c : s.criteria) names_.push_back(c.spec.column);
                weights_ = s.weights;
                break;
            }
        if (!options_.init.empty()) {
            if (options_.init.size() != k * d)
                throw InvalidInput("kmeans: init centroids have " + std::to_string(options_.init.size() / k) +
                                   " values each but the score has " + std::to_string(d) + " criteria");
            centroids_ = options_.init;
        } else {
            std::vector<std::vector<double>> cols(d, std::vector<double>(rows));
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t f = 0; f < d; ++f) cols[f][r] = total.sample_points[r * d + f];
            PointColumns x{rows, {}};
            for (const auto& c : cols) x.columns.push_back(c.data());
            Xoshiro256 rng(options_.seed);
            KMeansResult best;
            for (int r = 0; r < options_.n_init; ++r) {
                KMeansResult res = kmeans_lloyd(x, kmeans_plus_plus(x, k, rng), options_.max_iter, options_.tol);
                if (r == 0 || res.inertia < best.inertia) best = std::move(res);
            }
            centroids_ = best.centroids;
        }
        iterations_ = 0;
    }

    KMeansOptions options_;
    std::vector<double> centroids_;  ///< current centroids, row-major
    std::vector<std::string> names_;
    std::vector<double> weights_;
    double mean_variance_ = 0, inertia_ = 0;
    std::int32_t iterations_ = 0;
};

}  // namespace

void KMeansRule::fit(const RuleInput& input) {
    const CriteriaBlock& b = block(input);
    const std::size_t d = b.names.size(), n = input.table.rows();
    PointColumns x{n, {}};
    for (const auto& col : b.normalized) x.columns.push_back(col.data());
    kmeans_detail::check_finite(x, b.names, 0);
    if (!options_.init.empty() && options_.init.size() != options_.k * d)
        throw InvalidInput("kmeans: init centroids have " + std::to_string(options_.init.size() / options_.k) +
                           " values each but the score has " + std::to_string(d) + " criteria");

    // Progress: the iterations of every run (n_init seedings per k, every k tried)
    // on one count, so `done` keeps increasing from run to run.
    const std::size_t k_last = std::min(options_.k_max, n);
    const std::size_t ks = options_.k != 0 || k_last < options_.k_min ? 1 : k_last - options_.k_min + 1;
    const double total =
        static_cast<double>(options_.max_iter) * static_cast<double>(options_.n_init) * static_cast<double>(ks);
    double done_before = 0;
    Progress relay;
    if (input.progress && *input.progress)
        relay = [&](const ProgressStep& step) {
            (*input.progress)(ProgressStep{step.stage, done_before + step.done, total, step.values});
        };
    const Progress* progress = relay ? &relay : nullptr;
    auto lloyd = [&](std::vector<double> init) {
        KMeansResult res = kmeans_lloyd(x, std::move(init), options_.max_iter, options_.tol, 0, progress);
        done_before += res.iterations;
        return res;
    };

    auto run = [&](std::size_t k) {
        if (k > n)
            throw InvalidInput("kmeans: needs at least as many rows as clusters (" + std::to_string(k) + "), got " +
                               std::to_string(n));
        if (!options_.init.empty()) return lloyd(options_.init);
        Xoshiro256 rng(options_.seed);
        KMeansResult best;
        for (int r = 0; r < options_.n_init; ++r) {
            KMeansResult res = lloyd(kmeans_plus_plus(x, k, rng));
            if (r == 0 || res.inertia < best.inertia) best = std::move(res);
        }
        return best;
    };

    KMeansResult chosen;
    candidates_.clear();
    selection_.clear();
    if (options_.k != 0) {
        chosen = run(options_.k);
    } else {
        if (options_.k_min > n)
            throw InvalidInput("kmeans: k_range starts at " + std::to_string(options_.k_min) +
                               " clusters but there are " + std::to_string(n) + " rows");
        std::vector<std::size_t> sample;
        if (options_.select == KSelect::silhouette && n > options_.silhouette_sample) {
            // Floyd's sampling without replacement, from its own stream of the seed.
            Xoshiro256 rng(options_.seed ^ 0x5eed5111e77e0000ULL);
            std::unordered_set<std::size_t> picked;
            for (std::size_t j = n - options_.silhouette_sample; j < n; ++j) {
                const std::size_t t = rng.below(j + 1);
                picked.insert(picked.count(t) ? j : t);
            }
            sample.assign(picked.begin(), picked.end());
            std::sort(sample.begin(), sample.end());
        }
        std::vector<KMeansResult> results;
        for (std::size_t k = options_.k_min; k <= options_.k_max && k <= n; ++k) {
            KMeansResult res = run(k);
            candidates_.push_back(static_cast<double>(k));
            selection_.push_back(options_.select == KSelect::silhouette ? mean_silhouette(x, res.labels, k, sample)
                                                                        : res.inertia);
            res.labels.clear();
            results.push_back(std::move(res));
        }
        std::size_t pick = 0;
        if (options_.select == KSelect::silhouette) {
            for (std::size_t q = 1; q < results.size(); ++q)
                if (selection_[q] > selection_[pick]) pick = q;
        } else if (results.size() > 2) {
            const double lo = *std::min_element(selection_.begin(), selection_.end());
            const double hi = *std::max_element(selection_.begin(), selection_.end());
            const double span_k = candidates_.back() - candidates_.front();
            double best = 0;
            if (hi > lo)
                for (std::size_t q = 0; q < results.size(); ++q) {
                    const double xq = (candidates_[q] - candidates_.front()) / span_k;
                    const double y0 = (selection_.front() - lo) / (hi - lo), y1 = (selection_.back() - lo) / (hi - lo);
                    const double below = y0 + (y1 - y0) * xq - (selection_[q] - lo) / (hi - lo);
                    if (below > best) {
                        best = below;
                        pick = q;
                    }
                }
        }
        chosen = std::move(results[pick]);
    }

    if (input.min_group > 1) kmeans_detail::check_cluster_sizes(x, chosen.centroids, input.min_group);
    set_centroids(b.names, b.weights, chosen.centroids, chosen.inertia, chosen.iterations);
}

std::unique_ptr<RuleState> KMeansRule::make_state(const FitOptions& options) const {
    if (options.mode == FitMode::refine) return nullptr;  // Lloyd's sums are not exact: no refine passes
    // "auto": silhouette and elbow need every row, so the default gathering state.
    if (options_.k == 0) return Rule::make_state(options);
    return std::make_unique<KMeansState>(options_);
}

}  // namespace tierkit
