#pragma once
/// @file criterion_values.hpp
/// Criteria that are not plain numbers: columns of labels read through the
/// criterion's value map (credit rating "D".."AAA", satisfaction "low"/"high",
/// industry), and missing values filled per the criterion's `missing` option
/// (scoring/criterion.hpp). fit() and Model::assign() call resolve_criteria before
/// anything reads a criterion column, so every rule, weight method and normalizer
/// sees numbers.
///
/// A labelled column is a categorical column of the FeatureTable (codes + labels,
/// FeatureTable::add_category); code -1 is a missing value. A numeric column is
/// missing where it is NaN (an infinite value stays an error).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tierkit/core/table.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/scoring/criterion.hpp"

namespace tierkit {

struct FittedScore;

/// One criterion column after resolving.
struct ResolvedColumn {
    std::vector<double> values;                              ///< numbers, missing entries filled
    double fill = std::numeric_limits<double>::quiet_NaN();  ///< the value missing entries got
    std::int64_t missing = 0;                                ///< entries filled
};

/// The numbers of `spec.column` in `table`: labels mapped through the value map and
/// missing entries replaced by `fill`, or, when `fill` is NaN (at fit), by the value
/// spec.missing resolves to on the column's present values.
/// @param min_group privacy.min_group: the median and the worst value at fit are those
///   of groups of at least min_group rows (privacy.hpp).
/// @throws UnknownColumn when the table has no such column; InvalidInput naming column,
///   row and label for a label outside the map (unless unknown_as_missing), naming
///   column and row for a missing entry when spec.missing is reject, for a value map
///   on a numeric column or labels without a value map, and when every entry is
///   missing and the fill needs present values (median, worst).
ResolvedColumn resolve_column(const CriterionSpec& spec, const FeatureTable& table, double fill,
                              std::size_t min_group = 1);

/// Per score, per criterion: the fill used and the entries filled (0 for criteria that
/// need no resolving).
struct CriteriaFill {
    std::vector<std::vector<double>> fill;
    std::vector<std::vector<std::int64_t>> missing;
};

/// `table` with every criterion column that needs resolving (CriterionSpec::
/// needs_resolving, or a categorical column read as a criterion) replaced by its
/// resolved numbers; other columns and the categorical columns are kept (so rules can
/// still group by a labelled column). The result borrows `table`'s memory: use it
/// while `table` lives. Empty when no criterion needs it (read `table` itself then).
/// @param fitted null at fit (fills computed from the data), else the fitted scores
///   whose missing_fill values are used.
/// @throws as resolve_column; PolicyError when two scores read one column with
///   different value maps or missing options.
std::optional<FeatureTable> resolve_criteria(const std::vector<ScoreSpec>& scores, const FeatureTable& table,
                                             const std::vector<FittedScore>* fitted, std::size_t min_group,
                                             CriteriaFill& out);

}  // namespace tierkit
