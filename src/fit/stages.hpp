#pragma once
// The Fitter's passes as its bytes number them (private to src/fit/).
#include <cstdint>
#include <string>

#include "tierkit/fit/rule_state.hpp"
#include "tierkit/fit/sketch.hpp"

namespace tierkit::fit_passes {

/// The Fitter's own passes, then the rule state's (rule_first + its pass number),
/// then finished.
enum Stage : std::uint32_t {
    gather,
    clv_pass,
    clip,
    clip_count,
    clip_values,
    criteria,
    criteria_count,
    criteria_values,
    weights_pass,
    rule_first,
    finished = rule_first + max_rule_passes
};

/// A stage's name; a rule state's passes are named by the state (Fitter::stage()).
inline std::string stage_name(std::uint32_t s) {
    static const char* names[] = {"gather",      "clv",      "clip",           "clip_count",
                                  "clip_values", "criteria", "criteria_count", "criteria_values",
                                  "weights"};
    if (s < rule_first) return names[s];
    if (s < finished) return "rule pass " + std::to_string(s - rule_first);
    return s == finished ? "done" : "unknown";
}

inline const char* mode_name(FitMode m) {
    return m == FitMode::exact ? "exact" : m == FitMode::sketch ? "sketch" : "refine";
}

}  // namespace tierkit::fit_passes
