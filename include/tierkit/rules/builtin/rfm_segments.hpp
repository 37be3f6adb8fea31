#pragma once
/// @file rfm_segments.hpp
/// `rfm_segments`: R, F and M scored 1..k by quantiles of the fitted data, then a
/// table of named segments over the three scores (the RFM segment map).
///
/// @code{.json}
/// {"kind": "rfm_segments",
///  "recency": "days_since_last", "frequency": "frequency", "monetary": "revenue",
///  "bins": 5, "ties": "average",
///  "segments": [{"name": "Best", "r": [4, 5], "f": [4, 5], "m": [4, 5]},
///               {"name": "Rest", "fm": [1, 5]}],
///  "fallback": "Others"}
/// @endcode
/// Every key is optional. The policy's tiers are the segment names: one tier per
/// distinct segment name (plus the fallback, if any), in any order; a customer's
/// tier is the tier named like its segment. Without `segments` the default 11-segment
/// map below is used, so the policy's tiers must be its 11 names.
///
/// ## Columns
/// - `recency` (default `days_since_last`): lower is more recent unless
///   `"recency_direction": "higher"` (e.g. for a last-purchase date). The most recent
///   customers get R = k.
/// - `frequency` (default `frequency`), `monetary` (default `revenue`): higher is
///   better. The default monetary column is `revenue`, the customer's total spend, as
///   in the R rfm package (`amount = sum(revenue)`) and the Putler/Shopify maps;
///   `monetary_value` (lifetimes' mean spend of the *repeat* purchases) is 0 for
///   every one-time buyer, which would put most customers into one M bin.
///
/// ## Scores
/// Each column is ranked in the fitted data (ascending, best last) and a customer
/// whose rank is r among n gets the percentile p = (r - 1) / (n - 1) and the score
/// min(k, 1 + floor(k * p)) (p = 0.5 when n = 1). This is the percentile convention
/// of the criteria (scoring/criterion.hpp) and the `bins` normalizer's binning, and
/// it matches the R rfm package's half-open [lower, upper) intervals: a value exactly
/// at a quantile goes up. With n distinct values and n a multiple of k, every score
/// holds exactly n / k customers (10 customers -> 2 per quintile). Computed in exact
/// integer arithmetic.
///
/// `ties` says which rank tied values get:
/// - `average` (default): the mean of their ranks (pandas `rank(method="average")`);
/// - `min` / `max`: the lowest / highest of their ranks (tied groups go down / up);
/// - `dense`: the rank among the distinct values, n being the number of distinct
///   values (many one-time buyers then still leave room for F = 2..5);
/// - `first`: ranks in order of appearance (pandas `rank(method="first")`, the
///   tutorials' `qcut(x.rank(method="first"), 5)` recipe): exactly equal bins, but
///   one value may be split across two scores, earlier rows getting the lower score.
/// In every mode but `first`, equal values always get equal scores.
///
/// Fit keeps, for each score s = 2..k, the lowest fitted value that scored >= s (the
/// thresholds, shown in parameters() in the column's own units), and new customers
/// are scored by them: a value between two fitted values gets the lower one's score.
/// In `first` mode fit also keeps, per threshold, the share of the rows equal to it
/// that stayed below; in another table the rows equal to that value are split in the
/// same proportion, in row order (on the fitted table this reproduces the fitted
/// scores exactly).
///
/// ## Segment table
/// An ordered list of rules `{"name", "r": [lo, hi], "f": [lo, hi], "m": [lo, hi]}`
/// (inclusive ranges on the scores; an omitted key matches any score) or with
/// `"fm": [lo, hi]` on (F + M) / 2 instead of f and m (the R-vs-average(F, M) maps of
/// Putler and Shopify). **The first matching rule wins**, as in R rfm's
/// `rfm_segment()`. Several rules may carry the same name (a segment that is not a
/// rectangle). validate_segments() checks a table against all k^3 cells: a table
/// with cells no rule matches is a PolicyError listing the first of them, unless the
/// rule names a `fallback` segment for them; cells matched by several rules and rules
/// that win no cell are reported (report(), parameters()) but allowed.
///
/// ## The default table (5 bins)
/// The named 11-segment map (Champions, Loyal Customers, Potential Loyalist, New
/// Customers, Promising, Need Attention, About To Sleep, At Risk, Can't Lose Them,
/// Hibernating, Lost) as published by Putler ("RFM analysis for successful customer
/// segmentation", R against the average of F and M), documented with the same ranges
/// by churned.io, and encoded with F = M in the R rfm package 0.2.x vignette
/// (rsquaredacademy/rfm, 0.2.2). Those ranges, read as inclusive integer ranges,
/// overlap so much that first-match order leaves Recent, Promising, Can't Lose and
/// Lost with no customer at all, and rfm's own 0.2.x code has 36 "Others" cells
/// (see validate_segments; SEGMENTATION.md sections 1.1 and 1.5b).
///
/// Resolution: the published ranges are boundaries on the 0..5 axes of Putler's grid
/// chart ("0-1", "0-2" only make sense as boundaries: no score is 0), so a range
/// "a-b" covers the scores s with a < s <= b, and on (F + M) / 2, which moves in
/// steps of 0.5, the values a < fm <= b. Read so, the map is the 5 x 5 grid of the
/// chart with exactly three nested overlaps, resolved as the chart draws them:
/// Champions is cut out of Loyal Customers, Can't Lose Them out of At Risk and
/// Hibernating out of Lost. The table below spells the result out as disjoint
/// rectangles, so each of the 125 cells matches exactly one rule (a test checks it):
///
/// | segment            | published R / (F+M)/2 | here: R | (F+M)/2    | cells |
/// |--------------------|-----------------------|---------|------------|-------|
/// | Champions          | 4-5 / 4-5             | 5       | 4.5-5      |   3   |
/// | Loyal Customers    | 2-5 / 3-5             | 5       | 3.5-4      |  27   |
/// |                    |                       | 3-4     | 3.5-5      |       |
/// | Potential Loyalist | 3-5 / 1-3             | 4-5     | 1.5-3      |  28   |
/// | New Customers      | 4-5 / 0-1             | 5       | 1          |   1   |
/// | Promising          | 3-4 / 0-1             | 4       | 1          |   1   |
/// | Need Attention     | 2-3 / 2-3             | 3       | 2.5-3      |   9   |
/// | About To Sleep     | 2-3 / 0-2             | 3       | 1-2        |   6   |
/// | At Risk            | 0-2 / 2-5             | 2       | 2.5-5      |  35   |
/// |                    |                       | 1       | 2.5-4      |       |
/// | Can't Lose Them    | 0-1 / 4-5             | 1       | 4.5-5      |   3   |
/// | Hibernating        | 1-2 / 1-2             | 2       | 1.5-2      |   5   |
/// | Lost               | 0-2 / 0-2             | 1       | 1-2        |   7   |
/// |                    |                       | 2       | 1          |       |
///
/// (cells = R x F x M cells; (F + M) / 2 = 1 holds 1 of the 25 (F, M) pairs,
/// 1.5-2: 5, 2.5-3: 9, 3.5-4: 7, 4.5-5: 3.)
///
/// ## Output
/// extra_columns(): `r_score`, `f_score`, `m_score` and `rfm_cell` = 100 R + 10 F + M
/// (545); k is at most 9 so the cell reads digit by digit. Reasons, one per table
/// rule (plus the fallback): "rfm_segments: Champions (R 5, (F+M)/2 4.5-5)".
///
/// Thread safety: immutable after fit; assign() and extra_columns() are const and
/// may run concurrently.
#include <algorithm>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// Which rank tied values get when scoring (see the file comment).
enum class RankTies { average, min, max, dense, first };

