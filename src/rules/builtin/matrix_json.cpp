// The matrix rule's policy object: its two axes and the grid of tiers.
#include <nlohmann/json.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/builtin/matrix.hpp"
#include "tierkit/rules/builtin/quantiles.hpp"
#include "tierkit/rules/builtin/thresholds.hpp"
#include "tierkit/rules/registry.hpp"

namespace tierkit {

using nlohmann::json;

namespace {

/// An axis: {"score"|"column": name, "cuts": [...] | "shares": [...]} -> a band rule.
std::shared_ptr<Rule> make_axis(const json& p, const std::string& path, std::size_t& bands) {
    if (!p.is_object()) throw PolicyError(path + ": must be an object with score or column, and cuts or shares");
    for (auto it = p.begin(); it != p.end(); ++it)
        if (it.key() != "score" && it.key() != "column" && it.key() != "cuts" && it.key() != "shares")
            throw PolicyError(path + "." + it.key() + ": unknown key; expected one of: score, column, cuts, shares");
    // Without score or column an axis reads the policy's main score (rules/registry.hpp).
    if (p.contains("score") && p.contains("column")) throw PolicyError(path + ": give either score or column");
    const bool cuts = p.contains("cuts"), shares = p.contains("shares");
    if (cuts == shares)
        throw PolicyError(path + ": give either cuts (fixed, descending) or shares (quotas from the top)");
    const json& list = cuts ? p.at("cuts") : p.at("shares");
    if (!list.is_array() || list.empty())
        throw PolicyError(path + (cuts ? ".cuts" : ".shares") + ": must be a non-empty array of numbers");
    bands = list.size() + 1;
    // An axis is a cut-point rule built through the registry, like any nested rule.
    const std::string kind = cuts ? ThresholdRule().kind() : QuantileRule().kind();
    json params = p;
    params["kind"] = kind;
    return std::shared_ptr<Rule>(make_rule(kind, params, path, bands));
}

}  // namespace

std::unique_ptr<Rule> make_matrix_rule(const json& p, const std::string& path, std::size_t tiers) {
    for (auto it = p.begin(); it != p.end(); ++it)
        if (it.key() != "kind" && it.key() != "x" && it.key() != "y" && it.key() != "cells" && it.key() != "tier_names")
            throw PolicyError(path + "." + it.key() + ": unknown key; expected one of: kind, x, y, cells");
    for (const char* axis : {"x", "y", "cells"})
        if (!p.contains(axis)) throw PolicyError(path + "." + axis + ": required");
    const auto tier_names = p.at("tier_names").get<std::vector<std::string>>();
    std::size_t nx = 0, ny = 0;
    auto x = make_axis(p.at("x"), path + ".x", nx);
    auto y = make_axis(p.at("y"), path + ".y", ny);
    const json& cells = p.at("cells");
    if (!cells.is_array() || cells.size() != nx)
        throw PolicyError(path + ".cells: must have one row per x band (" + std::to_string(nx) + "), got " +
                          cells.dump());
    std::vector<std::int32_t> flat;
    for (std::size_t i = 0; i < nx; ++i) {
        const std::string rp = path + ".cells[" + std::to_string(i) + "]";
        if (!cells[i].is_array() || cells[i].size() != ny)
            throw PolicyError(rp + ": must have one entry per y band (" + std::to_string(ny) + ")");
        for (std::size_t j = 0; j < ny; ++j) {
            const json& c = cells[i][j];
            const std::string cp = rp + "[" + std::to_string(j) + "]";
            if (!c.is_string()) throw PolicyError(cp + ": must be a tier name, got " + c.dump());
            auto it = std::find(tier_names.begin(), tier_names.end(), c.get<std::string>());
            if (it == tier_names.end()) {
                std::string list;
                for (const auto& n : tier_names) list += (list.empty() ? "" : ", ") + n;
                throw PolicyError(cp + ": unknown tier '" + c.get<std::string>() + "'; tiers: " + list);
            }
            flat.push_back(static_cast<std::int32_t>(it - tier_names.begin()));
        }
    }
    return std::make_unique<MatrixRule>(std::move(x), std::move(y), std::move(flat), tiers);
}

}  // namespace tierkit
