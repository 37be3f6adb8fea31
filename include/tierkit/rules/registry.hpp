#pragma once
/// @file registry.hpp
/// Rules by name. A policy's `rule` object names a `kind`; the registry finds the
/// factory registered under that name and builds the rule from the object's
/// parameters. Built-in rules register themselves the same way a host's rule does:
///
/// @code
/// static const bool registered = tierkit::register_rule("my_rule",
///     [](const nlohmann::json& params, const std::string& path, std::size_t tiers) {
///         return std::make_unique<MyRule>(params, path, tiers);
///     });
/// @endcode
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// Builds a rule from the policy's rule object. `path` is the JSON path of that
/// object (for error messages); `tiers` is the number of tiers the policy names.
/// A factory throws PolicyError naming `path` for invalid parameters.
using RuleFactory =
    std::function<std::unique_ptr<Rule>(const nlohmann::json& params, const std::string& path, std::size_t tiers)>;

/// Register a factory under `kind`; returns true. Registering a taken name replaces it.
bool register_rule(const std::string& kind, RuleFactory factory);

/// Build a rule; @throws PolicyError for an unknown kind (listing the known ones).
std::unique_ptr<Rule> make_rule(const std::string& kind, const nlohmann::json& params, const std::string& path,
                                std::size_t tiers);

/// Registered kinds, sorted.
std::vector<std::string> rule_kinds();

}  // namespace tierkit
