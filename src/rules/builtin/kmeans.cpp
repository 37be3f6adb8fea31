// The kmeans rule: k-means++ seeding, Lloyd iterations (scikit-learn's
// conventions), k selection, cluster -> tier mapping and the registry factory.
#include "tierkit/rules/builtin/kmeans.hpp"

#include "tierkit/core/parallel.hpp"
#include "tierkit/core/progress.hpp"
#include "simd_clones.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>
#include <thread>
#include <type_traits>
#include <unordered_set>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"


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
/// threads, each taking a contiguous run of blocks (so that it streams through the
/// columns). Each block writes only its own outputs (workers own their scratch), so
/// the split does not change results.
template <class F>
void for_blocks(std::size_t blocks, unsigned threads, F&& fn) {
    const unsigned workers = worker_count(blocks, threads);
    auto work = [&](unsigned w) {
        for (std::size_t b = blocks * w / workers; b < blocks * (w + 1) / workers; ++b) fn(b, w);
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

// ---- fit-time kernels ------------------------------------------------------------
//
// Every squared distance of the fit is sum_f (x_f - c_f)^2 accumulated in the order
// of f, starting from the first term: the same operations as block_distances() and
// squared_distance(), so every path below gives the same bits for the same row and
// centre (the vector lanes run the same IEEE operations as the scalar code).

/// Four doubles (a GCC/Clang vector: one AVX2 register, two SSE2 registers in the
/// baseline build).
typedef double Lanes __attribute__((vector_size(32)));
constexpr std::size_t lanes = 4;

/// Squared distance of row i to the centre c (d values).
inline double row_distance(const double* const* cols, std::size_t d, std::size_t i, const double* c) {
    double t = cols[0][i] - c[0];
    double acc = t * t;
    for (std::size_t f = 1; f < d; ++f) {
        t = cols[f][i] - c[f];
        acc = acc + t * t;
    }
    return acc;
}

/// Per row of a block: the nearest centre (the lowest index on a tie) and the
/// squared distance to it.
struct Nearest {
    std::int32_t label[block_rows];
    double best[block_rows];
};

/// Nearest of row i (row-major k x d centres) into out[slot].
inline void row_nearest(const double* const* cols, std::size_t d, std::size_t i, const double* centers, std::size_t k,
                        Nearest& out, std::size_t slot) {
    double best = row_distance(cols, d, i, centers);
    std::int32_t label = 0;
    for (std::size_t j = 1; j < k; ++j) {
        const double v = row_distance(cols, d, i, centers + j * d);
        if (v < best) {
            best = v;
            label = static_cast<std::int32_t>(j);
        }
    }
    out.label[slot] = label;
    out.best[slot] = best;
}

/// Nearest for the rows [0, b) (b <= block_rows) of `cols` (d columns, any stride
/// apart), four rows per step. The centres are taken four at a time so that their
/// four sums run side by side (each is one chain of dependent additions, in the
/// order of f); the four results are then compared in index order, so ties still go
/// to the lowest index. D is the number of dimensions when known at compile time,
/// 0 for any. `wide` holds the centre values repeated 4 times, the centres padded
/// to a multiple of 4 with +inf ones (never nearer):
/// wide[(j * d + f) * 4 + q] = centers[j * d + f].
template <std::size_t D>
[[gnu::always_inline]] inline void rows_nearest(const double* const* cols, std::size_t dims, std::size_t b,
                                                const double* wide, const double* centers, std::size_t k,
                                                Nearest& out) {
    const std::size_t d = D ? D : dims, groups = (k + 3) / 4;
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::size_t i = 0;
    for (; i + lanes <= b; i += lanes) {
        Lanes best{inf, inf, inf, inf}, label{};
        for (std::size_t g = 0; g < groups; ++g) {
            const double* c = wide + g * 4 * d * lanes;
            Lanes acc[4];
            {
                Lanes xf, c0, c1, c2, c3;
                std::memcpy(&xf, cols[0] + i, sizeof xf);
                std::memcpy(&c0, c, sizeof c0);
                std::memcpy(&c1, c + d * lanes, sizeof c1);
                std::memcpy(&c2, c + 2 * d * lanes, sizeof c2);
                std::memcpy(&c3, c + 3 * d * lanes, sizeof c3);
                const Lanes t0 = xf - c0, t1 = xf - c1, t2 = xf - c2, t3 = xf - c3;
                acc[0] = t0 * t0;
                acc[1] = t1 * t1;
                acc[2] = t2 * t2;
                acc[3] = t3 * t3;
            }
            for (std::size_t f = 1; f < d; ++f) {
                Lanes xf, c0, c1, c2, c3;
                std::memcpy(&xf, cols[f] + i, sizeof xf);
                std::memcpy(&c0, c + f * lanes, sizeof c0);
                std::memcpy(&c1, c + (d + f) * lanes, sizeof c1);
                std::memcpy(&c2, c + (2 * d + f) * lanes, sizeof c2);
                std::memcpy(&c3, c + (3 * d + f) * lanes, sizeof c3);
                const Lanes t0 = xf - c0, t1 = xf - c1, t2 = xf - c2, t3 = xf - c3;
                acc[0] = acc[0] + t0 * t0;
                acc[1] = acc[1] + t1 * t1;
                acc[2] = acc[2] + t2 * t2;
                acc[3] = acc[3] + t3 * t3;
            }
            for (std::size_t q = 0; q < 4; ++q) {
                const std::size_t j = g * 4 + q;
                if (j == 0) {
                    best = acc[0];
                    continue;
                }
                const double jj = static_cast<double>(j);
                const Lanes jv{jj, jj, jj, jj};
                const auto closer = acc[q] < best;
                label = closer ? jv : label;
                best = closer ? acc[q] : best;
            }
        }
        for (std::size_t q = 0; q < lanes; ++q) {
            out.label[i + q] = static_cast<std::int32_t>(label[q]);
            out.best[i + q] = best[q];
        }
    }
    for (; i < b; ++i) row_nearest(cols, d, i, centers, k, out, i);
}

/// fn(std::integral_constant<std::size_t, D>{}) with D = d for d = 1..8 and D = 0
/// (any) otherwise: the kernels' compile-time dimension count.
template <class F>
[[gnu::always_inline]] inline void with_dims(std::size_t d, F&& fn) {
    switch (d) {
        case 1: fn(std::integral_constant<std::size_t, 1>{}); break;
        case 2: fn(std::integral_constant<std::size_t, 2>{}); break;
        case 3: fn(std::integral_constant<std::size_t, 3>{}); break;
        case 4: fn(std::integral_constant<std::size_t, 4>{}); break;
        case 5: fn(std::integral_constant<std::size_t, 5>{}); break;
        case 6: fn(std::integral_constant<std::size_t, 6>{}); break;
        case 7: fn(std::integral_constant<std::size_t, 7>{}); break;
        case 8: fn(std::integral_constant<std::size_t, 8>{}); break;
        default: fn(std::integral_constant<std::size_t, 0>{}); break;
    }
}

/// rows_nearest for the rows [0, b) of the columns cols[f] (b <= block_rows).
TIERKIT_SIMD_CLONES void block_nearest_all(const double* const* cols, std::size_t d, std::size_t b, const double* wide,
                                           const double* centers, std::size_t k, Nearest& out) {
    with_dims(d, [&](auto D) __attribute__((always_inline)) {
        rows_nearest<decltype(D)::value>(cols, d, b, wide, centers, k, out);
    });
}

/// The centres for rows_nearest: every value repeated 4 times, padded with +inf
/// centres to a multiple of 4.
std::vector<double> widen(std::span<const double> centers, std::size_t d) {
    const std::size_t k = centers.size() / d, padded = (k + 3) / 4 * 4;
    std::vector<double> wide(padded * d * lanes, std::numeric_limits<double>::infinity());
    for (std::size_t q = 0; q < centers.size(); ++q)
        for (std::size_t l = 0; l < lanes; ++l) wide[q * lanes + l] = centers[q];
    return wide;
}

/// Adds rows [0, b) of `cols` into sums[label * d + f] and counts sums[k * d + label]
/// (fresh zeros), each cluster's rows in row order: the same additions as a plain
/// pass over the rows. The rows are first ordered by label (stably, in `order`), so
/// that a cluster's running sums stay in registers (no chain through memory).
template <std::size_t D>
[[gnu::always_inline]] inline void sums_by_label(const double* const* cols, std::size_t dims, std::size_t b,
                                                 const std::int32_t* labels, std::size_t k, double* sums,
                                                 std::uint16_t* order) {
    const std::size_t d = D ? D : dims;
    double* counts = sums + k * d;
    for (std::size_t i = 0; i < b; ++i) counts[static_cast<std::size_t>(labels[i])] += 1;
    std::size_t start[257];  // k <= 256 here (checked by the caller)
    start[0] = 0;
    for (std::size_t j = 0; j < k; ++j) start[j + 1] = start[j] + static_cast<std::size_t>(counts[j]);
    std::size_t fill[256];
    std::copy(start, start + k, fill);
    for (std::size_t i = 0; i < b; ++i) order[fill[static_cast<std::size_t>(labels[i])]++] = static_cast<std::uint16_t>(i);
    for (std::size_t j = 0; j < k; ++j) {
        if (start[j] == start[j + 1]) continue;
        double* sum = sums + j * d;
        if constexpr (D > 0) {
            double acc[D];
            for (std::size_t f = 0; f < D; ++f) acc[f] = sum[f];
            for (std::size_t r = start[j]; r < start[j + 1]; ++r)
                for (std::size_t f = 0; f < D; ++f) acc[f] += cols[f][order[r]];
            for (std::size_t f = 0; f < D; ++f) sum[f] = acc[f];
        } else {
            for (std::size_t r = start[j]; r < start[j + 1]; ++r)
                for (std::size_t f = 0; f < d; ++f) sum[f] += cols[f][order[r]];
        }
    }
}

void block_sums(const double* const* cols, std::size_t d, std::size_t b, const std::int32_t* labels, std::size_t k,
                double* sums, std::uint16_t* order) {
    if (k > 256) {  // not worth ordering (and beyond the stack arrays): a plain pass
        double* counts = sums + k * d;
        for (std::size_t i = 0; i < b; ++i) {
            const auto label = static_cast<std::size_t>(labels[i]);
            counts[label] += 1;
            for (std::size_t f = 0; f < d; ++f) sums[label * d + f] += cols[f][i];
        }
        return;
    }
    with_dims(d, [&](auto D) { sums_by_label<decltype(D)::value>(cols, d, b, labels, k, sums, order); });
}

/// What an E-step pass accumulates per block (see lloyd_partial_stride).
enum class Accumulate { labels_only, sums };

/// Per block: k x d sums, k counts, changed labels, summed squared distance to the nearest centre.
std::size_t lloyd_partial_stride(std::size_t k, std::size_t d) { return k * d + k + 2; }

/// One E-step: labels[i] = the nearest of `centers` for every row (counting the
/// changes), and per block, in row order, the partial sums and counts of the new
/// labels (with Accumulate::sums) and the summed squared distances to the nearest
/// centre (when `near`).
/// @param partial receives per block lloyd_partial_stride(k, d) values (its memory
///   is reused from call to call).
void e_step(const PointColumns& x, std::span<const double> centers, std::span<std::int32_t> labels, Accumulate what,
            bool near, unsigned threads, std::vector<double>& partial) {
    const std::size_t n = x.rows, d = x.dims(), k = centers.size() / d;
    const std::size_t blocks = block_count(n), stride = lloyd_partial_stride(k, d);
    const std::vector<double> wide = widen(centers, d);
    partial.assign(blocks * stride, 0.0);
    struct Scratch {
        Nearest nearest;
        std::uint16_t order[block_rows];  // the block's rows by label (block_sums)
        std::vector<const double*> cols;  // the block's rows in x's columns
    };
    std::vector<Scratch> scratches(worker_count(blocks, threads));
    for (auto& s : scratches) s.cols.resize(d);
    for_blocks(blocks, threads, [&](std::size_t blk, unsigned w) {
        Scratch& s = scratches[w];
        const std::size_t i0 = blk * block_rows, b = std::min(block_rows, n - i0);
        for (std::size_t f = 0; f < d; ++f) s.cols[f] = x.columns[f] + i0;
        std::int32_t* lab = labels.data() + i0;
        double* out = partial.data() + blk * stride;
        block_nearest_all(s.cols.data(), d, b, wide.data(), centers.data(), k, s.nearest);
        std::size_t moved = 0;
        for (std::size_t i = 0; i < b; ++i) {
            moved += lab[i] != s.nearest.label[i] ? 1 : 0;
            lab[i] = s.nearest.label[i];
        }
        if (what == Accumulate::sums) block_sums(s.cols.data(), d, b, lab, k, out, s.order);
        out[k * d + k] = static_cast<double>(moved);
        if (near) {
            double total = 0;
            for (std::size_t i = 0; i < b; ++i) total += s.nearest.best[i];
            out[k * d + k + 1] = total;
        }
    });
}

/// The M-step after e_step(..., Accumulate::sums, ...): add the blocks' partials in
/// order, relocate empty clusters, move the centres. Arguments and result as
/// lloyd_iteration.
double m_step(const PointColumns& x, std::span<const double> centers, std::span<double> new_centers,
              std::span<const std::int32_t> labels, const std::vector<double>& partial, std::size_t* changed,
              double* inertia) {
    const std::size_t n = x.rows, d = x.dims(), k = centers.size() / d;
    const std::size_t blocks = block_count(n), stride = lloyd_partial_stride(k, d);
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

/// The sum over the dimensions of the data's variance (scikit-learn's tolerance is
/// tol times its mean). Every column is summed in row order; up to four columns at
/// once (their additions overlap), groups of columns on separate threads.
double summed_variance(const PointColumns& x, unsigned threads) {
    const std::size_t n = x.rows, d = x.dims(), groups = (d + 3) / 4;
    std::vector<double> variance(d);
    for_blocks(groups, threads, [&](std::size_t g, unsigned) {
        const std::size_t f0 = g * 4, m = std::min<std::size_t>(4, d - f0);
        const double* c[4];
        for (std::size_t q = 0; q < 4; ++q) c[q] = x.columns[f0 + std::min(q, m - 1)];
        double mean[4] = {0, 0, 0, 0}, ss[4] = {0, 0, 0, 0};
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t q = 0; q < 4; ++q) mean[q] += c[q][i];
        for (std::size_t q = 0; q < 4; ++q) mean[q] /= static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t q = 0; q < 4; ++q) {
                const double t = c[q][i] - mean[q];
                ss[q] += t * t;
            }
        for (std::size_t q = 0; q < m; ++q) variance[f0 + q] = ss[q] / static_cast<double>(n);
    });
    double total = 0;
    for (double v : variance) total += v;
    return total;
}

/// How many of v[0, m) are inf or NaN (a loop that vectorizes).
std::size_t count_not_finite(const double* v, std::size_t m) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < m; ++i) count += std::fabs(v[i]) <= std::numeric_limits<double>::max() ? 0 : 1;
    return count;
}

