// Policy parsing and validation (nlohmann/json), the rule registry and the
// built-in rules' factories. Every error names the JSON path of the bad value.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/json_parse.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/json_checks.hpp"
#include "tierkit/lifecycle/lifecycle.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/rules/registry.hpp"
#include "tierkit/scoring/weights.hpp"

namespace tierkit {

using nlohmann::json;

const char* to_string(RelationshipMode m) noexcept {
    switch (m) {
        case RelationshipMode::transactional:
            return "transactional";
        case RelationshipMode::cooperative:
            return "cooperative";
        case RelationshipMode::strategic:
            return "strategic";
        case RelationshipMode::emotional:
            return "emotional";
    }
    return "transactional";
}

namespace {

using json_checks::bool_at;
using json_checks::fail;
using json_checks::number;
using json_checks::number_at;
using json_checks::only_keys;
using json_checks::require_object;
using json_checks::show;
using json_checks::string_at;

template <class E>
E choice(const std::string& value, const std::string& path, std::initializer_list<std::pair<const char*, E>> options) {
    std::string list;
    for (const auto& [name, e] : options) {
        if (value == name) return e;
        list += (list.empty() ? "" : ", ") + std::string(name);
    }
    fail(path, "must be one of " + list + ", got '" + value + "'");
}

std::vector<double> numbers(const json& j, const std::string& path) {
    if (!j.is_array()) fail(path, "must be an array of numbers, got " + show(j));
    std::vector<double> out;
    for (std::size_t k = 0; k < j.size(); ++k) out.push_back(number(j[k], path + "[" + std::to_string(k) + "]"));
    return out;
}

// AHP weights need no data: compute them now, so a matrix that is not reciprocal, a
// diagonal other than 1, a missing or zero random index or a consistency ratio above
// max_cr is a PolicyError naming the JSON path, not an error at fit time.
void check_ahp(const WeightSpec& w, std::size_t n, const std::string& path) {
    if (n >= 3 && !w.random_index.empty() && !(w.random_index[n - 1] > 0))
        fail(path + ".random_index[" + std::to_string(n - 1) + "]",
             "must be > 0 for n = " + std::to_string(n) + " criteria (0 would hide any inconsistency), got " +
                 format_number(w.random_index[n - 1]));
    if (w.random_index.empty() && n > weights::saaty_random_index().size())
        fail(path + ".random_index", "required for " + std::to_string(n) + " criteria: Saaty's table covers n <= " +
                                         std::to_string(weights::saaty_random_index().size()));
    try {
        (void)weights::ahp(w.matrix, n, w.random_index, w.accept_inconsistent ? -1.0 : w.max_cr);
    } catch (const Error& e) {
        // weights::ahp names cells "pairwise[i][j]": here they are the policy's matrix.
        std::string msg = e.what();
        for (std::size_t at; (at = msg.find("pairwise")) != std::string::npos;) msg.replace(at, 8, "matrix");
        const std::size_t colon = msg.find(": ");
        const std::string where = msg.substr(0, colon);
        if (colon == std::string::npos || where == "ahp" || where == "n")
            fail(path, msg.substr(colon == std::string::npos ? 0 : colon + 2));
        fail(path + "." + where, msg.substr(colon + 2));
    }
}

WeightSpec parse_weights(const json& j, const std::string& path, std::size_t n_criteria, bool nested) {
    require_object(j, path);
    only_keys(j, path,
              {"method", "matrix", "random_index", "max_cr", "accept_inconsistent", "variant", "subjective",
               "objective", "mode", "alpha"});
    WeightSpec w;
    w.method = choice<WeightMethod>(string_at(j, "method", path, "manual"), path + ".method",
                                    {{"manual", WeightMethod::manual},
                                     {"ahp", WeightMethod::ahp},
                                     {"entropy", WeightMethod::entropy},
                                     {"critic", WeightMethod::critic},
                                     {"combined", WeightMethod::combined}});
    if (w.method == WeightMethod::ahp) {
        if (!j.contains("matrix")) fail(path + ".matrix", "required for ahp: an n x n pairwise comparison matrix");
        const json& m = j.at("matrix");
        if (!m.is_array() || m.size() != n_criteria)
            fail(path + ".matrix",
                 "must have one row per criterion (" + std::to_string(n_criteria) + "), got " + show(m));
        for (std::size_t r = 0; r < m.size(); ++r) {
            const std::string rp = path + ".matrix[" + std::to_string(r) + "]";
            auto row = numbers(m[r], rp);
            if (row.size() != n_criteria)
                fail(rp, "must have " + std::to_string(n_criteria) + " entries, got " + std::to_string(row.size()));
            for (std::size_t c = 0; c < row.size(); ++c)
                if (!(row[c] > 0))
                    fail(rp + "[" + std::to_string(c) + "]", "must be > 0, got " + format_number(row[c]));
            w.matrix.insert(w.matrix.end(), row.begin(), row.end());
        }
        if (j.contains("random_index")) {
            const json& ri = j.at("random_index");
            if (ri.is_string()) {
                if (ri.get<std::string>() != "saaty")
                    fail(path + ".random_index",
                         "must be \"saaty\" or an array of numbers (n = 1, 2, ...), got " + show(ri));
            } else {
                w.random_index = numbers(ri, path + ".random_index");
                if (w.random_index.size() < n_criteria)
                    fail(path + ".random_index", "needs at least " + std::to_string(n_criteria) + " entries, got " +
                                                     std::to_string(w.random_index.size()));
            }
        }
        w.max_cr = number_at(j, "max_cr", path, 0.1, 0.0, 1.0);
        w.accept_inconsistent = bool_at(j, "accept_inconsistent", path, false);
        check_ahp(w, n_criteria, path);
    }
    if (w.method == WeightMethod::entropy)
        w.entropy_proportion = choice<bool>(string_at(j, "variant", path, "minmax"), path + ".variant",
                                            {{"minmax", false}, {"proportion", true}});
    if (w.method == WeightMethod::combined) {
        if (nested) fail(path + ".method", "combined weights cannot be nested");
        if (!j.contains("subjective")) fail(path + ".subjective", "required for combined weights (manual or ahp)");
        if (!j.contains("objective")) fail(path + ".objective", "required for combined weights (entropy or critic)");
        w.subjective =
            std::make_shared<WeightSpec>(parse_weights(j.at("subjective"), path + ".subjective", n_criteria, true));
        w.objective =
            std::make_shared<WeightSpec>(parse_weights(j.at("objective"), path + ".objective", n_criteria, true));
        if (w.subjective->method != WeightMethod::manual && w.subjective->method != WeightMethod::ahp)
            fail(path + ".subjective.method", "must be manual or ahp");
        if (w.objective->method != WeightMethod::entropy && w.objective->method != WeightMethod::critic)
            fail(path + ".objective.method", "must be entropy or critic");
        w.multiplicative = choice<bool>(string_at(j, "mode", path, "linear"), path + ".mode",
                                        {{"linear", false}, {"multiplicative", true}});
        w.alpha = number_at(j, "alpha", path, 0.5, 0.0, 1.0);
    }
    return w;
}

bool uses_manual(const WeightSpec& w) {
    if (w.method == WeightMethod::manual) return true;
    return w.method == WeightMethod::combined && w.subjective && w.subjective->method == WeightMethod::manual;
}

/// A criterion's "order" / "values" (value map of a labelled column), "missing" and
/// "unknown" (scoring/criterion.hpp, criterion_values.hpp).
void parse_value_map(const json& j, const std::string& path, CriterionSpec& c) {
    if (j.contains("order") && j.contains("values")) fail(path + ".order", "give either order or values, not both");
    if (j.contains("order")) {
        const json& o = j.at("order");
        if (!o.is_array() || o.size() < 2)
            fail(path + ".order", "must be an array of at least 2 labels, worst first, got " + show(o));
        for (std::size_t i = 0; i < o.size(); ++i) {
            const std::string p = path + ".order[" + std::to_string(i) + "]";
            if (!o[i].is_string() || o[i].get<std::string>().empty())
                fail(p, "must be a non-empty label, got " + show(o[i]));
            c.labels.push_back(o[i].get<std::string>());
            c.label_values.push_back(static_cast<double>(i));
        }
    } else if (j.contains("values")) {
        const json& v = j.at("values");
        if (!v.is_object() || v.empty()) fail(path + ".values", "must be an object of label: number, got " + show(v));
        for (const auto& [label, value] : v.items()) {
            if (label.empty()) fail(path + ".values", "a label must not be empty");
            c.labels.push_back(label);
            c.label_values.push_back(number(value, path + ".values." + label));
        }
    }
    for (std::size_t a = 0; a < c.labels.size(); ++a)
        for (std::size_t b = 0; b < a; ++b)
            if (c.labels[a] == c.labels[b])
                fail(path + (j.contains("order") ? ".order[" + std::to_string(a) + "]" : ".values"),
                     "label '" + c.labels[a] + "' appears twice");
    // Canonical order (by label), so the policy's JSON form parses back to the same spec.
    std::vector<std::size_t> perm(c.labels.size());
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
    std::sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b) { return c.labels[a] < c.labels[b]; });
    std::vector<std::string> labels;
    std::vector<double> values;
    for (std::size_t i : perm) {
        labels.push_back(c.labels[i]);
        values.push_back(c.label_values[i]);
    }
    c.labels = std::move(labels);
    c.label_values = std::move(values);
    if (j.contains("missing")) {
        const json& m = j.at("missing");
        if (m.is_number()) {
            c.missing = Missing::value;
            c.missing_value = number(m, path + ".missing");
        } else if (m.is_string()) {
            c.missing = choice<Missing>(m.get<std::string>(), path + ".missing",
                                        {{"reject", Missing::reject},
                                         {"worst", Missing::worst},
                                         {"median", Missing::median},
                                         {"zero", Missing::zero}});
        } else {
            fail(path + ".missing", "must be \"reject\", \"worst\", \"median\", \"zero\" or a number, got " + show(m));
        }
    }
    c.unknown_as_missing =
        choice<bool>(string_at(j, "unknown", path, "error"), path + ".unknown", {{"error", false}, {"missing", true}});
    if (c.unknown_as_missing && c.labels.empty())
        fail(path + ".unknown", "applies to a criterion with an order or values map");
}

