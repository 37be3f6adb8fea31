// The abc rule's policy factory and registration. See tierkit/rules/builtin/abc.hpp.
#include "tierkit/rules/builtin/abc.hpp"

#include "rules/cut_params.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

std::unique_ptr<Rule> AbcRule::from_json(const nlohmann::json& p, const std::string& path, std::size_t tiers) {
    using json_checks::fail;
    json_checks::only_keys(p, path, {"kind", "score", "column", "cuts", "tier_names"});
    std::vector<double> cuts =
        p.contains("cuts") ? cut_params::numbers(p.at("cuts"), path + ".cuts") : std::vector<double>{0.8, 0.95};
    cut_params::expect_count(cuts, tiers - 1, path + ".cuts", "cumulative shares", tiers);
    for (std::size_t k = 0; k < cuts.size(); ++k) {
        const std::string cp = path + ".cuts[" + std::to_string(k) + "]";
        if (!(cuts[k] > 0 && cuts[k] < 1)) fail(cp, "must be in (0, 1), got " + format_number(cuts[k]));
        if (k && !(cuts[k] > cuts[k - 1])) fail(cp, "must be > the previous cut " + format_number(cuts[k - 1]));
    }
    // Without a score or column, abc reads the revenue column (a Pareto cut of value).
    std::string source = p.contains("column") || p.contains("score") ? cut_params::source(p, path) : "revenue";
    return std::make_unique<AbcRule>(std::move(source), std::move(cuts));
}

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::AbcRule, "abc")
