// The rfm_segments rule: fitting the rank-based R/F/M scores, the segment table,
// its validator and the registration (the policy object is parsed in
// rfm_segments_json.cpp). Scoring and assign are inline in the header.
#include "tierkit/rules/builtin/rfm_segments.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "tierkit/core/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/rules/register.hpp"

namespace tierkit {

const char* to_string(RankTies t) noexcept {
    switch (t) {
        case RankTies::average:
            return "average";
        case RankTies::min:
            return "min";
        case RankTies::max:
            return "max";
        case RankTies::dense:
            return "dense";
        case RankTies::first:
            return "first";
    }
    return "average";
}

// ---- RankBins ----------------------------------------------------------------------

namespace {

/// min(k, 1 + floor(k * p)) with p = (r - 1) / (n - 1), for a rank given as twice
/// its value (so average ranks stay integers); p = 1/2 when n = 1.
int score_of_rank2(std::int64_t rank2, std::int64_t n, int k) {
    if (n <= 1) return std::min(k, 1 + k / 2);
    const std::int64_t q = static_cast<std::int64_t>(k) * (rank2 - 2) / (2 * (n - 1));
    return static_cast<int>(std::min<std::int64_t>(k, 1 + q));
}

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
}

}  // namespace

RankBins RankBins::fit(std::span<const double> values, int bins, RankTies ties, bool lower_is_better,
                       std::size_t min_group) {
    if (bins < 2 || bins > 9) throw PolicyError("bins: must be in 2..9, got " + std::to_string(bins));
    if (values.empty()) throw InvalidInput("no rows to fit the scores on");
    RankBins b;
    b.bins_ = bins;
    b.sign_ = lower_is_better ? -1.0 : 1.0;
    std::vector<double> sorted(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i]))
            throw InvalidInput("row " + std::to_string(i) + ": must be finite, got " + format_number(values[i]));
        sorted[i] = b.sign_ * values[i];
    }
    std::sort(sorted.begin(), sorted.end());
    const auto n = static_cast<std::int64_t>(sorted.size());
    std::int64_t distinct = 0;
    for (std::int64_t i = 0; i < n; ++i) distinct += (i == 0 || sorted[i] != sorted[i - 1]) ? 1 : 0;

    b.thresholds_.assign(static_cast<std::size_t>(bins - 1), std::numeric_limits<double>::infinity());
    b.below_.assign(static_cast<std::size_t>(bins - 1), 0.0);
    int reached = 1;         // highest score seen so far
    std::int64_t group = 0;  // dense rank of the current group, 1-based
    for (std::int64_t a = 0; a < n;) {
        std::int64_t e = a + 1;
        while (e < n && sorted[e] == sorted[a]) ++e;
        ++group;
        // Scores within the group [a, e): constant except in `first` mode.
        for (std::int64_t i = a; i < e; ++i) {
            int s = 0;
            switch (ties) {
                case RankTies::average:
                    s = score_of_rank2(a + 1 + e, n, bins);
                    break;
                case RankTies::min:
                    s = score_of_rank2(2 * (a + 1), n, bins);
                    break;
                case RankTies::max:
                    s = score_of_rank2(2 * e, n, bins);
                    break;
                case RankTies::dense:
                    s = score_of_rank2(2 * group, distinct, bins);
                    break;
                case RankTies::first:
                    s = score_of_rank2(2 * (i + 1), n, bins);
                    break;
            }
            for (; reached < s; ++reached) {
                b.thresholds_[static_cast<std::size_t>(reached - 1)] = sorted[a];
                b.below_[static_cast<std::size_t>(reached - 1)] =
                    static_cast<double>(i - a) / static_cast<double>(e - a);
            }
            if (ties != RankTies::first) break;
        }
        a = e;
    }
    to_group_values(b.thresholds_, sorted, min_group);  // privacy.hpp
    return b;
}

