#pragma once
/// @file core/json_checks.hpp
/// The JSON checks shared by the policy parser, the rule factories and every other
/// reader of JSON parameters, so every "path: requirement, got value" message reads
/// the same. Each throws PolicyError naming the JSON path.
#include <cmath>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"

namespace tierkit::json_checks {

/// Throw PolicyError("<path>: <what>").
[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
    throw PolicyError(path + ": " + what);
}

/// A JSON value shortened for a message (invalid UTF-8 in strings shown as U+FFFD).
inline std::string show(const nlohmann::json& j) {
    std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

/// PolicyError naming the first key of `obj` that is not in `keys`.
inline void only_keys(const nlohmann::json& obj, const std::string& path, std::initializer_list<const char*> keys) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool known = false;
        for (const char* k : keys) known = known || it.key() == k;
        if (!known) {
            std::string list;
            for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
            fail(path + "." + it.key(), "unknown key; expected one of: " + list);
        }
    }
}

/// `j` itself when it is an object; else PolicyError.
inline const nlohmann::json& require_object(const nlohmann::json& j, const std::string& path) {
    if (!j.is_object()) fail(path, "must be an object, got " + show(j));
    return j;
}

/// The finite number `j`; else PolicyError.
inline double number(const nlohmann::json& j, const std::string& path) {
    if (!j.is_number()) fail(path, "must be a number, got " + show(j));
    const double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "must be finite, got " + show(j));
    return v;
}

/// The finite number obj[key] in [lo, hi], or `fallback` when the key is absent.
inline double number_at(const nlohmann::json& obj, const char* key, const std::string& path, double fallback,
                        double lo = -std::numeric_limits<double>::infinity(),
                        double hi = std::numeric_limits<double>::infinity()) {
    if (!obj.contains(key)) return fallback;
    const std::string p = path + "." + key;
    const double v = number(obj.at(key), p);
    if (v < lo) fail(p, "must be >= " + format_number(lo) + ", got " + format_number(v));
    if (v > hi) fail(p, "must be <= " + format_number(hi) + ", got " + format_number(v));
    return v;
}

/// The string obj[key], or `fallback` when the key is absent.
inline std::string string_at(const nlohmann::json& obj, const char* key, const std::string& path,
                             const std::string& fallback) {
    if (!obj.contains(key)) return fallback;
    const nlohmann::json& j = obj.at(key);
    if (!j.is_string()) fail(path + "." + key, "must be a string, got " + show(j));
    return j.get<std::string>();
}

/// The boolean obj[key], or `fallback` when the key is absent.
inline bool bool_at(const nlohmann::json& obj, const char* key, const std::string& path, bool fallback) {
    if (!obj.contains(key)) return fallback;
    const nlohmann::json& j = obj.at(key);
    if (!j.is_boolean()) fail(path + "." + key, "must be true or false, got " + show(j));
    return j.get<bool>();
}

}  // namespace tierkit::json_checks
