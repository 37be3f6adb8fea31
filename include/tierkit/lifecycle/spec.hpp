#pragma once
/// @file spec.hpp
/// The policy's `lifecycle` and `strategies` sections: lifecycle stage thresholds,
/// re-tiering hysteresis and the tier x stage -> next action table.
///
/// JSON (every key optional; the defaults are shown):
/// @code{.json}
/// "lifecycle": {
///   "new_days": 90,            // new: first purchase at most this many days before as_of
///   "growing_trend": 1.2,      // growing: trend >= this (recent / earlier window revenue)
///   "declining_trend": 0.8,    // declining: trend <= this
///   "declining_p_alive": 0.5,  // declining: p_alive < this (only with a p_alive column)
///   "lost_p_alive": 0.2,       // lost: p_alive < this (with a p_alive column)
///   "lost_days": 365,          // lost: days_since_last > this (without a p_alive column)
///   "hysteresis": {"up_margin": 0, "down_margin": 0, "k": 1, "max_demotion": 1}
/// },
/// "strategies": [
///   {"tier": "key", "stage": "declining", "action": "executive retention call"},
///   {"mode": ["cooperative", "emotional"], "stage": "growing", "action": "upsell review"},
///   {"stage": "lost", "action": "win-back campaign"}
/// ]
/// @endcode
/// A strategies entry matches a customer when each of its `tier` (tier names),
/// `mode` (relationship modes) and `stage` (stage names) keys, given as a string or
/// a list of strings, contains the customer's value; a missing key matches
/// everything. The policy's entries are tried first, in order, then the built-in
/// table (default_strategies), whose last entry matches every customer, so every
/// customer gets exactly one next action.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tierkit::lifecycle {

/// Lifecycle stage (客户生命周期). Codes are stable: they index stage_names.
enum class Stage : std::int8_t { potential = 0, new_customer, growing, mature, declining, lost, won_back };

inline constexpr std::size_t stage_count = 7;
/// The stage names, in code order (the Python `stage` categories).
inline constexpr std::array<const char*, stage_count> stage_names{"potential", "new",      "growing", "mature",
                                                                  "declining", "lost", "won_back"};

/// Re-tiering with a previous assignment (see lifecycle.hpp, retier()).
struct HysteresisSpec {
    double up_margin = 0.0;    ///< promotion: the score must clear the better tier's cut by this much
    double down_margin = 0.0;  ///< demotion: the score must fall below the held tier's cut by this much
    int k = 1;                 ///< ... for this many consecutive evaluations
    int max_demotion = 1;      ///< at most this many tiers down per evaluation (soft landing)
};

/// One row of the next-action table; an empty list matches every value.
struct StrategyEntry {
    std::vector<std::string> tiers;
    std::vector<std::string> modes;
    std::vector<std::string> stages;
    std::string action;
};

struct LifecycleSpec {
    double new_days = 90;
    double growing_trend = 1.2;
    double declining_trend = 0.8;
    double declining_p_alive = 0.5;
    double lost_p_alive = 0.2;
    double lost_days = 365;
    HysteresisSpec hysteresis;
    /// The policy's own entries (tried before default_strategies()).
    std::vector<StrategyEntry> strategies;
};

/// The built-in next-action table (DOMAIN.md: tier x lifecycle -> next action),
/// keyed on relationship modes so it fits any tier names. The last entry matches
/// every customer.
const std::vector<StrategyEntry>& default_strategies();

}  // namespace tierkit::lifecycle
