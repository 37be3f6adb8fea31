#pragma once
/// @file assignment.hpp
/// What Model::assign takes besides the table (AssignOptions, ManualOverride) and
/// what it returns (Assignment). No Boost header: a host that only scores includes
/// this through tierkit/serve.hpp.
///
/// @code
/// tierkit::Assignment a = model.assign(table, {.with_contributions = false, .threads = 2});
/// std::span<const double> value = a.score("value");  // by name; a.scores[0] by position
/// @endcode
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tierkit/core/column.hpp"
#include "tierkit/core/error.hpp"

namespace tierkit {

namespace lifecycle {
struct PreviousAssignment;
}  // namespace lifecycle

/// A tier pinned by hand (an account manager's decision), applied after the rule
/// until it expires.
struct ManualOverride {
    std::int64_t customer = 0;
    std::int32_t tier = 0;                                            ///< index into the policy's tiers
    std::string reason;                                               ///< shown as the customer's reason
    std::int64_t expires = std::numeric_limits<std::int64_t>::max();  ///< last day it applies (day number)
};

/// How Model::assign runs; every field has the plain assign's default, so name only
/// what differs: `model.assign(table, {.with_contributions = false})`.
///
/// Memory: the per-row output columns (Column<T>, column.hpp) of 1 MiB and more can be
/// kept for reuse after they are freed (set_buffer_cache_limit). The cache is off in a
/// C++ program unless the host turns it on, or sets TIERKIT_BUFFER_CACHE_MB; the Python
/// module turns it on (1 GiB) at import.
struct AssignOptions {
    /// Compute each criterion's share of each score (Assignment::contributions);
    /// false leaves contributions empty and saves one column per criterion.
    bool with_contributions = true;
    /// Manual overrides applied after the rule (and after hysteresis) on `as_of`.
    /// Given (even empty), the Assignment also gets rule_reason and pinned; absent
    /// (std::nullopt, the default), those two stay empty. The span must outlive the call.
    std::optional<std::span<const ManualOverride>> overrides;
    /// The day number on which overrides are checked for expiry.
    std::int64_t as_of = 0;
    /// The previous evaluation, for re-tiering with the policy's hysteresis and the
    /// won_back stage (lifecycle/lifecycle.hpp); null = a first evaluation. Given, the
    /// overrides are applied too (as an empty list when absent). Must outlive the call.
    const lifecycle::PreviousAssignment* previous = nullptr;
    /// Threads for this call's row-parallel work (parallel.hpp); 0 = num_threads().
    /// Results do not depend on it.
    unsigned threads = 0;
};

/// The result of assign: one row per customer of the table, in the table's order.
/// The per-row columns are Column<T> (column.hpp): std::vectors whose rows assign
/// writes once, in parallel. Read scores by position (`scores[k]`, in score_names
/// order) or by name (`score("value")`).
struct Assignment {
    Column<std::int64_t> ids;
    std::vector<std::string> score_names;
    std::vector<Column<double>> scores;  ///< per score, 0..100
    /// Per score, per criterion: the criterion's share of the score (sums to the score).
    /// Empty per score when assigned with with_contributions = false.
    std::vector<std::vector<Column<double>>> contributions;
    std::vector<std::vector<std::string>> contribution_names;  ///< per score: criterion columns
    /// Per row, the criteria that add most to the default (first) score, best first
    /// (up to 3; scoring/top_criteria.hpp): index into top_criteria_names. Empty
    /// without contributions.
    Column<std::int32_t> top_criteria;
    std::vector<std::string> top_criteria_names;  ///< "revenue, frequency, aov"
    Column<std::int32_t> tier;                    ///< index into tier_names (0 = best)
    Column<std::int32_t> reason;                  ///< index into reasons
    std::vector<std::string> tier_names;
    std::vector<std::string> tier_modes;
    std::vector<std::vector<std::string>> tier_actions;
    std::vector<std::string> reasons;
    std::string rule_kind;
    /// Per rule (not override) reason: index into `reasons`; equals `reason` unless
    /// pinned. This and `pinned` are filled when AssignOptions::overrides or previous
    /// is given (even an empty list of overrides) and are empty otherwise.
    std::vector<std::int32_t> rule_reason;
    std::vector<std::uint8_t> pinned;               ///< 1 where a manual override applied
    std::vector<std::int64_t> overrides_unmatched;  ///< override customers not in the table
    std::int64_t overrides_expired = 0;             ///< overrides ignored because expired
    /// Rule-specific extra columns (RFM scores, cluster distances...), then the policy's
    /// clv columns (p_alive, expected_purchases[, clv]) when it has a clv section.
    std::vector<std::pair<std::string, std::vector<double>>> extras;
    /// Consecutive evaluations below the held tier's cut (lifecycle/lifecycle.hpp,
    /// retier); all 0 without a previous assignment.
    Column<std::int32_t> below_count;
    /// Lifecycle stage per row (lifecycle::Stage code), its reason (index into
    /// stage_reasons) and the next action (index into next_actions). Empty when the
    /// table lacks the stage columns and Policy::requires_stages() is false.
    std::vector<std::int8_t> stage;
    std::vector<std::int32_t> stage_reason;
    std::vector<std::string> stage_reasons;
    std::vector<std::int32_t> next_action;
    std::vector<std::string> next_actions;
    std::int64_t new_to_book = 0;       ///< rows without a previous tier (re-tiering only)
    std::int64_t previous_dropped = 0;  ///< previous rows whose customer is not in the table
    /// Per criterion with a "missing" option other than reject ("score.column"): the
    /// rows whose missing value (or unknown label) was filled (criterion_values.hpp).
    std::vector<std::pair<std::string, std::int64_t>> missing_filled;

