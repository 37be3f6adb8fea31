#pragma once
/// @file policy.hpp
/// Policy: the declarative description of how customers are scored and tiered.
///
/// JSON shape (every key but `tiers` and a score has a default):
/// @code{.json}
/// {
///   "name": "default",
///   "scores": [
///     {"name": "value", "method": "weighted_sum",
///      "criteria": [
///        {"column": "revenue", "direction": "higher", "transform": "log1p",
///         "clip": [0.01, 0.99], "normalizer": "percentile", "weight": 0.5},
///        {"column": "days_since_last", "direction": "lower", "normalizer": "minmax", "weight": 0.5}],
///      "weights": {"method": "manual"}}
///   ],
///   "rule": {"kind": "quantiles", "score": "value", "shares": [0.05, 0.15, 0.5]},
///   "tiers": [
///     {"name": "key", "mode": "strategic", "actions": ["dedicated account manager"]},
///     "high-value", "ordinary", "potential"]
/// }
/// @endcode
/// A criterion on a column of labels (a categorical column of the table) maps them to
/// numbers with `"order": ["D", "C", ..., "AAA"]` (worst first: 0, 1, 2, ...) or
/// `"values": {"low": 0, "medium": 50, "high": 100}`; a label outside the map is an
/// error naming column, row and label, or a missing value with `"unknown": "missing"`.
/// `"missing": "reject"` (default: an error naming column and row) | "worst" |
/// "median" | "zero" | <number> fills missing values (NaN, a missing label) before
/// the transform; worst and median are those of the fit data, stored in the model
/// (scoring/criterion_values.hpp).
/// `criteria` and `weights` at the top level (instead of `scores`) define one
/// score named "score". Weights: {"method": "manual"} (the criteria's `weight`s,
/// normalized to sum 1), {"method": "ahp", "matrix": [[...]], "random_index":
/// "saaty" | [..], "max_cr": 0.1, "accept_inconsistent": false}, {"method":
/// "entropy", "variant": "minmax" | "proportion"}, {"method": "critic"}, or
/// {"method": "combined", "subjective": {...}, "objective": {...}, "mode":
/// "linear" | "multiplicative", "alpha": 0.5}. Score methods: "weighted_sum",
/// "topsis".
/// An optional `"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12,
/// "time_unit": "W", ...}` section fits a CLV model before the scores and adds the
/// columns p_alive, expected_purchases and clv for criteria and rules to read (see
/// clv/engine.hpp).
/// Optional `"lifecycle": {...}` (stage thresholds and re-tiering hysteresis) and
/// `"strategies": [...]` (tier x stage -> next action) sections: see
/// lifecycle/spec.hpp for the keys and their defaults.
/// Optional `"privacy": {"min_group": K}` (a whole number >= 1): every value a fitted
/// model stores that comes from the rows (percentile knots, min, max, median, IQR,
/// clip bounds, cut points, k-means centroids) is shared by, or is the mean of, at
/// least K customers (see privacy.hpp). Without the key, fit() groups by
/// default_min_group_for(rows): min(5, rows / 50), at least 1 (tables under 100 rows
/// keep exact values). `"min_group": 1` is the explicit opt-out (exact order
/// statistics, single customers' values). A fitted model's policy holds the K its fit
/// used (min_group_for).
/// Optional `"empty_tiers": "error" | "warn" | "allow"` (default "warn"): what fit does
/// when a tier gets no customer of the fitted rows (see tier_sizes.hpp).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tierkit/clv/engine.hpp"
#include "tierkit/lifecycle/spec.hpp"
#include "tierkit/rules/rule.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/score.hpp"
#include "tierkit/tier_sizes.hpp"

