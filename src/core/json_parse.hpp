#pragma once
// Internal (not installed): the one JSON reader for every JSON text that enters
// tierkit (policy text and files, the policy and clv section stored in a model or
// fitter file, rule parameters kept by a Policy).
//
// nlohmann's DOM is recursive: copying, dumping and destroying a value recurses once
// per nesting level, so a document nested some 10,000 deep overflows a thread's stack.
// parse() first walks the text with nlohmann's SAX reader (iterative) counting the
// depth, and builds the DOM only when the text is valid JSON no deeper than
// max_depth; no deep value is ever built.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tierkit::json_text {

/// Deepest nesting of arrays and objects a JSON text may have (the top-level value
/// is depth 1). Policies nest about 6 deep.
inline constexpr std::size_t max_depth = 64;

/// Parse `text` as one JSON value.
/// @param where names the document in messages ("policy", "load: the archived policy").
/// @throws PolicyError "<where>: not valid JSON at byte N: ..." for a syntax error or
///         a number out of range, and "<where>.<json path>: nested deeper than 64
///         levels" (with the byte offset) past max_depth.
nlohmann::json parse(std::string_view text, const std::string& where);

}  // namespace tierkit::json_text
