// The chain rule. See tierkit/rules/builtin/chain.hpp.
#include "tierkit/rules/builtin/chain.hpp"

#include <algorithm>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::ChainRule, "chain")
