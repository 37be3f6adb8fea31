// The top-criteria kernel: order, ties, renumbering, labels, the many-criteria path.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "tierkit/core/parallel.hpp"
#include "tierkit/scoring/top_criteria.hpp"

using namespace tierkit;

namespace {

std::vector<std::span<const double>> spans(const std::vector<std::vector<double>>& cols) {
    return {cols.begin(), cols.end()};
}

/// The reference: a stable descending sort of each row's indices, the first k kept,
/// then the distinct combinations numbered in lexicographic order.
std::pair<std::vector<std::int32_t>, std::vector<std::string>> reference(const std::vector<std::vector<double>>& cols,
                                                                         const std::vector<std::string>& names,
                                                                         std::size_t top) {
    const std::size_t c = cols.size(), n = cols[0].size(), k = std::min(top, c);
    std::vector<std::vector<std::size_t>> rows(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<std::size_t> idx(c);
        std::iota(idx.begin(), idx.end(), 0);
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return cols[a][i] > cols[b][i]; });
        rows[i].assign(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k));
    }
    std::vector<std::vector<std::size_t>> distinct(rows);
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<std::int32_t> code(n);
    for (std::size_t i = 0; i < n; ++i)
        code[i] =
            static_cast<std::int32_t>(std::lower_bound(distinct.begin(), distinct.end(), rows[i]) - distinct.begin());
    std::vector<std::string> labels;
    for (const auto& d : distinct) {
        std::string s;
        for (std::size_t j : d) s += (s.empty() ? "" : ", ") + names[j];
        labels.push_back(s);
    }
    return {code, labels};
}

}  // namespace

TEST(TopCriteria, HandComputedRowsAndTies) {
    // Row 0: b > c > a; row 1: all equal (criterion order); row 2: a = c > b;
    // row 3: b = c > a (b first, the earlier criterion); row 4: like row 0.
    const std::vector<std::vector<double>> cols = {{1, 5, 9, 0, 1}, {7, 5, 2, 4, 7}, {3, 5, 9, 4, 3}};
    const std::vector<std::string> names = {"a", "b", "c"};
    const TopCriteria top = top_criteria(spans(cols), names, 5, 2);
    // Present combinations in lexicographic order: (0,1) "a, b", (0,2) "a, c", (1,2) "b, c".
    EXPECT_EQ(top.labels, (std::vector<std::string>{"a, b", "a, c", "b, c"}));
    EXPECT_EQ(std::vector<std::int32_t>(top.code.begin(), top.code.end()), (std::vector<std::int32_t>{2, 0, 1, 2, 2}));
}

TEST(TopCriteria, FewerCriteriaThanTop) {
    const std::vector<std::vector<double>> cols = {{1, 2}, {2, 1}};
    const TopCriteria top = top_criteria(spans(cols), {"x", "y"}, 2, 3);
    EXPECT_EQ(top.labels, (std::vector<std::string>{"x, y", "y, x"}));
    EXPECT_EQ(std::vector<std::int32_t>(top.code.begin(), top.code.end()), (std::vector<std::int32_t>{1, 0}));
}

TEST(TopCriteria, MatchesStableSortOnRandomRowsWithTiesAtAnyThreadCount) {
    // 2..8 criteria: the kernels without branches; 9: the general one; 300: the path
    // without a combination table.
    for (const std::size_t c : {2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 300u}) {
        std::mt19937_64 rng(c);
        std::uniform_int_distribution<int> value(0, 5);  // few values: many ties
        const std::size_t n = c > 100 ? 3'000 : 70'000;
        std::vector<std::vector<double>> cols(c, std::vector<double>(n));
        std::vector<std::string> names;
        for (std::size_t j = 0; j < c; ++j) {
            names.push_back("c" + std::to_string(j));
            for (auto& v : cols[j]) v = value(rng) * 0.5;
        }
        const auto [code, labels] = reference(cols, names, 3);
        for (const unsigned threads : {1u, 2u, 3u}) {
            set_num_threads(threads);
            const TopCriteria top = top_criteria(spans(cols), names, n);
            EXPECT_EQ(top.labels, labels) << c << " criteria, " << threads << " threads";
            EXPECT_TRUE(std::equal(code.begin(), code.end(), top.code.begin(), top.code.end()))
                << c << " criteria, " << threads << " threads";
        }
        set_num_threads(0);
    }
}

TEST(TopCriteria, NamesMustMatchColumns) {
    const std::vector<std::vector<double>> cols = {{1.0}};
    EXPECT_THROW(top_criteria(spans(cols), {"a", "b"}, 1), InvalidInput);
    EXPECT_THROW(top_criteria(spans(cols), {"a"}, 2), InvalidInput);
}

TEST(TopCriteria, FixedKernelsAgreeWithTheGeneralOneAndTakeItForNaN) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<std::vector<double>> cols = {{nan, 1, 2, 2}, {1, nan, 2, 1}, {3, 3, nan, 2}, {2, 0, 1, 2}};
    std::vector<const double*> ptr;
    for (const auto& c : cols) ptr.push_back(c.data());
    const std::span<const double* const> view(ptr);
    std::size_t a[4], b[4];
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t k = 1; k <= 4; ++k)
            EXPECT_EQ(detail::top_criteria_rank_of<4>(view, i, k, a), detail::top_criteria_rank(view, i, k, b))
                << "row " << i << ", k " << k;
    // Row 3 (2, 1, 2, 2): the stable descending order 0, 2, 3, 1; its first three,
    // (0, 2, 3), come after (0, 1, 2), (0, 1, 3) and (0, 2, 1): rank 3 of the 24 triples.
    EXPECT_EQ(detail::top_criteria_rank_of<4>(view, 3, 3, a), 3u);
}