CriterionSpec parse_criterion(const json& j, const std::string& path) {
    if (j.is_string()) {
        CriterionSpec c;
        c.column = j.get<std::string>();
        if (c.column.empty()) fail(path, "a column name must not be empty");
        return c;
    }
    require_object(j, path);
    only_keys(j, path,
              {"column", "direction", "transform", "clip", "normalizer", "bins", "weight", "order", "values", "missing",
               "unknown"});
    CriterionSpec c;
    parse_value_map(j, path, c);
    if (!j.contains("column")) fail(path + ".column", "required: the feature column this criterion reads");
    c.column = string_at(j, "column", path, "");
    if (c.column.empty()) fail(path + ".column", "must not be empty");
    c.direction = choice<Direction>(string_at(j, "direction", path, "higher"), path + ".direction",
                                    {{"higher", Direction::higher}, {"lower", Direction::lower}});
    c.transform = choice<Transform>(string_at(j, "transform", path, "none"), path + ".transform",
                                    {{"none", Transform::none}, {"log1p", Transform::log1p}});
    if (j.contains("clip")) {
        const json& cl = j.at("clip");
        if (cl.is_boolean()) {
            c.clip = cl.get<bool>();
        } else {
            auto q = numbers(cl, path + ".clip");
            if (q.size() != 2 || !(q[0] >= 0 && q[0] < q[1] && q[1] <= 1))
                fail(path + ".clip", "must be [lower, upper] quantiles with 0 <= lower < upper <= 1, got " + show(cl));
            c.clip = true;
            c.clip_lower = q[0];
            c.clip_upper = q[1];
        }
    }
    c.normalizer = choice<Normalizer>(string_at(j, "normalizer", path, "percentile"), path + ".normalizer",
                                      {{"minmax", Normalizer::minmax},
                                       {"zscore", Normalizer::zscore},
                                       {"robust", Normalizer::robust},
                                       {"percentile", Normalizer::percentile},
                                       {"bins", Normalizer::bins}});
    c.bins = static_cast<int>(number_at(j, "bins", path, 5, 2, 100));
    if (j.contains("bins") && j.at("bins").get<double>() != c.bins) fail(path + ".bins", "must be a whole number");
    if (j.contains("weight")) {
        c.weight = number(j.at("weight"), path + ".weight");
        if (c.weight < 0) fail(path + ".weight", "must be >= 0, got " + format_number(c.weight));
    }
    return c;
}

