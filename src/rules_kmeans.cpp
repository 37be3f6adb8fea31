// The kmeans rule: k-means++ seeding, Lloyd iterations (scikit-learn's
// conventions), k selection, cluster -> tier mapping and the registry factory.
#include "tierkit/rules/kmeans.hpp"

#include "tierkit/parallel.hpp"
#include "tierkit/progress.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>
#include <thread>
#include <unordered_set>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "tierkit/error.hpp"
#include "tierkit/io/archives.hpp"

BOOST_CLASS_EXPORT_IMPLEMENT(tierkit::KMeansRule)

namespace tierkit {

using nlohmann::json;

namespace {

/// Rows per block: the unit of every distance computation and partial sum. Small
/// enough that a block's columns and its distances to 8 centres stay in L1.
constexpr std::size_t block_rows = 256;

std::size_t block_count(std::size_t n) { return (n + block_rows - 1) / block_rows; }

/// How many threads for_blocks uses (0 = num_threads()).
unsigned worker_count(std::size_t blocks, unsigned threads) {
    if (threads == 0) threads = num_threads();
    return static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(threads, blocks)));
}

/// fn(block, worker) for every block, spread over worker_count(blocks, threads)
/// threads. Each block writes only its own outputs (workers own their scratch), so
/// the split does not change results.
template <class F>
void for_blocks(std::size_t blocks, unsigned threads, F&& fn) {
    const unsigned workers = worker_count(blocks, threads);
    auto work = [&](unsigned w) {
        for (std::size_t b = w; b < blocks; b += workers) fn(b, w);
    };
    if (workers <= 1) {
        work(0);
        return;
    }
    std::vector<std::thread> pool;
    try {
        for (unsigned w = 1; w < workers; ++w) pool.emplace_back(work, w);
    } catch (...) {
        for (auto& t : pool) t.join();
        throw;
    }
    work(0);
    for (auto& t : pool) t.join();
}

using ConstColumn = Eigen::Map<const Eigen::ArrayXd>;

