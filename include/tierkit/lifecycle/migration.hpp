#pragma once
/// @file migration.hpp
/// Movement of customers between two assignments of the same policy: the
/// migration matrix, a Markov projection of tier sizes, the events table, revenue
/// at risk and the win-back list.
///
/// Design notes
/// - Input is the outer join of two assignments by customer id, as columns
///   (Transitions): one row per customer seen in either, with the tier index
///   before and after (0 = best, `absent` when the customer is missing from that
///   side) and optionally the lifecycle stage codes before and after. The join
///   itself is the caller's (the Python layer does it on the pandas index).
/// - The migration matrix is (K+1) x (K+1) for K tiers: row K collects customers
///   that are new (absent before), column K those that exited (absent after).
/// - Sums over customers are taken per fixed block of rows and the blocks added in
///   order, so results are bit-identical at any thread count.
/// - Every function is pure and thread-safe.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tierkit/lifecycle/spec.hpp"

namespace tierkit::lifecycle {

/// Tier index (or stage code) of a customer missing from one side of the join.
inline constexpr std::int32_t absent = -1;

/// The code of a stage in Transitions' stage columns: its position among the
/// assignment's `stage` categories (stage_names, spec.hpp).
constexpr std::int32_t stage_code(Stage stage) noexcept { return static_cast<std::int32_t>(stage); }

/// Two assignments joined by customer id, as column views (nothing is copied).
struct Transitions {
    std::span<const std::int64_t> customers;     ///< one id per row (used for ordering ties)
    std::span<const std::int32_t> tier_before;   ///< 0 = best, `absent` = new; empty = no previous assignment
    std::span<const std::int32_t> tier_after;    ///< 0 = best, `absent` = exited
    std::span<const std::int32_t> stage_before;  ///< stage codes or `absent`; empty = no stages before
    std::span<const std::int32_t> stage_after;   ///< stage codes or `absent`; empty = no stages after
    std::size_t tiers = 0;                       ///< K, the number of tiers of the policy

    std::size_t rows() const { return tier_after.size(); }
    bool has_previous() const { return !tier_before.empty() || rows() == 0; }
    /// Stage rules (lost, won_back, stage_change by stage) apply only when both sides have stages.
    bool has_stages() const { return !stage_before.empty() && !stage_after.empty(); }

    /// Checks lengths and codes.
    /// @throws InvalidInput naming the column and row: a length that differs from
    ///   tier_after's, a tier outside [0, tiers) other than `absent`, a row absent
    ///   on both sides, a stage code outside [0, stage_count) other than `absent`, tiers == 0.
    void validate() const;
};

/// One classification of the rows of a crosstab: a code per row in
/// [0, categories) or `absent`, and the column name its errors give.
struct Codes {
    std::span<const std::int32_t> codes;
    std::size_t categories = 0;
    std::string_view name = "codes";
};

/// Counts (and value sums) of rows per (a, b) pair of codes, for two classifications
/// of the same customers that need not share their categories: the tiers of two
/// policies, or tiers before and after. The table is (A+1) x (B+1), row-major, for
/// A = a.categories and B = b.categories: row A holds the rows absent from a,
/// column B those absent from b.
struct CrossTable {
    std::size_t rows = 0;              ///< A
    std::size_t cols = 0;              ///< B
    std::vector<std::int64_t> counts;  ///< (A+1) x (B+1)
    std::vector<double> sums;          ///< the rows' values summed per cell; empty without values

    std::int64_t count(std::size_t i, std::size_t j) const { return counts[i * (cols + 1) + j]; }
};

/// The crosstab of two classifications of the same rows. Sums are taken per fixed
/// block of rows and the blocks added in order (bit-identical at any thread count).
/// @param values one value per row, or empty.
/// @throws InvalidInput naming the column and row: lengths that differ, a code
///   outside [0, categories) other than `absent`, a row absent from both, a value
///   that is not finite.
CrossTable crosstab(const Codes& a, const Codes& b, std::span<const double> values = {});

/// Counts (and value) of customers per (tier before, tier after) cell.
struct MigrationMatrix {
    std::size_t tiers = 0;              ///< K; every matrix below is (K+1) x (K+1), row-major
    std::vector<std::int64_t> counts;   ///< row K = new customers, column K = exited customers
    std::vector<double> row_shares;     ///< counts over the row total (0 for an empty row)
    std::vector<double> revenue_moved;  ///< sum of the customers' values per cell; empty without values