ScoreSpec parse_score(const json& j, const std::string& path, const std::string& default_name) {
    require_object(j, path);
    ScoreSpec s;
    s.name = string_at(j, "name", path, default_name);
    if (s.name.empty()) fail(path + ".name", "must not be empty");
    s.method = choice<ScoreMethod>(string_at(j, "method", path, "weighted_sum"), path + ".method",
                                   {{"weighted_sum", ScoreMethod::weighted_sum}, {"topsis", ScoreMethod::topsis}});
    if (!j.contains("criteria")) fail(path + ".criteria", "required: a non-empty array of criteria");
    const json& cs = j.at("criteria");
    if (!cs.is_array() || cs.empty()) fail(path + ".criteria", "must be a non-empty array, got " + show(cs));
    std::set<std::string> seen;
    for (std::size_t k = 0; k < cs.size(); ++k) {
        const std::string cp = path + ".criteria[" + std::to_string(k) + "]";
        s.criteria.push_back(parse_criterion(cs[k], cp));
        if (!seen.insert(s.criteria.back().column).second)
            fail(cp + ".column", "'" + s.criteria.back().column + "' is used twice in this score");
    }
    s.weights = parse_weights(j.contains("weights") ? j.at("weights") : json::object(), path + ".weights",
                              s.criteria.size(), false);
    if (uses_manual(s.weights)) {
        bool any = false, all = true;
        for (const auto& c : s.criteria) {
            any = any || !std::isnan(c.weight);
            all = all && !std::isnan(c.weight);
        }
        if (!any) {
            for (auto& c : s.criteria) c.weight = 1.0;  // equal weights
        } else if (!all) {
            for (std::size_t k = 0; k < s.criteria.size(); ++k)
                if (std::isnan(s.criteria[k].weight))
                    fail(path + ".criteria[" + std::to_string(k) + "].weight",
                         "required: manual weights are given for some criteria, so every criterion needs one");
        }
        double sum = 0;
        for (const auto& c : s.criteria) sum += c.weight;
        if (!(sum > 0)) fail(path + ".criteria", "manual weights must not all be 0");
    }
    return s;
}

