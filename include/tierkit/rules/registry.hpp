#pragma once
/// @file registry.hpp
/// Rules by name. A policy's `rule` object names a `kind`; the registry finds the
/// factory registered under that name and builds the rule from the object's
/// parameters. Built-in rules and a host's rules register the same way, with
/// TIERKIT_REGISTER_RULE (rules/register.hpp).
///
/// The policy adds two entries to a rule object's parameters before the factory
/// sees it: "tier_names" (the policy's tiers, best first) and, at the top level,
/// "score_names" (the policy's scores, the main one first). make_rule() takes
/// "score_names" out, keeps it for the rules built inside this one (chain,
/// override, group_by, matrix), fills in the main score for a rule whose
/// Rule::defaults_to_main_score() is true and that names neither "score" nor
/// "column", and checks that a named "score" is one of the policy's.
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// Builds a rule from the policy's rule object. `path` is the JSON path of that
/// object (for error messages); `tiers` is the number of tiers the policy names.
/// A factory throws PolicyError naming `path` for invalid parameters.
using RuleFactory =
    std::function<std::unique_ptr<Rule>(const nlohmann::json& params, const std::string& path, std::size_t tiers)>;

/// Register a factory under `kind`; returns true. Registering a taken name replaces it.
/// `prototype` (a default-constructed rule of the kind) gives the capabilities the
/// registry needs before a rule is built (Rule::defaults_to_main_score).
bool register_rule(const std::string& kind, RuleFactory factory, const Rule& prototype);
/// Register a factory whose rules have the default capabilities.
bool register_rule(const std::string& kind, RuleFactory factory);

/// Wrap any rule built from an object holding `key` (e.g. "group_by"): make_rule
/// builds the rule from the object without the keys `wrapper` consumes, then calls
/// `wrapper(params, path, rule)` to wrap it. Returns true.
using RuleWrapper = std::function<std::unique_ptr<Rule>(const nlohmann::json& params, const std::string& path,
                                                        std::unique_ptr<Rule> inner)>;
bool register_rule_wrapper(const std::string& key, std::vector<std::string> consumed, RuleWrapper wrapper);

/// Build a rule; @throws PolicyError for an unknown kind (listing the known ones), an
/// unknown "score" (naming `path`.score) or invalid parameters.
std::unique_ptr<Rule> make_rule(const std::string& kind, const nlohmann::json& params, const std::string& path,
                                std::size_t tiers);

/// Registered kinds, sorted.
std::vector<std::string> rule_kinds();

/// Whether rules of `kind` read the policy's main score when their object names
/// neither "score" nor "column"; false for an unknown kind.
bool rule_defaults_to_main_score(const std::string& kind);

/// The kind of a policy's rule when the policy has no "rule" object; registered by
/// that rule (set_default_rule_kind).
std::string default_rule_kind();
bool set_default_rule_kind(const std::string& kind);

}  // namespace tierkit
