// The rfm_segments rule's policy object: parsed and checked into an RfmSegmentRule.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "tierkit/core/error.hpp"
#include "tierkit/core/json_checks.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/rules/builtin/rfm_segments.hpp"

namespace tierkit {

using nlohmann::json;

namespace {

using json_checks::fail;
using json_checks::show;

using json_checks::only_keys;

std::string string_at(const json& obj, const char* key, const std::string& path, const std::string& fallback) {
    if (!obj.contains(key)) return fallback;
    const json& j = obj.at(key);
    if (!j.is_string() || j.get<std::string>().empty())
        fail(path + "." + key, "must be a non-empty string, got " + show(j));
    return j.get<std::string>();
}

/// [lo, hi] with 0 <= lo <= hi <= k, lo and hi multiples of `step`. 0 is allowed
/// because published maps write "0-1" for "at most 1".
ScoreRange range_at(const json& j, const std::string& path, int k, double step) {
    const std::string need = "must be [lo, hi] with 0 <= lo <= hi <= " + std::to_string(k) +
                             (step == 1 ? " (whole numbers)" : " (in steps of 0.5)") + ", got ";
    if (!j.is_array() || j.size() != 2 || !j[0].is_number() || !j[1].is_number()) fail(path, need + show(j));
    const double lo = j[0].get<double>(), hi = j[1].get<double>();
    auto on_grid = [step](double v) { return std::isfinite(v) && std::floor(v / step) * step == v; };
    if (!on_grid(lo) || !on_grid(hi) || lo < 0 || lo > hi || hi > k) fail(path, need + show(j));
    return {lo, hi};
}

}  // namespace

std::unique_ptr<Rule> make_rfm_segments_rule(const json& p, const std::string& path, std::size_t tiers) {
    if (!p.is_object()) fail(path, "must be an object, got " + show(p));
    only_keys(p, path,
              {"kind", "recency", "frequency", "monetary", "recency_direction", "bins", "ties", "segments", "fallback",
               "tier_names"});
    RfmColumns columns;
    columns.recency = string_at(p, "recency", path, columns.recency);
    columns.frequency = string_at(p, "frequency", path, columns.frequency);
    columns.monetary = string_at(p, "monetary", path, columns.monetary);
    const std::string dir = string_at(p, "recency_direction", path, "lower");
    if (dir != "lower" && dir != "higher")
        fail(path + ".recency_direction", "must be one of lower, higher, got '" + dir + "'");
    columns.recency_lower_is_better = dir == "lower";

    int bins = 5;
    if (p.contains("bins")) {
        const json& b = p.at("bins");
        if (!b.is_number_integer() || b.get<std::int64_t>() < 2 || b.get<std::int64_t>() > 9)
            fail(path + ".bins", "must be a whole number in 2..9, got " + show(b));
        bins = static_cast<int>(b.get<std::int64_t>());
    }
    const std::string ties_text = string_at(p, "ties", path, "average");
    RankTies ties = RankTies::average;
    bool known = false;
    for (auto t : {RankTies::average, RankTies::min, RankTies::max, RankTies::dense, RankTies::first})
        if (ties_text == to_string(t)) {
            ties = t;
            known = true;
        }
    if (!known) fail(path + ".ties", "must be one of average, min, max, dense, first, got '" + ties_text + "'");

    std::vector<SegmentRange> table;
    if (!p.contains("segments")) {
        if (bins != 5)
            fail(path + ".segments",
                 "required when bins is not 5 (the default table is for 5 bins), got bins = " + std::to_string(bins));
        table = default_segment_table();
    } else {
        const json& ss = p.at("segments");
        if (!ss.is_array() || ss.empty())
            fail(path + ".segments", "must be a non-empty array of segments, got " + show(ss));
        for (std::size_t q = 0; q < ss.size(); ++q) {
            const std::string sp = path + ".segments[" + std::to_string(q) + "]";
            const json& s = ss[q];
            if (!s.is_object())
                fail(sp,
                     "must be an object {\"name\", \"r\", \"f\", \"m\"} or {\"name\", \"r\", \"fm\"}, got " + show(s));
            only_keys(s, sp, {"name", "r", "f", "m", "fm"});
            if (!s.contains("name")) fail(sp + ".name", "required: the segment (and tier) name");
            SegmentRange seg;
            seg.name = string_at(s, "name", sp, "");
            if (s.contains("fm") && (s.contains("f") || s.contains("m")))
                fail(sp, "give fm (on (F+M)/2), or f and m, not both");
            if (s.contains("r")) seg.r = range_at(s.at("r"), sp + ".r", bins, 1);
            if (s.contains("f")) seg.f = range_at(s.at("f"), sp + ".f", bins, 1);
            if (s.contains("m")) seg.m = range_at(s.at("m"), sp + ".m", bins, 1);
            if (s.contains("fm")) {
                seg.uses_fm = true;
                seg.fm = range_at(s.at("fm"), sp + ".fm", bins, 0.5);
            }
            table.push_back(std::move(seg));
        }
    }
    const std::string fallback = string_at(p, "fallback", path, "");

    std::vector<std::string> tier_names;
    if (p.contains("tier_names")) {
        const json& t = p.at("tier_names");
        if (!t.is_array()) fail(path + ".tier_names", "must be an array of strings, got " + show(t));
        for (const auto& name : t) {
            if (!name.is_string()) fail(path + ".tier_names", "must be an array of strings, got " + show(t));
            tier_names.push_back(name.get<std::string>());
        }
    } else {
        for (const auto& s : table)
            if (std::find(tier_names.begin(), tier_names.end(), s.name) == tier_names.end())
                tier_names.push_back(s.name);
        if (!fallback.empty() && std::find(tier_names.begin(), tier_names.end(), fallback) == tier_names.end())
            tier_names.push_back(fallback);
    }
    auto rule = std::make_unique<RfmSegmentRule>(std::move(columns), bins, ties, std::move(table), fallback,
                                                 std::move(tier_names), path);
    if (rule->tiers() != tiers)
        fail(path + ".segments", "names " + std::to_string(rule->tiers()) + " segments but the policy has " +
                                     std::to_string(tiers) + " tiers");
    return rule;
}

}  // namespace tierkit