TierSpec parse_tier(const json& j, const std::string& path) {
    TierSpec t;
    if (j.is_string()) {
        t.name = j.get<std::string>();
    } else {
        require_object(j, path);
        only_keys(j, path, {"name", "mode", "actions", "description"});
        if (!j.contains("name")) fail(path + ".name", "required");
        t.name = string_at(j, "name", path, "");
        t.mode = choice<RelationshipMode>(string_at(j, "mode", path, "transactional"), path + ".mode",
                                          {{"transactional", RelationshipMode::transactional},
                                           {"cooperative", RelationshipMode::cooperative},
                                           {"strategic", RelationshipMode::strategic},
                                           {"emotional", RelationshipMode::emotional}});
        t.description = string_at(j, "description", path, "");
        if (j.contains("actions")) {
            const json& a = j.at("actions");
            if (!a.is_array()) fail(path + ".actions", "must be an array of strings, got " + show(a));
            for (std::size_t k = 0; k < a.size(); ++k) {
                if (!a[k].is_string())
                    fail(path + ".actions[" + std::to_string(k) + "]", "must be a string, got " + show(a[k]));
                t.actions.push_back(a[k].get<std::string>());
            }
        }
    }
    if (t.name.empty()) fail(path + ".name", "must not be empty");
    return t;
}

std::vector<std::string> string_list(const json& obj, const char* key, const std::string& path) {
    std::vector<std::string> out;
    if (!obj.contains(key)) return out;
    const json& j = obj.at(key);
    const std::string p = path + "." + key;
    if (j.is_string()) return {j.get<std::string>()};
    if (!j.is_array() || j.empty()) fail(p, "must be a string or a non-empty array of strings, got " + show(j));
    for (std::size_t k = 0; k < j.size(); ++k) {
        if (!j[k].is_string()) fail(p + "[" + std::to_string(k) + "]", "must be a string, got " + show(j[k]));
        out.push_back(j[k].get<std::string>());
    }
    return out;
}

