#pragma once
// Internal (not installed): parameter checks shared by the cut-point rules'
// factories (thresholds, quantiles, abc, and matrix's axes built from them).
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tierkit/core/json_checks.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit::cut_params {

inline double number(const nlohmann::json& j, const std::string& path) {
    if (!j.is_number()) json_checks::fail(path, "must be a number, got " + json_checks::show(j));
    const double v = j.get<double>();
    if (!std::isfinite(v)) json_checks::fail(path, "must be finite, got " + json_checks::show(j));
    return v;
}

inline std::vector<double> numbers(const nlohmann::json& j, const std::string& path) {
    if (!j.is_array()) json_checks::fail(path, "must be an array of numbers, got " + json_checks::show(j));
    std::vector<double> out;
    for (std::size_t k = 0; k < j.size(); ++k) out.push_back(number(j[k], path + "[" + std::to_string(k) + "]"));
    return out;
}

/// The score or column a rule reads ("" when neither is given).
inline std::string source(const nlohmann::json& p, const std::string& path) {
    if (p.contains("score") && p.contains("column")) json_checks::fail(path, "give either score or column, not both");
    const char* key = p.contains("column") ? "column" : p.contains("score") ? "score" : nullptr;
    if (!key) return "";
    const nlohmann::json& j = p.at(key);
    if (!j.is_string()) json_checks::fail(path + "." + key, "must be a string, got " + json_checks::show(j));
    return j.get<std::string>();
}

inline void expect_count(const std::vector<double>& v, std::size_t want, const std::string& path, const char* what,
                         std::size_t tiers) {
    if (v.size() != want)
        json_checks::fail(path, "needs " + std::to_string(want) + " " + what + " for " + std::to_string(tiers) +
                                    " tiers, got " + std::to_string(v.size()));
}

}  // namespace tierkit::cut_params