/// "average", "min", "max", "dense", "first".
const char* to_string(RankTies t) noexcept;

/// Quantile scores 1..k of one column, learned from the fitted data.
class RankBins {
public:
    RankBins() = default;

    /// Learn the thresholds from `values`.
    /// @param lower_is_better true for recency in days: the smallest value scores k.
    /// @param min_group privacy.min_group (privacy.hpp): a threshold is the value of the
    ///   group of >= min_group rows holding the exact one (exact for a tie group that large).
    /// @throws InvalidInput when `values` is empty, has fewer than min_group rows or holds
    ///   a NaN or infinite value (the message names the row; the caller adds the column).
    static RankBins fit(std::span<const double> values, int bins, RankTies ties, bool lower_is_better = false,
                        std::size_t min_group = 1);

    /// Score every value into out (1..k).
    /// @returns the row of the first NaN or infinite value (its score is left 0), or
    ///   values.size() when all are finite.
    std::size_t score(std::span<const double> values, std::span<std::uint8_t> out) const;

    int bins() const noexcept { return bins_; }
    bool lower_is_better() const noexcept { return sign_ < 0; }
    /// Per score s = 2..k (index s - 2): the lowest fitted value with a score >= s,
    /// in the column's units (for lower_is_better: the highest value with a score >= s);
    /// +/-inf when no fitted value reached s.
    std::vector<double> thresholds() const;
    /// Per score s = 2..k: the share of the fitted rows equal to its threshold that
    /// scored below s (`first` ties only; 0 otherwise).
    const std::vector<double>& split_below() const noexcept { return below_; }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("bins", bins_);
        ar& make_nvp("sign", sign_);
        ar& make_nvp("thresholds", thresholds_);
        ar& make_nvp("below", below_);
    }