/// The stage names, comma-separated (for messages).
std::string stage_list() {
    std::string out;
    for (const char* name : lifecycle::stage_names) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

/// The `lifecycle` section (may be null when only `strategies` is given).
lifecycle::LifecycleSpec parse_lifecycle(const json* lc, const json* strategies, const std::vector<TierSpec>& tiers) {
    lifecycle::LifecycleSpec s;
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (lc) {
        const std::string path = "lifecycle";
        require_object(*lc, path);
        only_keys(*lc, path,
                  {"new_days", "active_days", "growing_trend", "declining_trend", "loyal_purchases", "loyal_days",
                   "at_risk_days", "at_risk_p_alive", "declining_p_alive", "lost_days", "lost_p_alive", "hysteresis"});
        s.new_days = number_at(*lc, "new_days", path, s.new_days, 0, inf);
        s.active_days = number_at(*lc, "active_days", path, s.active_days, 0, inf);
        s.growing_trend = number_at(*lc, "growing_trend", path, s.growing_trend, 0, inf);
        s.declining_trend = number_at(*lc, "declining_trend", path, s.declining_trend, 0, inf);
        if (!(s.declining_trend < s.growing_trend))
            fail(path + ".declining_trend", "must be < growing_trend " + format_number(s.growing_trend) + ", got " +
                                                format_number(s.declining_trend));
        s.loyal_purchases = number_at(*lc, "loyal_purchases", path, s.loyal_purchases, 2, inf);
        s.loyal_days = number_at(*lc, "loyal_days", path, s.loyal_days, 0, inf);
        // declining_p_alive: the name of at_risk_p_alive in tierkit 0.1 (its model files store it).
        if (lc->contains("declining_p_alive") && lc->contains("at_risk_p_alive"))
            fail(path + ".declining_p_alive", "is the former name of at_risk_p_alive; give only at_risk_p_alive");
        const char* p_key = lc->contains("declining_p_alive") ? "declining_p_alive" : "at_risk_p_alive";
        s.at_risk_p_alive = number_at(*lc, p_key, path, s.at_risk_p_alive, 0, 1);
        s.lost_p_alive = number_at(*lc, "lost_p_alive", path, s.lost_p_alive, 0, 1);
        if (s.lost_p_alive > s.at_risk_p_alive)
            fail(path + ".lost_p_alive", "must be <= at_risk_p_alive " + format_number(s.at_risk_p_alive) + ", got " +
                                             format_number(s.lost_p_alive));
        s.at_risk_days = number_at(*lc, "at_risk_days", path, s.at_risk_days, 0, inf);
        s.lost_days = number_at(*lc, "lost_days", path, s.lost_days, 0, inf);
        // A tierkit 0.1 lifecycle section (lost_days but no at_risk_days) keeps its
        // lost_days: at_risk_days follows it down when the default would exceed it.
        if (!lc->contains("at_risk_days") && s.at_risk_days > s.lost_days) s.at_risk_days = s.lost_days;
        if (s.at_risk_days > s.lost_days)
            fail(path + ".at_risk_days",
                 "must be <= lost_days " + format_number(s.lost_days) + ", got " + format_number(s.at_risk_days));
        if (!lc->contains("active_days") && s.active_days > s.at_risk_days) s.active_days = s.at_risk_days;
        if (s.active_days > s.at_risk_days)
            fail(path + ".active_days",
                 "must be <= at_risk_days " + format_number(s.at_risk_days) + ", got " + format_number(s.active_days));
        if (lc->contains("hysteresis")) {
            const std::string hp = path + ".hysteresis";
            const json& h = require_object(lc->at("hysteresis"), hp);
            only_keys(h, hp, {"up_margin", "down_margin", "k", "max_demotion"});
            s.hysteresis.up_margin = number_at(h, "up_margin", hp, 0, 0, inf);
            s.hysteresis.down_margin = number_at(h, "down_margin", hp, 0, 0, inf);
            const double k = number_at(h, "k", hp, 1, 1, 1000000);
            if (k != std::floor(k)) fail(hp + ".k", "must be a whole number, got " + format_number(k));
            s.hysteresis.k = static_cast<int>(k);
            const double d = number_at(h, "max_demotion", hp, 1, 1, 1000000);
            if (d != std::floor(d)) fail(hp + ".max_demotion", "must be a whole number, got " + format_number(d));
            s.hysteresis.max_demotion = static_cast<int>(d);
        }
    }
    if (strategies) {
        const std::string path = "strategies";
        if (!strategies->is_array())
            fail(path, "must be an array of {tier, mode, stage, action} entries, got " + show(*strategies));
        for (std::size_t k = 0; k < strategies->size(); ++k) {
            const std::string ep = path + "[" + std::to_string(k) + "]";
            const json& e = require_object((*strategies)[k], ep);
            only_keys(e, ep, {"tier", "mode", "stage", "action"});
            lifecycle::StrategyEntry entry;
            entry.tiers = string_list(e, "tier", ep);
            entry.modes = string_list(e, "mode", ep);
            entry.stages = string_list(e, "stage", ep);
            for (std::size_t q = 0; q < entry.tiers.size(); ++q)
                if (std::none_of(tiers.begin(), tiers.end(),
                                 [&](const TierSpec& t) { return t.name == entry.tiers[q]; })) {
                    std::string list;
                    for (const auto& t : tiers) list += (list.empty() ? "" : ", ") + t.name;
                    fail(ep + ".tier", "unknown tier '" + entry.tiers[q] + "'; the policy's tiers: " + list);
                }
            for (const auto& m : entry.modes)
                (void)choice<RelationshipMode>(m, ep + ".mode",
                                               {{"transactional", RelationshipMode::transactional},
                                                {"cooperative", RelationshipMode::cooperative},
                                                {"strategic", RelationshipMode::strategic},
                                                {"emotional", RelationshipMode::emotional}});
            for (const auto& st : entry.stages)
                if (std::find_if(lifecycle::stage_names.begin(), lifecycle::stage_names.end(),
                                 [&](const char* name) { return st == name; }) == lifecycle::stage_names.end())
                    fail(ep + ".stage", "must be one of " + stage_list() + ", got '" + st + "'");
            if (!e.contains("action")) fail(ep + ".action", "required: the next action for matching customers");
            entry.action = string_at(e, "action", ep, "");
            if (entry.action.empty()) fail(ep + ".action", "must not be empty");
            s.strategies.push_back(std::move(entry));
        }
    }
    return s;
}

json lifecycle_to_json(const lifecycle::LifecycleSpec& s) {
    return json{{"new_days", s.new_days},
                {"active_days", s.active_days},
                {"growing_trend", s.growing_trend},
                {"declining_trend", s.declining_trend},
                {"loyal_purchases", s.loyal_purchases},
                {"loyal_days", s.loyal_days},
                {"at_risk_days", s.at_risk_days},
                {"at_risk_p_alive", s.at_risk_p_alive},
                {"lost_days", s.lost_days},
                {"lost_p_alive", s.lost_p_alive},
                {"hysteresis",
                 {{"up_margin", s.hysteresis.up_margin},
                  {"down_margin", s.hysteresis.down_margin},
                  {"k", s.hysteresis.k},
                  {"max_demotion", s.hysteresis.max_demotion}}}};
}

json strategies_to_json(const std::vector<lifecycle::StrategyEntry>& entries) {
    json out = json::array();
    for (const auto& e : entries) {
        json j;
        if (!e.tiers.empty()) j["tier"] = e.tiers;
        if (!e.modes.empty()) j["mode"] = e.modes;
        if (!e.stages.empty()) j["stage"] = e.stages;
        j["action"] = e.action;
        out.push_back(j);
    }
    return out;
}

json weights_to_json(const WeightSpec& w, std::size_t n) {
    json j;
    switch (w.method) {
        case WeightMethod::manual:
            j["method"] = "manual";
            break;
        case WeightMethod::ahp: {
            j["method"] = "ahp";
            json m = json::array();
            for (std::size_t r = 0; r < n; ++r)
                m.push_back(std::vector<double>(w.matrix.begin() + static_cast<long>(r * n),
                                                w.matrix.begin() + static_cast<long>((r + 1) * n)));
            j["matrix"] = m;
            if (w.random_index.empty())
                j["random_index"] = "saaty";
            else
                j["random_index"] = w.random_index;
            j["max_cr"] = w.max_cr;
            j["accept_inconsistent"] = w.accept_inconsistent;
            break;
        }
        case WeightMethod::entropy:
            j["method"] = "entropy";
            j["variant"] = w.entropy_proportion ? "proportion" : "minmax";
            break;
        case WeightMethod::critic:
            j["method"] = "critic";
            break;
        case WeightMethod::combined:
            j["method"] = "combined";
            j["subjective"] = weights_to_json(*w.subjective, n);
            j["objective"] = weights_to_json(*w.objective, n);
            j["mode"] = w.multiplicative ? "multiplicative" : "linear";
            j["alpha"] = w.alpha;
            break;
    }
    return j;
}

}  // namespace