    std::size_t size() const { return tiers + 1; }
    std::int64_t count(std::size_t from, std::size_t to) const { return counts[from * size() + to]; }
    double share(std::size_t from, std::size_t to) const { return row_shares[from * size() + to]; }
    /// Customers per tier before (index K: absent before, i.e. new).
    std::vector<std::int64_t> before_sizes() const;
    /// Customers per tier after (index K: absent after, i.e. exited).
    std::vector<std::int64_t> after_sizes() const;
};

/// The migration matrix of a join.
/// @param values one value per row (revenue, CLV...), or empty.
/// @throws InvalidInput as Transitions::validate, when there is no previous
///   assignment, or when values has the wrong length or a non-finite entry (named by row).
MigrationMatrix migration(const Transitions& t, std::span<const double> values = {});

/// How entries and exits enter the Markov projection.
struct ProjectionOptions {
    /// Each period, as many customers enter each tier as entered it between the two
    /// assignments (the matrix's "new" row); false: nobody enters.
    bool entries = true;
    /// Customers leave with each tier's observed exit share; false: the exit column
    /// is dropped and each row renormalised over the tiers (the chain of customers
    /// who stay), so the total is conserved when entries are off as well.
    bool exits = true;
};

/// The chain estimated from one migration matrix.
struct TransitionModel {
    std::size_t tiers = 0;
    /// K x (K+1) row-major: probability of going from tier i to tier j (column K =
    /// exit). A tier with no customers before keeps its customers (identity row).
    std::vector<double> matrix;
    std::vector<double> entries;  ///< K: customers entering each tier per period
};

/// @throws InvalidInput when m has no tiers.
TransitionModel transition_model(const MigrationMatrix& m, const ProjectionOptions& options = {});

/// Tier sizes (and value) for periods 0..n.
struct Projection {
    std::size_t tiers = 0;
    std::size_t periods = 0;
    std::vector<double> sizes;    ///< (periods+1) x K; row 0 = the after assignment's tier sizes
    std::vector<double> entered;  ///< periods+1: customers who entered during the period (0 at period 0)
    std::vector<double> exited;   ///< periods+1: customers who left during the period (0 at period 0)
    std::vector<double> value;    ///< (periods+1) x K: sizes times value per customer; empty without it
};

/// Projects sizes_{t+1}[j] = sum_i sizes_t[i] * P[i][j] + entries[j] from the after
/// sizes of `m` for `periods` steps.
/// @param value_per_customer K values (mean revenue or CLV of a customer of each tier), or empty.
/// @throws InvalidInput when value_per_customer is neither empty nor K finite values.
Projection project(const MigrationMatrix& m, std::size_t periods, std::span<const double> value_per_customer = {},
                   const ProjectionOptions& options = {});

/// The fixed point of the chain: sizes x with x = x P + entries. For a closed chain
/// (no entries, no exits) this is the stationary distribution scaled to `total`
/// customers.
/// @throws NumericError when the fixed point is not unique (a closed chain that is
///   not irreducible, or entries into tiers nobody leaves).
std::vector<double> steady_state(const TransitionModel& model, double total);

/// Kinds of events, one per customer at most. Precedence (first that applies):
/// new (absent before), lost (absent after, or stage became lost), won_back (stage
/// became won_back), upgrade (tier index decreased), downgrade (increased),
/// stage_change (same tier, another stage). Stage rules need stages on both sides.
enum class EventKind : std::int8_t {
    upgrade = 0,
    downgrade = 1,
    new_customer = 2,
    lost = 3,
    won_back = 4,
    stage_change = 5
};
inline constexpr std::int8_t no_event = -1;
std::string_view to_string(EventKind kind);

/// The event kind of row i, or no_event. Rows are not validated here.
std::int8_t event_kind(const Transitions& t, std::size_t i);

/// Customers with an event: their rows in `t` (ascending) and kinds.
struct Events {
    std::vector<std::int64_t> rows;
    std::vector<std::int8_t> kinds;  ///< EventKind values
};

/// @throws InvalidInput as Transitions::validate, or when there is no previous assignment.
Events events(const Transitions& t);

/// Why a customer's value is at risk (one reason each; precedence lost, downgraded, declining).
/// lost: absent after (with a previous assignment) or stage lost; downgraded: tier
/// index increased; declining: stage at_risk or declining. Without stages only exits and
/// downgrades are seen; without a previous assignment only stages.
enum class RiskKind : std::int8_t { lost = 0, downgraded = 1, declining = 2 };
inline constexpr std::int8_t no_risk = -1;
inline constexpr std::size_t risk_kinds = 3;
std::string_view to_string(RiskKind kind);
std::int8_t risk_kind(const Transitions& t, std::size_t i);
/// risk_kind of every row.
/// @throws InvalidInput as Transitions::validate.
std::vector<std::int8_t> risks(const Transitions& t);

/// The tier a row is reported under: the tier before when the customer had one,
/// else the tier after.
inline std::int32_t reporting_tier(const Transitions& t, std::size_t i) {
    if (!t.tier_before.empty() && t.tier_before[i] != absent) return t.tier_before[i];
    return t.tier_after[i];
}

/// Value at risk per tier (the reporting tier) and reason.
struct RevenueAtRisk {
    std::size_t tiers = 0;
    std::vector<std::int64_t> customers;       ///< K x 3 row-major [tier][RiskKind]
    std::vector<double> value;                 ///< K x 3
    std::vector<std::int64_t> tier_customers;  ///< K: all customers reported under the tier
    std::vector<double> tier_value;            ///< K: their total value
};

/// @param values one finite value per row (CLV, or last-period revenue).
/// @throws InvalidInput as Transitions::validate, on a values length mismatch or a
///   non-finite value (named by row), or when there is neither a previous assignment nor stages.
RevenueAtRisk revenue_at_risk(const Transitions& t, std::span<const double> values);

/// Rows of the win-back list: customers that are lost (exited, or stage lost) or in
/// stage at_risk or declining (whatever their tier move); without stages, exited or downgraded
/// customers. Highest value first, ties by customer id; at most n rows.
/// @throws as revenue_at_risk.
std::vector<std::int64_t> win_back(const Transitions& t, std::span<const double> values,
                                   std::size_t n = static_cast<std::size_t>(-1));

}  // namespace tierkit::lifecycle
