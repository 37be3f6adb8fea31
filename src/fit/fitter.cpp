// The Fitter: a generic scheduler of passes over chunks. Its own passes fit the clv
// section, the criteria and the weights; then the rule's state (Rule::make_state,
// fit/rule_state.hpp) runs the rule's passes. See include/tierkit/fit_state.hpp.
#include <algorithm>
#include <cmath>
#include <limits>

#include "fit/criteria_passes.hpp"
#include "fit/exact.hpp"
#include "fit/stages.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/fit_state.hpp"

namespace tierkit {

using namespace fit_passes;

Fitter::Fitter(Policy policy, FitOptions options) : policy_(std::move(policy)), options_(options) {
    QuantileSketch check(options_.sketch_k);  // validates sketch_k
    (void)check;
    const bool exact = options_.mode == FitMode::exact;
    for (const auto& spec : policy_.scores()) {
        FittedScore s;
        s.name = spec.name;
        s.method = spec.method;
        for (const auto& c : spec.criteria) {
            // The exact mode fits the gathered rows, the whole table.
            if (!exact && c.needs_resolving())
                throw PolicyError("criterion '" + c.column +
                                  "': value maps and missing options need the whole table; "
                                  "fit it with fit() or the exact mode, not sketch or refine");
            FittedCriterion f;
            f.spec = c;
            s.criteria.push_back(std::move(f));
        }
        scores_.push_back(std::move(s));
    }
    if (exact) {
        stage_ = gather;
        return;
    }
    const std::string mode = mode_name(options_.mode);
    const bool refine = options_.mode == FitMode::refine;
    rule_ = std::shared_ptr<const Rule>(policy_.make_rule());
    rule_state_ = RuleStatePtr(rule_->make_state(options_));
    if (!rule_state_)
        throw PolicyError("rule: kind '" + rule_->kind() + "' (or group_by) cannot be fitted in " + mode + " mode, " +
                          (refine
                               ? "which reproduces only rules with exact order statistics or nothing to learn; use the "
                                 "exact or sketch mode"
                               : "it needs every row at once; use the exact mode"));
    if (refine)
        for (std::size_t s = 0; s < policy_.scores().size(); ++s)
            if (const WeightSpec* o = objective_of(policy_.scores()[s].weights))
                throw PolicyError("scores[" + std::to_string(s) + "].weights: method '" +
                                  (o->method == WeightMethod::entropy ? "entropy" : "critic") +
                                  "' sums over every row in row order, which refine mode cannot reproduce bit for bit; "
                                  "use the exact or sketch mode");
    if (options_.kmeans_sample < 1) throw InvalidInput("kmeans_sample: must be >= 1, got 0");
    // The grouping (privacy.hpp) needs every row in order; these modes keep single
    // rows' values, so they fit only a policy that opts out explicitly.
    if (!policy_.min_group())
        throw PolicyError(
            "privacy.min_group: the default groups stored values by min(5, rows / 50), which only the "
            "exact mode computes; use the exact mode, or set \"privacy\": {\"min_group\": 1} to fit "
            "single rows' values in " +
            mode + " mode");
    if (*policy_.min_group() > 1)
        throw PolicyError("privacy.min_group: " + std::to_string(*policy_.min_group()) + " needs the exact mode (the " +
                          mode + " mode's values are single rows, not groups of that many)");
    stage_ = gather;
    next_stage();
}

void Fitter::next_stage() {
    while (stage_ < weights_pass) {
        ++stage_;
        bool needed = false;
        switch (stage_) {
            case clv_pass:
                needed = policy_.clv().has_value();
                break;
            case clip:
                for (const auto& s : policy_.scores())
                    for (const auto& c : s.criteria) needed = needed || c.clip;
                break;
            case clip_count:
                needed = options_.mode == FitMode::refine && !buckets_.bounds.empty();
                break;
            case clip_values:
            case criteria_values:
                needed = buckets_.any_wanted();
                break;
            case criteria_count:
                needed = options_.mode == FitMode::refine;
                break;
            case criteria:
                needed = true;
                break;
            case weights_pass:
                for (const auto& s : policy_.scores()) needed = needed || needs_weights_pass(s);
                if (!needed) finish_weights(nullptr);
                break;
            default:
                needed = true;
        }
        if (needed) return;
    }
    enter_rule_pass(rule_state_->first_pass());
}

void Fitter::enter_rule_pass(std::uint32_t pass) { stage_ = pass < max_rule_passes ? rule_first + pass : finished; }

bool Fitter::in_rule_pass() const noexcept { return stage_ >= rule_first && stage_ < finished; }

bool Fitter::done() const noexcept { return stage_ == finished; }

std::string Fitter::stage() const {
    return in_rule_pass() && rule_state_ ? rule_state_->pass_name(stage_ - rule_first) : stage_name(stage_);
}

void Fitter::finish_weights(const PartialState* total) {
    const auto& specs = policy_.scores();
    const auto off = weight_sum_offsets(policy_);
    std::size_t topsis_at = 0;
    for (std::size_t s = 0; s < specs.size(); ++s) {
        FittedScore& fs = scores_[s];
        fs.weights = merged_weights(specs[s].weights, specs[s], fs, total ? total->sums.data() + off[s] : nullptr);
        if (specs[s].method == ScoreMethod::topsis) {
            const std::size_t c = specs[s].criteria.size();
            fs.ideal.assign(c, 0.0);
            fs.anti_ideal.assign(c, 1.0);
            for (std::size_t k = 0; k < c; ++k, ++topsis_at) {
                fs.ideal[k] = std::max(fs.ideal[k], total->highs[topsis_at]);
                fs.anti_ideal[k] = std::min(fs.anti_ideal[k], total->lows[topsis_at]);
            }
        }
    }
}

void Fitter::check_layout(const PartialState& total) const {
    // A state read from bytes is checked against what this pass makes before use.
    std::size_t n_criteria = 0, topsis = 0;
    for (const auto& s : policy_.scores()) {
        n_criteria += s.criteria.size();
        if (s.method == ScoreMethod::topsis) topsis += s.criteria.size();
    }
    bool ok = true;
    switch (stage_) {
        case gather:
            ok = total.rows_line_up();
            break;
        case clv_pass:
            ok = total.rfm.size() == 1 && total.spend.size() == (policy_.clv()->gamma_gamma ? 1u : 0u);
            break;
        case clip:
            ok = total.sketches.size() == n_criteria;
            break;
        case criteria:
            ok = total.sketches.size() == n_criteria && total.moments.size() == n_criteria;
            break;
        case weights_pass:
            ok = total.sums.size() == weight_sum_offsets(policy_).back() && total.lows.size() == topsis &&
                 total.highs.size() == topsis;
            break;
        case clip_count:
        case criteria_count:
            ok = total.buckets.size() == buckets_.bounds.size() &&
                 (stage_ != criteria_count ||
                  (total.exact_sums.size() == n_criteria && total.values.size() == n_criteria));
            for (std::size_t j = 0; ok && j < buckets_.bounds.size(); ++j)
                ok = total.buckets[j].empty() || total.buckets[j].size() == 2 * buckets_.bounds[j].size() + 1;
            break;
        case clip_values:
        case criteria_values:
            ok = total.values.size() == buckets_.counts.size();
            break;
        default:
            ok = !in_rule_pass() || rule_state_->has_layout(stage_ - rule_first, total, buckets_);
    }
    if (!ok)
        throw InvalidInput("Fitter.advance: the state does not have the layout of pass '" + stage() +
                           "' of this policy");
}

void Fitter::advance(const PartialState& total) {
    if (done()) throw PolicyError("Fitter.advance: the fit is done; call model()");
    if (total.stage != stage_)
        throw InvalidInput("Fitter.advance: the state belongs to pass '" + stage_name(total.stage) +
                           "', the fitter is at '" + stage() + "'");
    const auto& specs = policy_.scores();
    check_layout(total);
    if (in_rule_pass()) {
        const RuleFitContext context{options_, scores_};
        enter_rule_pass(rule_state_->advance(stage_ - rule_first, total, context, buckets_));
        ++passes_;
        return;
    }
    switch (stage_) {
        case gather: {
            if (total.ids.empty()) throw InvalidInput("fit: the table has no rows");
            model_ = detail::fit_rows(policy_, gathered_table(total), nullptr);
            stage_ = finished;
            ++passes_;
            return;
        }
        case clv_pass: {
            std::optional<clv::SpendPatterns> spend;
            if (!total.spend.empty()) spend = total.spend[0];
            clv_ = clv::FittedClv::fit_patterns(*policy_.clv(), total.rfm.at(0), spend);
            break;
        }
        case clip:
        case criteria: {
            const bool refine = options_.mode == FitMode::refine;
            if (refine) {
                buckets_.bounds.assign(total.sketches.size(), {});
                buckets_.counts.assign(total.sketches.size(), {});
                buckets_.wanted.assign(total.sketches.size(), {});
            }
            std::size_t j = 0;
            for (std::size_t s = 0; s < specs.size(); ++s)
                for (std::size_t k = 0; k < specs[s].criteria.size(); ++k, ++j) {
                    FittedCriterion& f = scores_[s].criteria[k];
                    const QuantileSketch& q = total.sketches.at(j);
                    if (refine && (stage_ == criteria ? needs_order(f.spec) : f.spec.clip))
                        buckets_.bounds[j] = bounds_of(q, stage_ == criteria ? options_.refine_buckets : 0);
                    if (stage_ == clip) {
                        if (!f.spec.clip) continue;
                        if (q.count() == 0) throw InvalidInput("column '" + f.spec.column + "': no rows to fit on");
                        f.lo = q.quantile(f.spec.clip_lower);
                        f.hi = q.quantile(f.spec.clip_upper);
                        continue;
                    }
                    const Moments& m = total.moments.at(j);
                    if (m.n == 0) throw InvalidInput("fit: the table has no rows");
                    f.n = m.n;
                    // refine: the exact mean now, the sd after the next pass (fit_criterion's bits).
                    f.mean = refine ? total.exact_sums.at(j).value() / m.n : m.mean;
                    f.sd = m.n > 1 ? std::sqrt(std::max(0.0, m.m2) / (m.n - 1)) : 0.0;
                    f.min = m.min;
                    f.max = m.max;
                    if (f.max == f.min) f.sd = 0;
                    f.knots.clear();
                    f.knot_y.clear();
                    f.knot_lo.clear();
                    f.knot_hi.clear();
                    if (!needs_order(f.spec)) {
                        f.median = f.iqr = std::numeric_limits<double>::quiet_NaN();
                        continue;
                    }
                    // Percentile knots as fit_criterion makes them, ranks from the sketch's weights.
                    std::vector<double> values, weights;
                    for (const auto& [v, w] : q.items()) {
                        values.push_back(v);
                        weights.push_back(w);
                    }
                    const auto groups = groups_of(values, weights);
                    set_order_statistics(f, groups.size() <= FittedCriterion::max_knots ? &groups : nullptr,
                                         [&](double r) { return group_at(groups, r); });
                }
            break;
        }
        case clip_count:
        case criteria_count:
        case clip_values:
        case criteria_values:
            refine_criteria(total);
            break;
        case weights_pass:
            finish_weights(&total);
            break;
        default:
            break;
    }
    ++passes_;
    next_stage();
}

void Fitter::refine_criteria(const PartialState& total) {
    const bool clipping = stage_ == clip_count || stage_ == clip_values;
    auto& counts = buckets_.counts;
    if (stage_ == clip_values || stage_ == criteria_values) {
        for (std::size_t j = 0; j < counts.size(); ++j)
            if (!counts[j].empty())
                finish_criterion(criterion_at(scores_, j), clipping,
                                 OrderIndex(buckets_.bounds[j], counts[j], total.values.at(j)));
        buckets_.finish_values();
        return;
    }
    // Exact bucket counts: find the buckets of the target ranks; the open ones among
    // them are gathered by the next pass.
    counts = total.buckets;
    buckets_.pending = 0;
    if (stage_ == criteria_count) {
        std::size_t j = 0;
        for (auto& fs : scores_)
            for (auto& f : fs.criteria) {
                const double ss = total.exact_sums.at(j).value();
                f.sd = f.n > 1 ? std::sqrt(ss / (f.n - 1)) : 0.0;
                if (f.max == f.min) f.sd = 0;
                const ValueCounts& few = total.values.at(j);
                if (needs_order(f.spec) && !few.overflow) {
                    // At most max_knots distinct values: all of them, counted.
                    const auto groups = groups_of(few.values, few.counts);
                    set_order_statistics(f, &groups, [&](double r) { return group_at(groups, r); });
                    counts[j].clear();  // done
                }
                ++j;
            }
    }
    buckets_.wanted.assign(counts.size(), {});
    for (std::size_t j = 0; j < counts.size(); ++j) {
        if (counts[j].empty()) continue;
        const FittedCriterion& f = criterion_at(scores_, j);
        buckets_.want_ranks(j, [&](double n) { return criterion_ranks(f, clipping, n); });
    }
    if (!buckets_.any_wanted()) {
        // Every target rank is in a bucket of one value: done without gathering.
        const ValueCounts none;
        for (std::size_t j = 0; j < counts.size(); ++j)
            if (!counts[j].empty())
                finish_criterion(criterion_at(scores_, j), clipping, OrderIndex(buckets_.bounds[j], counts[j], none));
        buckets_.clear();
        ++stage_;  // skip the values pass
    }
}

void Fitter::advance(const FeatureTable& chunk, const Progress* progress) {
    if (done()) throw PolicyError("Fitter.advance: the fit is done; call model()");
    if (stage_ != gather) {
        advance(update(chunk));
        return;
    }
    // The exact pass over the one chunk: every row is there, read in place.
    model_ = detail::fit_rows(policy_, chunk, progress);
    stage_ = finished;
    ++passes_;
}

Model Fitter::model() const& {
    if (!done()) throw PolicyError("Fitter.model: the fit is not done (pass '" + stage() + "' is next)");
    if (model_) return *model_;
    std::unique_ptr<Rule> rule = policy_.make_rule();
    if (rule_state_) rule_state_->finish(*rule, RuleFitContext{options_, scores_});
    return Model(policy_, scores_, std::shared_ptr<const Rule>(std::move(rule)), clv_);
}

Model Fitter::model() && {
    if (done() && model_) return *std::move(model_);
    return static_cast<const Fitter&>(*this).model();
}

Model fit(const Policy& policy, const FeatureTable& table, const Progress* progress) {
    Fitter f(policy);
    while (!f.done()) f.advance(table, progress);
    return std::move(f).model();
}

Model fit_chunks(const Policy& policy, std::span<const FeatureTable> chunks, FitOptions options) {
    Fitter f(policy, options);
    while (!f.done()) {
        if (chunks.size() == 1) {
            f.advance(chunks[0]);
            continue;
        }
        PartialState total;
        for (const auto& c : chunks) total = Fitter::merge(total, f.update(c));
        f.advance(total);
    }
    return std::move(f).model();
}

}  // namespace tierkit
