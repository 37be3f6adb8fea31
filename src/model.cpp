// fit(policy, table) -> Model and Model::assign: criteria statistics, weights,
// composite scores, contributions and the rule.
#include "tierkit/model.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "fit/exact.hpp"
#include "scoring/preset_weights.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/scoring/composite.hpp"
#include "tierkit/scoring/criterion_values.hpp"
#include "tierkit/scoring/top_criteria.hpp"
#include "tierkit/scoring/weights.hpp"

namespace tierkit {

// fit_criterion is in criterion_fit.cpp; normalize_column and the score kernels are inline
// (scoring/criterion.hpp, scoring/score.hpp).

namespace {

std::vector<double> data_weights(const WeightSpec& w, const ScoreSpec& spec,
                                 const std::vector<std::vector<double>>& transformed, FittedScore& out) {
    const std::size_t c = spec.criteria.size();
    std::vector<Direction> dirs;
    std::vector<std::span<const double>> cols;
    for (std::size_t k = 0; k < c; ++k) {
        dirs.push_back(spec.criteria[k].direction);
        if (k < transformed.size()) cols.emplace_back(transformed[k]);
    }
    if (auto preset = detail::preset_weights(w, spec, out)) return *std::move(preset);
    switch (w.method) {
        case WeightMethod::manual:
        case WeightMethod::ahp:
            break;  // preset_weights above
        case WeightMethod::entropy:
            return weights::entropy(
                cols, dirs,
                w.entropy_proportion ? weights::EntropyVariant::proportion : weights::EntropyVariant::minmax);
        case WeightMethod::critic:
            return weights::critic(cols, dirs);
        case WeightMethod::combined: {
            const auto s = data_weights(*w.subjective, spec, transformed, out);
            const auto o = data_weights(*w.objective, spec, transformed, out);
            return weights::combine(
                s, o, w.multiplicative ? weights::CombineMode::multiplicative : weights::CombineMode::linear, w.alpha);
        }
    }
    return {};
}

bool needs_transformed(const WeightSpec& w) {
    if (w.method == WeightMethod::entropy || w.method == WeightMethod::critic) return true;
    return w.method == WeightMethod::combined && needs_transformed(*w.objective);
}

}  // namespace

Model detail::fit_rows(const Policy& policy, const FeatureTable& features, const Progress* progress) {
    if (features.rows() == 0) throw InvalidInput("fit: the table has no rows");
    // The clv section's models are fitted first; criteria and the rule then read their
    // columns (p_alive, expected_purchases, clv) like any feature column.
    std::optional<clv::FittedClv> fitted_clv;
    FeatureTable with_clv;
    if (policy.clv()) {
        fitted_clv = clv::FittedClv::fit(*policy.clv(), features, progress);
        with_clv = fitted_clv->add_columns(features);
    }
    // Value maps and missing values (criterion_values.hpp): criteria read numbers.
    CriteriaFill fills;
    const FeatureTable& base = fitted_clv ? with_clv : features;
    // privacy.hpp: the policy's min_group, or the default for this many rows.
    const std::size_t min_group = policy.min_group_for(base.rows());
    const auto resolved = resolve_criteria(policy.scores(), base, nullptr, min_group, fills);
    const FeatureTable& table = resolved ? *resolved : base;
    std::vector<FittedScore> fitted;
    std::vector<std::string> names;
    std::vector<Column<double>> scores;
    for (const auto& spec : policy.scores()) {
        FittedScore s;
        s.name = spec.name;
        s.method = spec.method;
        std::vector<std::span<const double>> cols;
        for (std::size_t k = 0; k < spec.criteria.size(); ++k)
            cols.push_back(criterion_column(table, spec.name, k, spec.criteria[k].column));
        // Criteria are independent: fit them in parallel (each sorts its column).
        s.criteria.resize(spec.criteria.size());
        parallel_for(
            spec.criteria.size(),
            [&](std::size_t begin, std::size_t end) {
                for (std::size_t k = begin; k < end; ++k)
                    s.criteria[k] = fit_criterion(spec.criteria[k], cols[k], min_group);
            },
            1);
        for (std::size_t k = 0; k < spec.criteria.size(); ++k) {
            s.criteria[k].missing_fill = fills.fill[fitted.size()][k];
            s.criteria[k].missing_count = static_cast<double>(fills.missing[fitted.size()][k]);
        }
        std::vector<std::vector<double>> transformed;
        if (needs_transformed(spec.weights)) {
            for (std::size_t k = 0; k < spec.criteria.size(); ++k) {
                transformed.emplace_back(cols[k].size());
                for (std::size_t i = 0; i < cols[k].size(); ++i)
                    transformed[k][i] = s.criteria[k].transform(cols[k][i]);
            }
        }
        s.weights = data_weights(spec.weights, spec, transformed, s);
        const std::size_t n = table.rows(), c = spec.criteria.size();
        if (spec.method == ScoreMethod::topsis) {
            s.ideal.assign(c, 0.0);
            s.anti_ideal.assign(c, 1.0);
            for (std::size_t k = 0; k < c; ++k) {
                if (min_group > 1) {
                    // privacy.hpp: the means of the min_group best and worst values.
                    std::vector<double> y(n);
                    for (std::size_t i = 0; i < n; ++i) y[i] = s.criteria[k].normalize(cols[k][i]);
                    s.ideal[k] = mean_of_highest(y, min_group);
                    s.anti_ideal[k] = mean_of_lowest(y, min_group);
                    continue;
                }
                for (std::size_t i = 0; i < n; ++i) {
                    const double y = s.criteria[k].normalize(cols[k][i]);
                    s.ideal[k] = std::max(s.ideal[k], y);
                    s.anti_ideal[k] = std::min(s.anti_ideal[k], y);
                }
            }
        }
        Column<double> score(n);  // every row written by score_rows
        score_rows(s, cols, n, score.data(), std::vector<double*>(c, nullptr));
        names.push_back(s.name);
        scores.push_back(std::move(score));
        fitted.push_back(std::move(s));
    }
    std::unique_ptr<Rule> rule = policy.make_rule();
    std::vector<CriteriaBlock> blocks;
    if (rule->needs_criteria()) blocks = normalized_criteria(fitted, table);
    const RuleInput input{table, names, scores, rule->needs_criteria() ? &blocks : nullptr, min_group, progress};
    rule->fit(input);
    FitReport report = fit_report(policy, *rule, input);
    return Model(policy.with_min_group(min_group), std::move(fitted), std::shared_ptr<const Rule>(std::move(rule)),
                 std::move(fitted_clv), std::move(report));
}

FitReport fit_report(const Policy& policy, const Rule& rule, const RuleInput& input) {
    // The fitted rows' tiers, as assign() would give them (the rule only: no hysteresis
    // or overrides at fit).
    const std::size_t n = input.table.rows();
    auto tier = filled_column<std::int32_t>(n, 0);
    auto reason = filled_column<std::int32_t>(n, 0);
    rule.assign(input, tier, reason);
    std::vector<std::string> names;
    for (const auto& t : policy.tiers()) names.push_back(t.name);
    FitReport report{count_tiers(tier, names, rule.target_shares()), rule.warnings()};
    if (policy.empty_tiers() == EmptyTiers::error && !report.tiers.empty.empty())
        throw PolicyError("empty_tiers: " + report.tiers.messages().front() +
                          "; change the rule, or set \"empty_tiers\": \"warn\" or \"allow\" to accept it");
    if (policy.empty_tiers() != EmptyTiers::allow)
        for (auto& m : report.tiers.messages()) report.warnings.push_back(std::move(m));
    return report;
}

Assignment Model::assign(const FeatureTable& table, const AssignOptions& options) const {
    const ThreadLimit threads(options.threads);
    Assignment a = assign_impl(table, options.with_contributions, options.previous);
    if (options.overrides || options.previous)
        apply_overrides(a, table, options.overrides.value_or(std::span<const ManualOverride>{}), options.as_of);
    set_next_actions(a);
    return a;
}

std::vector<std::string> Model::input_columns() const { return policy_.input_columns(*rule_); }

void Model::set_next_actions(Assignment& a) const {
    if (a.stage.empty()) return;
    const auto actions = lifecycle::action_table(policy_.lifecycle(), policy_.tiers());
    const std::size_t n = a.stage.size();
    a.next_action.resize(n);
    parallel_for(n, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i)
            a.next_action[i] = actions.code[static_cast<std::size_t>(a.tier[i]) * lifecycle::stage_count +
                                            static_cast<std::size_t>(a.stage[i])];
    });
    a.next_actions = actions.actions;
}

