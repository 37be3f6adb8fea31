// fit(policy, table) is the Fitter over one chunk: the model bytes of many policies
// are fixed (recorded from the fit before it ran through the Fitter), the Fitter in
// exact mode over one chunk or many gives the same bytes, and the chunk is read in place.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "chunks.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/io/model_io.hpp"

using namespace tierkit;
using test_data::bytes_of;
using test_data::split;

namespace {

const FeatureTable& features() {
    static const FeatureTable table = [] {
        SyntheticOptions o;
        o.customers = 3000;
        o.seed = 23;
        auto d = synthetic(o);
        FeatureTable t = summarize(Transactions{d.customer, d.day, d.amount, d.margin, d.quantity}).features;
        std::vector<std::int32_t> region(t.rows());
        for (std::size_t i = 0; i < t.rows(); ++i) region[i] = static_cast<std::int32_t>(t.ids()[i] % 3);
        t.add_category("region", region, {"north", "south", "west"});
        return t;
    }();
    return table;
}

/// FNV-1a, 64 bits.
std::uint64_t hash_of(const std::string& s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

struct Case {
    const char* name;
    const char* json;  ///< null: the default policy
    std::uint64_t hash;
};

// The hashes of the binary model bytes fit() gave for these policies before it was
// the Fitter over one chunk (same data, same machine word layout).
const Case cases[] = {
    {"default", nullptr, 0xde2c8989a4e710ffull},
    {"criteria normalizers",
     R"({"criteria": [{"column": "revenue", "transform": "log1p", "normalizer": "percentile"},
                      {"column": "frequency", "normalizer": "minmax"},
                      {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"},
                      {"column": "aov", "clip": [0.05, 0.95], "normalizer": "robust"},
                      {"column": "orders", "normalizer": "bins", "bins": 4}],
         "weights": {"method": "critic"}, "rule": {"kind": "quantiles", "shares": [0.2, 0.5]}, "tiers": ["a", "b", "c"]})",
     0xe9bcbaea8be3a887ull},
    {"entropy weights", R"({"criteria": ["revenue", "frequency", "orders"], "weights": {"method": "entropy"},
         "rule": {"kind": "quantiles", "shares": [0.2, 0.5]}, "tiers": ["a", "b", "c"]})",
     0x8c5b14e4463d9b3ull},
    {"abc", R"({"criteria": ["revenue"], "rule": {"kind": "abc", "column": "revenue", "cuts": [0.8, 0.95]},
         "tiers": ["A", "B", "C"]})",
     0x2e6c786d8f972856ull},
    {"kmeans",
     R"({"criteria": [{"column": "revenue", "normalizer": "percentile"}, {"column": "frequency", "normalizer": "minmax"}],
         "rule": {"kind": "kmeans", "k": 3, "seed": 5}, "tiers": ["a", "b", "c"]})",
     0x62496db3d0b17a24ull},
    {"kmeans auto", R"({"criteria": ["revenue", "frequency", "days_since_last"],
         "rule": {"kind": "kmeans", "k": "auto", "seed": 2}, "tiers": ["a", "b", "c", "d", "e", "f"]})",
     0xdd41a4345f1a66ceull},
    {"rfm_segments", R"({"criteria": ["revenue"], "rule": {"kind": "rfm_segments", "bins": 5, "ties": "average",
         "segments": [{"name": "Best", "r": [4, 5], "f": [4, 5], "m": [4, 5]}, {"name": "Sleeping", "r": [1, 2]}],
         "fallback": "Others"}, "tiers": ["Best", "Sleeping", "Others"]})",
     0x8a9ccc989781eb0aull},
    {"expression", R"({"criteria": ["revenue", "frequency"],
         "rule": {"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "top"},
                  {"when": "score >= 50", "tier": "mid"}, {"else": "rest"}]}, "tiers": ["top", "mid", "rest"]})",
     0x8fb3cf36706fcf21ull},
    {"chain", R"({"criteria": ["revenue", "frequency"], "rule": {"kind": "chain",
         "first": {"kind": "quantiles", "shares": [0.3], "tiers": ["key", "rest"]},
         "then": {"key": {"kind": "quantiles", "column": "orders", "shares": [0.34], "tiers": ["key", "high"]}}},
         "tiers": ["key", "high", "rest"]})",
     0xd3c313561c026267ull},
    {"group_by", R"({"criteria": ["revenue", "orders"],
         "rule": {"kind": "quantiles", "shares": [0.2], "group_by": "region"}, "tiers": ["top", "rest"]})",
     0x2959344ae115fd48ull},
    {"clv",
     R"({"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01, "time_unit": "W"},
         "criteria": ["clv", "p_alive", "revenue"], "rule": {"kind": "quantiles", "shares": [0.1, 0.4]},
         "tiers": ["a", "b", "c"]})",
     // The BG/NBD likelihood sums its rows in fixed tasks of 8 lanes: its fitted
     // parameters moved in the last bits from the row-by-row sum (0x6a79baff1f907af2).
     0x5a5bb1c56033aacdull},
    {"topsis", R"({"method": "topsis", "criteria": [{"column": "revenue", "normalizer": "minmax"},
                     {"column": "orders", "normalizer": "percentile"},
                     {"column": "days_since_last", "direction": "lower", "normalizer": "minmax"}],
         "weights": {"method": "combined", "subjective": {"method": "manual"}, "objective": {"method": "entropy"}},
         "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})",
     0xacbd246f6d479e6full},
    {"min_group", R"({"criteria": [{"column": "revenue", "normalizer": "percentile"}, "frequency"],
         "method": "topsis", "rule": {"kind": "quantiles", "shares": [0.25]}, "tiers": ["a", "b"],
         "privacy": {"min_group": 7}})",
     0x16233e7d690f5ca5ull},
    {"min_group 1", R"({"criteria": ["revenue", {"column": "orders", "normalizer": "robust"}],
         "rule": {"kind": "abc", "score": "score", "cuts": [0.5, 0.9]}, "tiers": ["a", "b", "c"],
         "privacy": {"min_group": 1}})",
     0x891c1fc320475456ull},
};

Policy policy_of(const Case& c) { return c.json ? Policy::from_json(c.json) : Policy::default_policy(); }

}  // namespace

TEST(FitOne, ModelBytesAreFixed) {
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const std::uint64_t h = hash_of(bytes_of(fit(policy_of(c), features())));
        EXPECT_EQ(h, c.hash) << c.name << ": 0x" << std::hex << h;
    }
}

TEST(FitOne, ExactFitterInOneAndFiveChunksGivesTheSameBytes) {
    const auto& t = features();
    const auto chunks = split(t, 5);
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const Policy p = policy_of(c);
        const std::string whole = bytes_of(fit(p, t));
        EXPECT_EQ(bytes_of(fit_chunks(p, std::span<const FeatureTable>(&t, 1))), whole);
        EXPECT_EQ(bytes_of(fit_chunks(p, chunks)), whole);
    }
}