/// Squared distances of rows [i0, i0 + b) to each of k centres (row-major k x d):
/// dist[j * block_rows + i]. Direct differences, vectorized down the columns.
void block_distances(const PointColumns& x, std::size_t i0, std::size_t b, const double* centers, std::size_t k,
                     double* dist) {
    const std::size_t d = x.dims();
    for (std::size_t j = 0; j < k; ++j) {
        Eigen::Map<Eigen::ArrayXd> out(dist + j * block_rows, static_cast<Eigen::Index>(b));
        const double* c = centers + j * d;
        if (d == 0) {
            out.setZero();
            continue;
        }
        out = (ConstColumn(x.columns[0] + i0, static_cast<Eigen::Index>(b)) - c[0]).square();
        for (std::size_t f = 1; f < d; ++f)
            out += (ConstColumn(x.columns[f] + i0, static_cast<Eigen::Index>(b)) - c[f]).square();
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
void block_nearest(const PointColumns& x, std::size_t i0, std::size_t b, const double* centers, std::size_t k,
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

double squared_distance(const PointColumns& x, std::size_t i, const double* c) {
    double s = 0;
    for (std::size_t f = 0; f < x.dims(); ++f) {
        const double t = x.columns[f][i] - c[f];
        s += t * t;
    }
    return s;
}

/// privacy.hpp: a centroid is the mean of its members, so every cluster (the rows
/// nearest its centroid) must hold at least min_group of them.
/// @throws PolicyError naming the cluster, its size and the remedies.
void check_cluster_sizes(const PointColumns& x, const std::vector<double>& centroids, std::size_t min_group) {
    const std::size_t d = x.dims(), k = centroids.size() / d;
    std::vector<std::size_t> members(k, 0);
    for (std::size_t i = 0; i < x.rows; ++i) {
        std::size_t nearest = 0;
        double best = std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < k; ++j) {
            const double dist = squared_distance(x, i, centroids.data() + j * d);
            if (dist < best) best = dist, nearest = j;
        }
        ++members[nearest];
    }
    for (std::size_t j = 0; j < k; ++j)
        if (members[j] < min_group)
            throw PolicyError("rule: kmeans cluster " + std::to_string(j) + " has " + std::to_string(members[j]) +
                              " customers, fewer than privacy.min_group " + std::to_string(min_group) +
                              " (its centroid would be the mean of too few rows); use fewer clusters or a smaller min_group");
}

void check_points(const PointColumns& x, std::size_t centers_size, const char* what) {
    const std::size_t d = x.dims();
    if (d == 0) throw InvalidInput(std::string(what) + ": the points have no dimensions");
    if (centers_size % d != 0)
        throw InvalidInput(std::string(what) + ": " + std::to_string(centers_size) +
                           " centroid values are not a whole number of " + std::to_string(d) + "-dimensional centroids");
}

/// Labels of every row for fixed centres (an E-step without the update).
void assign_labels(const PointColumns& x, const std::vector<double>& centers, std::vector<std::int32_t>& labels,
                   unsigned threads) {
    const std::size_t k = centers.size() / x.dims();
    const std::size_t blocks = block_count(x.rows);
    std::vector<BlockScratch> scratch(worker_count(blocks, threads), BlockScratch(k));
    for_blocks(blocks, threads, [&](std::size_t blk, unsigned w) {
        BlockScratch& s = scratch[w];
        const std::size_t i0 = blk * block_rows, b = std::min(block_rows, x.rows - i0);
        block_nearest(x, i0, b, centers.data(), k, s);
        for (std::size_t i = 0; i < b; ++i) labels[i0 + i] = static_cast<std::int32_t>(s.label[i]);
    });
}

std::string short_number(double v) {
    std::ostringstream os;
    os.precision(3);
    os << v;
    return os.str();
}

}  // namespace

// ---- building blocks --------------------------------------------------------------

std::vector<double> kmeans_plus_plus(const PointColumns& x, std::size_t k, Xoshiro256& rng, unsigned threads) {
    const std::size_t n = x.rows, d = x.dims();
    if (d == 0) throw InvalidInput("k-means++: the points have no dimensions");
    if (k == 0 || k > n)
        throw InvalidInput("k-means++: needs 1 <= k <= the number of points (" + std::to_string(n) + "), got k = " +
                           std::to_string(k));
    std::vector<double> centers(k * d);
    auto take = [&](std::size_t c, std::size_t i) {
        for (std::size_t f = 0; f < d; ++f) centers[c * d + f] = x.columns[f][i];
    };
    take(0, rng.below(n));
    const std::size_t blocks = block_count(n);
    std::vector<double> closest(n), partial(blocks);
    for_blocks(blocks, threads, [&](std::size_t blk, unsigned) {
        const std::size_t i0 = blk * block_rows, end = std::min(n, i0 + block_rows);
        double s = 0;
        for (std::size_t i = i0; i < end; ++i) s += closest[i] = squared_distance(x, i, centers.data());
        partial[blk] = s;
    });
    double pot = 0;
    for (double s : partial) pot += s;

    const std::size_t trials = 2 + static_cast<std::size_t>(std::log(static_cast<double>(k)));
    std::vector<double> cumulative(n), candidate(d), best_closest(n), trial_closest(n);
    for (std::size_t c = 1; c < k; ++c) {
        double running = 0;
        for (std::size_t i = 0; i < n; ++i) cumulative[i] = running += closest[i];
        double best_pot = std::numeric_limits<double>::infinity();
        std::size_t best_index = 0;
        for (std::size_t t = 0; t < trials; ++t) {
            std::size_t idx;
            if (pot > 0) {
                const double r = rng.uniform() * pot;
                idx = static_cast<std::size_t>(std::lower_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
                idx = std::min(idx, n - 1);
            } else {
                idx = rng.below(n);  // every point is already a centre: any will do
            }
            for (std::size_t f = 0; f < d; ++f) candidate[f] = x.columns[f][idx];
            for_blocks(blocks, threads, [&](std::size_t blk, unsigned) {
                const std::size_t i0 = blk * block_rows, end = std::min(n, i0 + block_rows);
                double s = 0;
                for (std::size_t i = i0; i < end; ++i) s += trial_closest[i] = std::min(closest[i], squared_distance(x, i, candidate.data()));
                partial[blk] = s;
            });
            double trial_pot = 0;
            for (double s : partial) trial_pot += s;
            if (trial_pot < best_pot) {
                best_pot = trial_pot;
                best_index = idx;
                best_closest.swap(trial_closest);
            }
        }
        closest.swap(best_closest);
        pot = best_pot;
        take(c, best_index);
    }
    return centers;
}

double lloyd_iteration(const PointColumns& x, std::span<const double> centers, std::span<double> new_centers,
                       std::span<std::int32_t> labels, unsigned threads, std::size_t* changed, double* inertia) {
    const std::size_t n = x.rows, d = x.dims();
    check_points(x, centers.size(), "lloyd");
    const std::size_t k = centers.size() / d;
    if (new_centers.size() != centers.size() || labels.size() != n)
        throw InvalidInput("lloyd: new_centers must have the size of centers and labels one entry per point");
    const std::size_t blocks = block_count(n), stride = k * d + k + 2;
    // Per block: k x d sums, k counts, changed labels, squared distances (when asked).
    std::vector<double> partial(blocks * stride, 0.0);
    std::vector<BlockScratch> scratches(worker_count(blocks, threads), BlockScratch(k));
    for_blocks(blocks, threads, [&](std::size_t blk, unsigned w) {
        BlockScratch& scratch = scratches[w];
        const std::size_t i0 = blk * block_rows, b = std::min(block_rows, n - i0);
        block_nearest(x, i0, b, centers.data(), k, scratch);
        double* sums = partial.data() + blk * stride;
        double* counts = sums + k * d;
        double moved = 0;
        for (std::size_t i = 0; i < b; ++i) {
            const auto label = static_cast<std::int32_t>(scratch.label[i]);
            moved += labels[i0 + i] != label ? 1 : 0;
            labels[i0 + i] = label;
            counts[label] += 1;
            double* s = sums + static_cast<std::size_t>(label) * d;
            for (std::size_t f = 0; f < d; ++f) s[f] += x.columns[f][i0 + i];
        }
        counts[k] = moved;
        if (inertia) {
            double near = 0;
            for (std::size_t i = 0; i < b; ++i) near += scratch.best[i];
            counts[k + 1] = near;
        }
    });
    std::vector<double> sums(k * d, 0.0), counts(k, 0.0);
    double moved = 0, near = 0;
    for (std::size_t blk = 0; blk < blocks; ++blk) {
        const double* p = partial.data() + blk * stride;
        for (std::size_t q = 0; q < k * d; ++q) sums[q] += p[q];
        for (std::size_t j = 0; j < k; ++j) counts[j] += p[k * d + j];
        moved += p[k * d + k];
        near += p[k * d + k + 1];
    }
    if (changed) *changed = static_cast<std::size_t>(moved);
    if (inertia) *inertia = near;

    // Empty clusters take the points farthest from their centres (scikit-learn's
    // relocation): the farthest goes to the lowest-numbered empty cluster.
    std::vector<std::size_t> empty;
    for (std::size_t j = 0; j < k; ++j)
        if (counts[j] == 0) empty.push_back(j);
    if (!empty.empty()) {
        std::vector<double> far(n);
        for (std::size_t i = 0; i < n; ++i)
            far[i] = squared_distance(x, i, centers.data() + static_cast<std::size_t>(labels[i]) * d);
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        const std::size_t take = std::min(empty.size(), n);
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                          [&](std::size_t a, std::size_t b) { return far[a] > far[b] || (far[a] == far[b] && a < b); });
        for (std::size_t e = 0; e < take; ++e) {
            const std::size_t i = order[e], to = empty[e], from = static_cast<std::size_t>(labels[i]);
            for (std::size_t f = 0; f < d; ++f) {
                sums[from * d + f] -= x.columns[f][i];
                sums[to * d + f] = x.columns[f][i];
            }
            counts[from] -= 1;
            counts[to] = 1;
        }
    }
    double shift = 0;
    for (std::size_t j = 0; j < k; ++j)
        for (std::size_t f = 0; f < d; ++f) {
            const std::size_t q = j * d + f;
            // A cluster emptied by giving its only point away keeps its centre.
            new_centers[q] = counts[j] > 0 ? sums[q] / counts[j] : centers[q];
            const double delta = new_centers[q] - centers[q];
            shift += delta * delta;
        }
    return shift;
}

double kmeans_inertia(const PointColumns& x, std::span<const double> centroids, std::span<const std::int32_t> labels,
                      unsigned threads) {
    check_points(x, centroids.size(), "inertia");
    if (labels.size() != x.rows) throw InvalidInput("inertia: labels must have one entry per point");
    const std::size_t blocks = block_count(x.rows), d = x.dims();
    std::vector<double> partial(blocks, 0.0);
    for_blocks(blocks, threads, [&](std::size_t blk, unsigned) {
        const std::size_t i0 = blk * block_rows, end = std::min(x.rows, i0 + block_rows);
        double s = 0;
        for (std::size_t i = i0; i < end; ++i)
            s += squared_distance(x, i, centroids.data() + static_cast<std::size_t>(labels[i]) * d);
        partial[blk] = s;
    });
    double total = 0;
    for (double s : partial) total += s;
    return total;
}

KMeansResult kmeans_lloyd(const PointColumns& x, std::vector<double> init, int max_iter, double tol, unsigned threads,
                          const Progress* progress) {
    check_points(x, init.size(), "k-means");
    const std::size_t n = x.rows, d = x.dims(), k = init.size() / d;
    if (k == 0 || k > n)
        throw InvalidInput("k-means: needs 1 <= k <= the number of points (" + std::to_string(n) + "), got k = " +
                           std::to_string(k));
    // scikit-learn's tolerance: tol times the mean variance of the dimensions.
    double mean_variance = 0;
    for (std::size_t f = 0; f < d; ++f) {
        double mean = 0;
        for (std::size_t i = 0; i < n; ++i) mean += x.columns[f][i];
        mean /= static_cast<double>(n);
        double ss = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double t = x.columns[f][i] - mean;
            ss += t * t;
        }
        mean_variance += ss / static_cast<double>(n);
    }
    const double tol_abs = tol * mean_variance / static_cast<double>(d);

    KMeansResult r;
    r.centroids = std::move(init);
    r.labels.assign(n, -1);
    std::vector<double> next(r.centroids.size());
    bool strict = false;
    const bool reporting = progress && *progress;
    for (int it = 0; it < max_iter; ++it) {
        std::size_t changed = 0;
        double inertia = 0;
        const double shift = lloyd_iteration(x, r.centroids, next, r.labels, threads, &changed,
                                             reporting ? &inertia : nullptr);
        r.centroids.swap(next);
        r.iterations = it + 1;
        if (reporting) {
            const ProgressValue values[] = {{"inertia", inertia}, {"shift", shift}};
            (*progress)(ProgressStep{"kmeans", static_cast<double>(it + 1), static_cast<double>(max_iter), values});
        }
        if (changed == 0) {
            strict = true;
            break;
        }
        if (shift <= tol_abs) {
            r.converged = true;
            break;
        }
    }
    r.converged = r.converged || strict;
    if (!strict) assign_labels(x, r.centroids, r.labels, threads);
    r.inertia = kmeans_inertia(x, r.centroids, r.labels, threads);
    return r;
}

