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
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"

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

// ---- inline: a host compiles these into its own code --------------------------------

inline const char* to_string(EmptyTiers e) noexcept {
    switch (e) {
        case EmptyTiers::error:
            return "error";
        case EmptyTiers::warn:
            return "warn";
        case EmptyTiers::allow:
            return "allow";
    }
    return "warn";
}

inline TierSizes count_tiers(std::span<const std::int32_t> tier, const std::vector<std::string>& tier_names,
                             const std::vector<double>& target_shares) {
    const std::size_t t = tier_names.size();
    if (!target_shares.empty() && target_shares.size() != t)
        throw InvalidInput("tier sizes: expected " + std::to_string(t) + " target shares (one per tier), got " +
                           std::to_string(target_shares.size()));
    TierSizes s;
    s.tier = tier_names;
    s.customers.assign(t, 0);
    for (std::size_t i = 0; i < tier.size(); ++i) {
        const std::int32_t k = tier[i];
        if (k < 0 || static_cast<std::size_t>(k) >= t)
            throw InvalidInput("tier sizes: row " + std::to_string(i) + ": tier index " + std::to_string(k) +
                               " outside the " + std::to_string(t) + " tiers");
        ++s.customers[static_cast<std::size_t>(k)];
    }
    s.total = static_cast<std::int64_t>(tier.size());
    s.target_share =
        target_shares.empty() ? std::vector<double>(t, std::numeric_limits<double>::quiet_NaN()) : target_shares;
    for (std::size_t k = 0; k < t; ++k) {
        if (s.customers[k] == 0) {
            s.empty.push_back(k);
            continue;
        }
        const double quota = s.target_share[k];
        if (std::isfinite(quota) && static_cast<double>(s.customers[k]) < 0.5 * quota * static_cast<double>(s.total))
            s.starved.push_back(k);
    }
    return s;
}

inline std::vector<std::string> TierSizes::messages() const {
    std::vector<std::string> out;
    const std::string of = " of the " + std::to_string(total) + " customers";
    for (auto k : empty) {
        std::string m = "tier '" + tier[k] + "' has no customer" + of;
        if (std::isfinite(target_share[k]))
            m += target_share[k] * static_cast<double>(total) < 0.5
                     ? " (its quota of " + format_number(100 * target_share[k]) + "% is less than one customer)"
                     : " (its quota is " + format_number(100 * target_share[k]) +
                           "%; customers tied at a cut go to the better tier)";
        out.push_back(m);
    }
    for (auto k : starved)
        out.push_back("tier '" + tier[k] + "' holds " + std::to_string(customers[k]) + of + " (" +
                      format_number(100.0 * static_cast<double>(customers[k]) / static_cast<double>(total)) +
                      "%), under half its quota of " + format_number(100 * target_share[k]) + "%");
    return out;
}

}  // namespace tierkit
