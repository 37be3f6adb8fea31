#pragma once
/// @file scorer.hpp
/// Real-time scoring: one customer's features in, tier, reason and scores out.
///
/// @code
/// tierkit::Scorer scorer(tierkit::load(in), {"revenue", "frequency", "days_since_last"});
/// const double x[] = {1520.0, 7, 31};
/// const tierkit::Scored& r = scorer.assign_one(x);  // r.tier, r.reason, r.scores[0]
/// @endcode
///
/// A Scorer is built once from a Model and the names of the columns the caller will
/// pass, in order. It shares ownership of the Model (std::shared_ptr<const Model>), so
/// a Scorer built from a temporary (`tierkit::load(in)`) stays valid; pass a
/// shared_ptr to let many Scorers share one Model without copying it. Model::input_columns()
/// (or tierkit::input_columns in serve.hpp) lists the columns every rule needs. It
/// resolves every criterion and rule input to a position in that list and preallocates
/// its buffers, so assign_one()
/// makes no heap allocation (allocation_free()) when:
/// - the policy has no clv section, and
/// - the rule has a one-customer path (Rule::row_assigner): the cut-point rules and
///   kmeans among the built-ins, and any host rule that implements it.
/// Other rules and a clv section take the general path: a one-row table assigned by
/// Model::assign (same results, with allocations). Results are identical to
/// Model::assign on a table holding the same values, bit for bit.
///
/// Thread safety: assign_one() writes the Scorer's buffers, so use one Scorer per
/// thread (they may share the Model: build them from one shared_ptr, or copy a Scorer).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tierkit/assignment.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/table.hpp"
#include "tierkit/rules/input.hpp"
#include "tierkit/scoring/score.hpp"

namespace tierkit {

class Model;  // model.hpp; the Scorer needs only its declaration (serve.hpp includes no Boost)

/// model.assign(table, options): see Model::assign and AssignOptions. (Compiled: the
/// Model is only declared here.)
/// @throws as Model::assign.
Assignment assign(const Model& model, const FeatureTable& table, const AssignOptions& options = {});

/// The result of Scorer::assign_one; valid until the next call.
struct Scored {
    std::int32_t tier = 0;           ///< index into the policy's tiers (0 = best)
    std::int32_t reason = 0;         ///< index into Scorer::reasons()
    std::span<const double> scores;  ///< one per score of the policy, in its order (0..100)
};

class Scorer {
public:
    /// @param model the fitted model, shared: the Scorer keeps it alive.
    /// @param columns the feature columns assign_one() receives, in order.
    /// @throws InvalidInput when `model` is null or a criterion maps labels (a value map,
    ///   scoring/criterion_values.hpp: assign a table with the categorical column instead);
    ///   UnknownColumn when a criterion or the rule reads a column not in `columns` (fast
    ///   path; the general path reports it at assign_one).
    Scorer(std::shared_ptr<const Model> model, std::vector<std::string> columns);
    /// Takes `model` by value: a temporary is moved in, an lvalue is copied (pass a
    /// shared_ptr instead to share one Model among Scorers). Needs model.hpp (or
    /// tierkit.hpp) where it is called. @throws as above.
    Scorer(Model model, std::vector<std::string> columns);

    /// Score one customer. @param values one per column given to the constructor.
    /// A NaN in a column whose criterion has a "missing" option takes the fill fitted
    /// for it, as Model::assign does.
    /// @throws InvalidInput for a wrong number of values or a NaN/infinite one
    ///   (naming the column).
    const Scored& assign_one(std::span<const double> values);

    /// Whether assign_one() runs without heap allocation (see the file comment).
    bool allocation_free() const noexcept { return fast_; }
    /// The model this Scorer scores with (shared with the caller when built from a shared_ptr).
    const std::shared_ptr<const Model>& model() const noexcept { return model_; }
    const std::vector<std::string>& columns() const noexcept { return columns_; }
    const std::vector<std::string>& score_names() const noexcept { return score_names_; }
    const std::vector<std::string>& tier_names() const noexcept { return tier_names_; }
    /// Reason texts, indexed by Scored::reason.
    const std::vector<std::string>& reasons() const noexcept { return reasons_; }

private:
    std::shared_ptr<const Model> model_;
    const std::vector<FittedScore>* fitted_ = nullptr;  ///< the model's scores (model_ keeps them alive)
    std::vector<std::string> columns_;
    std::vector<std::string> score_names_, tier_names_, reasons_;
    bool fast_ = false;
    /// The rule's one-customer path, or null. Shared by copies of the Scorer: its
    /// assign_one is const and keeps no state (the buffers are the Scorer's).
    std::shared_ptr<const RowAssigner> row_;
    std::vector<std::vector<std::size_t>> criterion_column_;  ///< per score, per criterion: index into values
    std::vector<std::vector<double>> normalized_;             ///< per score, per criterion
    std::vector<double> fill_;    ///< per column: the value a NaN becomes (NaN: none, a NaN is an error)
    std::vector<double> filled_;  ///< the values of the current call, NaNs filled
    std::vector<double> scores_;
    Scored result_;
};

inline const Scored& Scorer::assign_one(std::span<const double> values) {
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
        const Assignment a = tierkit::assign(*model_, table, options);
        for (std::size_t s = 0; s < scores_.size(); ++s) scores_[s] = a.scores[s][0];
        result_.tier = a.tier[0];
        result_.reason = a.reason[0];
        return result_;
    }

    // The composite scores, in the order of operations of Model::assign.
    const auto& scores = *fitted_;
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
