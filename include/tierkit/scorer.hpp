#pragma once
/// @file scorer.hpp
/// Real-time scoring: one customer's features in, tier, reason and scores out.
///
/// @code
/// tierkit::Scorer scorer(model, {"revenue", "frequency", "days_since_last"});
/// const double x[] = {1520.0, 7, 31};
/// const tierkit::Scored& r = scorer.assign_one(x);  // r.tier, r.reason, r.scores[0]
/// @endcode
///
/// A Scorer is built once from a const Model (which must outlive it) and the names of
/// the columns the caller will pass, in order; it resolves every criterion and rule
/// input to a position in that list and preallocates its buffers, so assign_one()
/// makes no heap allocation (allocation_free()) when:
/// - the policy has no clv section, and
/// - the rule has a one-customer path (Rule::row_assigner): the cut-point rules and
///   kmeans among the built-ins, and any host rule that implements it.
/// Other rules and a clv section take the general path: a one-row table assigned by
/// Model::assign (same results, with allocations). Results are identical to
/// Model::assign on a table holding the same values, bit for bit.
///
/// Thread safety: assign_one() writes the Scorer's buffers, so use one Scorer per
/// thread (they may share the Model).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tierkit/model.hpp"

namespace tierkit {

/// The result of Scorer::assign_one; valid until the next call.
struct Scored {
    std::int32_t tier = 0;    ///< index into the policy's tiers (0 = best)
    std::int32_t reason = 0;  ///< index into Scorer::reasons()
    std::span<const double> scores;  ///< one per score of the policy, in its order (0..100)
};

class Scorer {
public:
    /// @param columns the feature columns assign_one() receives, in order.
    /// @throws UnknownColumn when a criterion or the rule reads a column not in
    ///   `columns` (fast path; the general path reports it at assign_one).
    Scorer(const Model& model, std::vector<std::string> columns);

    /// Score one customer. @param values one per column given to the constructor.
    /// @throws InvalidInput for a wrong number of values or a NaN/infinite one
    ///   (naming the column).
    const Scored& assign_one(std::span<const double> values);

    /// Whether assign_one() runs without heap allocation (see the file comment).
    bool allocation_free() const noexcept { return fast_; }
    const std::vector<std::string>& columns() const noexcept { return columns_; }
    const std::vector<std::string>& score_names() const noexcept { return score_names_; }
    const std::vector<std::string>& tier_names() const noexcept { return tier_names_; }
    /// Reason texts, indexed by Scored::reason.
    const std::vector<std::string>& reasons() const noexcept { return reasons_; }

private:
    const Model& model_;
    std::vector<std::string> columns_;
    std::vector<std::string> score_names_, tier_names_, reasons_;
    bool fast_ = false;
    std::unique_ptr<RowAssigner> row_;  ///< the rule's one-customer path, or null
    std::vector<std::vector<std::size_t>> criterion_column_;  ///< per score, per criterion: index into values
    std::vector<std::vector<double>> normalized_;             ///< per score, per criterion
    std::vector<double> scores_;
    Scored result_;
};

}  // namespace tierkit
