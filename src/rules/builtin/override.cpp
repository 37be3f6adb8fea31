// The risk-control override rule's registration (its policy object is parsed in
// override_json.cpp). See include/tierkit/rules/builtin/override.hpp.
#include "tierkit/rules/builtin/override.hpp"

#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

TIERKIT_REGISTER_RULE(tierkit::OverrideRule, "override", tierkit::make_override_rule)