namespace tierkit {

enum class WeightMethod { manual, ahp, entropy, critic, combined };

struct WeightSpec {
    WeightMethod method = WeightMethod::manual;
    std::vector<double> matrix;        ///< ahp: row-major n x n
    std::vector<double> random_index;  ///< ahp: empty = Saaty's table
    double max_cr = 0.1;               ///< ahp: reject above this (unless accept_inconsistent)
    bool accept_inconsistent = false;
    bool entropy_proportion = false;                    ///< entropy: raw-proportion variant
    std::shared_ptr<WeightSpec> subjective, objective;  ///< combined
    bool multiplicative = false;                        ///< combined: normalized product instead of alpha mix
    double alpha = 0.5;                                 ///< combined: weight of the subjective vector
};

struct ScoreSpec {
    std::string name;
    ScoreMethod method = ScoreMethod::weighted_sum;
    std::vector<CriterionSpec> criteria;
    WeightSpec weights;
};

enum class RelationshipMode { transactional, cooperative, strategic, emotional };
const char* to_string(RelationshipMode m) noexcept;

struct TierSpec {
    std::string name;
    RelationshipMode mode = RelationshipMode::transactional;
    std::vector<std::string> actions;
    std::string description;
};

/// A validated policy. Build one from JSON with Policy::from_json, or the default
/// one with Policy::default_policy(). Immutable once built.
class Policy {
public:
    /// Parse and validate. @throws PolicyError whose message starts with the JSON
    /// path of the offending value (`scores[0].criteria[2].weight: must be >= 0, got -1`).
    static Policy from_json(const std::string& text);
    /// The built-in policy (DOMAIN.md): key / high-value / ordinary / potential by
    /// quotas of a value score from revenue, frequency, recency and AOV.
    static Policy default_policy();

    const std::string& name() const noexcept { return name_; }
    const std::vector<ScoreSpec>& scores() const noexcept { return scores_; }
    const std::vector<TierSpec>& tiers() const noexcept { return tiers_; }
    /// A fresh, unfitted copy of the policy's rule.
    std::unique_ptr<Rule> make_rule() const;
    const std::string& rule_kind() const noexcept { return rule_kind_; }
    /// The policy as JSON text (normalized: every default filled in).
    const std::string& to_json() const noexcept { return json_; }
    /// Every column the criteria name (in order of first use).
    std::vector<std::string> required_columns() const;
    /// Every feature column fit() reads, in order: the clv section's inputs, the
    /// criteria columns (less the clv columns fit computes and the score names), the
    /// columns the rule reads (Rule::inputs(): group_by columns included), then the
    /// lifecycle stage columns when the policy requires stages. The list
    /// Model::input_columns() gives after fit; a table with only these columns fits
    /// the same model. @throws as make_rule().
    std::vector<std::string> input_columns() const;
    /// input_columns() with the columns `rule` reads (Model::input_columns() passes
    /// its fitted rule: the same names).
    std::vector<std::string> input_columns(const Rule& rule) const;
    /// The `clv` section, if any: the CLV models fit() fits and the columns they add.
    const std::optional<clv::ClvSpec>& clv() const noexcept { return clv_; }
    /// Lifecycle thresholds, hysteresis and strategies (the defaults when the policy
    /// has neither a `lifecycle` nor a `strategies` section).
    const lifecycle::LifecycleSpec& lifecycle() const noexcept { return lifecycle_; }
    /// Whether the policy has a `lifecycle` section.
    bool has_lifecycle() const noexcept { return has_lifecycle_; }
    /// Whether the policy sets a stage threshold (a `lifecycle` key other than
    /// `hysteresis`) or `strategies`: Model::assign then requires the stage columns.
    bool requires_stages() const noexcept { return requires_stages_; }
    /// privacy.min_group as the policy gives it (1 = exact values); empty when the
    /// policy has no privacy section (fit then groups by default_min_group_for).
    std::optional<std::size_t> min_group() const noexcept { return min_group_; }
    /// The rows behind every stored order statistic of a fit on `rows` rows: the
    /// policy's privacy.min_group, or else default_min_group_for(rows) (privacy.hpp).
    std::size_t min_group_for(std::size_t rows) const noexcept;
    /// This policy with `"privacy": {"min_group": k}` (k >= 1): what a fitted model
    /// stores, so that its file says which grouping made it.
    Policy with_min_group(std::size_t k) const;
    /// empty_tiers: what an empty tier at fit means (tier_sizes.hpp).
    EmptyTiers empty_tiers() const noexcept { return empty_tiers_; }

private:
    std::string name_;
    std::vector<ScoreSpec> scores_;
    std::vector<TierSpec> tiers_;
    std::string rule_kind_;
    std::string rule_json_;
    std::string json_;
    std::optional<clv::ClvSpec> clv_;
    lifecycle::LifecycleSpec lifecycle_;
    bool has_lifecycle_ = false;
    bool requires_stages_ = false;
    std::optional<std::size_t> min_group_;
    EmptyTiers empty_tiers_ = EmptyTiers::warn;
};

}  // namespace tierkit
