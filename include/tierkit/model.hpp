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

#include "tierkit/clv/engine.hpp"
#include "tierkit/column.hpp"
#include "tierkit/lifecycle/lifecycle.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/progress.hpp"
#include "tierkit/rules/rule.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/table.hpp"

namespace tierkit {

/// One composite score with its fitted criteria and weights.
struct FittedScore {
    std::string name;
    ScoreMethod method = ScoreMethod::weighted_sum;
    std::vector<FittedCriterion> criteria;
    std::vector<double> weights;     ///< sum to 1
    std::vector<double> ideal;       ///< topsis: best normalized value per criterion in the fit data
    std::vector<double> anti_ideal;  ///< topsis: worst
    double ahp_lambda_max = std::numeric_limits<double>::quiet_NaN();
    double ahp_consistency_ratio = std::numeric_limits<double>::quiet_NaN();

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("name", name);
        ar& make_nvp("method", method);
        ar& make_nvp("criteria", criteria);
        ar& make_nvp("weights", weights);
        ar& make_nvp("ideal", ideal);
        ar& make_nvp("anti_ideal", anti_ideal);
        ar& make_nvp("ahp_lambda_max", ahp_lambda_max);
        ar& make_nvp("ahp_consistency_ratio", ahp_consistency_ratio);
    }
};

/// A tier pinned by hand (an account manager's decision), applied after the rule
/// until it expires.
struct ManualOverride {
    std::int64_t customer = 0;
    std::int32_t tier = 0;     ///< index into the policy's tiers
    std::string reason;        ///< shown as the customer's reason
    std::int64_t expires = std::numeric_limits<std::int64_t>::max();  ///< last day it applies (day number)
};

/// The result of assign: one row per customer of the table, in the table's order.
/// The per-row columns are Column<T> (column.hpp): std::vectors whose rows assign
/// writes once, in parallel.
struct Assignment {
    Column<std::int64_t> ids;
    std::vector<std::string> score_names;
    std::vector<Column<double>> scores;  ///< per score, 0..100
    /// Per score, per criterion: the criterion's share of the score (sums to the score).
    std::vector<std::vector<Column<double>>> contributions;
    std::vector<std::vector<std::string>> contribution_names;  ///< per score: criterion columns
    Column<std::int32_t> tier;    ///< index into tier_names (0 = best)
    Column<std::int32_t> reason;  ///< index into reasons
    std::vector<std::string> tier_names;
    std::vector<std::string> tier_modes;
    std::vector<std::vector<std::string>> tier_actions;
    std::vector<std::string> reasons;
    std::string rule_kind;
    /// Per rule (not override) reason: index into `reasons`; equals `reason` unless
    /// pinned. This and `pinned` are filled by the assign overloads that take
    /// overrides (even an empty list) and are empty otherwise.
    std::vector<std::int32_t> rule_reason;
    std::vector<std::uint8_t> pinned;              ///< 1 where a manual override applied
    std::vector<std::int64_t> overrides_unmatched; ///< override customers not in the table
    std::int64_t overrides_expired = 0;            ///< overrides ignored because expired
    /// Rule-specific extra columns (RFM scores, cluster distances...), then the policy's
    /// clv columns (p_alive, expected_purchases[, clv]) when it has a clv section.
    std::vector<std::pair<std::string, std::vector<double>>> extras;
    /// Consecutive evaluations below the held tier's cut (lifecycle/lifecycle.hpp,
    /// retier); all 0 without a previous assignment.
    Column<std::int32_t> below_count;
    /// Lifecycle stage per row (lifecycle::Stage code), its reason (index into
    /// stage_reasons) and the next action (index into next_actions). Empty when the
    /// table lacks the stage columns and Policy::requires_stages() is false.
    std::vector<std::int8_t> stage;
    std::vector<std::int32_t> stage_reason;
    std::vector<std::string> stage_reasons;
    std::vector<std::int32_t> next_action;
    std::vector<std::string> next_actions;
    std::int64_t new_to_book = 0;       ///< rows without a previous tier (re-tiering only)
    std::int64_t previous_dropped = 0;  ///< previous rows whose customer is not in the table
    /// Per criterion with a "missing" option other than reject ("score.column"): the
    /// rows whose missing value (or unknown label) was filled (criterion_values.hpp).
    std::vector<std::pair<std::string, std::int64_t>> missing_filled;
};