/// Throws InvalidInput naming the first non-finite value (by criterion, then row).
void check_finite(const PointColumns& x, const std::vector<std::string>& names, unsigned threads) {
    const std::size_t n = x.rows, d = x.dims(), blocks = block_count(n);
    std::vector<char> bad(blocks, 0);
    for_blocks(blocks, threads, [&](std::size_t blk, unsigned) {
        const std::size_t i0 = blk * block_rows, end = std::min(n, i0 + block_rows);
        std::size_t not_finite = 0;
        for (std::size_t f = 0; f < d; ++f) not_finite += count_not_finite(x.columns[f] + i0, end - i0);
        bad[blk] = not_finite > 0 ? 1 : 0;
    });
    if (std::find(bad.begin(), bad.end(), 1) == bad.end()) return;
    for (std::size_t f = 0; f < d; ++f)
        for (std::size_t i = 0; i < n; ++i)
            if (!std::isfinite(x.columns[f][i]))
                throw InvalidInput("kmeans: criterion '" + names[f] + "', row " + std::to_string(i) +
                                   ": must be finite, got " + format_number(x.columns[f][i]));
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
    check_points(x, centers.size(), "lloyd");
    if (new_centers.size() != centers.size() || labels.size() != x.rows)
        throw InvalidInput("lloyd: new_centers must have the size of centers and labels one entry per point");
    std::vector<double> partial;
    e_step(x, centers, labels, Accumulate::sums, inertia != nullptr, threads, partial);
    return m_step(x, centers, new_centers, labels, partial, changed, inertia);
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
    // scikit-learn's tolerance: tol times the mean variance of the dimensions (0 for
    // tol = 0 without the two passes over the data, as scikit-learn does).
    const double tol_abs = tol == 0 ? 0.0 : tol * summed_variance(x, threads) / static_cast<double>(d);

    KMeansResult r;
    r.centroids = std::move(init);
    r.labels.assign(n, -1);
    std::vector<double> next(r.centroids.size()), partial;
    bool strict = false;
    const bool reporting = progress && *progress;
    for (int it = 0; it < max_iter; ++it) {
        std::size_t changed = 0;
        double inertia = 0;
        e_step(x, r.centroids, r.labels, Accumulate::sums, reporting, threads, partial);
        const double shift = m_step(x, r.centroids, next, r.labels, partial, &changed, reporting ? &inertia : nullptr);
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
    if (strict) {
        r.inertia = kmeans_inertia(x, r.centroids, r.labels, threads);
    } else {
        // The labels of the final centres and, in the same pass, the inertia (the
        // blocks' sums in order, as kmeans_inertia adds them).
        e_step(x, r.centroids, r.labels, Accumulate::labels_only, true, threads, partial);
        const std::size_t stride = lloyd_partial_stride(k, d);
        r.inertia = 0;
        for (std::size_t blk = 0; blk < block_count(n); ++blk) r.inertia += partial[blk * stride + stride - 1];
    }
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
    check_finite(x, b.names, 0);
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

TIERKIT_REGISTER_RULE(tierkit::KMeansRule, "kmeans", tierkit::make_kmeans_rule)