std::vector<double> RankBins::thresholds() const {
    std::vector<double> out(thresholds_.size());
    for (std::size_t j = 0; j < out.size(); ++j) out[j] = sign_ * thresholds_[j];
    return out;
}

// ---- segment tables -----------------------------------------------------------------

namespace {

std::string range_text(const char* label, const ScoreRange& r) {
    std::string s = std::string(label) + " " + format_number(r.lo);
    if (r.hi != r.lo) s += "-" + format_number(r.hi);
    return s;
}

SegmentRange rule_fm(const char* name, double r_lo, double r_hi, double fm_lo, double fm_hi) {
    SegmentRange s;
    s.name = name;
    s.r = {r_lo, r_hi};
    s.uses_fm = true;
    s.fm = {fm_lo, fm_hi};
    return s;
}

}  // namespace

std::string SegmentRange::describe() const {
    std::vector<std::string> parts;
    if (!r.any()) parts.push_back(range_text("R", r));
    if (uses_fm) {
        if (!fm.any()) parts.push_back(range_text("(F+M)/2", fm));
    } else {
        if (!f.any()) parts.push_back(range_text("F", f));
        if (!m.any()) parts.push_back(range_text("M", m));
    }
    return parts.empty() ? "any cell" : join(parts);
}

const std::vector<SegmentRange>& default_segment_table() {
    static const std::vector<SegmentRange> table = {
        rule_fm("Champions", 5, 5, 4.5, 5),
        rule_fm("Loyal Customers", 5, 5, 3.5, 4),
        rule_fm("Loyal Customers", 3, 4, 3.5, 5),
        rule_fm("Potential Loyalist", 4, 5, 1.5, 3),
        rule_fm("New Customers", 5, 5, 1, 1),
        rule_fm("Promising", 4, 4, 1, 1),
        rule_fm("Need Attention", 3, 3, 2.5, 3),
        rule_fm("About To Sleep", 3, 3, 1, 2),
        rule_fm("At Risk", 2, 2, 2.5, 5),
        rule_fm("At Risk", 1, 1, 2.5, 4),
        rule_fm("Can't Lose Them", 1, 1, 4.5, 5),
        rule_fm("Hibernating", 2, 2, 1.5, 2),
        rule_fm("Lost", 1, 1, 1, 2),
        rule_fm("Lost", 2, 2, 1, 1),
    };
    return table;
}

std::vector<std::string> default_segment_names() {
    std::vector<std::string> out;
    for (const auto& s : default_segment_table())
        if (std::find(out.begin(), out.end(), s.name) == out.end()) out.push_back(s.name);
    return out;
}

SegmentReport validate_segments(const std::vector<SegmentRange>& table, int bins) {
    if (bins < 2 || bins > 9) throw PolicyError("bins: must be in 2..9, got " + std::to_string(bins));
    SegmentReport rep;
    rep.bins = bins;
    rep.cells_matched.assign(table.size(), 0);
    rep.cells_won.assign(table.size(), 0);
    rep.winner.assign(static_cast<std::size_t>(bins) * static_cast<std::size_t>(bins) * static_cast<std::size_t>(bins),
                      -1);
    std::size_t cell = 0;
    for (int r = 1; r <= bins; ++r)
        for (int f = 1; f <= bins; ++f)
            for (int m = 1; m <= bins; ++m, ++cell) {
                std::vector<std::size_t> hits;
                for (std::size_t k = 0; k < table.size(); ++k)
                    if (table[k].matches(r, f, m)) hits.push_back(k);
                for (auto k : hits) ++rep.cells_matched[k];
                if (hits.empty()) {
                    rep.gaps.push_back({r, f, m});
                    continue;
                }
                rep.winner[cell] = static_cast<std::int32_t>(hits.front());
                ++rep.cells_won[hits.front()];
                if (hits.size() > 1) rep.overlaps.push_back({{r, f, m}, std::move(hits)});
            }
    for (std::size_t k = 0; k < table.size(); ++k)
        if (rep.cells_won[k] == 0) rep.unreachable.push_back(k);
    return rep;
}