private:
    int bins_ = 5;
    double sign_ = 1.0;               ///< values are compared as sign * x
    std::vector<double> thresholds_;  ///< per s = 2..k, in sign * x units, ascending
    std::vector<double> below_;
};

/// An inclusive range of scores; the default matches anything.
struct ScoreRange {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();

    bool contains(double s) const noexcept { return lo <= s && s <= hi; }
    bool any() const noexcept {
        return lo == -std::numeric_limits<double>::infinity() && hi == std::numeric_limits<double>::infinity();
    }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::serialization::make_nvp("lo", lo);
        ar& boost::serialization::make_nvp("hi", hi);
    }
};

/// One rule of a segment table: a segment name and the ranges a cell must be in.
struct SegmentRange {
    std::string name;
    ScoreRange r, f, m;
    bool uses_fm = false;  ///< true: `fm` bounds (F + M) / 2 and f, m are ignored
    ScoreRange fm;

    bool matches(int rs, int fs, int ms) const noexcept {
        if (!r.contains(rs)) return false;
        if (uses_fm) return fm.contains((fs + ms) / 2.0);
        return f.contains(fs) && m.contains(ms);
    }
    /// "R 4-5, F 4-5, M 4-5", "R 5, (F+M)/2 4.5-5"; unconstrained scores are left out
    /// ("any cell" when nothing is constrained).
    std::string describe() const;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("name", name);
        ar& make_nvp("r", r);
        ar& make_nvp("f", f);
        ar& make_nvp("m", m);
        ar& make_nvp("uses_fm", uses_fm);
        ar& make_nvp("fm", fm);
    }
};

/// The default 11-segment table for 5 bins (see the file comment for its source
/// and how the published map's gaps and overlaps were resolved).
const std::vector<SegmentRange>& default_segment_table();

/// The names of default_segment_table(), each once, in table order.
std::vector<std::string> default_segment_names();

/// One R x F x M cell.
struct RfmCell {
    int r = 1, f = 1, m = 1;
    int code() const noexcept { return 100 * r + 10 * f + m; }  ///< 545
    bool operator==(const RfmCell&) const = default;
};

/// A cell matched by several rules, in table order: rules.front() wins.
struct SegmentOverlap {
    RfmCell cell;
    std::vector<std::size_t> rules;
};

/// What validate_segments() found. Cells are listed in ascending code order
/// (111, 112, ..., kkk).
struct SegmentReport {
    int bins = 5;
    std::vector<RfmCell> gaps;               ///< cells no rule matches
    std::vector<SegmentOverlap> overlaps;    ///< cells two or more rules match
    std::vector<std::size_t> unreachable;    ///< rules that win no cell
    std::vector<std::size_t> cells_matched;  ///< per rule: cells it matches
    std::vector<std::size_t> cells_won;      ///< per rule: cells where it is the first match
    /// Per cell, index (r-1) k^2 + (f-1) k + (m-1): the winning rule, or -1 for a gap.
    std::vector<std::int32_t> winner;

    /// Every cell matches exactly one rule.
    bool exact() const noexcept { return gaps.empty() && overlaps.empty(); }
    /// The winning rule of a cell, or -1.
    std::int32_t winner_of(RfmCell c) const noexcept {
        const auto n = static_cast<std::size_t>(bins);
        return winner[(static_cast<std::size_t>(c.r - 1) * n + static_cast<std::size_t>(c.f - 1)) * n +
                      static_cast<std::size_t>(c.m - 1)];
    }
    /// A readable report: counts, then up to `max_cells` cells of each kind, the
    /// rules of each overlap, and each unreachable rule with why.
    std::string describe(const std::vector<SegmentRange>& table, std::size_t max_cells = 10) const;
};

/// Check a segment table against all bins^3 cells, first match winning.
/// @throws PolicyError when bins is not in 2..9.
SegmentReport validate_segments(const std::vector<SegmentRange>& table, int bins);

/// The source columns of the three scores.
struct RfmColumns {
    std::string recency = "days_since_last";
    std::string frequency = "frequency";
    std::string monetary = "revenue";
    bool recency_lower_is_better = true;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("recency", recency);
        ar& make_nvp("frequency", frequency);
        ar& make_nvp("monetary", monetary);
        ar& make_nvp("recency_lower_is_better", recency_lower_is_better);
    }
};

