// Tier sizes and the empty / starved tiers. See include/tierkit/tier_sizes.hpp.
#include "tierkit/tier_sizes.hpp"

#include <cmath>
#include <limits>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

const char* to_string(EmptyTiers e) noexcept {
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

TierSizes count_tiers(std::span<const std::int32_t> tier, const std::vector<std::string>& tier_names,
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

std::vector<std::string> TierSizes::messages() const {
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
