#pragma once
/// @file model.hpp
/// fit(policy, table) -> Model; model.assign(table) -> Assignment; tier summary.
///
/// Thread safety: a Model is immutable after fit; assign() is const and may run
/// from many threads at once on the same Model.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tierkit/assignment.hpp"
#include "tierkit/clv/engine.hpp"
#include "tierkit/core/column.hpp"
#include "tierkit/core/progress.hpp"
#include "tierkit/core/table.hpp"
#include "tierkit/lifecycle/lifecycle.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/rules/rule.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/score.hpp"
#include "tierkit/tier_sizes.hpp"

namespace tierkit {

class Model {
public:
    /// @param fit_report what fit() found on its rows (tier_sizes.hpp); empty for a loaded model.
    Model(Policy policy, std::vector<FittedScore> scores, std::shared_ptr<const Rule> rule,
          std::optional<clv::FittedClv> clv = std::nullopt, FitReport fit_report = {})
        : policy_(std::move(policy)),
          scores_(std::move(scores)),
          rule_(std::move(rule)),
          clv_(std::move(clv)),
          fit_report_(std::move(fit_report)) {}

    /// Score and tier every row of `table`: the composite scores (and, with
    /// options.with_contributions, each criterion's share), then the rule. With a clv
    /// section, the clv columns are computed first from the fitted CLV parameters (see
    /// clv/engine.hpp). With options.previous, re-tier against the previous evaluation
    /// (lifecycle/lifecycle.hpp): the plain rule, then hysteresis per the policy's
    /// lifecycle.hysteresis, then the stages (won_back needs the previous stage). Then
    /// the manual overrides (options.overrides) that have not expired on options.as_of:
    /// the pinned tier and its reason replace the rule's. See AssignOptions
    /// (assignment.hpp) for every option, threads and the output-column cache.
    /// @throws UnknownColumn when a criterion's column is missing (listing the
    ///   available ones); InvalidInput naming column and row for NaN/inf values, for an
    ///   override naming a tier outside the policy's or a customer pinned twice, and
    ///   (from lifecycle::match_previous) for a previous assignment with duplicate ids,
    ///   tier indices outside the policy's or negative counters.
    Assignment assign(const FeatureTable& table, const AssignOptions& options = {}) const;

    /// Every feature column assign() reads, in order: the clv section's inputs, the
    /// criteria columns (less the clv columns assign computes), the columns the rule
    /// reads (Rule::inputs(), less score names; a group_by column is categorical:
    /// FeatureTable::add_category), then the lifecycle stage columns when the policy
    /// requires stages (Policy::requires_stages). A table with these columns can be
    /// assigned; a Scorer built with them as its columns takes every rule's path.
    /// Stages are also computed, and p_alive read, when a table has all those columns.
    std::vector<std::string> input_columns() const;
    /// Whether the rule reads columns it cannot name ahead (Rule::reads_every_column,
    /// e.g. a host callable nested anywhere in it): assign then needs every column.
    bool reads_every_column() const { return rule_->reads_every_column(); }

    const Policy& policy() const noexcept { return policy_; }
    const std::vector<FittedScore>& scores() const noexcept { return scores_; }
    const Rule& rule() const noexcept { return *rule_; }
    const std::shared_ptr<const Rule>& rule_ptr() const noexcept { return rule_; }
    /// The CLV models fitted for the policy's clv section (empty without one).
    const std::optional<clv::FittedClv>& clv() const noexcept { return clv_; }
    /// What fit() found on the fitted rows (tier sizes, warnings). Not saved with the
    /// model: a loaded model's report is empty.
    const FitReport& fit_report() const noexcept { return fit_report_; }

private:
    Assignment assign_impl(const FeatureTable& table, bool with_contributions,
                           const lifecycle::PreviousAssignment* previous) const;
    void apply_overrides(Assignment& a, const FeatureTable& table, std::span<const ManualOverride> overrides,
                         std::int64_t as_of) const;
    void set_next_actions(Assignment& a) const;

    Policy policy_;
    std::vector<FittedScore> scores_;
    std::shared_ptr<const Rule> rule_;
    std::optional<clv::FittedClv> clv_;
    FitReport fit_report_;
};

/// Learn normalizer statistics, data-driven weights and the rule's cut points; with a
/// clv section, first fit the CLV models and add their columns for criteria and rule.
/// @param progress if given, gets the iterations of the long parts (the CLV
///   optimizers, the kmeans rule's Lloyd iterations), from this thread; see
///   progress.hpp. The model does not depend on it.
/// @throws UnknownColumn, InvalidInput (NaN/inf, empty table), NumericError (AHP
///   consistency ratio above max_cr), PolicyError (rule tiers differ from the policy's,
///   or a tier gets no customer of the table and the policy's empty_tiers is "error");
///   whatever `progress` throws (the fit stops there).
Model fit(const Policy& policy, const FeatureTable& table, const Progress* progress = nullptr);

/// The tier sizes of the fitted rows under `rule` (fitted), judged per the policy's
/// empty_tiers, and the warnings for the user (tier_sizes.hpp).
/// @throws PolicyError for an empty tier when empty_tiers is "error"; as Rule::assign.
FitReport fit_report(const Policy& policy, const Rule& rule, const RuleInput& input);

/// The Pareto view per tier.
struct TierSummary {
    std::vector<std::string> tier;
    std::vector<std::int64_t> customers;
    std::vector<double> customer_share;
    std::vector<double> revenue;
    std::vector<double> revenue_share;
    std::vector<double> mean_score;  ///< of the default (first) score
};

/// Per tier: customers, share of customers, revenue, share of revenue, mean score.
/// @param revenue one value per assignment row (e.g. the features' revenue column).
/// @throws InvalidInput when the length differs from the assignment's.
TierSummary summarize_tiers(const Assignment& assignment, std::span<const double> revenue);

}  // namespace tierkit