double mean_silhouette(const PointColumns& x, std::span<const std::int32_t> labels, std::size_t k,
                       std::span<const std::size_t> rows) {
    std::vector<std::size_t> all;
    if (rows.empty()) {
        all.resize(x.rows);
        std::iota(all.begin(), all.end(), std::size_t{0});
        rows = all;
    }
    const std::size_t m = rows.size(), d = x.dims();
    std::vector<std::size_t> size(k, 0);
    for (auto i : rows) ++size[static_cast<std::size_t>(labels[i])];
    std::size_t present = 0;
    for (auto s : size) present += s > 0 ? 1 : 0;
    if (present < 2 || m == 0) return 0.0;
    std::vector<double> point(d), sum(k);
    double total = 0;
    for (std::size_t p = 0; p < m; ++p) {
        const std::size_t i = rows[p];
        const auto own = static_cast<std::size_t>(labels[i]);
        if (size[own] <= 1) continue;  // silhouette 0
        for (std::size_t f = 0; f < d; ++f) point[f] = x.columns[f][i];
        std::fill(sum.begin(), sum.end(), 0.0);
        for (std::size_t q = 0; q < m; ++q)
            if (q != p) sum[static_cast<std::size_t>(labels[rows[q]])] += std::sqrt(squared_distance(x, rows[q], point.data()));
        const double a = sum[own] / static_cast<double>(size[own] - 1);
        double b = std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < k; ++j)
            if (j != own && size[j] > 0) b = std::min(b, sum[j] / static_cast<double>(size[j]));
        const double denom = std::max(a, b);
        total += denom > 0 ? (b - a) / denom : 0.0;
    }
    return total / static_cast<double>(m);
}

