// One shared const Model, assigned from 8 threads at once: every thread's result
// equals the serial one bit for bit (model.hpp documents assign() as thread-safe).
// Under ThreadSanitizer (make tsan) this also checks that no assign path writes
// shared state.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "tierkit/tierkit.hpp"

using namespace tierkit;

namespace {

const FeatureTable& features() {
    static const FeatureTable t = [] {
        SyntheticOptions o;
        o.customers = 1500;
        o.seed = 9;
        auto d = synthetic(o);
        auto f = summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
        std::vector<std::int32_t> region(f.rows());
        for (std::size_t i = 0; i < region.size(); ++i) region[i] = static_cast<std::int32_t>(f.ids()[i] % 3);
        f.add_category("region", region, {"north", "south", "east"});
        return f;
    }();
    return t;
}

/// Every number and code of an assignment as bytes, for a byte-for-byte comparison.
std::string bytes_of(const Assignment& a) {
    std::string out;
    auto put = [&](const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); };
    put(a.tier.data(), a.tier.size() * sizeof(a.tier[0]));
    put(a.reason.data(), a.reason.size() * sizeof(a.reason[0]));
    for (const auto& s : a.scores) put(s.data(), s.size() * sizeof(double));
    for (const auto& per_score : a.contributions)
        for (const auto& c : per_score) put(c.data(), c.size() * sizeof(double));
    for (const auto& e : a.extras) {
        out += e.first;
        put(e.second.data(), e.second.size() * sizeof(double));
    }
    for (const auto& r : a.reasons) out += r + '\n';
    return out;
}

const char* policies[] = {
    R"j({"criteria": [{"column": "revenue", "transform": "log1p"}, {"column": "frequency"},
                      {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"}],
         "weights": {"method": "entropy"},
         "rule": {"kind": "thresholds", "cuts": [70, 40]}, "tiers": ["a", "b", "c"]})j",
    R"j({"scores": [{"name": "value", "criteria": [{"column": "revenue", "normalizer": "minmax"},
                                                    {"column": "frequency", "normalizer": "percentile"},
                                                    {"column": "aov", "normalizer": "robust"}],
                     "weights": {"method": "critic"}}],
         "rule": {"kind": "kmeans", "score": "value", "k": 4, "seed": 3}, "tiers": ["a", "b", "c", "d"]})j",
    R"j({"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01, "time_unit": "D"},
         "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.7}, {"column": "p_alive", "weight": 0.3}]}],
         "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]}, "tiers": ["key", "growth", "rest"]})j",
    R"j({"criteria": [{"column": "revenue"}, {"column": "frequency"}],
         "rule": {"kind": "override", "base": {"kind": "quantiles", "score": "score", "shares": [0.2], "group_by": "region",
                                               "tiers": ["key", "ordinary"]},
                  "overrides": [{"when": "pct(revenue) > 0.9 and days_since_last > 300", "tier": "watch"}]},
         "tiers": ["key", "ordinary", "watch"]})j",
    R"j({"criteria": ["revenue"], "rule": {"kind": "rfm_segments"},
         "tiers": ["Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising", "Need Attention",
                   "About To Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost"]})j",
};

}  // namespace

TEST(Concurrency, EightThreadsAssignOneSharedModelLikeTheSerialRun) {
    for (const char* text : policies) {
        const Model model = fit(Policy::from_json(text), features());
        const std::string serial = bytes_of(model.assign(features()));
        constexpr int threads = 8;
        std::vector<std::string> got(threads);
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { got[t] = bytes_of(model.assign(features())); });
        for (auto& th : pool) th.join();
        for (int t = 0; t < threads; ++t) EXPECT_TRUE(got[t] == serial) << "thread " << t << ", policy " << text;
    }
}
