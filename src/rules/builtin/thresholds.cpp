// The thresholds rule's policy factory and registration. See tierkit/rules/builtin/thresholds.hpp.
#include "tierkit/rules/builtin/thresholds.hpp"

#include "rules/cut_params.hpp"
#include "tierkit/fit/rule_state.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

std::unique_ptr<Rule> ThresholdRule::from_json(const nlohmann::json& p, const std::string& path, std::size_t tiers) {
    using json_checks::fail;
    json_checks::only_keys(p, path, {"kind", "score", "column", "cuts", "tier_names"});
    if (!p.contains("cuts")) fail(path + ".cuts", "required: descending cut points, one fewer than the tiers");
    auto cuts = cut_params::numbers(p.at("cuts"), path + ".cuts");
    cut_params::expect_count(cuts, tiers - 1, path + ".cuts", "cut points", tiers);
    for (std::size_t k = 1; k < cuts.size(); ++k)
        if (!(cuts[k] < cuts[k - 1]))
            fail(path + ".cuts[" + std::to_string(k) + "]",
                 "must be < the previous cut " + format_number(cuts[k - 1]) + ", got " + format_number(cuts[k]));
    return std::make_unique<ThresholdRule>(cut_params::source(p, path), std::move(cuts));
}

std::unique_ptr<RuleState> ThresholdRule::make_state(const FitOptions& /*options*/) const {
    return std::make_unique<FixedRuleState>();
}

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::ThresholdRule, "thresholds")