// ---- the rule -----------------------------------------------------------------------

KMeansRule::KMeansRule(KMeansOptions options, std::size_t tiers) : options_(std::move(options)), tiers_(tiers) {
    if (tiers_ == 0) throw PolicyError("rule: kmeans needs at least one tier");
    if (options_.k == 0) {
        if (options_.k_min < 2 || options_.k_min > options_.k_max)
            throw PolicyError("rule.k_range: must be [lo, hi] with 2 <= lo <= hi, got [" + std::to_string(options_.k_min) +
                              ", " + std::to_string(options_.k_max) + "]");
        if (options_.k_min < tiers_)
            throw PolicyError("rule.k_range: the smallest k must be >= the " + std::to_string(tiers_) +
                              " tiers (clusters are merged into tiers, never split), got " + std::to_string(options_.k_min));
        if (!options_.init.empty()) throw PolicyError("rule.init: needs a fixed k, not \"auto\"");
    } else if (options_.k != tiers_) {
        throw PolicyError("rule.k: must equal the number of tiers (" + std::to_string(tiers_) + "), got " +
                          std::to_string(options_.k) + "; use \"k\": \"auto\" to merge more clusters into the tiers");
    }
    if (!options_.init.empty()) {
        if (options_.n_init != 1)
            throw PolicyError("rule.n_init: must be 1 with explicit init centroids, got " + std::to_string(options_.n_init));
        if (options_.init.size() % options_.k != 0)
            throw PolicyError("rule.init: must be " + std::to_string(options_.k) + " centroids of equal length");
    }
    if (options_.max_iter < 1) throw PolicyError("rule.max_iter: must be >= 1, got " + std::to_string(options_.max_iter));
    if (options_.n_init < 1) throw PolicyError("rule.n_init: must be >= 1, got " + std::to_string(options_.n_init));
    if (!(options_.tol >= 0)) throw PolicyError("rule.tol: must be >= 0, got " + format_number(options_.tol));
}