class Model {
public:
    Model(Policy policy, std::vector<FittedScore> scores, std::shared_ptr<const Rule> rule,
          std::optional<clv::FittedClv> clv = std::nullopt)
        : policy_(std::move(policy)), scores_(std::move(scores)), rule_(std::move(rule)), clv_(std::move(clv)) {}

    /// Score and tier every row of `table`. With a clv section, the clv columns are
    /// computed first from the fitted CLV parameters (see clv/engine.hpp).
    /// @param with_contributions false skips the per-criterion contributions.
    /// @throws UnknownColumn when a criterion's column is missing (listing the
    ///   available ones); InvalidInput naming column and row for NaN/inf values.
    Assignment assign(const FeatureTable& table, bool with_contributions = true) const;

    /// assign, then apply manual overrides that have not expired on `as_of` (a day
    /// number): the pinned tier and its reason replace the rule's.
    /// @throws InvalidInput for an override naming a tier outside the policy's, or a
    ///   customer pinned twice.
    Assignment assign(const FeatureTable& table, bool with_contributions, std::span<const ManualOverride> overrides,
                      std::int64_t as_of) const;

    /// Re-tier against the previous evaluation (lifecycle/lifecycle.hpp): the plain
    /// rule, then hysteresis per the policy's lifecycle.hysteresis, then the stages
    /// (won_back needs the previous stage), then the manual overrides as above.
    /// @throws InvalidInput (from lifecycle::match_previous) naming column and row for
    ///   duplicate ids, tier indices outside the policy's, negative counters.
    Assignment assign(const FeatureTable& table, bool with_contributions, std::span<const ManualOverride> overrides,
                      std::int64_t as_of, const lifecycle::PreviousAssignment& previous) const;

    const Policy& policy() const noexcept { return policy_; }
    const std::vector<FittedScore>& scores() const noexcept { return scores_; }
    const Rule& rule() const noexcept { return *rule_; }
    const std::shared_ptr<const Rule>& rule_ptr() const noexcept { return rule_; }
    /// The CLV models fitted for the policy's clv section (empty without one).
    const std::optional<clv::FittedClv>& clv() const noexcept { return clv_; }

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
};

/// Learn normalizer statistics, data-driven weights and the rule's cut points; with a
/// clv section, first fit the CLV models and add their columns for criteria and rule.
/// @param progress if given, gets the iterations of the long parts (the CLV
///   optimizers, the kmeans rule's Lloyd iterations), from this thread; see
///   progress.hpp. The model does not depend on it.
/// @throws UnknownColumn, InvalidInput (NaN/inf, empty table), NumericError (AHP
///   consistency ratio above max_cr), PolicyError (rule tiers differ from the policy's);
///   whatever `progress` throws (the fit stops there).
Model fit(const Policy& policy, const FeatureTable& table, const Progress* progress = nullptr);

/// The composite scores (0..100, one vector per fitted score) of every row of
/// `table`, as assign() computes them before the rule. (The out-of-core Fitter,
/// fit_state.hpp, feeds the rule's statistics with them.)
/// @throws as Model::assign.
std::vector<std::vector<double>> score_columns(const std::vector<FittedScore>& scores, const FeatureTable& table);

/// The normalized criteria of every fitted score, as rules with needs_criteria() see them.
/// @throws as Model::assign.
std::vector<CriteriaBlock> normalized_criteria(const std::vector<FittedScore>& scores, const FeatureTable& table);

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

BOOST_CLASS_VERSION(tierkit::FittedScore, 0)
