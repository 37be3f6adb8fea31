// Scorer: one customer at a time, without allocation when the rule has a one-row path.
#include "tierkit/scorer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tierkit/core/error.hpp"
#include "tierkit/model.hpp"

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
    fill_.assign(columns_.size(), std::numeric_limits<double>::quiet_NaN());
    for (const auto& s : scores) {
        score_names_.push_back(s.name);
        std::vector<std::size_t> idx;
        for (std::size_t k = 0; k < s.criteria.size(); ++k) {
            const CriterionSpec& spec = s.criteria[k].spec;
            if (spec.has_value_map())
                throw InvalidInput("Scorer: score '" + s.name + "' criterion '" + spec.column +
                                   "' maps labels to numbers and the scorer takes numbers only; assign a table "
                                   "with '" +
                                   spec.column + "' as a categorical column instead");
            const auto it = std::find(columns_.begin(), columns_.end(), spec.column);
            // A missing value of this column takes the fill fitted for it (criterion_values.hpp).
            if (spec.missing != Missing::reject && it != columns_.end())
                fill_[static_cast<std::size_t>(it - columns_.begin())] = s.criteria[k].missing_fill;
            idx.push_back(model.clv() ? 0 : column_index(columns_, spec.column, "score '" + s.name + "'"));
        }
        criterion_column_.push_back(std::move(idx));
        normalized_.emplace_back(s.criteria.size());
    }
    filled_.resize(columns_.size());
    scores_.assign(scores.size(), 0.0);
    if (model.clv()) return;  // the clv columns need the general path

    // The rule's own one-customer path, when it has one (Rule::row_assigner).
    std::vector<std::vector<std::string>> criteria;
    for (const auto& sc : scores) {
        criteria.emplace_back();
        for (const auto& c : sc.criteria) criteria.back().push_back(c.spec.column);
    }
    row_ = model.rule().row_assigner(RowLayout{columns_, score_names_, criteria});
    fast_ = row_ != nullptr;
}

const Scored& Scorer::assign_one(std::span<const double> values) {
    if (values.size() != columns_.size())
        throw InvalidInput("assign_one: expected " + std::to_string(columns_.size()) +
                           " values (one per column), got " + std::to_string(values.size()));
    for (std::size_t j = 0; j < values.size(); ++j) {
        filled_[j] = std::isnan(values[j]) && !std::isnan(fill_[j]) ? fill_[j] : values[j];
        if (!std::isfinite(filled_[j]))
            throw InvalidInput("column '" + columns_[j] + "': must be a finite number, got " +
                               std::to_string(values[j]));
    }
    values = filled_;
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

    row_->assign_one(RowInput{values, scores_, normalized_}, result_.tier, result_.reason);
    return result_;
}

}  // namespace tierkit
