#pragma once
/// @file spec.hpp
/// The policy's `lifecycle` and `strategies` sections: lifecycle stage thresholds,
/// re-tiering hysteresis and the tier x stage -> next action table.
///
/// JSON (every key optional; the defaults are shown):
/// @code{.json}
/// "lifecycle": {
///   "new_days": 90,            // repeat: bought again, first purchase at most this many days before as_of
///   "active_days": 90,         // active: bought within this many days (mature, loyal and growing need it)
///   "growing_trend": 1.2,      // growing: trend >= this (recent / earlier window revenue)
///   "declining_trend": 0.8,    // declining: trend <= this
///   "loyal_purchases": 5,      // loyal: at least this many purchase periods ...
///   "loyal_days": 365,         // ... over at least this many days since the first purchase
///   "at_risk_days": 180,       // at risk: days_since_last > this
///   "at_risk_p_alive": 0.5,    // at risk: p_alive < this (only with a p_alive column)
///   "lost_days": 365,          // lost: days_since_last > this
///   "lost_p_alive": 0.2,       // lost: p_alive < this (only with a p_alive column)
///   "hysteresis": {"up_margin": 0, "down_margin": 0, "k": 1, "max_demotion": 1}
/// },
/// "strategies": [
///   {"tier": "key", "stage": ["at_risk", "declining"], "action": "executive retention call"},
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
///
/// `declining_p_alive`, the name `at_risk_p_alive` had before the stages at_risk and
/// declining were told apart, is read as `at_risk_p_alive` (model files of tierkit 0.1
/// store it); giving both is a PolicyError.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tierkit::lifecycle {

/// Lifecycle stage (客户生命周期), read from activity the way a manager reads it:
/// the relationship ladder prospect -> first_time -> repeat -> loyal, the value
/// trajectory of an active customer (growing, mature, declining), then at_risk (gone
/// quiet), lost and won_back. Codes index stage_names (the Python `stage` categories).
enum class Stage : std::int8_t {
    prospect = 0,
    first_time,
    repeat,
    loyal,
    growing,
    mature,
    at_risk,
    declining,
    lost,
    won_back
};

inline constexpr std::size_t stage_count = 10;
/// The stage names, in code order.
inline constexpr std::array<const char*, stage_count> stage_names{
    "prospect", "first_time", "repeat", "loyal", "growing", "mature", "at_risk", "declining", "lost", "won_back"};

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
    double active_days = 90;
    double growing_trend = 1.2;
    double declining_trend = 0.8;
    double loyal_purchases = 5;
    double loyal_days = 365;
    double at_risk_days = 180;
    double at_risk_p_alive = 0.5;
    double lost_days = 365;
    double lost_p_alive = 0.2;
    HysteresisSpec hysteresis;
    /// The policy's own entries (tried before default_strategies()).
    std::vector<StrategyEntry> strategies;
};

/// The built-in next-action table (DOMAIN.md: tier x lifecycle -> next action),
/// keyed on relationship modes so it fits any tier names. The last entry matches
/// every customer.
const std::vector<StrategyEntry>& default_strategies();

}  // namespace tierkit::lifecycle