std::string SegmentReport::describe(const std::vector<SegmentRange>& table, std::size_t max_cells) const {
    const std::size_t cells =
        static_cast<std::size_t>(bins) * static_cast<std::size_t>(bins) * static_cast<std::size_t>(bins);
    std::string s = std::to_string(cells) + " cells, " + std::to_string(table.size()) +
                    " rules: " + std::to_string(gaps.size()) + " cells match no rule, " +
                    std::to_string(overlaps.size()) + " cells match several rules, " +
                    std::to_string(unreachable.size()) + " rules win no cell";
    if (!gaps.empty()) {
        s += "\nno rule:";
        for (std::size_t j = 0; j < gaps.size() && j < max_cells; ++j) s += " " + std::to_string(gaps[j].code());
        if (gaps.size() > max_cells) s += " ...";
    }
    if (!overlaps.empty()) {
        s += "\nseveral rules (the first wins):";
        for (std::size_t j = 0; j < overlaps.size() && j < max_cells; ++j) {
            s += " " + std::to_string(overlaps[j].cell.code()) + " [";
            for (std::size_t q = 0; q < overlaps[j].rules.size(); ++q)
                s += (q ? ", " : "") + table[overlaps[j].rules[q]].name;
            s += "]";
        }
        if (overlaps.size() > max_cells) s += " ...";
    }
    for (auto k : unreachable)
        s += "\nrule " + std::to_string(k) + " (" + table[k].name + ": " + table[k].describe() + ") " +
             (cells_matched[k] == 0 ? "matches no cell" : "loses every cell it matches to earlier rules");
    return s;
}

// ---- the rule -----------------------------------------------------------------------

RfmSegmentRule::RfmSegmentRule(RfmColumns columns, int bins, RankTies ties, std::vector<SegmentRange> table,
                               std::string fallback, std::vector<std::string> tier_names, const std::string& path)
    : columns_(std::move(columns)),
      bins_(bins),
      ties_(ties),
      table_(std::move(table)),
      fallback_(std::move(fallback)),
      tier_names_(std::move(tier_names)) {
    build(path);
}

void RfmSegmentRule::build(const std::string& path) {
    if (bins_ < 2 || bins_ > 9) throw PolicyError(path + ".bins: must be in 2..9, got " + std::to_string(bins_));
    if (table_.empty()) throw PolicyError(path + ".segments: must name at least one segment");
    report_ = validate_segments(table_, bins_);
    if (!report_.gaps.empty() && fallback_.empty()) {
        std::string cells;
        for (std::size_t j = 0; j < report_.gaps.size() && j < 10; ++j)
            cells += (j ? ", " : "") + std::to_string(report_.gaps[j].code());
        if (report_.gaps.size() > 10) cells += ", ...";
        throw PolicyError(path + ".segments: " + std::to_string(report_.gaps.size()) + " of " +
                          std::to_string(bins_ * bins_ * bins_) + " cells match no segment: " + cells +
                          "; add segments or name a \"fallback\" segment");
    }
    // The segments, each once, in table order; then the fallback.
    std::vector<std::string> segments;
    for (const auto& s : table_)
        if (std::find(segments.begin(), segments.end(), s.name) == segments.end()) segments.push_back(s.name);
    if (!fallback_.empty() && std::find(segments.begin(), segments.end(), fallback_) == segments.end())
        segments.push_back(fallback_);
    const std::set<std::string> a(segments.begin(), segments.end()), b(tier_names_.begin(), tier_names_.end());
    if (a != b || tier_names_.size() != b.size())
        throw PolicyError(path +
                          ".segments: the policy's tiers must be the segment names, one tier per segment; segments: " +
                          join(segments) + "; tiers: " + join(tier_names_));
    auto tier_of_name = [&](const std::string& name) {
        return static_cast<std::int32_t>(std::find(tier_names_.begin(), tier_names_.end(), name) - tier_names_.begin());
    };
    reason_tier_.clear();
    for (const auto& s : table_) reason_tier_.push_back(tier_of_name(s.name));
    reason_tier_.push_back(fallback_.empty() ? 0 : tier_of_name(fallback_));
    const auto fallback_reason = static_cast<std::int32_t>(table_.size());
    cell_reason_.resize(report_.winner.size());
    for (std::size_t c = 0; c < cell_reason_.size(); ++c)
        cell_reason_[c] = report_.winner[c] < 0 ? fallback_reason : report_.winner[c];
}

