#pragma once
// Test data shared by the C++ tests of the CLV models: synthetic customers summarized
// with daily periods and recency / T in weeks (days / 7), as the CLV models want them.
#include <cstdint>

#include "tierkit/core/table.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"

namespace tierkit::test_data {

inline FeatureTable weekly_synthetic_features(std::int64_t customers, std::uint64_t seed) {
    SyntheticOptions o;
    o.customers = customers;
    o.seed = seed;
    const auto d = synthetic(o);
    SummarizeOptions s;
    s.freq_multiplier = 7;
    return summarize({d.customer, d.day, d.amount, d.margin, {}}, s).features;
}

}  // namespace tierkit::test_data
