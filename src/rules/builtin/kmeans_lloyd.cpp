// The kmeans rule's fitting kernels: k-means++ seeding, Lloyd iterations
// (scikit-learn's conventions), inertia and the silhouette, over blocks of rows on
// the thread pool. See tierkit/rules/builtin/kmeans.hpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <thread>
#include <type_traits>

#include "rules/builtin/kmeans_detail.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/core/simd_clones.hpp"
#include "tierkit/rules/builtin/kmeans.hpp"

namespace tierkit {

using kmeans_detail::block_rows;

namespace {

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

double squared_distance(const PointColumns& x, std::size_t i, const double* c) {
    double s = 0;
    for (std::size_t f = 0; f < x.dims(); ++f) {
        const double t = x.columns[f][i] - c[f];
        s += t * t;
    }
    return s;
}

void check_points(const PointColumns& x, std::size_t centers_size, const char* what) {
    const std::size_t d = x.dims();
    if (d == 0) throw InvalidInput(std::string(what) + ": the points have no dimensions");
    if (centers_size % d != 0)
        throw InvalidInput(std::string(what) + ": " + std::to_string(centers_size) +
                           " centroid values are not a whole number of " + std::to_string(d) +
                           "-dimensional centroids");
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
        case 1:
            fn(std::integral_constant<std::size_t, 1>{});
            break;
        case 2:
            fn(std::integral_constant<std::size_t, 2>{});
            break;
        case 3:
            fn(std::integral_constant<std::size_t, 3>{});
            break;
        case 4:
            fn(std::integral_constant<std::size_t, 4>{});
            break;
        case 5:
            fn(std::integral_constant<std::size_t, 5>{});
            break;
        case 6:
            fn(std::integral_constant<std::size_t, 6>{});
            break;
        case 7:
            fn(std::integral_constant<std::size_t, 7>{});
            break;
        case 8:
            fn(std::integral_constant<std::size_t, 8>{});
            break;
        default:
            fn(std::integral_constant<std::size_t, 0>{});
            break;
    }
}

/// rows_nearest for the rows [0, b) of the columns cols[f] (b <= block_rows).
TIERKIT_SIMD_CLONES void block_nearest_all(const double* const* cols, std::size_t d, std::size_t b, const double* wide,
                                           const double* centers, std::size_t k, Nearest& out) {
    with_dims(
        d, [&](auto D)
               __attribute__((always_inline)) { rows_nearest<decltype(D)::value>(cols, d, b, wide, centers, k, out); });
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
    for (std::size_t i = 0; i < b; ++i)
        order[fill[static_cast<std::size_t>(labels[i])]++] = static_cast<std::uint16_t>(i);
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

}  // namespace

namespace kmeans_detail {

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
            throw PolicyError(
                "rule: kmeans cluster " + std::to_string(j) + " has " + std::to_string(members[j]) +
                " customers, fewer than privacy.min_group " + std::to_string(min_group) +
                " (its centroid would be the mean of too few rows); use fewer clusters or a smaller min_group");
}

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

}  // namespace kmeans_detail

// ---- building blocks --------------------------------------------------------------

std::vector<double> kmeans_plus_plus(const PointColumns& x, std::size_t k, Xoshiro256& rng, unsigned threads) {
    const std::size_t n = x.rows, d = x.dims();
    if (d == 0) throw InvalidInput("k-means++: the points have no dimensions");
    if (k == 0 || k > n)
        throw InvalidInput("k-means++: needs 1 <= k <= the number of points (" + std::to_string(n) +
                           "), got k = " + std::to_string(k));
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
                idx = static_cast<std::size_t>(std::lower_bound(cumulative.begin(), cumulative.end(), r) -
                                               cumulative.begin());
                idx = std::min(idx, n - 1);
            } else {
                idx = rng.below(n);  // every point is already a centre: any will do
            }
            for (std::size_t f = 0; f < d; ++f) candidate[f] = x.columns[f][idx];
            for_blocks(blocks, threads, [&](std::size_t blk, unsigned) {
                const std::size_t i0 = blk * block_rows, end = std::min(n, i0 + block_rows);
                double s = 0;
                for (std::size_t i = i0; i < end; ++i)
                    s += trial_closest[i] = std::min(closest[i], squared_distance(x, i, candidate.data()));
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
        throw InvalidInput("k-means: needs 1 <= k <= the number of points (" + std::to_string(n) +
                           "), got k = " + std::to_string(k));
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
            if (q != p)
                sum[static_cast<std::size_t>(labels[rows[q]])] += std::sqrt(squared_distance(x, rows[q], point.data()));
        const double a = sum[own] / static_cast<double>(size[own] - 1);
        double b = std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < k; ++j)
            if (j != own && size[j] > 0) b = std::min(b, sum[j] / static_cast<double>(size[j]));
        const double denom = std::max(a, b);
        total += denom > 0 ? (b - a) / denom : 0.0;
    }
    return total / static_cast<double>(m);
}

}  // namespace tierkit