    /// The position of score `name` in score_names.
    /// @throws UnknownColumn naming `name` and the assignment's scores.
    std::size_t score_index(std::string_view name) const;
    /// The column of score `name` (0..100, one value per row).
    /// @throws UnknownColumn as score_index().
    std::span<const double> score(std::string_view name) const;
    /// The share of score `score_name` that criterion `criterion` (its column name)
    /// contributed, one value per row.
    /// @throws UnknownColumn naming the unknown score or criterion and the known ones;
    ///   InvalidInput when the assignment was made with with_contributions = false.
    std::span<const double> contribution(std::string_view score_name, std::string_view criterion) const;
    /// The extra column `name` (rule extras and clv columns).
    /// @throws UnknownColumn naming `name` and the extra columns there are.
    std::span<const double> extra(std::string_view name) const;
};

// ---- inline: a host compiles these into its own code --------------------------------

namespace detail {

/// "a, b, c", or "none".
inline std::string listed(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

}  // namespace detail

inline std::size_t Assignment::score_index(std::string_view name) const {
    for (std::size_t k = 0; k < score_names.size(); ++k)
        if (score_names[k] == name) return k;
    throw UnknownColumn("score '" + std::string(name) +
                        "' is not in the assignment; scores: " + detail::listed(score_names));
}

inline std::span<const double> Assignment::score(std::string_view name) const { return scores[score_index(name)]; }

inline std::span<const double> Assignment::contribution(std::string_view score_name, std::string_view criterion) const {
    const std::size_t k = score_index(score_name);
    const auto& names = contribution_names[k];
    for (std::size_t c = 0; c < names.size(); ++c) {
        if (names[c] != criterion) continue;
        if (contributions[k].size() != names.size())
            throw InvalidInput("contributions of score '" + std::string(score_name) +
                               "' were not computed: assign with with_contributions = true");
        return contributions[k][c];
    }
    throw UnknownColumn("score '" + std::string(score_name) + "' has no criterion '" + std::string(criterion) +
                        "'; criteria: " + detail::listed(names));
}

inline std::span<const double> Assignment::extra(std::string_view name) const {
    std::vector<std::string> names;
    for (const auto& [n, values] : extras) {
        if (n == name) return values;
        names.push_back(n);
    }
    throw UnknownColumn("extra column '" + std::string(name) +
                        "' is not in the assignment; extra columns: " + detail::listed(names));
}

}  // namespace tierkit