Assignment Model::assign_impl(const FeatureTable& features, bool with_contributions,
                              const lifecycle::PreviousAssignment* previous) const {
    // The clv columns, from the stored parameters: seen by criteria and rule as in fit,
    // and returned as extras.
    clv::ClvColumns clv_columns;
    FeatureTable with_clv;
    if (clv_) {
        clv_columns = clv_->columns(features);
        with_clv = clv::FittedClv::add_columns(features, clv_columns);
    }
    CriteriaFill fills;
    const FeatureTable& base = clv_ ? with_clv : features;
    const auto resolved = resolve_criteria(policy_.scores(), base, &scores_, 1, fills);
    const FeatureTable& table = resolved ? *resolved : base;
    Assignment a;
    const std::size_t n = table.rows();
    a.ids = column_copy(table.ids());
    for (std::size_t s = 0; s < scores_.size(); ++s)
        for (std::size_t k = 0; k < scores_[s].criteria.size(); ++k)
            if (scores_[s].criteria[k].spec.missing != Missing::reject)
                a.missing_filled.emplace_back(scores_[s].name + "." + scores_[s].criteria[k].spec.column,
                                              fills.missing[s][k]);
    for (const auto& s : scores_) {
        std::vector<std::span<const double>> cols;
        for (std::size_t k = 0; k < s.criteria.size(); ++k)
            cols.push_back(criterion_column(table, s.name, k, s.criteria[k].spec.column));
        // Written once by score_rows's threads (Column: no zeroing first).
        Column<double> score(n);
        std::vector<Column<double>> contrib;
        for (std::size_t k = 0; with_contributions && k < s.criteria.size(); ++k) contrib.emplace_back(n);
        std::vector<double*> contrib_ptr(s.criteria.size(), nullptr);
        std::vector<std::string> cnames;
        for (std::size_t k = 0; k < s.criteria.size(); ++k) {
            if (with_contributions) contrib_ptr[k] = contrib[k].data();
            cnames.push_back(s.criteria[k].spec.column);
        }
        score_rows(s, cols, n, score.data(), contrib_ptr);
        a.score_names.push_back(s.name);
        a.scores.push_back(std::move(score));
        a.contributions.push_back(std::move(contrib));
        a.contribution_names.push_back(std::move(cnames));
    }
    if (with_contributions && !a.contributions.empty() && !a.contributions[0].empty()) {
        const std::vector<std::span<const double>> cols(a.contributions[0].begin(), a.contributions[0].end());
        TopCriteria top = top_criteria(cols, a.contribution_names[0], n);
        a.top_criteria = std::move(top.code);
        a.top_criteria_names = std::move(top.labels);
    }
    // Set by parallel ranges (a rule may leave rows to the defaults).
    a.tier = filled_column<std::int32_t>(n, 0);
    a.reason = filled_column<std::int32_t>(n, 0);
    std::vector<CriteriaBlock> blocks;
    if (rule_->needs_criteria()) blocks = normalized_criteria(scores_, table);
    const RuleInput input{table, a.score_names, a.scores, rule_->needs_criteria() ? &blocks : nullptr};
    rule_->assign(input, a.tier, a.reason);
    a.extras = rule_->extra_columns(input);
    for (auto& column : clv_columns) a.extras.push_back(std::move(column));
    for (const auto& t : policy_.tiers()) {
        a.tier_names.push_back(t.name);
        a.tier_modes.push_back(to_string(t.mode));
        a.tier_actions.push_back(t.actions);
    }
    a.reasons = rule_->reasons();
    a.rule_kind = rule_->kind();
    a.below_count = filled_column<std::int32_t>(n, 0);
    std::vector<std::int8_t> previous_stage;
    if (previous) {
        const auto match = lifecycle::match_previous(a.ids, *previous, a.tier_names.size());
        const auto cuts = rule_->score_cuts();
        const auto values = cuts.source.empty() ? std::span<const double>{} : input.values(cuts.source);
        lifecycle::retier(policy_.lifecycle().hysteresis, cuts, values, match, *previous, a.tier_names, a.tier,
                          a.reason, a.reasons, a.below_count);
        std::vector<std::uint8_t> seen(previous->ids.size(), 0);
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t j = match[i];
            if (j >= 0) seen[static_cast<std::size_t>(j)] = 1;
            a.new_to_book += j < 0 || previous->tier[static_cast<std::size_t>(j)] < 0;
        }
        for (std::size_t j = 0; j < seen.size(); ++j) a.previous_dropped += !seen[j] && previous->tier[j] >= 0;
        if (!previous->stage.empty()) {
            previous_stage.assign(n, -1);
            for (std::size_t i = 0; i < n; ++i)
                if (match[i] >= 0) previous_stage[i] = previous->stage[static_cast<std::size_t>(match[i])];
        }
    }
    if (policy_.requires_stages() || lifecycle::has_stage_columns(table)) {
        auto stages = lifecycle::compute_stages(policy_.lifecycle(), table, previous_stage);
        a.stage = std::move(stages.stage);
        a.stage_reason = std::move(stages.reason);
        a.stage_reasons = std::move(stages.reasons);
    }
    return a;
}