// ---- Policy -----------------------------------------------------------------------

Policy Policy::from_json(const std::string& text) {
    json j = json_text::parse(text, "policy");
    const std::string root = "policy";
    require_object(j, root);
    // Paths in messages are relative to the document root: "scores[0].criteria[1].weight".
    only_keys(j, root,
              {"name", "scores", "criteria", "weights", "method", "rule", "tiers", "description", "clv", "lifecycle",
               "strategies", "privacy", "empty_tiers"});
    Policy p;
    p.name_ = string_at(j, "name", root, "policy");
    const std::string description = string_at(j, "description", root, "");
    if (j.contains("privacy")) {
        const json& pj = require_object(j.at("privacy"), "privacy");
        only_keys(pj, "privacy", {"min_group"});
        const double k = number_at(pj, "min_group", "privacy", 1, 1, 1000000);
        if (k != std::floor(k)) fail("privacy.min_group", "must be a whole number, got " + format_number(k));
        p.min_group_ = static_cast<std::size_t>(k);
    }
    if (j.contains("empty_tiers") && !j.at("empty_tiers").is_string())
        fail("empty_tiers", "must be one of error, warn, allow, got " + show(j.at("empty_tiers")));
    p.empty_tiers_ =
        choice<EmptyTiers>(j.value("empty_tiers", std::string("warn")), "empty_tiers",
                           {{"error", EmptyTiers::error}, {"warn", EmptyTiers::warn}, {"allow", EmptyTiers::allow}});
    if (j.contains("clv")) p.clv_ = clv::ClvSpec::from_json(j.at("clv"), "clv");
    if (j.contains("scores") && j.contains("criteria"))
        fail("criteria", "give either scores or criteria (one score), not both");
    if (j.contains("scores")) {
        const json& ss = j.at("scores");
        if (!ss.is_array() || ss.empty()) fail("scores", "must be a non-empty array, got " + show(ss));
        std::set<std::string> names;
        for (std::size_t k = 0; k < ss.size(); ++k) {
            const std::string sp = "scores[" + std::to_string(k) + "]";
            only_keys(require_object(ss[k], sp), sp, {"name", "method", "criteria", "weights"});
            p.scores_.push_back(parse_score(ss[k], sp, k == 0 ? "score" : "score" + std::to_string(k)));
            if (!names.insert(p.scores_.back().name).second)
                fail(sp + ".name", "'" + p.scores_.back().name + "' is used by an earlier score");
        }
    } else if (j.contains("criteria")) {
        json one = json::object();
        one["criteria"] = j.at("criteria");
        if (j.contains("weights")) one["weights"] = j.at("weights");
        if (j.contains("method")) one["method"] = j.at("method");
        // Parse with root-relative paths so messages read "criteria[1].weight".
        try {
            p.scores_.push_back(parse_score(one, "", "score"));
        } catch (const PolicyError& e) {
            std::string msg = e.what();
            if (!msg.empty() && msg[0] == '.') msg = msg.substr(1);
            throw PolicyError(msg);
        }
    } else {
        fail("scores", "required: a list of scores (or a top-level criteria list)");
    }

    if (!j.contains("tiers")) fail("tiers", "required: the ordered tiers, best first");
    const json& ts = j.at("tiers");
    if (!ts.is_array() || ts.empty()) fail("tiers", "must be a non-empty array, got " + show(ts));
    std::set<std::string> tier_names;
    for (std::size_t k = 0; k < ts.size(); ++k) {
        const std::string tp = "tiers[" + std::to_string(k) + "]";
        p.tiers_.push_back(parse_tier(ts[k], tp));
        if (!tier_names.insert(p.tiers_.back().name).second)
            fail(tp + ".name", "'" + p.tiers_.back().name + "' is used by an earlier tier");
    }

    p.has_lifecycle_ = j.contains("lifecycle");
    p.requires_stages_ =
        j.contains("strategies") || (p.has_lifecycle_ && j.at("lifecycle").is_object() &&
                                     std::any_of(j.at("lifecycle").items().begin(), j.at("lifecycle").items().end(),
                                                 [](const auto& kv) { return kv.key() != "hysteresis"; }));
    p.lifecycle_ = parse_lifecycle(p.has_lifecycle_ ? &j.at("lifecycle") : nullptr,
                                   j.contains("strategies") ? &j.at("strategies") : nullptr, p.tiers_);

    json rule = j.contains("rule") ? j.at("rule") : json{{"kind", default_rule_kind()}};
    require_object(rule, "rule");
    if (!rule.contains("kind"))
        fail(
            "rule.kind", "required; registered rules: " + [] {
                std::string s;
                for (const auto& k : rule_kinds()) s += (s.empty() ? "" : ", ") + k;
                return s;
            }());
    p.rule_kind_ = string_at(rule, "kind", "rule", "");
    // A rule that reads a score reads the main one unless told otherwise (Rule::defaults_to_main_score).
    if (!rule.contains("score") && !rule.contains("column") && rule_defaults_to_main_score(p.rule_kind_))
        rule["score"] = p.scores_[0].name;
    if (rule.contains("score")) {
        const std::string s = string_at(rule, "score", "rule", "");
        bool found = false;
        for (const auto& sc : p.scores_) found = found || sc.name == s;
        if (!found) {
            std::string list;
            for (const auto& sc : p.scores_) list += (list.empty() ? "" : ", ") + sc.name;
            fail("rule.score", "unknown score '" + s + "'; the policy defines: " + list);
        }
    }
    // Factories also get the tier names (to map named tiers to indices).
    json params = rule;
    params["tier_names"] = json::array();
    for (const auto& t : p.tiers_) params["tier_names"].push_back(t.name);
    // ... and the score names, for the defaults and checks of nested rules (registry.hpp).
    params["score_names"] = json::array();
    for (const auto& sc : p.scores_) params["score_names"].push_back(sc.name);
    (void)tierkit::make_rule(p.rule_kind_, params, "rule", p.tiers_.size());  // validate now
    p.rule_json_ = params.dump();

    // The normalized document.
    json out;
    out["name"] = p.name_;
    if (j.contains("description")) out["description"] = description;
    json scores = json::array();
    for (const auto& s : p.scores_) {
        json sj;
        sj["name"] = s.name;
        sj["method"] = s.method == ScoreMethod::topsis ? "topsis" : "weighted_sum";
        json cs = json::array();
        for (const auto& c : s.criteria) {
            json cj;
            cj["column"] = c.column;
            cj["direction"] = to_string(c.direction);
            cj["transform"] = to_string(c.transform);
            if (c.clip) cj["clip"] = {c.clip_lower, c.clip_upper};
            cj["normalizer"] = to_string(c.normalizer);
            if (c.normalizer == Normalizer::bins) cj["bins"] = c.bins;
            if (!std::isnan(c.weight)) cj["weight"] = c.weight;
            if (c.has_value_map()) {
                json map = json::object();
                for (std::size_t i = 0; i < c.labels.size(); ++i) map[c.labels[i]] = c.label_values[i];
                cj["values"] = map;
                if (c.unknown_as_missing) cj["unknown"] = "missing";
            }
            if (c.missing == Missing::value)
                cj["missing"] = c.missing_value;
            else if (c.missing != Missing::reject)
                cj["missing"] = c.missing == Missing::worst    ? "worst"
                                : c.missing == Missing::median ? "median"
                                                               : "zero";
            cs.push_back(cj);
        }
        sj["criteria"] = cs;
        sj["weights"] = weights_to_json(s.weights, s.criteria.size());
        scores.push_back(sj);
    }
    out["scores"] = scores;
    out["rule"] = rule;
    json tiers = json::array();
    for (const auto& t : p.tiers_) {
        json tj{{"name", t.name}, {"mode", to_string(t.mode)}, {"actions", t.actions}};
        if (!t.description.empty()) tj["description"] = t.description;
        tiers.push_back(tj);
    }
    out["tiers"] = tiers;
    if (p.clv_) out["clv"] = p.clv_->to_json();
    if (p.has_lifecycle_) out["lifecycle"] = lifecycle_to_json(p.lifecycle_);
    if (j.contains("strategies")) out["strategies"] = strategies_to_json(p.lifecycle_.strategies);
    if (p.min_group_) out["privacy"] = json{{"min_group", *p.min_group_}};
    if (j.contains("empty_tiers")) out["empty_tiers"] = to_string(p.empty_tiers_);
    p.json_ = out.dump(2);
    return p;
}

