#pragma once
/// @file composite.hpp
/// The composite scores of every row of a table: each criterion normalized by blocks
/// of rows and folded into its score (weighted sum or TOPSIS, score.hpp) and the
/// criteria's contributions, on the threads of parallel_for. What Model::assign,
/// fit() and the Fitter run.
///
/// score_block is compiled for AVX2 and the baseline (core/simd_clones.hpp): each
/// translation unit that calls it gets both versions and a resolver; no FMA is
/// enabled, so both give the same bits. (Not included by model.hpp or serve.hpp: the
/// threads' code it instantiates costs compile time where it is not called.)
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/core/simd_clones.hpp"
#include "tierkit/core/table.hpp"
#include "tierkit/rules/input.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/score.hpp"

namespace tierkit {

/// The column criterion k of `score` reads.
/// @throws UnknownColumn naming the score and criterion, listing the columns.
inline std::span<const double> criterion_column(const FeatureTable& table, const std::string& score, std::size_t k,
                                                const std::string& column) {
    if (!table.has(column))
        throw UnknownColumn("score '" + score + "', criteria[" + std::to_string(k) +
                            "].column: " + table.unknown_message(column));
    return table.column(column);
}

inline constexpr std::size_t score_block_rows = 2048;

/// Score rows [b, b + m) (m <= score_block_rows) of one fitted score into out[0, m)
/// and the contributions; y is scratch of criteria x score_block_rows values.
/// @return whether every input value was finite.
TIERKIT_SIMD_CLONES inline bool score_block(const FittedScore& s, const std::vector<std::span<const double>>& cols,
                                            std::size_t b, std::size_t m, double* y, double* out,
                                            const std::vector<double*>& contrib) {
    const std::size_t c = s.criteria.size();
    bool finite = true;
    if (s.method == ScoreMethod::weighted_sum) {
        std::fill(out, out + m, 0.0);
        for (std::size_t k = 0; k < c; ++k) {
            finite &= s.criteria[k].normalize_block(cols[k].data() + b, y, m);
            const double w = 100.0 * s.weights[k];
            for (std::size_t i = 0; i < m; ++i) out[i] += w * y[i];
            if (contrib[k])
                for (std::size_t i = 0; i < m; ++i) contrib[k][b + i] = w * y[i];
        }
        for (std::size_t i = 0; i < m; ++i) out[i] = out[i] < 0.0 ? 0.0 : (100.0 < out[i] ? 100.0 : out[i]);  // clamp
        return finite;
    }
    constexpr std::size_t stride = score_block_rows;
    for (std::size_t k = 0; k < c; ++k) finite &= s.criteria[k].normalize_block(cols[k].data() + b, y + k * stride, m);
    // TOPSIS on the weighted normalized criteria: closeness = d- / (d+ + d-).
    for (std::size_t i = 0; i < m; ++i) {
        double dp = 0, dm = 0, ws = 0;
        for (std::size_t k = 0; k < c; ++k) {
            const double v = y[k * stride + i];
            const double p = s.weights[k] * (v - s.ideal[k]);
            const double q = s.weights[k] * (v - s.anti_ideal[k]);
            dp += p * p;
            dm += q * q;
            ws += s.weights[k] * v;
        }
        dp = std::sqrt(dp);
        dm = std::sqrt(dm);
        const double closeness = dp + dm > 0 ? dm / (dp + dm) : 0.5;
        out[i] = 100.0 * closeness;
        // Contributions: the score split in proportion to w_k * y_k.
        for (std::size_t k = 0; k < c; ++k)
            if (contrib[k])
                contrib[k][b + i] =
                    ws > 0 ? out[i] * s.weights[k] * y[k * stride + i] / ws : out[i] / static_cast<double>(c);
    }
    return finite;
}

/// Score every row for one fitted score: one parallel pass over blocks of rows,
/// each criterion normalized into a per-thread buffer of one block and folded into
/// the score (and contributions) at once, so no criteria x rows scratch is made.
/// The per-row arithmetic and its order are those of the scalar definitions, so the
/// bits do not depend on the block size or the thread count.
/// @throws InvalidInput for the first non-finite value in criterion, row order.
inline void score_rows(const FittedScore& s, const std::vector<std::span<const double>>& cols, std::size_t n,
                       double* score, const std::vector<double*>& contrib) {
    const std::size_t c = s.criteria.size();
    std::atomic<bool> bad{false};
    parallel_for(
        n,
        [&](std::size_t begin, std::size_t end) {
            std::vector<double> y(std::max<std::size_t>(c, 1) * score_block_rows);
            for (std::size_t b = begin; b < end; b += score_block_rows) {
                const std::size_t m = std::min(score_block_rows, end - b);
                if (!score_block(s, cols, b, m, y.data(), score + b, contrib))
                    bad.store(true, std::memory_order_relaxed);
            }
        },
        4 * score_block_rows);
    if (bad.load()) {
        for (std::size_t k = 0; k < c; ++k) check_finite(cols[k], s.criteria[k].spec.column);  // names the first one
    }
}

/// The composite scores (0..100, one vector per fitted score) of every row of
/// `table`, as assign() computes them before the rule. (The out-of-core Fitter,
/// fit_state.hpp, feeds the rule's statistics with them.)
/// @throws as Model::assign.
inline std::vector<std::vector<double>> score_columns(const std::vector<FittedScore>& scores,
                                                      const FeatureTable& table) {
    std::vector<std::vector<double>> out;
    for (const auto& s : scores) {
        std::vector<std::span<const double>> cols;
        for (std::size_t k = 0; k < s.criteria.size(); ++k)
            cols.push_back(criterion_column(table, s.name, k, s.criteria[k].spec.column));
        std::vector<double> score(table.rows());
        score_rows(s, cols, table.rows(), score.data(), std::vector<double*>(s.criteria.size(), nullptr));
        out.push_back(std::move(score));
    }
    return out;
}

/// The normalized criteria of every fitted score, as rules with needs_criteria() see them.
/// @throws as Model::assign.
inline std::vector<CriteriaBlock> normalized_criteria(const std::vector<FittedScore>& scores,
                                                      const FeatureTable& table) {
    std::vector<CriteriaBlock> blocks;
    for (const auto& s : scores) {
        CriteriaBlock b;
        b.score = s.name;
        b.weights = s.weights;
        for (std::size_t k = 0; k < s.criteria.size(); ++k) {
            const auto col = criterion_column(table, s.name, k, s.criteria[k].spec.column);
            b.names.push_back(s.criteria[k].spec.column);
            b.normalized.emplace_back(col.size());
            normalize_column(s.criteria[k], col, b.normalized.back());
        }
        blocks.push_back(std::move(b));
    }
    return blocks;
}

}  // namespace tierkit
