#pragma once
/// @file top_criteria.hpp
/// Per customer, the criteria that add most to a score, best first: the
/// `top_criteria` column of Model::assign.
///
/// A row's top k criteria (k = min(top, criteria)) are the indices of its k largest
/// contributions in descending order; equal contributions keep the criterion order
/// (the earlier criterion first). Each ordered combination is coded by its rank among
/// all ordered k-combinations of the criteria in lexicographic order of their
/// indices, so a per-row kernel writes one integer and a table of combinations gives
/// its label. The codes are then renumbered to the combinations that occur, still in
/// lexicographic order: code 0 is the smallest combination present.
///
/// Thread safety: the functions are pure; top_criteria() runs its rows in parallel
/// (parallel.hpp) with results independent of the thread count.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/column.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit {

/// The top criteria of every row: `code[i]` indexes `labels` ("revenue, frequency, aov").
struct TopCriteria {
    Column<std::int32_t> code;
    std::vector<std::string> labels;
};

namespace detail {

/// Number of ordered k-combinations of c criteria, c! / (c - k)!, or 0 when it does
/// not fit in 63 bits.
inline std::uint64_t ordered_combinations(std::size_t c, std::size_t k) noexcept {
    std::uint64_t p = 1;
    for (std::size_t r = 0; r < k; ++r) {
        const std::uint64_t f = c - r;
        if (p > (std::uint64_t{1} << 62) / f) return 0;
        p *= f;
    }
    return p;
}

/// The k largest of c contributions at row i, best first, as a lexicographic rank.
/// `idx` is scratch of k entries.
inline std::uint64_t top_criteria_rank(std::span<const double* const> contrib, std::size_t i, std::size_t k,
                                       std::size_t* idx) noexcept {
    const std::size_t c = contrib.size();
    std::size_t m = 0;  // entries in idx, by descending contribution
    for (std::size_t j = 0; j < c; ++j) {
        const double v = contrib[j][i];
        // Strictly greater moves ahead, so an equal value stays behind the earlier criterion.
        std::size_t p = m;
        while (p > 0 && v > contrib[idx[p - 1]][i]) --p;
        if (p >= k) continue;
        for (std::size_t q = std::min(m, k - 1); q > p; --q) idx[q] = idx[q - 1];
        idx[p] = j;
        m = std::min(m + 1, k);
    }
    std::uint64_t rank = 0;
    for (std::size_t r = 0; r < k; ++r) {
        std::size_t digit = idx[r];
        for (std::size_t q = 0; q < r; ++q) digit -= idx[q] < idx[r];
        rank = rank * (c - r) + digit;
    }
    return rank;
}

/// top_criteria_rank for exactly C criteria, without data-dependent branches: each
/// criterion's place is the number of criteria ahead of it (greater, or equal and
/// earlier), which is the same order. A row with a NaN (no order) takes
/// top_criteria_rank.
template <std::size_t C>
inline std::uint64_t top_criteria_rank_of(std::span<const double* const> contrib, std::size_t i, std::size_t k,
                                          std::size_t* idx) noexcept {
    double v[C];
    bool nan = false;
    for (std::size_t j = 0; j < C; ++j) {
        v[j] = contrib[j][i];
        nan |= v[j] != v[j];
    }
    if (nan) return top_criteria_rank(contrib, i, k, idx);
    std::size_t at[C];  // at[p]: the criterion in place p
    for (std::size_t j = 0; j < C; ++j) {
        std::size_t place = 0;
        for (std::size_t q = 0; q < j; ++q) place += v[q] >= v[j] ? 1 : 0;
        for (std::size_t q = j + 1; q < C; ++q) place += v[q] > v[j] ? 1 : 0;
        at[place] = j;
    }
    std::uint64_t rank = 0;
    for (std::size_t r = 0; r < k; ++r) {
        std::size_t digit = at[r];
        for (std::size_t q = 0; q < r; ++q) digit -= at[q] < at[r] ? 1 : 0;
        rank = rank * (C - r) + digit;
    }
    return rank;
}

/// Ranks of rows [begin, end) into code, marking each rank seen (a table of
/// `ordered_combinations` entries); C criteria, or any number for C = 0.
template <std::size_t C>
inline void top_criteria_ranks(std::span<const double* const> contrib, std::size_t begin, std::size_t end,
                               std::size_t k, std::int32_t* code, std::uint8_t* seen) {
    std::vector<std::size_t> idx(k);
    for (std::size_t i = begin; i < end; ++i) {
        const auto rank = C == 0                          ? top_criteria_rank(contrib, i, k, idx.data())
                          : top_criteria_rank_of < C == 0 ? 1
                                                          : C > (contrib, i, k, idx.data());
        code[i] = static_cast<std::int32_t>(rank);
        seen[rank] = 1;
    }
}

/// The criterion indices of a lexicographic rank (the inverse of top_criteria_rank).
inline std::vector<std::size_t> top_criteria_indices(std::uint64_t rank, std::size_t c, std::size_t k) {
    std::vector<std::size_t> digits(k);
    for (std::size_t r = k; r-- > 0;) {
        digits[r] = static_cast<std::size_t>(rank % (c - r));
        rank /= c - r;
    }
    std::vector<std::size_t> out;
    std::vector<bool> used(c, false);
    for (std::size_t r = 0; r < k; ++r) {
        std::size_t j = 0, free = 0;
        for (;; ++j) {
            if (used[j]) continue;
            if (free == digits[r]) break;
            ++free;
        }
        used[j] = true;
        out.push_back(j);
    }
    return out;
}

inline std::string top_criteria_label(std::uint64_t rank, const std::vector<std::string>& names, std::size_t k) {
    std::string label;
    for (std::size_t j : top_criteria_indices(rank, names.size(), k)) label += (label.empty() ? "" : ", ") + names[j];
    return label;
}

}  // namespace detail