void Model::apply_overrides(Assignment& a, const FeatureTable& table, std::span<const ManualOverride> overrides,
                            std::int64_t as_of) const {
    a.rule_reason.assign(a.reason.begin(), a.reason.end());
    a.pinned.assign(a.tier.size(), 0);
    const auto tiers = static_cast<std::int32_t>(policy_.tiers().size());
    std::unordered_map<std::int64_t, std::size_t> by_customer;
    for (std::size_t k = 0; k < overrides.size(); ++k) {
        const auto& o = overrides[k];
        if (o.tier < 0 || o.tier >= tiers)
            throw InvalidInput("overrides, row " + std::to_string(k) + ": tier index " + std::to_string(o.tier) +
                               " outside the policy's " + std::to_string(tiers) + " tiers");
        if (!by_customer.emplace(o.customer, k).second)
            throw InvalidInput("overrides, row " + std::to_string(k) + ": customer " + std::to_string(o.customer) +
                               " is pinned twice");
    }
    std::vector<std::uint8_t> matched(overrides.size(), 0);
    std::unordered_map<std::string, std::int32_t> reason_code;
    const auto ids = table.ids();
    for (std::size_t i = 0; i < ids.size(); ++i) {
        auto it = by_customer.find(ids[i]);
        if (it == by_customer.end()) continue;
        const auto& o = overrides[it->second];
        matched[it->second] = 1;
        if (as_of > o.expires) continue;
        a.tier[i] = o.tier;
        const std::string text = "manual: " + o.reason;
        auto [code, added] = reason_code.emplace(text, static_cast<std::int32_t>(a.reasons.size()));
        if (added) a.reasons.push_back(text);
        a.reason[i] = code->second;
        a.pinned[i] = 1;
    }
    for (std::size_t k = 0; k < overrides.size(); ++k) {
        if (!matched[k])
            a.overrides_unmatched.push_back(overrides[k].customer);
        else if (as_of > overrides[k].expires)
            ++a.overrides_expired;
    }
}

