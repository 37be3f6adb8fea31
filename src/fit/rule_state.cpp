// The default rule state: none, so the rule is fitted on every row (the exact mode's
// gathering fit). See include/tierkit/fit/rule_state.hpp.
#include "tierkit/fit/rule_state.hpp"

namespace tierkit {

std::unique_ptr<RuleState> Rule::make_state(const FitOptions& /*options*/) const { return nullptr; }

}  // namespace tierkit