class RfmSegmentRule : public Rule {
public:
    RfmSegmentRule() = default;  ///< for loading

    /// @param table the segment rules, first match wins; @param fallback the segment
    ///   of cells no rule matches ("" for none); @param tier_names the policy's tiers,
    ///   which must be the distinct segment names (and the fallback) in any order.
    /// @param path JSON path for error messages.
    /// @throws PolicyError when bins is not in 2..9, the table is empty, a cell
    ///   matches no rule and there is no fallback, or the segment names are not the
    ///   tier names (naming both lists).
    RfmSegmentRule(RfmColumns columns, int bins, RankTies ties, std::vector<SegmentRange> table, std::string fallback,
                   std::vector<std::string> tier_names, const std::string& path = "rule");

    std::string kind() const override { return "rfm_segments"; }
    std::size_t tiers() const override { return tier_names_.size(); }
    /// @throws UnknownColumn for a missing column; InvalidInput naming column and row
    ///   for a NaN or infinite value, or for an empty table.
    void fit(const RuleInput& input) override;
    /// @throws as fit().
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override;
    std::vector<std::string> reasons() const override;
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override;
    std::unique_ptr<Rule> clone() const override { return std::make_unique<RfmSegmentRule>(*this); }
    std::vector<std::string> inputs() const override {
        return {columns_.recency, columns_.frequency, columns_.monetary};
    }
    /// r_score, f_score, m_score, rfm_cell. @throws as fit().
    std::vector<std::pair<std::string, std::vector<double>>> extra_columns(const RuleInput& input) const override;
    /// One sentence per table rule that wins no cell (SegmentReport::unreachable),
    /// saying whether its segment then gets no customer at all.
    std::vector<std::string> warnings() const override;

    /// The three scores (1..k) of every row. @throws as fit().
    void scores(const RuleInput& input, std::vector<std::uint8_t>& r, std::vector<std::uint8_t>& f,
                std::vector<std::uint8_t>& m) const;

    const SegmentReport& report() const noexcept { return report_; }
    const std::vector<SegmentRange>& table() const noexcept { return table_; }
    const RankBins& recency_bins() const noexcept { return bins_r_; }
    const RankBins& frequency_bins() const noexcept { return bins_f_; }
    const RankBins& monetary_bins() const noexcept { return bins_m_; }
    int bins() const noexcept { return bins_; }
    RankTies ties() const noexcept { return ties_; }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& make_nvp("columns", columns_);
        ar& make_nvp("bins", bins_);
        ar& make_nvp("ties", ties_);
        ar& make_nvp("table", table_);
        ar& make_nvp("fallback", fallback_);
        ar& make_nvp("tier_names", tier_names_);
        ar& make_nvp("recency_bins", bins_r_);
        ar& make_nvp("frequency_bins", bins_f_);
        ar& make_nvp("monetary_bins", bins_m_);
        if constexpr (Archive::is_loading::value) build("model");
    }

private:
    /// Validate the table against the tiers and build the cell lookup.
    void build(const std::string& path);

    RfmColumns columns_;
    int bins_ = 5;
    RankTies ties_ = RankTies::average;
    std::vector<SegmentRange> table_;
    std::string fallback_;
    std::vector<std::string> tier_names_;
    RankBins bins_r_, bins_f_, bins_m_;
    // Derived (rebuilt on load):
    SegmentReport report_;
    std::vector<std::int32_t> cell_reason_;  ///< per cell: table rule, or table_.size() for the fallback
    std::vector<std::int32_t> reason_tier_;  ///< per reason code: tier index
};

// ---- the assign kernel (inline: a host compiles it into its own code) ----------------