namespace {

RankBins fit_column(const RuleInput& input, const std::string& name, int bins, RankTies ties, bool lower) {
    const auto v = rfm_detail::checked_column(input, name);
    try {
        return RankBins::fit(v, bins, ties, lower, input.min_group);
    } catch (const InvalidInput& e) {
        throw InvalidInput("column '" + name + "', " + e.what());
    }
}

}  // namespace

void RfmSegmentRule::fit(const RuleInput& input) {
    bins_r_ = fit_column(input, columns_.recency, bins_, ties_, columns_.recency_lower_is_better);
    bins_f_ = fit_column(input, columns_.frequency, bins_, ties_, false);
    bins_m_ = fit_column(input, columns_.monetary, bins_, ties_, false);
}

std::vector<std::string> RfmSegmentRule::warnings() const {
    std::vector<std::string> out;
    for (auto k : report_.unreachable) {
        const std::string& name = table_[k].name;
        bool reached = name == fallback_ && !report_.gaps.empty();
        for (std::size_t q = 0; q < table_.size(); ++q)
            reached = reached || (table_[q].name == name && report_.cells_won[q] > 0);
        out.push_back(
            "rfm_segments: segment '" + name + "' (rule " + std::to_string(k) + ": " + table_[k].describe() + ") " +
            (report_.cells_matched[k] == 0 ? "matches no cell" : "loses every cell it matches to earlier rules") +
            (reached ? "; the segment's other rules still win cells" : ", so it gets no customer"));
    }
    return out;
}

std::vector<std::string> RfmSegmentRule::reasons() const {
    std::vector<std::string> out;
    for (const auto& s : table_) out.push_back("rfm_segments: " + s.name + " (" + s.describe() + ")");
    out.push_back(fallback_.empty() ? "rfm_segments: no segment (the table covers every cell)"
                                    : "rfm_segments: " + fallback_ + " (fallback: the cell matches no segment)");
    return out;
}

std::vector<std::pair<std::string, std::vector<double>>> RfmSegmentRule::parameters() const {
    std::vector<double> won(report_.cells_won.begin(), report_.cells_won.end());
    won.push_back(static_cast<double>(report_.gaps.size()));
    std::vector<double> gaps, overlaps;
    for (const auto& c : report_.gaps) gaps.push_back(c.code());
    for (const auto& o : report_.overlaps) overlaps.push_back(o.cell.code());
    std::vector<std::pair<std::string, std::vector<double>>> out = {
        {"bins", {static_cast<double>(bins_)}},
        {"r_thresholds", bins_r_.thresholds()},
        {"f_thresholds", bins_f_.thresholds()},
        {"m_thresholds", bins_m_.thresholds()},
        {"segment_cells", std::move(won)},
        {"fallback_cells", std::move(gaps)},
        {"overlap_cells", std::move(overlaps)},
        {"unreachable_rules", std::vector<double>(report_.unreachable.begin(), report_.unreachable.end())},
    };
    if (ties_ == RankTies::first) {
        out.emplace_back("r_split_below", bins_r_.split_below());
        out.emplace_back("f_split_below", bins_f_.split_below());
        out.emplace_back("m_split_below", bins_m_.split_below());
    }
    return out;
}

}  // namespace tierkit

TIERKIT_REGISTER_RULE(tierkit::RfmSegmentRule, "rfm_segments", tierkit::make_rfm_segments_rule)
