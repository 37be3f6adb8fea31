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
    fitted_ = &model.scores();
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

}  // namespace tierkit