/// The top criteria of each row from per-criterion contribution columns.
/// @param contributions one column per criterion, each `rows` long.
/// @param names the criteria, in the order of `contributions`.
/// @param top at most this many criteria per row (fewer when there are fewer criteria).
/// @throws InvalidInput when names and columns differ in number or a column is shorter than `rows`.
inline TopCriteria top_criteria(std::span<const std::span<const double>> contributions,
                                const std::vector<std::string>& names, std::size_t rows, std::size_t top = 3) {
    const std::size_t c = contributions.size();
    if (names.size() != c)
        throw InvalidInput("top_criteria: " + std::to_string(names.size()) + " names for " + std::to_string(c) +
                           " contribution columns");
    for (std::size_t j = 0; j < c; ++j)
        if (contributions[j].size() < rows)
            throw InvalidInput("top_criteria: contribution column '" + names[j] + "' has " +
                               std::to_string(contributions[j].size()) + " rows, expected " + std::to_string(rows));
    TopCriteria out;
    const std::size_t k = std::min(top, c);
    if (k == 0 || rows == 0) {
        out.code.assign(rows, 0);
        if (rows > 0) out.labels.emplace_back();
        return out;
    }
    std::vector<const double*> cols(c);
    for (std::size_t j = 0; j < c; ++j) cols[j] = contributions[j].data();
    const std::span<const double* const> view(cols);
    out.code.resize(rows);  // every row written below
    const std::uint64_t combinations = detail::ordered_combinations(c, k);
    constexpr std::uint64_t table_limit = std::uint64_t{1} << 22;

    if (combinations != 0 && combinations <= table_limit) {
        // The usual case: a table over every combination marks those present.
        std::vector<std::uint8_t> seen(combinations, 0);
        std::mutex merge;
        parallel_for(
            rows,
            [&](std::size_t begin, std::size_t end) {
                std::vector<std::uint8_t> local(combinations, 0);
                switch (c) {  // the usual few criteria: a kernel without branches on the data
                    case 2:
                        detail::top_criteria_ranks<2>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    case 3:
                        detail::top_criteria_ranks<3>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    case 4:
                        detail::top_criteria_ranks<4>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    case 5:
                        detail::top_criteria_ranks<5>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    case 6:
                        detail::top_criteria_ranks<6>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    case 7:
                        detail::top_criteria_ranks<7>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    case 8:
                        detail::top_criteria_ranks<8>(view, begin, end, k, out.code.data(), local.data());
                        break;
                    default:
                        detail::top_criteria_ranks<0>(view, begin, end, k, out.code.data(), local.data());
                        break;
                }
                std::lock_guard lock(merge);
                for (std::size_t p = 0; p < combinations; ++p) seen[p] |= local[p];
            },
            std::size_t{1} << 15);
        std::vector<std::int32_t> renumber(combinations, -1);
        for (std::uint64_t p = 0; p < combinations; ++p)
            if (seen[p]) {
                renumber[p] = static_cast<std::int32_t>(out.labels.size());
                out.labels.push_back(detail::top_criteria_label(p, names, k));
            }
        parallel_for(rows, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) out.code[i] = renumber[static_cast<std::size_t>(out.code[i])];
        });
        return out;
    }

    // Very many criteria: rank every row, then number the distinct ranks in order.
    std::vector<std::uint64_t> ranks(rows);
    parallel_for(
        rows,
        [&](std::size_t begin, std::size_t end) {
            std::vector<std::size_t> idx(k);
            for (std::size_t i = begin; i < end; ++i) ranks[i] = detail::top_criteria_rank(view, i, k, idx.data());
        },
        std::size_t{1} << 15);
    std::vector<std::uint64_t> present(ranks);
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
    for (std::uint64_t p : present) out.labels.push_back(detail::top_criteria_label(p, names, k));
    for (std::size_t i = 0; i < rows; ++i)
        out.code[i] =
            static_cast<std::int32_t>(std::lower_bound(present.begin(), present.end(), ranks[i]) - present.begin());
    return out;
}

}  // namespace tierkit
