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
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/table.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/score.hpp"

namespace tierkit {

namespace detail {

inline const char* missing_name(Missing m) {
    switch (m) {
        case Missing::reject:
            return "reject";
        case Missing::worst:
            return "worst";
        case Missing::median:
            return "median";
        case Missing::zero:
            return "zero";
        case Missing::value:
            return "a number";
    }
    return "reject";
}

inline std::string where(const CriterionSpec& spec, const FeatureTable& table, std::size_t row) {
    return "column '" + spec.column + "', row " + std::to_string(row) + " (customer " +
           std::to_string(table.ids()[row]) + ")";
}

inline std::string label_list(const std::vector<std::string>& labels) {
    std::string s;
    for (std::size_t j = 0; j < labels.size(); ++j) s += (j ? ", " : "") + labels[j];
    return s;
}

/// The fill of spec.missing on the present (non-NaN) values.
inline double fit_fill(const CriterionSpec& spec, std::vector<double> present, std::size_t min_group) {
    switch (spec.missing) {
        case Missing::reject:
            return std::numeric_limits<double>::quiet_NaN();
        case Missing::zero:
            return 0.0;
        case Missing::value:
            return spec.missing_value;
        case Missing::median:
        case Missing::worst:
            break;
    }
    if (present.empty())
        throw InvalidInput("column '" + spec.column + "': every row is missing, so \"missing\": \"" +
                           missing_name(spec.missing) + "\" has no value to take");
    min_group = std::max<std::size_t>(min_group, 1);
    if (spec.missing == Missing::worst)
        return spec.direction == Direction::higher ? mean_of_lowest(present, min_group)
                                                   : mean_of_highest(present, min_group);
    std::sort(present.begin(), present.end());
    return PrivateGroups(present, min_group).quantile(0.5);
}

}  // namespace detail

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
inline ResolvedColumn resolve_column(const CriterionSpec& spec, const FeatureTable& table, double fill,
                                     std::size_t min_group = 1) {
    const std::size_t n = table.rows();
    ResolvedColumn r;
    r.values.resize(n);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (spec.has_value_map()) {
        if (!table.has_category(spec.column)) {
            if (table.has(spec.column))
                throw InvalidInput("column '" + spec.column + "': the criterion maps labels (" +
                                   detail::label_list(spec.labels) +
                                   ") but the column holds numbers; pass it as a categorical column");
            throw UnknownColumn(table.unknown_message(spec.column) +
                                " (a criterion with a value map reads a categorical column)");
        }
        const auto [codes, labels] = table.category(spec.column);
        // Value of each code; -2 marks a label outside the map.
        std::unordered_map<std::string, double> map;
        for (std::size_t j = 0; j < spec.labels.size(); ++j) map.emplace(spec.labels[j], spec.label_values[j]);
        std::vector<double> of_code(labels->size(), nan);
        std::vector<bool> unknown(labels->size(), false);
        for (std::size_t c = 0; c < labels->size(); ++c) {
            const auto it = map.find((*labels)[c]);
            if (it != map.end())
                of_code[c] = it->second;
            else
                unknown[c] = true;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::int32_t c = codes[i];
            if (c < 0) {
                r.values[i] = nan;
                continue;
            }
            if (unknown[static_cast<std::size_t>(c)] && !spec.unknown_as_missing)
                throw InvalidInput(detail::where(spec, table, i) + ": unknown label '" +
                                   (*labels)[static_cast<std::size_t>(c)] + "'; expected one of " +
                                   detail::label_list(spec.labels) +
                                   " (or set \"unknown\": \"missing\" on the criterion)");
            r.values[i] = of_code[static_cast<std::size_t>(c)];
        }
    } else {
        if (!table.has(spec.column) && table.has_category(spec.column)) {
            const auto [codes, labels] = table.category(spec.column);
            throw InvalidInput("column '" + spec.column + "': holds labels (" + detail::label_list(*labels) +
                               "); give the criterion an \"order\" (worst first) or a \"values\" map");
        }
        const auto col = table.column(spec.column);  // UnknownColumn listing the columns
        std::copy(col.begin(), col.end(), r.values.begin());
    }
    std::vector<double> present;
    if (std::isnan(fill) && spec.missing != Missing::reject) present.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isnan(r.values[i])) {
            if (std::isnan(fill) && spec.missing != Missing::reject) present.push_back(r.values[i]);
            continue;
        }
        if (spec.missing == Missing::reject)
            throw InvalidInput(detail::where(spec, table, i) +
                               ": value is missing; set the criterion's \"missing\" to \"worst\", "
                               "\"median\", \"zero\" or a number to score it");
        ++r.missing;
    }
    r.fill = std::isnan(fill) ? detail::fit_fill(spec, std::move(present), min_group) : fill;
    if (r.missing > 0)
        for (double& v : r.values)
            if (std::isnan(v)) v = r.fill;
    return r;
}

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
inline std::optional<FeatureTable> resolve_criteria(const std::vector<ScoreSpec>& scores, const FeatureTable& table,
                                                    const std::vector<FittedScore>* fitted, std::size_t min_group,
                                                    CriteriaFill& out) {
    out.fill.assign(scores.size(), {});
    out.missing.assign(scores.size(), {});
    // Resolved columns by name, with the spec that made them.
    std::map<std::string, std::pair<const CriterionSpec*, ResolvedColumn>> done;
    for (std::size_t s = 0; s < scores.size(); ++s) {
        const auto& criteria = scores[s].criteria;
        out.fill[s].assign(criteria.size(), std::numeric_limits<double>::quiet_NaN());
        out.missing[s].assign(criteria.size(), 0);
        for (std::size_t k = 0; k < criteria.size(); ++k) {
            const CriterionSpec& spec = criteria[k];
            const bool labelled = !table.has(spec.column) && table.has_category(spec.column);
            if (!spec.needs_resolving() && !labelled) continue;
            auto it = done.find(spec.column);
            if (it != done.end()) {
                const CriterionSpec& a = *it->second.first;
                if (a.labels != spec.labels || a.label_values != spec.label_values || a.missing != spec.missing ||
                    !(a.missing_value == spec.missing_value ||
                      (std::isnan(a.missing_value) && std::isnan(spec.missing_value))) ||
                    a.unknown_as_missing != spec.unknown_as_missing ||
                    (spec.missing == Missing::worst && a.direction != spec.direction))
                    throw PolicyError("scores[" + std::to_string(s) + "].criteria[" + std::to_string(k) +
                                      "]: column '" + spec.column +
                                      "' is read by another score with a different value map or missing option");
            } else {
                double fill = std::numeric_limits<double>::quiet_NaN();
                if (fitted) fill = (*fitted)[s].criteria[k].missing_fill;
                it = done.emplace(spec.column, std::make_pair(&spec, resolve_column(spec, table, fill, min_group)))
                         .first;
            }
            out.fill[s][k] = it->second.second.fill;
            out.missing[s][k] = it->second.second.missing;
        }
    }
    if (done.empty()) return std::nullopt;
    FeatureTable result(table.ids(), nullptr);
    for (std::size_t j = 0; j < table.cols(); ++j)
        if (!done.count(table.name(j))) result.add_column_view(table.name(j), table.column(j), table.owner(j));
    for (const auto& name : table.category_names()) {
        const auto [codes, labels] = table.category(name);
        result.add_category_view(name, codes, *labels, nullptr);
    }
    for (auto& [name, entry] : done) result.add_column(name, std::move(entry.second.values));
    return result;
}

}  // namespace tierkit
