#pragma once
/// @file lifecycle.hpp
/// Lifecycle stages, re-tiering with hysteresis and next actions.
///
/// Stages, read from activity the way a manager reads them (evaluated in this order;
/// the first that applies wins, with its reason). "purchases" is active_periods when
/// the table has it (purchases on one day are one), else orders; "tenure" is the days
/// since the first purchase (last_purchase + days_since_last - first_purchase).
/// 1. prospect: `orders` is 0 or missing (NaN): a customer known from the attributes
///    (e.g. after an outer join of features and attributes) who has not bought yet;
/// 2. lost: days_since_last > lifecycle.lost_days, or p_alive < lifecycle.lost_p_alive
///    (with a `p_alive` column, in the table or from the policy's clv section);
/// 3. won_back: not lost now, but lost in the previous evaluation (previous stage);
/// 4. at_risk: gone quiet: days_since_last > lifecycle.at_risk_days, or p_alive <
///    lifecycle.at_risk_p_alive. Days count even with p_alive: a BG/NBD P(alive) is 1
///    for every one-time buyer, however long ago the purchase;
/// 5. first_time: one purchase so far (not mature, whatever its trend);
/// 6. repeat: bought again, tenure <= lifecycle.new_days;
/// 7. declining: no purchase within lifecycle.active_days, or trend <=
///    lifecycle.declining_trend;
/// 8. growing: trend >= lifecycle.growing_trend;
/// 9. loyal: purchases >= lifecycle.loyal_purchases and tenure >= lifecycle.loyal_days;
/// 10. mature: everything else: an established customer who bought within active_days
///    with a stable trend.
/// The trend (features::summarize: revenue over the latest trend window / the window
/// before; 1 when both are empty, trend_cap when only the earlier one is) is read only
/// for active customers (steps 7-9), whose latest window holds a purchase as long as
/// active_days <= the summarize trend window (both 90 days by default): an idle
/// customer's 0/0 "trend" of 1 never makes it mature, and a new customer's trend_cap
/// never makes it growing (it is first_time or repeat first).
/// Columns read: orders, days_since_last, first_purchase, last_purchase, trend (as
/// features::summarize makes them), active_periods and p_alive when present.
/// Model::assign computes stages whenever these columns are there, and requires them
/// (UnknownColumn) when the policy sets a stage threshold or strategies
/// (Policy::requires_stages).
///
/// Re-tiering (retier): given the customer's previous tier p and counter c, and the
/// rule's plain tier r,
/// - rules with score cuts (thresholds, quantiles, abc; Rule::score_cuts), value v:
///   promotion to the best tier t < p with v >= cuts[t] + up_margin (t = r when
///   up_margin = 0); demotion only when v < cuts[p] - down_margin: the counter
///   becomes c + 1, and when it reaches k the customer moves down to
///   min(tier_of(v + down_margin), p + max_demotion); otherwise the counter is 0;
/// - rules without score cuts (kmeans, rfm_segments, expression, matrix, grouped
///   rules, ...): margins do not apply; promotion (r < p) is immediate, a demotion
///   (r > p) needs k consecutive evaluations with r > p and moves at most
///   max_demotion tiers, to min(r, p + max_demotion);
/// - the counter returned (below_count) is the number of consecutive evaluations,
///   this one included, in which the customer was below the tier it now holds: it
///   stays > 0 after a demotion cut short by max_demotion (the next evaluation may
///   demote again) and is 0 once the customer has landed;
/// - a customer without a previous tier (new to the book) gets the plain rule's tier.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/table.hpp"
#include "tierkit/lifecycle/spec.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit::lifecycle {

/// The previous evaluation's assignment, what re-tiering needs.
struct PreviousAssignment {
    std::vector<std::int64_t> ids;
    /// Index into the policy's tiers; -1 = not on the book (enters by the plain rule).
    std::vector<std::int32_t> tier;
    /// Consecutive evaluations below the held tier's cut; empty = all 0.
    std::vector<std::int32_t> below_count;
    /// Stage code (Stage), -1 = unknown; empty = all unknown.
    std::vector<std::int8_t> stage;
};

/// For each row of `ids`, the row of `previous` with the same id, or -1.
/// @throws InvalidInput naming the column and row for differing lengths, duplicate
///   ids, a tier outside [-1, tiers), a negative below_count or a stage code outside
///   [-1, 7).
std::vector<std::int64_t> match_previous(std::span<const std::int64_t> ids, const PreviousAssignment& previous,
                                         std::size_t tiers);

/// Apply hysteresis to the rule's plain tiers (see the file comment). `cuts` has an
/// empty source for rules without score cuts; `values` are then unused.
/// Writes the final tier, the reason (new reason texts are appended to `reasons`)
/// and below_count for every row; `match` comes from match_previous.
void retier(const HysteresisSpec& spec, const ScoreCuts& cuts, std::span<const double> values,
            std::span<const std::int64_t> match, const PreviousAssignment& previous,
            const std::vector<std::string>& tier_names, std::span<std::int32_t> tier, std::span<std::int32_t> reason,
            std::vector<std::string>& reasons, std::span<std::int32_t> below_count);

/// Whether `table` has every column stages need.
bool has_stage_columns(const FeatureTable& table);
/// The columns stages need: orders, days_since_last, first_purchase, last_purchase,
/// trend (p_alive is read too when present).
std::vector<std::string> stage_input_columns();

/// Stage codes and reasons per row.
struct Stages {
    std::vector<std::int8_t> stage;
    std::vector<std::int32_t> reason;  ///< index into reasons
    std::vector<std::string> reasons;
};

/// Stages for every row of `table` (see the file comment).
/// @param previous_stage per row: the previous evaluation's stage code, or -1;
///   empty = all unknown.
/// @throws UnknownColumn for a missing column; InvalidInput naming column and row for
///   a non-finite value of a customer with orders > 0.
Stages compute_stages(const LifecycleSpec& spec, const FeatureTable& table,
                      std::span<const std::int8_t> previous_stage);

/// The next action per tier and stage: code[tier * stage_count + stage] indexes actions.
struct ActionTable {
    std::vector<std::int32_t> code;
    std::vector<std::string> actions;
};

/// The policy's strategies, then default_strategies(), resolved for every tier x stage.
ActionTable action_table(const LifecycleSpec& spec, const std::vector<TierSpec>& tiers);

}  // namespace tierkit::lifecycle
