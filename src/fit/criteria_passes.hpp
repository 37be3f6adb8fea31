#pragma once
// The criteria's and weights' side of the Fitter's passes (private to src/fit/).
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tierkit/fit/partial_state.hpp"
#include "tierkit/fit/refine.hpp"
#include "tierkit/model.hpp"

namespace tierkit::fit_passes {

/// The ranks of the percentile knots of a column of n rows with more than max_knots
/// distinct values (as fit_criterion picks them).
std::vector<double> knot_ranks(double n);
/// Median, IQR and percentile knots as fit_criterion makes them (min_group 1), from
/// the column's groups: every group (`groups`, when there are at most max_knots) or
/// the one at any rank (`at`).
void set_order_statistics(FittedCriterion& f, const std::vector<Group>* groups, const std::function<Group(double)>& at);
/// Every group of some distinct values with their counts.
std::vector<Group> groups_of(const std::vector<double>& values, const std::vector<double>& counts);
/// The group at rank r of a list of every group.
Group group_at(const std::vector<Group>& g, double r);
/// Whether the criterion's normalizer reads order statistics (percentile, bins, robust).
bool needs_order(const CriterionSpec& c);
/// The data-driven part of a weight spec (entropy or critic), or null.
const WeightSpec* objective_of(const WeightSpec& w);
bool needs_weights_pass(const ScoreSpec& s);
/// A criterion's column of a chunk, each value finite.
/// @throws UnknownColumn, InvalidInput naming the column and row.
std::span<const double> chunk_column(const FeatureTable& t, const std::string& score, std::size_t k,
                                     const std::string& column);
/// Offsets of each score's sums in the weights pass: entropy 2 per criterion, critic
/// c + c * c (centred sums, cross-products of all criteria; constant ones stay 0).
std::vector<std::size_t> weight_sum_offsets(const Policy& p);

/// y = scale * (offset + sign * t) of the entropy variant, from the criterion's range.
struct EntropyMap {
    double offset = 0, sign = 1, scale = 0;  // scale 0: constant column (no information)
};
EntropyMap entropy_map(const FittedCriterion& f, bool proportion, std::size_t j);
/// A score's weights from its spec and the weights pass's sums (null: no such pass).
std::vector<double> merged_weights(const WeightSpec& w, const ScoreSpec& spec, FittedScore& out, const double* sums);
/// The rows the exact mode gathered, as a table.
FeatureTable gathered_table(const PartialState& s);

/// Criterion j counting over every score's criteria. @throws InvalidInput past the last.
FittedCriterion& criterion_at(std::vector<FittedScore>& scores, std::size_t j);
/// The ranks a refine pass of a criterion needs: its clip quantiles, or its quartiles and knots.
std::vector<double> criterion_ranks(const FittedCriterion& f, bool clip, double n);
/// The criterion's clip bounds, or median, IQR and knots, from its order statistics.
void finish_criterion(FittedCriterion& f, bool clip, const OrderIndex& index);

}  // namespace tierkit::fit_passes
