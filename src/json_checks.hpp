#pragma once
// Internal (not installed): the JSON checks shared by the policy parser and the
// rule factories, so every "path: requirement, got value" message reads the same.
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "tierkit/error.hpp"

namespace tierkit::json_checks {

/// Throw PolicyError("<path>: <what>").
[[noreturn]] inline void fail(const std::string& path, const std::string& what) { throw PolicyError(path + ": " + what); }

/// A JSON value shortened for a message.
inline std::string show(const nlohmann::json& j) {
    std::string s = j.dump();
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

}  // namespace tierkit::json_checks
