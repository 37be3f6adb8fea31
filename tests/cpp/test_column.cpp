// Column<T>: default-initialized output columns, the block cache behind them, and
// assign results that do not depend on what a reused block held before.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tierkit/core/column.hpp"
#include "tierkit/model.hpp"

using namespace tierkit;

namespace {

/// Restores the cache limit a test changed.
struct CacheLimit {
    std::size_t old = buffer_cache_limit();
    explicit CacheLimit(std::size_t bytes) {
        set_buffer_cache_limit(0);  // start empty
        set_buffer_cache_limit(bytes);
    }
    ~CacheLimit() { set_buffer_cache_limit(old); }
};

constexpr std::size_t big = 300'000;  // 2.4 MB of doubles: cached (>= 1 MiB)

}  // namespace

// Each test is its own process (gtest_discover_tests), so this sees the start-up limit.
TEST(Column, BlockCacheIsOffInCppUntilTheHostTurnsItOn) {
    if (std::getenv("TIERKIT_BUFFER_CACHE_MB")) GTEST_SKIP() << "TIERKIT_BUFFER_CACHE_MB sets the limit";
    EXPECT_EQ(buffer_cache_limit(), 0u);
    { const Column<double> c(big); }
    EXPECT_EQ(buffer_cache_held(), 0u);  // freed at once
    const CacheLimit restore(0);
    enable_buffer_cache(64u << 20);  // what the Python module does at import (with 1 GiB)
    EXPECT_EQ(buffer_cache_limit(), detail::BlockCache::sanitized ? 0u : std::size_t{64} << 20);
}

TEST(Column, FilledCopiedAndComparedWithVector) {
    const auto c = filled_column<std::int32_t>(big, 7);
    ASSERT_EQ(c.size(), big);
    EXPECT_EQ(c.front(), 7);
    EXPECT_EQ(c.back(), 7);
    std::vector<std::int64_t> v(big);
    for (std::size_t i = 0; i < big; ++i) v[i] = static_cast<std::int64_t>(i * i);
    const auto copy = column_copy<std::int64_t>(v);
    EXPECT_TRUE(copy == v);
    v[big / 2] = -1;
    EXPECT_FALSE(copy == v);
    EXPECT_FALSE(copy == std::vector<std::int64_t>(v.begin(), v.end() - 1));  // length differs
    const Column<int> small(3, 4);                                            // a value given: set
    EXPECT_EQ(small, (std::vector<int>{4, 4, 4}));
}

TEST(Column, FreedBlockIsReusedForASimilarSize) {
    CacheLimit on(64u << 20);
    const double* first = nullptr;
    {
        Column<double> a(big);
        first = a.data();
    }
    EXPECT_GE(buffer_cache_held(), big * sizeof(double));
    Column<double> b(big - big / 10);  // 10% smaller: the same block
    EXPECT_EQ(b.data(), first);
    Column<double> c(big);  // the cache is empty again: a new block
    EXPECT_NE(c.data(), first);
    Column<double> d(big / 2);
    (void)d;
}

TEST(Column, LimitBoundsWhatIsKept) {
    CacheLimit on(3u << 20);  // room for one 2.4 MB block
    { Column<double> a(big), b(big); }
    EXPECT_LE(buffer_cache_held(), std::size_t{3} << 20);
    EXPECT_GT(buffer_cache_held(), std::size_t{0});
    set_buffer_cache_limit(0);
    EXPECT_EQ(buffer_cache_held(), 0u);
    { Column<double> a(big); }
    EXPECT_EQ(buffer_cache_held(), 0u);  // off: freed at once
    // Blocks under 1 MiB never enter the cache.
    set_buffer_cache_limit(64u << 20);
    { Column<double> a(1000); }
    EXPECT_EQ(buffer_cache_held(), 0u);
}

TEST(Column, AssignDoesNotDependOnWhatAReusedBlockHeld) {
    // Every row of a reused block is written: results with the cache equal those
    // without it, after the cache was filled with another model's contributions.
    std::vector<std::int64_t> ids(big);
    std::vector<double> x(big), y(big);
    for (std::size_t i = 0; i < big; ++i) {
        ids[i] = static_cast<std::int64_t>(i);
        x[i] = static_cast<double>((i * 7919) % 1000);
        y[i] = static_cast<double>((i * 104729) % 997);
    }
    FeatureTable t(std::move(ids));
    t.add_column("x", std::move(x));
    t.add_column("y", std::move(y));
    const Model m = fit(Policy::from_json(R"({"criteria": ["x", {"column": "y", "normalizer": "percentile"}],
        "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})"),
                        t);
    const Model other = fit(Policy::from_json(R"({"criteria": [{"column": "y", "direction": "lower"}],
        "rule": {"kind": "thresholds", "cuts": [70, 20]}, "tiers": ["a", "b", "c"]})"),
                            t);
    Assignment cold;
    {
        CacheLimit off(0);
        cold = m.assign(t);
    }
    CacheLimit on(256u << 20);
    { const auto dirty = other.assign(t); }  // leaves its blocks in the cache
    ASSERT_GT(buffer_cache_held(), 0u);
    const auto warm = m.assign(t);
    EXPECT_EQ(warm.ids, cold.ids);
    EXPECT_EQ(warm.scores, cold.scores);
    EXPECT_EQ(warm.contributions, cold.contributions);
    EXPECT_EQ(warm.tier, cold.tier);
    EXPECT_EQ(warm.reason, cold.reason);
    EXPECT_EQ(warm.below_count, cold.below_count);
}
