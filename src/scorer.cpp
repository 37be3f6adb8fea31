// Scorer: one customer at a time, without allocation for the cut-point rules and kmeans.
#include "tierkit/scorer.hpp"

#include "tierkit/model.hpp"

#include <algorithm>
#include <cmath>

#include "tierkit/core/error.hpp"
#include "tierkit/rules/kmeans.hpp"
#include "tierkit/rules/thresholds.hpp"

namespace tierkit {

namespace {

std::size_t column_index(const std::vector<std::string>& columns, const std::string& name, const std::string& who) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) {
        std::string list;
        for (const auto& c : columns) list += (list.empty() ? "" : ", ") + c;
        throw UnknownColumn(who + ": column '" + name + "' is not among the scorer's columns: " + list);
    }
    return static_cast<std::size_t>(it - columns.begin());
}

}  // namespace

Scorer::Scorer(Model model, std::vector<std::string> columns)
    : Scorer(std::make_shared<const Model>(std::move(model)), std::move(columns)) {}

Scorer::Scorer(std::shared_ptr<const Model> shared, std::vector<std::string> columns)
    : model_(std::move(shared)), columns_(std::move(columns)) {
    if (!model_) throw InvalidInput("Scorer: the model is null");
    const Model& model = *model_;
    for (const auto& t : model.policy().tiers()) tier_names_.push_back(t.name);
    reasons_ = model.rule().reasons();
    const auto& scores = model.scores();
    for (const auto& s : scores) {
        score_names_.push_back(s.name);
        std::vector<std::size_t> idx;
        for (std::size_t k = 0; k < s.criteria.size(); ++k)
            idx.push_back(model.clv() ? 0 : column_index(columns_, s.criteria[k].spec.column, "score '" + s.name + "'"));
        criterion_column_.push_back(std::move(idx));
        normalized_.emplace_back(s.criteria.size());
    }
    scores_.assign(scores.size(), 0.0);
    if (model.clv()) return;  // the clv columns need the general path

    const Rule& rule = model.rule();
    if (rule.kind() == "kmeans") {
        const auto& km = dynamic_cast<const KMeansRule&>(rule);
        const std::string& name = km.options().score;
        std::size_t j = 0;
        if (!name.empty()) {
            while (j < scores.size() && scores[j].name != name) ++j;
            if (j == scores.size()) throw InvalidInput("kmeans: no score named '" + name + "'");
        }
        if (scores.empty() || km.criteria().size() != scores[j].criteria.size() ||
            km.centroids().size() != km.clusters() * km.criteria().size() || km.cluster_tiers().size() != km.clusters())
            throw InvalidInput("kmeans: the fitted centroids do not match the criteria of its score");
        kmeans_score_ = j;
        kind_ = RuleKind::kmeans;
        fast_ = true;
        return;
    }
    ScoreCuts cuts = rule.score_cuts();
    if (!cuts.source.empty() && (rule.kind() == "thresholds" || rule.kind() == "quantiles" || rule.kind() == "abc")) {
        cuts_ = std::move(cuts.cuts);
        const auto it = std::find(score_names_.begin(), score_names_.end(), cuts.source);
        if (it != score_names_.end()) source_score_ = it - score_names_.begin();
        else source_column_ = column_index(columns_, cuts.source, rule.kind());
        kind_ = RuleKind::cuts;
        fast_ = true;
    }
}

const Scored& Scorer::assign_one(std::span<const double> values) {
    if (values.size() != columns_.size())
        throw InvalidInput("assign_one: expected " + std::to_string(columns_.size()) + " values (one per column), got " +
                           std::to_string(values.size()));
    for (std::size_t j = 0; j < values.size(); ++j)
        if (!std::isfinite(values[j]))
            throw InvalidInput("column '" + columns_[j] + "': must be a finite number, got " + std::to_string(values[j]));
    result_.scores = scores_;  // set here, not at construction, so a copied Scorer views its own buffer

    if (!fast_) {
        FeatureTable table(std::vector<std::int64_t>{0});
        for (std::size_t j = 0; j < values.size(); ++j) table.add_column(columns_[j], {values[j]});
        AssignOptions options;
        options.with_contributions = false;
        const Assignment a = model_->assign(table, options);
        for (std::size_t s = 0; s < scores_.size(); ++s) scores_[s] = a.scores[s][0];
        result_.tier = a.tier[0];
        result_.reason = a.reason[0];
        return result_;
    }

    // The composite scores, in the order of operations of Model::assign.
    const auto& scores = model_->scores();
    for (std::size_t s = 0; s < scores.size(); ++s) {
        const FittedScore& fs = scores[s];
        std::vector<double>& y = normalized_[s];
        const std::size_t c = fs.criteria.size();
        for (std::size_t k = 0; k < c; ++k) y[k] = fs.criteria[k].normalize(values[criterion_column_[s][k]]);
        if (fs.method == ScoreMethod::weighted_sum) {
            double score = 0;
            for (std::size_t k = 0; k < c; ++k) score += 100.0 * fs.weights[k] * y[k];
            scores_[s] = std::clamp(score, 0.0, 100.0);
        } else {
            double dp = 0, dm = 0;
            for (std::size_t k = 0; k < c; ++k) {
                const double a = fs.weights[k] * (y[k] - fs.ideal[k]);
                const double b = fs.weights[k] * (y[k] - fs.anti_ideal[k]);
                dp += a * a;
                dm += b * b;
            }
            dp = std::sqrt(dp);
            dm = std::sqrt(dm);
            scores_[s] = 100.0 * (dp + dm > 0 ? dm / (dp + dm) : 0.5);
        }
    }

    if (kind_ == RuleKind::cuts) {
        const double v = source_score_ >= 0 ? scores_[static_cast<std::size_t>(source_score_)] : values[source_column_];
        result_.tier = result_.reason = tier_of(v, cuts_);
        return result_;
    }
    // kmeans: the nearest centroid (the lowest index on a tie), then its tier.
    const auto& km = static_cast<const KMeansRule&>(model_->rule());
    const std::vector<double>& y = normalized_[kmeans_score_];
    const std::vector<double>& centroids = km.centroids();
    const std::size_t d = y.size(), k = km.clusters();
    double best = 0;
    std::size_t label = 0;
    for (std::size_t j = 0; j < k; ++j) {
        double dist = 0;
        for (std::size_t f = 0; f < d; ++f) {
            const double t = y[f] - centroids[j * d + f];
            dist += t * t;
        }
        if (j == 0 || dist < best) {
            best = dist;
            label = j;
        }
    }
    result_.reason = static_cast<std::int32_t>(label);
    result_.tier = km.cluster_tiers()[label];
    return result_;
}

}  // namespace tierkit