const CriteriaBlock& KMeansRule::block(const RuleInput& input) const {
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
            throw InvalidInput("kmeans: criterion '" + b->names[f] + "' has " + std::to_string(b->normalized[f].size()) +
                               " values for " + std::to_string(input.table.rows()) + " rows");
    return *b;
}

void KMeansRule::fit(const RuleInput& input) {
    const CriteriaBlock& b = block(input);
    const std::size_t d = b.names.size(), n = input.table.rows();
    PointColumns x{n, {}};
    for (const auto& col : b.normalized) x.columns.push_back(col.data());
    for (std::size_t f = 0; f < d; ++f)
        for (std::size_t i = 0; i < n; ++i)
            if (!std::isfinite(x.columns[f][i]))
                throw InvalidInput("kmeans: criterion '" + b.names[f] + "', row " + std::to_string(i) +
                                   ": must be finite, got " + format_number(x.columns[f][i]));
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
            throw InvalidInput("kmeans: k_range starts at " + std::to_string(options_.k_min) + " clusters but there are " +
                               std::to_string(n) + " rows");
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

    if (input.min_group > 1) check_cluster_sizes(x, chosen.centroids, input.min_group);
    set_centroids(b.names, b.weights, chosen.centroids, chosen.inertia, chosen.iterations);
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

void KMeansRule::nearest(const CriteriaBlock& b, std::span<std::int32_t> cluster, double* own_distance,
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
    BlockScratch s(k);
    const std::vector<double>& dist = s.dist;
    for (std::size_t i0 = 0; i0 < n; i0 += block_rows) {
        const std::size_t rows = std::min(block_rows, n - i0);
        block_nearest(x, i0, rows, centroids_.data(), k, s);
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
                    t = std::min(t, dist[j * block_rows + i]);
                }
                for (auto& t : *tier_distance) t[i0 + i] = std::sqrt(t[i0 + i]);
            }
        }
    }
}