inline std::size_t RankBins::score(std::span<const double> values, std::span<std::uint8_t> out) const {
    const std::size_t n = values.size();
    const std::size_t t = thresholds_.size();
    std::size_t bad = n;
    bool split = false;
    for (double v : below_) split = split || v > 0;
    // Plain thresholds: score = 1 + #{s : x >= t_s}.
    for (std::size_t i = 0; i < n; ++i) {
        const double x = sign_ * values[i];
        if (!std::isfinite(x)) {
            if (bad == n) bad = i;
            out[i] = 0;
            continue;
        }
        int s = 1;
        for (std::size_t j = 0; j < t; ++j) s += x >= thresholds_[j] ? 1 : 0;
        out[i] = static_cast<std::uint8_t>(s);
    }
    if (!split || bad != n) return bad;
    // `first` ties: rows equal to a split threshold are split in the fitted
    // proportion, earlier rows below. Count them, then walk in row order.
    std::vector<double> split_values;
    for (std::size_t j = 0; j < t; ++j)
        if (below_[j] > 0 && std::find(split_values.begin(), split_values.end(), thresholds_[j]) == split_values.end())
            split_values.push_back(thresholds_[j]);
    std::vector<std::int64_t> total(split_values.size(), 0), seen(split_values.size(), 0);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = sign_ * values[i];
        for (std::size_t v = 0; v < split_values.size(); ++v) total[v] += x == split_values[v] ? 1 : 0;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const double x = sign_ * values[i];
        for (std::size_t v = 0; v < split_values.size(); ++v) {
            if (x != split_values[v]) continue;
            const std::int64_t j = seen[v]++;
            int s = 1;
            for (std::size_t u = 0; u < t; ++u) {
                if (x > thresholds_[u])
                    ++s;
                else if (x == thresholds_[u] && j >= std::llround(below_[u] * static_cast<double>(total[v])))
                    ++s;
            }
            out[i] = static_cast<std::uint8_t>(s);
        }
    }
    return bad;
}

namespace rfm_detail {

inline std::span<const double> checked_column(const RuleInput& input, const std::string& name) {
    auto v = input.values(name);
    if (v.size() != input.table.rows())
        throw InvalidInput("column '" + name + "': expected " + std::to_string(input.table.rows()) + " rows, got " +
                           std::to_string(v.size()));
    return v;
}

inline void score_column(const RankBins& bins, const RuleInput& input, const std::string& name,
                         std::vector<std::uint8_t>& out) {
    const auto v = checked_column(input, name);
    out.resize(v.size());
    const std::size_t bad = bins.score(v, out);
    if (bad != v.size())
        throw InvalidInput("column '" + name + "', row " + std::to_string(bad) + ": must be finite, got " +
                           format_number(v[bad]));
}

}  // namespace rfm_detail

inline void RfmSegmentRule::scores(const RuleInput& input, std::vector<std::uint8_t>& r, std::vector<std::uint8_t>& f,
                                   std::vector<std::uint8_t>& m) const {
    if (bins_r_.split_below().empty()) throw InvalidInput("rfm_segments: assign before fit");
    rfm_detail::score_column(bins_r_, input, columns_.recency, r);
    rfm_detail::score_column(bins_f_, input, columns_.frequency, f);
    rfm_detail::score_column(bins_m_, input, columns_.monetary, m);
}

inline void RfmSegmentRule::assign(const RuleInput& input, std::span<std::int32_t> tier,
                                   std::span<std::int32_t> reason) const {
    std::vector<std::uint8_t> r, f, m;
    scores(input, r, f, m);
    const int k = bins_;
    const std::int32_t* cells = cell_reason_.data();
    const std::int32_t* tiers = reason_tier_.data();
    for (std::size_t i = 0; i < r.size(); ++i) {
        const std::int32_t code = cells[((r[i] - 1) * k + (f[i] - 1)) * k + (m[i] - 1)];
        reason[i] = code;
        tier[i] = tiers[code];
    }
}

inline std::vector<std::pair<std::string, std::vector<double>>> RfmSegmentRule::extra_columns(
    const RuleInput& input) const {
    std::vector<std::uint8_t> r, f, m;
    scores(input, r, f, m);
    const std::size_t n = r.size();
    std::vector<double> rs(n), fs(n), ms(n), cell(n);
    for (std::size_t i = 0; i < n; ++i) {
        rs[i] = r[i];
        fs[i] = f[i];
        ms[i] = m[i];
        cell[i] = 100.0 * r[i] + 10.0 * f[i] + m[i];
    }
    return {{"r_score", std::move(rs)},
            {"f_score", std::move(fs)},
            {"m_score", std::move(ms)},
            {"rfm_cell", std::move(cell)}};
}

/// Registry factory for {"kind": "rfm_segments", ...} (keys in the file comment).
/// Uses params["tier_names"] (the policy's tier names, in order) when present,
/// else the segment names in table order.
/// @throws PolicyError naming the JSON path of the bad value.
std::unique_ptr<Rule> make_rfm_segments_rule(const nlohmann::json& params, const std::string& path, std::size_t tiers);

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::RankBins, 0)
BOOST_CLASS_VERSION(tierkit::ScoreRange, 0)
BOOST_CLASS_VERSION(tierkit::SegmentRange, 0)
BOOST_CLASS_VERSION(tierkit::RfmColumns, 0)
BOOST_CLASS_VERSION(tierkit::RfmSegmentRule, 0)
