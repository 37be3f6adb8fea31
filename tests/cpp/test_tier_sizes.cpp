// Tier sizes at fit: empty and starved tiers, the policy's empty_tiers, and the
// rules' own warnings (segments hidden by earlier ones).
#include <gtest/gtest.h>

#include <cmath>

#include "tierkit/core/error.hpp"
#include "tierkit/model.hpp"
#include "tierkit/rules/builtin/rfm_segments.hpp"
#include "tierkit/tier_sizes.hpp"

using namespace tierkit;

namespace {

// Eight customers tied at 1 order, then 2 and 5.
FeatureTable tied_orders() {
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    t.add_column("orders", {1, 1, 1, 1, 1, 1, 1, 1, 2, 5});
    return t;
}

std::string quotas(const std::string& extra) {
    return R"({"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.05, 0.15, 0.5]},
               "tiers": ["key", "high-value", "ordinary", "potential"])" +
           extra + "}";
}

}  // namespace

TEST(TierSizes, CountsEmptyAndStarvedByHand) {
    const std::vector<std::int32_t> tier{0, 0, 0, 0, 0, 0, 0, 1, 1, 1};
    const auto s = count_tiers(tier, {"top", "mid", "low"}, {0.2, 0.6, 0.2});
    EXPECT_EQ(s.customers, (std::vector<std::int64_t>{7, 3, 0}));
    EXPECT_EQ(s.total, 10);
    EXPECT_EQ(s.empty, (std::vector<std::size_t>{2}));
    EXPECT_EQ(s.starved, (std::vector<std::size_t>{}));  // mid: 3 of its 6 is exactly half, not under
    const auto m = s.messages();
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0],
              "tier 'low' has no customer of the 10 customers (its quota is 20%; customers tied at a cut go "
              "to the better tier)");
    const auto t = count_tiers(tier, {"top", "mid", "low"}, {0.1, 0.7, 0.2});
    EXPECT_EQ(t.starved, (std::vector<std::size_t>{1}));  // 3 < 0.5 * 0.7 * 10
    EXPECT_EQ(t.messages()[1], "tier 'mid' holds 3 of the 10 customers (30%), under half its quota of 70%");
    const auto plain = count_tiers(tier, {"top", "mid", "low"});
    EXPECT_TRUE(std::isnan(plain.target_share[0]));
    EXPECT_EQ(plain.messages(), (std::vector<std::string>{"tier 'low' has no customer of the 10 customers"}));
    EXPECT_THROW(count_tiers(std::vector<std::int32_t>{0, 3}, {"a", "b"}), InvalidInput);
    EXPECT_THROW(count_tiers(tier, {"a", "b"}, {1.0}), InvalidInput);
}

TEST(TierSizes, FitReportsTheTierTiesEmptied) {
    const auto t = tied_orders();
    const Model m = fit(Policy::from_json(quotas("")), t);
    const auto& r = m.fit_report();
    EXPECT_EQ(r.tiers.customers, (std::vector<std::int64_t>{1, 1, 8, 0}));
    EXPECT_EQ(r.tiers.empty, (std::vector<std::size_t>{3}));
    ASSERT_EQ(r.tiers.target_share.size(), 4u);
    EXPECT_NEAR(r.tiers.target_share[3], 0.3, 1e-12);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].rfind("tier 'potential' has no customer of the 10 customers", 0), 0u);
}

TEST(TierSizes, EmptyTiersPolicyOption) {
    const auto t = tied_orders();
    EXPECT_EQ(Policy::from_json(quotas("")).empty_tiers(), EmptyTiers::warn);
    try {
        fit(Policy::from_json(quotas(R"(, "empty_tiers": "error")")), t);
        FAIL() << "expected a PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("empty_tiers: tier 'potential' has no customer", 0), 0u) << e.what();
    }
    const Model allowed = fit(Policy::from_json(quotas(R"(, "empty_tiers": "allow")")), t);
    EXPECT_TRUE(allowed.fit_report().warnings.empty());
    EXPECT_EQ(allowed.fit_report().tiers.empty, (std::vector<std::size_t>{3}));
    try {
        Policy::from_json(quotas(R"(, "empty_tiers": "never")"));
        FAIL() << "expected a PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_STREQ(e.what(), "empty_tiers: must be one of error, warn, allow, got 'never'");
    }
    EXPECT_NE(Policy::from_json(quotas(R"(, "empty_tiers": "allow")")).to_json().find(R"("empty_tiers": "allow")"),
              std::string::npos);
}

TEST(TierSizes, HiddenSegmentIsARuleWarning) {
    const auto p = Policy::from_json(R"({"criteria": ["revenue"], "tiers": ["recent", "champions", "others"],
      "rule": {"kind": "rfm_segments", "segments": [{"name": "recent", "r": [4, 5]},
               {"name": "champions", "r": [5, 5], "f": [5, 5], "m": [5, 5]}], "fallback": "others"}})");
    const auto w = p.make_rule()->warnings();
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0],
              "rfm_segments: segment 'champions' (rule 1: R 5, F 5, M 5) loses every cell it matches to "
              "earlier rules, so it gets no customer");
    EXPECT_TRUE(Policy::default_policy().make_rule()->warnings().empty());
}

TEST(TierSizes, ComposedRulesPassOnQuotasAndWarnings) {
    const auto grouped = Policy::from_json(R"({"criteria": ["revenue"], "tiers": ["top", "rest"],
      "rule": {"kind": "quantiles", "shares": [0.2], "group_by": "region"}})");
    const auto shares = grouped.make_rule()->target_shares();
    ASSERT_EQ(shares.size(), 2u);
    EXPECT_DOUBLE_EQ(shares[0], 0.2);
    EXPECT_DOUBLE_EQ(shares[1], 0.8);
    const auto chain = Policy::from_json(R"({"criteria": ["revenue"], "tiers": ["recent", "champions", "others", "low"],
      "rule": {"kind": "chain", "first": {"kind": "quantiles", "score": "score", "shares": [0.5],
                                          "tiers": ["recent", "low"]},
               "then": {"recent": {"kind": "rfm_segments", "tiers": ["recent", "champions", "others"],
                                   "segments": [{"name": "recent", "r": [4, 5]},
                                                {"name": "champions", "r": [5, 5], "f": [5, 5], "m": [5, 5]}],
                                   "fallback": "others"}}}})");
    const auto w = chain.make_rule()->warnings();
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("segment 'champions'"), std::string::npos);
    EXPECT_TRUE(chain.make_rule()->target_shares().empty());  // a chain sets no quota per policy tier
}
