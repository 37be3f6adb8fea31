// The criteria's and weights' side of the Fitter's passes: order statistics from
// sketches and refine buckets, and the weights merged from the weights pass's sums.
// See src/fit/criteria_passes.hpp.
#include "fit/criteria_passes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "scoring/preset_weights.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/fit/rule_state.hpp"
#include "tierkit/scoring/weights.hpp"

namespace tierkit::fit_passes {

/// The ranks of the percentile knots of a column of n rows with more than max_knots
/// distinct values (as fit_criterion picks them).
std::vector<double> knot_ranks(double n) {
    const std::size_t k = FittedCriterion::max_knots;
    std::vector<double> out;
    for (std::size_t j = 0; j < k; ++j)
        out.push_back(static_cast<double>(std::llround(static_cast<double>(j) * (n - 1) / static_cast<double>(k - 1))));
    return out;
}

/// Median, IQR and percentile knots as fit_criterion makes them (min_group 1), from
/// the column's groups: every group (`groups`, when there are at most max_knots) or
/// the one at any rank (`at`).
void set_order_statistics(FittedCriterion& f, const std::vector<Group>* groups,
                          const std::function<Group(double)>& at) {
    auto value_at = [&](double r) { return at(r).value; };
    f.median = linear_quantile(0.5, f.n, value_at);
    f.iqr = linear_quantile(0.75, f.n, value_at) - linear_quantile(0.25, f.n, value_at);
    f.knots.clear();
    f.knot_y.clear();
    f.knot_lo.clear();
    f.knot_hi.clear();
    const double denom = f.n > 1 ? f.n - 1 : 1.0;
    auto add_knot = [&](const Group& g) {
        f.knots.push_back(g.value);
        f.knot_y.push_back(f.n > 1 ? (g.less + (g.eq - 1) / 2) / denom : 0.5);
        f.knot_lo.push_back(f.n > 1 ? (g.less - 0.5) / denom : 0.5);
        f.knot_hi.push_back(f.n > 1 ? (g.less + g.eq - 0.5) / denom : 0.5);
    };
    if (groups) {
        for (const auto& g : *groups) add_knot(g);
    } else {
        bool first = true;
        double last = 0;
        for (double r : knot_ranks(f.n)) {
            const Group g = at(r);
            if (first || g.value != last) add_knot(g);
            first = false;
            last = g.value;
        }
    }
    f.build_index();
}

/// Every group of some distinct values with their counts.
std::vector<Group> groups_of(const std::vector<double>& values, const std::vector<double>& counts) {
    std::vector<Group> out;
    double less = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        out.push_back({values[i], less, counts[i]});
        less += counts[i];
    }
    return out;
}

/// The group at rank r of a list of every group.
Group group_at(const std::vector<Group>& g, double r) {
    const auto it = std::upper_bound(g.begin(), g.end(), r, [](double rank, const Group& x) { return rank < x.less; });
    return *(it - 1);
}

bool needs_order(const CriterionSpec& c) {
    return c.normalizer == Normalizer::percentile || c.normalizer == Normalizer::bins ||
           c.normalizer == Normalizer::robust;
}

/// The data-driven part of a weight spec (entropy or critic), or null.
const WeightSpec* objective_of(const WeightSpec& w) {
    if (w.method == WeightMethod::entropy || w.method == WeightMethod::critic) return &w;
    if (w.method == WeightMethod::combined) return objective_of(*w.objective);
    return nullptr;
}

bool needs_weights_pass(const ScoreSpec& s) { return objective_of(s.weights) || s.method == ScoreMethod::topsis; }

std::span<const double> chunk_column(const FeatureTable& t, const std::string& score, std::size_t k,
                                     const std::string& column) {
    if (!t.has(column))
        throw UnknownColumn("score '" + score + "', criteria[" + std::to_string(k) +
                            "].column: " + t.unknown_message(column));
    return checked_finite(t.column(column), column);
}

/// Offsets of each score's sums in the weights pass: entropy 2 per criterion, critic
/// c + c * c (centred sums, cross-products of all criteria; constant ones stay 0).
std::vector<std::size_t> weight_sum_offsets(const Policy& p) {
    std::vector<std::size_t> off{0};
    for (const auto& s : p.scores()) {
        const WeightSpec* o = objective_of(s.weights);
        const std::size_t c = s.criteria.size();
        off.push_back(off.back() + (!o ? 0 : o->method == WeightMethod::entropy ? 2 * c : c + c * c));
    }
    return off;
}