void KMeansRule::assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const {
    const CriteriaBlock& b = block(input);
    nearest(b, reason, nullptr, nullptr);
    const std::size_t n = input.table.rows();
    for (std::size_t i = 0; i < n; ++i) tier[i] = cluster_tier_[static_cast<std::size_t>(reason[i])];
}

std::vector<std::pair<std::string, std::vector<double>>> KMeansRule::extra_columns(const RuleInput& input) const {
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

std::vector<std::string> KMeansRule::reasons() const {
    std::vector<std::string> out;
    const std::size_t k = centroid_score_.size(), d = names_.size();
    for (std::size_t j = 0; j < k; ++j) {
        std::string s = "kmeans: cluster " + std::to_string(j + 1) + " of " + std::to_string(k) + ", centroid score " +
                        short_number(centroid_score_[j]) + " (";
        for (std::size_t f = 0; f < d; ++f) s += (f ? ", " : "") + names_[f] + " " + short_number(centroids_[j * d + f]);
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
    const bool ok = j.is_number_integer() && (j.is_number_unsigned() ? j.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi)
                                                                     : j.get<std::int64_t>() >= lo);
    if (!ok || j.get<std::int64_t>() < lo)
        fail(path + "." + key, "must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + show(j));
    return j.get<std::int64_t>();
}

}  // namespace

std::unique_ptr<Rule> make_kmeans_rule(const json& p, const std::string& path, std::size_t tiers) {
    if (!p.is_object()) fail(path, "must be an object, got " + show(p));
    for (auto it = p.begin(); it != p.end(); ++it) {
        static const char* keys[] = {"kind", "score", "k", "k_range", "select", "seed", "max_iter", "tol",
                                     "n_init", "init", "silhouette_sample", "tier_names"};
        if (std::find_if(std::begin(keys), std::end(keys), [&](const char* k) { return it.key() == k; }) == std::end(keys))
            fail(path + "." + it.key(),
                 "unknown key; expected one of: kind, score, k, k_range, select, seed, max_iter, tol, n_init, init, "
                 "silhouette_sample");
    }
    KMeansOptions o;
    if (p.contains("score")) {
        const json& s = p.at("score");
        if (!s.is_string() || s.get<std::string>().empty()) fail(path + ".score", "must be a score name, got " + show(s));
        o.score = s.get<std::string>();
    }
    o.k = tiers;
    const bool automatic = p.contains("k") && p.at("k").is_string();
    if (automatic) {
        if (p.at("k").get<std::string>() != "auto") fail(path + ".k", "must be a whole number or \"auto\", got " + show(p.at("k")));
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
            if (v == "silhouette") o.select = KSelect::silhouette;
            else if (v == "elbow") o.select = KSelect::elbow;
            else fail(path + ".select", "must be one of silhouette, elbow, got " + show(s));
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
            if (!row.is_array() || row.empty()) fail(cp, "must be an array of numbers (one per criterion), got " + show(row));
            if (j == 0) width = row.size();
            if (row.size() != width)
                fail(cp, "must have " + std::to_string(width) + " values like init[0], got " + std::to_string(row.size()));
            for (std::size_t f = 0; f < row.size(); ++f) {
                if (!row[f].is_number() || !std::isfinite(row[f].get<double>()))
                    fail(cp + "[" + std::to_string(f) + "]", "must be a finite number, got " + show(row[f]));
                o.init.push_back(row[f].get<double>());
            }
        }
        if (o.n_init != 1) fail(path + ".n_init", "must be 1 with explicit init centroids, got " + std::to_string(o.n_init));
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
