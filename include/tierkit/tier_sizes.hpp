#pragma once
/// @file tier_sizes.hpp
/// How many customers each tier holds, and which tiers are empty or starved.
///
/// A rule can leave a tier empty without failing: quantile cuts on a heavily tied
/// column (most customers with 1 order) put every tied customer in the higher tier,
/// so a lower tier may get no one; a segment table may hide a segment behind an
/// earlier one. fit() counts the tiers on the fitted rows and reports them
/// (Model::fit_report); the policy's `"empty_tiers"` says what an empty tier is:
/// `"error"` (fit throws PolicyError), `"warn"` (the default: the report carries a
/// warning per empty or starved tier) or `"allow"` (counted, not warned about).
///
/// A tier is *starved* when the rule sets it a quota (Rule::target_shares, e.g. the
/// `quantiles` shares) and it holds less than half of it: a 30% quota that ends with
/// 2% of the customers.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tierkit {

/// What an empty tier at fit means (the policy's `"empty_tiers"`).
enum class EmptyTiers { error, warn, allow };

/// "error", "warn", "allow".
const char* to_string(EmptyTiers e) noexcept;

/// Per tier: customers, the rule's quota, and the empty and starved tiers.
struct TierSizes {
    std::vector<std::string> tier;        ///< tier names, best first
    std::vector<std::int64_t> customers;  ///< per tier
    /// Per tier: the share of the customers the rule aims at (NaN when it sets none).
    std::vector<double> target_share;
    std::vector<std::size_t> empty;    ///< tiers with no customer
    std::vector<std::size_t> starved;  ///< tiers with customers, but under half their quota
    std::int64_t total = 0;

    /// One sentence per empty or starved tier ("tier 'potential' has no customer of
    /// the 500 ..."); empty when there is nothing to report.
    std::vector<std::string> messages() const;
};

/// Count the tier codes and judge each tier against `target_shares` (one per tier, or
/// empty when the rule sets none).
/// @throws InvalidInput for a tier code outside [0, tier_names.size()) naming the row,
///   or target_shares of the wrong length.
TierSizes count_tiers(std::span<const std::int32_t> tier, const std::vector<std::string>& tier_names,
                      const std::vector<double>& target_shares = {});

/// What fit() found about the fitted rows: the tier sizes and the warnings for the
/// user (the rule's own, e.g. segments that win no cell, then the empty or starved
/// tiers unless the policy allows them).
struct FitReport {
    TierSizes tiers;
    std::vector<std::string> warnings;
};

}  // namespace tierkit