EntropyMap entropy_map(const FittedCriterion& f, bool proportion, std::size_t j) {
    EntropyMap m;
    const bool lower = f.spec.direction == Direction::lower;
    if (proportion && f.min < 0)
        throw InvalidInput("columns[" + std::to_string(j) + "] ('" + f.spec.column +
                           "'): must be >= 0 for the proportion variant, got a minimum of " + std::to_string(f.min));
    if (f.max == f.min) return m;
    m.sign = lower ? -1.0 : 1.0;
    if (proportion) {
        m.offset = lower ? f.max + f.min : 0.0;
        m.scale = 1.0 / f.max;
    } else {
        m.offset = lower ? f.max : -f.min;
        m.scale = 1.0 / (f.max - f.min);
    }
    return m;
}

std::vector<double> merged_weights(const WeightSpec& w, const ScoreSpec& spec, FittedScore& out, const double* sums) {
    const std::size_t c = spec.criteria.size();
    if (auto preset = detail::preset_weights(w, spec, out)) return *std::move(preset);
    switch (w.method) {
        case WeightMethod::manual:
        case WeightMethod::ahp:
            break;  // preset_weights above
        case WeightMethod::entropy: {
            const double rows = out.criteria.front().n;
            if (rows < 2) throw InvalidInput("columns: must have at least 2 rows, got " + std::to_string(rows));
            std::vector<double> d(c, 0.0);
            double total = 0;
            for (std::size_t j = 0; j < c; ++j) {
                const double sy = sums[2 * j], sylogy = sums[2 * j + 1];
                if (!(sy > 0) || out.criteria[j].max == out.criteria[j].min) continue;
                const double e = (std::log(sy) - sylogy / sy) / std::log(rows);
                d[j] = std::clamp(1.0 - e, 0.0, 1.0);
                total += d[j];
            }
            if (!(total > 0)) return std::vector<double>(c, 1.0 / static_cast<double>(c));
            for (double& x : d) x /= total;
            return d;
        }
        case WeightMethod::critic: {
            const double rows = out.criteria.front().n;
            if (rows < 2) throw InvalidInput("columns: must have at least 2 rows, got " + std::to_string(rows));
            std::vector<std::size_t> varying;
            for (std::size_t j = 0; j < c; ++j)
                if (out.criteria[j].max > out.criteria[j].min) varying.push_back(j);
            const std::size_t v = varying.size();
            std::vector<double> cov(v * v);
            for (std::size_t a = 0; a < v; ++a)
                for (std::size_t b = 0; b < v; ++b) {
                    const std::size_t ja = varying[a], jb = varying[b];
                    cov[a * v + b] = (sums[c + ja * c + jb] - sums[ja] * sums[jb] / rows) / (rows - 1);
                }
            return weights::critic_from_covariance(c, varying, cov);
        }
        case WeightMethod::combined: {
            const auto s = merged_weights(*w.subjective, spec, out, sums);
            const auto o = merged_weights(*w.objective, spec, out, sums);
            return weights::combine(
                s, o, w.multiplicative ? weights::CombineMode::multiplicative : weights::CombineMode::linear, w.alpha);
        }
    }
    return {};
}

FeatureTable gathered_table(const PartialState& s) {
    FeatureTable t(s.ids);
    for (std::size_t j = 0; j < s.names.size(); ++j) t.add_column(s.names[j], s.columns[j]);
    for (std::size_t j = 0; j < s.category_names.size(); ++j)
        t.add_category(s.category_names[j], s.category_codes[j], s.category_labels[j]);
    return t;
}

FittedCriterion& criterion_at(std::vector<FittedScore>& scores, std::size_t j) {
    for (auto& s : scores) {
        if (j < s.criteria.size()) return s.criteria[j];
        j -= s.criteria.size();
    }
    throw InvalidInput("Fitter.advance: the state has more columns than the policy's criteria");
}

std::vector<double> criterion_ranks(const FittedCriterion& f, bool clip, double n) {
    std::vector<double> out;
    auto quantile = [&](double q) {
        const auto [lo, hi] = quantile_ranks(q, n);
        out.push_back(lo);
        out.push_back(hi);
    };
    if (clip) {
        quantile(f.spec.clip_lower);
        quantile(f.spec.clip_upper);
        return out;
    }
    for (double q : {0.25, 0.5, 0.75}) quantile(q);
    const auto knots = knot_ranks(n);
    out.insert(out.end(), knots.begin(), knots.end());
    return out;
}

void finish_criterion(FittedCriterion& f, bool clip, const OrderIndex& index) {
    const double n = index.rows();
    auto value_at = [&](double r) { return index.at(r).value; };
    if (clip) {
        f.lo = linear_quantile(f.spec.clip_lower, n, value_at);
        f.hi = linear_quantile(f.spec.clip_upper, n, value_at);
        return;
    }
    set_order_statistics(f, nullptr, [&](double r) { return index.at(r); });
}

}  // namespace tierkit::fit_passes