TierSummary summarize_tiers(const Assignment& assignment, std::span<const double> revenue) {
    const std::size_t n = assignment.tier.size();
    if (revenue.size() != n)
        throw InvalidInput("revenue: expected " + std::to_string(n) + " values (one per customer), got " +
                           std::to_string(revenue.size()));
    const std::size_t t = assignment.tier_names.size();
    TierSummary s;
    s.tier = assignment.tier_names;
    s.customers.assign(t, 0);
    s.revenue.assign(t, 0.0);
    s.mean_score.assign(t, 0.0);
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(assignment.tier[i]);
        ++s.customers[k];
        s.revenue[k] += revenue[i];
        total += revenue[i];
        if (!assignment.scores.empty()) s.mean_score[k] += assignment.scores[0][i];
    }
    for (std::size_t k = 0; k < t; ++k) {
        s.customer_share.push_back(n ? static_cast<double>(s.customers[k]) / static_cast<double>(n) : 0.0);
        s.revenue_share.push_back(total != 0 ? s.revenue[k] / total : 0.0);
        s.mean_score[k] = s.customers[k] ? s.mean_score[k] / static_cast<double>(s.customers[k])
                                         : std::numeric_limits<double>::quiet_NaN();
    }
    return s;
}

}  // namespace tierkit