std::size_t Policy::min_group_for(std::size_t rows) const noexcept {
    return min_group_ ? *min_group_ : default_min_group_for(rows);
}

Policy Policy::with_min_group(std::size_t k) const {
    if (k < 1) throw PolicyError("privacy.min_group: must be >= 1, got 0");
    Policy p = *this;
    p.min_group_ = k;
    json j = json_text::parse(json_, "policy");
    j["privacy"] = json{{"min_group", k}};
    p.json_ = j.dump(2);
    return p;
}

std::unique_ptr<Rule> Policy::make_rule() const {
    return tierkit::make_rule(rule_kind_, json_text::parse(rule_json_, "rule"), "rule", tiers_.size());
}

std::vector<std::string> Policy::input_columns() const { return input_columns(*make_rule()); }

std::vector<std::string> Policy::input_columns(const Rule& rule) const {
    std::vector<std::string> out, computed;
    if (clv_) computed = clv_->output_columns();
    for (const auto& s : scores_) computed.push_back(s.name);  // a rule reads scores before columns
    auto add = [&](const std::string& name) {
        if (std::find(out.begin(), out.end(), name) == out.end() &&
            std::find(computed.begin(), computed.end(), name) == computed.end())
            out.push_back(name);
    };
    if (clv_)
        for (const auto& name : clv_->input_columns()) add(name);
    for (const auto& s : scores_)
        for (const auto& c : s.criteria) add(c.column);
    for (const auto& name : rule.inputs()) add(name);
    if (requires_stages_)
        for (const auto& name : lifecycle::stage_input_columns()) add(name);
    return out;
}

std::vector<std::string> Policy::required_columns() const {
    std::vector<std::string> out;
    for (const auto& s : scores_)
        for (const auto& c : s.criteria)
            if (std::find(out.begin(), out.end(), c.column) == out.end()) out.push_back(c.column);
    return out;
}

}  // namespace tierkit
