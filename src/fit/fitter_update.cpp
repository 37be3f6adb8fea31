// A pass over one chunk (Fitter::update) and the merge of two passes' states
// (Fitter::merge). See include/tierkit/fit_state.hpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "fit/criteria_passes.hpp"
#include "fit/stages.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/scoring/composite.hpp"

namespace tierkit {

using namespace fit_passes;

PartialState Fitter::update(const FeatureTable& input) const {
    if (done()) throw PolicyError("Fitter.update: the fit is done; call model()");
    // After the clv pass, criteria and rules read the clv columns like any feature column.
    FeatureTable with_clv;
    if (clv_ && stage_ > clv_pass) with_clv = clv_->add_columns(input);
    const FeatureTable& chunk = clv_ && stage_ > clv_pass ? with_clv : input;
    PartialState out;
    out.stage = stage_;
    out.mode = options_.mode;
    const auto& specs = policy_.scores();
    if (in_rule_pass()) {
        // The rule's pass reads the scores and, when the rule asks, the normalized criteria.
        const auto scores = score_columns(scores_, chunk);
        std::vector<std::string> names;
        for (const auto& s : scores_) names.push_back(s.name);
        std::vector<CriteriaBlock> blocks;
        if (rule_->needs_criteria()) blocks = normalized_criteria(scores_, chunk);
        const RuleInput rule_input{chunk, names, scores, rule_->needs_criteria() ? &blocks : nullptr};
        rule_state_->update(stage_ - rule_first, rule_input, RuleFitContext{options_, scores_}, buckets_, out);
        return out;
    }
    switch (stage_) {
        case gather: {
            out.ids.assign(chunk.ids().begin(), chunk.ids().end());
            out.names = chunk.names();
            for (std::size_t j = 0; j < chunk.cols(); ++j)
                out.columns.emplace_back(chunk.column(j).begin(), chunk.column(j).end());
            for (const auto& name : chunk.category_names()) {
                const auto [codes, labels] = chunk.category(name);
                out.category_names.push_back(name);
                out.category_codes.emplace_back(codes.begin(), codes.end());
                out.category_labels.push_back(*labels);
            }
            break;
        }
        case clv_pass: {
            const auto& spec = *policy_.clv();
            clv::RfmHistogram rfm;
            rfm.update(chunk.column(spec.frequency), chunk.column(spec.recency), chunk.column(spec.T));
            out.rfm.push_back(rfm.finalize());
            if (spec.gamma_gamma) {
                clv::SpendHistogram spend;
                spend.update(chunk.column(spec.frequency), chunk.column(spec.monetary_value));
                out.spend.push_back(spend.finalize());
            }
            break;
        }
        case clip_count:
        case clip_values:
        case criteria_count:
        case criteria_values: {
            const bool clipping = stage_ == clip_count || stage_ == clip_values;
            const bool counting = stage_ == clip_count || stage_ == criteria_count;
            std::size_t j = 0;
            for (std::size_t s = 0; s < specs.size(); ++s)
                for (std::size_t k = 0; k < specs[s].criteria.size(); ++k, ++j) {
                    const auto& spec = specs[s].criteria[k];
                    const auto col = chunk_column(chunk, specs[s].name, k, spec.column);
                    const FittedCriterion& f = scores_[s].criteria[k];
                    std::vector<double> t;
                    if (!clipping) {
                        t.resize(col.size());
                        for (std::size_t i = 0; i < col.size(); ++i) t[i] = f.transform(col[i]);
                    }
                    const std::span<const double> v = clipping ? col : std::span<const double>(t);
                    if (stage_ == criteria_count) {
                        ExactSum ss;
                        for (double x : v) ss.add((x - f.mean) * (x - f.mean));
                        out.exact_sums.push_back(ss);
                    }
                    const bool used = j < buckets_.bounds.size() && (clipping ? spec.clip : needs_order(spec));
                    out.buckets.emplace_back();
                    if (!counting) {
                        out.values.push_back(used && j < buckets_.wanted.size()
                                                 ? values_in(buckets_.bounds[j], buckets_.wanted[j], v)
                                                 : ValueCounts{});
                        continue;
                    }
                    if (used) count_buckets(buckets_.bounds[j], v, out.buckets.back());
                    // criteria: every distinct value while there are at most max_knots.
                    out.values.push_back(!clipping && used ? ValueCounts::of(t, FittedCriterion::max_knots)
                                                           : ValueCounts{});
                }
            break;
        }
        case clip:
        case criteria: {
            for (std::size_t s = 0; s < specs.size(); ++s)
                for (std::size_t k = 0; k < specs[s].criteria.size(); ++k) {
                    const auto& spec = specs[s].criteria[k];
                    const auto col = chunk_column(chunk, specs[s].name, k, spec.column);
                    if (stage_ == clip) {
                        QuantileSketch q(options_.sketch_k);
                        if (spec.clip)
                            for (double x : col) q.add(x);
                        out.sketches.push_back(std::move(q));
                        continue;
                    }
                    const FittedCriterion& f = scores_[s].criteria[k];
                    Moments m;
                    const bool order = needs_order(spec), refine = options_.mode == FitMode::refine;
                    QuantileSketch q(options_.sketch_k);
                    ExactSum sum;
                    for (double x : col) {
                        const double t = f.transform(x);
                        m.add(t);
                        if (refine) sum.add(t);
                        if (order) q.add(t);
                    }
                    out.moments.push_back(m);
                    out.sketches.push_back(std::move(q));
                    if (refine) out.exact_sums.push_back(sum);
                }
            break;
        }
        case weights_pass: {
            const auto off = weight_sum_offsets(policy_);
            out.sums.assign(off.back(), 0.0);
            for (std::size_t s = 0; s < specs.size(); ++s) {
                const std::size_t c = specs[s].criteria.size();
                const FittedScore& fs = scores_[s];
                std::vector<std::span<const double>> cols;
                for (std::size_t k = 0; k < c; ++k)
                    cols.push_back(chunk_column(chunk, specs[s].name, k, specs[s].criteria[k].column));
                if (specs[s].method == ScoreMethod::topsis)
                    for (std::size_t k = 0; k < c; ++k) {
                        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
                        for (double x : cols[k]) {
                            const double y = fs.criteria[k].normalize(x);
                            lo = std::min(lo, y);
                            hi = std::max(hi, y);
                        }
                        out.lows.push_back(lo);
                        out.highs.push_back(hi);
                    }
                const WeightSpec* o = objective_of(specs[s].weights);
                if (!o) continue;
                double* sums = out.sums.data() + off[s];
                if (o->method == WeightMethod::entropy) {
                    for (std::size_t k = 0; k < c; ++k) {
                        const EntropyMap e = entropy_map(fs.criteria[k], o->entropy_proportion, k);
                        if (e.scale == 0) continue;
                        for (double x : cols[k]) {
                            const double y = (e.offset + e.sign * fs.criteria[k].transform(x)) * e.scale;
                            if (y > 0) {
                                sums[2 * k] += y;
                                sums[2 * k + 1] += y * std::log(y);
                            }
                        }
                    }
                } else {
                    // Centred, direction-signed, min-max scaled: (t - mean) * sign / (max - min).
                    std::vector<double> factor(c, 0.0), centred(c);
                    for (std::size_t k = 0; k < c; ++k) {
                        const auto& f = fs.criteria[k];
                        if (f.max > f.min)
                            factor[k] = (f.spec.direction == Direction::lower ? -1.0 : 1.0) / (f.max - f.min);
                    }
                    for (std::size_t i = 0; i < chunk.rows(); ++i) {
                        for (std::size_t k = 0; k < c; ++k) {
                            centred[k] = (fs.criteria[k].transform(cols[k][i]) - fs.criteria[k].mean) * factor[k];
                            sums[k] += centred[k];
                        }
                        for (std::size_t a = 0; a < c; ++a)
                            for (std::size_t b = 0; b < c; ++b) sums[c + a * c + b] += centred[a] * centred[b];
                    }
                }
            }
            break;
        }
        default:
            break;
    }
    return out;
}

namespace {

/// Append b's gathered rows (ids, columns, categories) to out's: the exact mode's
/// gather pass and a gathering rule state (fit/rule_state.hpp).
/// @throws InvalidInput when the two hold different columns.
void append_rows(PartialState& out, const PartialState& b) {
    const PartialState& a = out;
    // Columns in the same order append in place (a gathering state's layout may repeat
    // a name); else each is found by name.
    const bool same_order = a.names == b.names;
    for (std::size_t j = 0; j < b.names.size(); ++j) {
        const auto it = same_order ? a.names.begin() + static_cast<std::ptrdiff_t>(j)
                                   : std::find(a.names.begin(), a.names.end(), b.names[j]);
        if (it == a.names.end() || a.names.size() != b.names.size())
            throw InvalidInput("merge: the chunks have different columns ('" + b.names[j] + "' is not in both)");
        auto& col = out.columns[static_cast<std::size_t>(it - a.names.begin())];
        col.insert(col.end(), b.columns[j].begin(), b.columns[j].end());
    }
    out.ids.insert(out.ids.end(), b.ids.begin(), b.ids.end());
    if (a.category_names.size() != b.category_names.size())
        throw InvalidInput("merge: the chunks have different categorical columns");
    for (std::size_t j = 0; j < b.category_names.size(); ++j) {
        const auto it = std::find(a.category_names.begin(), a.category_names.end(), b.category_names[j]);
        if (it == a.category_names.end())
            throw InvalidInput("merge: categorical column '" + b.category_names[j] + "' is not in both chunks");
        const auto at = static_cast<std::size_t>(it - a.category_names.begin());
        auto& labels = out.category_labels[at];
        std::map<std::string, std::int32_t> code;
        for (std::size_t l = 0; l < labels.size(); ++l) code.emplace(labels[l], static_cast<std::int32_t>(l));
        std::vector<std::int32_t> remap;
        for (const auto& label : b.category_labels[j]) {
            auto [pos, added] = code.emplace(label, static_cast<std::int32_t>(labels.size()));
            if (added) labels.push_back(label);
            remap.push_back(pos->second);
        }
        for (std::int32_t c : b.category_codes[j])
            out.category_codes[at].push_back(c < 0 ? c : remap[static_cast<std::size_t>(c)]);
    }
}

}  // namespace

PartialState Fitter::merge(const PartialState& a, const PartialState& b) {
    const auto empty = [](const PartialState& s) {
        return s.ids.empty() && s.names.empty() && s.moments.empty() && s.sketches.empty() && s.sums.empty() &&
               s.lows.empty() && s.sample_keys.empty() && s.category_names.empty() && s.exact_sums.empty() &&
               s.buckets.empty() && s.values.empty();
    };
    if (empty(b) && b.stage == 0) return a;
    if (empty(a) && a.stage == 0) return b;
    if (a.stage != b.stage || a.mode != b.mode)
        throw InvalidInput("merge: states of different passes ('" + stage_name(a.stage) + "' and '" +
                           stage_name(b.stage) + "')");
    PartialState out = a;
    if (a.stage == gather) {
        if (a.names.empty() && a.ids.empty()) return b;
        if (b.names.empty() && b.ids.empty()) return a;
        append_rows(out, b);
        return out;
    }
    if (a.moments.size() != b.moments.size() || a.sketches.size() != b.sketches.size() ||
        a.sums.size() != b.sums.size() || a.lows.size() != b.lows.size() || a.rfm.size() != b.rfm.size() ||
        a.spend.size() != b.spend.size() || a.exact_sums.size() != b.exact_sums.size() ||
        a.buckets.size() != b.buckets.size() || a.values.size() != b.values.size())
        throw InvalidInput("merge: the states have different layouts (were they made by the same Fitter pass?)");
    // A gathering rule state's rows (fit/rule_state.hpp): appended, a's first.
    if (!a.names.empty() || !b.names.empty() || !a.ids.empty() || !b.ids.empty() || !a.category_names.empty() ||
        !b.category_names.empty())
        append_rows(out, b);
    // CLV patterns: re-counted with their counts as weights, then sorted (exact, any order).
    for (std::size_t j = 0; j < b.rfm.size(); ++j) {
        clv::RfmHistogram h;
        for (const auto* p : {&a.rfm[j], &b.rfm[j]}) h.update(p->frequency, p->recency, p->T, p->count);
        out.rfm[j] = h.finalize();
    }
    for (std::size_t j = 0; j < b.spend.size(); ++j) {
        clv::SpendHistogram h;
        for (const auto* p : {&a.spend[j], &b.spend[j]}) {
            h.update(p->frequency, p->monetary_value, p->count);
            const std::vector<double> zero{0.0}, weight{p->zero_repeat_customers};
            if (p->zero_repeat_customers > 0) h.update(zero, zero, weight);
        }
        out.spend[j] = h.finalize();
    }
    for (std::size_t j = 0; j < b.moments.size(); ++j) out.moments[j].merge(b.moments[j]);
    for (std::size_t j = 0; j < b.sketches.size(); ++j) out.sketches[j].merge(b.sketches[j]);
    for (std::size_t j = 0; j < b.sums.size(); ++j) out.sums[j] += b.sums[j];
    for (std::size_t j = 0; j < b.exact_sums.size(); ++j) out.exact_sums[j].merge(b.exact_sums[j]);
    for (std::size_t j = 0; j < b.buckets.size(); ++j) {
        if (a.buckets[j].size() != b.buckets[j].size())
            throw InvalidInput(
                "merge: the states have different bucket counts (were they made by the same Fitter pass?)");
        for (std::size_t i = 0; i < b.buckets[j].size(); ++i) out.buckets[j][i] += b.buckets[j][i];  // counts: exact
    }
    for (std::size_t j = 0; j < b.values.size(); ++j) out.values[j].merge(b.values[j]);
    for (std::size_t j = 0; j < b.lows.size(); ++j) {
        out.lows[j] = std::min(out.lows[j], b.lows[j]);
        out.highs[j] = std::max(out.highs[j], b.highs[j]);
    }
    if (!b.sample_keys.empty() || !a.sample_keys.empty()) {
        // Bottom-k by (key, id, point): the same sample whatever the merge order.
        const std::size_t d = a.sample_keys.empty() ? (b.sample_points.size() / b.sample_keys.size())
                                                    : (a.sample_points.size() / a.sample_keys.size());
        struct Row {
            std::uint64_t key;
            std::int64_t id;
            std::vector<double> point;
            bool operator<(const Row& o) const { return std::tie(key, id, point) < std::tie(o.key, o.id, o.point); }
        };
        std::vector<Row> rows;
        for (const PartialState* s : {&a, &b})
            for (std::size_t r = 0; r < s->sample_keys.size(); ++r)
                rows.push_back(
                    {s->sample_keys[r], s->sample_ids[r],
                     std::vector<double>(s->sample_points.begin() + static_cast<std::ptrdiff_t>(r * d),
                                         s->sample_points.begin() + static_cast<std::ptrdiff_t>((r + 1) * d))});
        std::sort(rows.begin(), rows.end());
        // Each side kept its own bottom-`capacity`: the union's bottom-`capacity` is the answer.
        rows.resize(std::min<std::size_t>(rows.size(), std::max(a.sample_capacity, b.sample_capacity)));
        out.sample_keys.clear();
        out.sample_ids.clear();
        out.sample_points.clear();
        for (const auto& r : rows) {
            out.sample_keys.push_back(r.key);
            out.sample_ids.push_back(r.id);
            out.sample_points.insert(out.sample_points.end(), r.point.begin(), r.point.end());
        }
    }
    return out;
}

}  // namespace tierkit
