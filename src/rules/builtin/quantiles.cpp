// The quantiles rule's policy factory and registration. See tierkit/rules/builtin/quantiles.hpp.
#include "tierkit/rules/builtin/quantiles.hpp"

#include "rules/cut_params.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

std::unique_ptr<Rule> QuantileRule::from_json(const nlohmann::json& p, const std::string& path, std::size_t tiers) {
    using json_checks::fail;
    json_checks::only_keys(p, path, {"kind", "score", "column", "shares", "tier_names"});
    if (!p.contains("shares")) fail(path + ".shares", "required: the share of customers in each tier, best first");
    auto shares = cut_params::numbers(p.at("shares"), path + ".shares");
    if (shares.size() == tiers && tiers > 0) {
        double total = 0;
        for (double s : shares) total += s;
        if (std::fabs(total - 1.0) > 1e-9)
            fail(path + ".shares", "shares for every tier must sum to 1, got " + format_number(total));
        shares.pop_back();
    }
    cut_params::expect_count(shares, tiers - 1, path + ".shares", "shares (or one per tier summing to 1)", tiers);
    double total = 0;
    for (std::size_t k = 0; k < shares.size(); ++k) {
        if (!(shares[k] > 0 && shares[k] <= 1))
            fail(path + ".shares[" + std::to_string(k) + "]", "must be in (0, 1], got " + format_number(shares[k]));
        total += shares[k];
    }
    if (total > 1 + 1e-9) fail(path + ".shares", "must sum to at most 1, got " + format_number(total));
    return std::make_unique<QuantileRule>(cut_params::source(p, path), std::move(shares));
}

}  // namespace tierkit

// A policy without a rule object tiers by quotas of its main score.
namespace {
[[maybe_unused]] const bool quantiles_is_default = tierkit::set_default_rule_kind("quantiles");
}

TIERKIT_REGISTER_RULE(tierkit::QuantileRule, "quantiles")
