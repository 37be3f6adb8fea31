#pragma once
/// @file input.hpp
/// What a rule reads besides the table (rule.hpp's RuleInput): the normalized
/// criteria of a score, and one customer's values for a Scorer's one-customer path
/// (RowLayout, RowInput, RowAssigner). No Boost header (rule.hpp has the Rule and its
/// archive code), so the serving header's Scorer (scorer.hpp) runs a rule's
/// RowAssigner inline.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"

namespace tierkit {

/// The normalized criteria of one score (each column in [0, 1], 1 = best), for
/// rules that work on them (kmeans, grids). Only filled when the rule asks for it
/// (Rule::needs_criteria).
struct CriteriaBlock {
    std::string score;                            ///< score name
    std::vector<std::string> names;               ///< criterion columns
    std::vector<std::vector<double>> normalized;  ///< per criterion, one value per row
    std::vector<double> weights;                  ///< the score's weights (sum 1)
};

/// Where a Scorer's inputs sit, for Rule::row_assigner(): the caller's columns in
/// order, the policy's scores in order and each score's criterion columns.
struct RowLayout {
    const std::vector<std::string>& columns;
    const std::vector<std::string>& score_names;
    const std::vector<std::vector<std::string>>& criteria;  ///< per score, its criterion columns

    /// Index of a score, or -1 when `name` is not a score.
    std::ptrdiff_t score_index(const std::string& name) const noexcept {
        for (std::size_t k = 0; k < score_names.size(); ++k)
            if (score_names[k] == name) return static_cast<std::ptrdiff_t>(k);
        return -1;
    }
    /// Index of a column. @throws UnknownColumn naming `who` and listing the columns.
    std::size_t column_index(const std::string& name, const std::string& who) const {
        for (std::size_t k = 0; k < columns.size(); ++k)
            if (columns[k] == name) return k;
        std::string list;
        for (const auto& c : columns) list += (list.empty() ? "" : ", ") + c;
        throw UnknownColumn(who + ": column '" + name + "' is not among the scorer's columns: " + list);
    }
};

/// One customer's inputs, laid out as the RowLayout the assigner was made for.
struct RowInput {
    std::span<const double> values;                   ///< one per RowLayout::columns
    std::span<const double> scores;                   ///< one per score (0..100)
    std::span<const std::vector<double>> normalized;  ///< per score, its normalized criteria ([0, 1])
};

/// A rule's one-customer path, bound to one RowLayout (Rule::row_assigner). It must
/// give the rule's assign() result for the same values, bit for bit, and make no
/// heap allocation. It holds a reference to the fitted rule, which must outlive it.
class RowAssigner {
public:
    virtual ~RowAssigner() = default;
    virtual void assign_one(const RowInput& input, std::int32_t& tier, std::int32_t& reason) const = 0;
};

}  // namespace tierkit
