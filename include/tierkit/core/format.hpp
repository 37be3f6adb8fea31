#pragma once
/// @file core/format.hpp
/// Numbers and untrusted bytes in messages and reason texts, written one way everywhere.
#include <array>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace tierkit {

/// `v` with up to `digits` significant digits (printf's %g: 0.25, 1e+06, inf, nan);
/// 17 digits give back the exact double.
inline std::string format_number(double v, int digits = 6) {
    std::array<char, 40> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.*g", digits, v);
    return buffer.data();
}

/// The offset of the first byte of `text` that does not start a valid UTF-8 sequence
/// (a stray continuation byte, a truncated sequence, an overlong form, a surrogate or
/// a code point past U+10FFFF), or std::string_view::npos when all of it is valid.
std::size_t invalid_utf8_at(std::string_view text) noexcept;

/// `text` as valid UTF-8 for a message (bytes of a damaged file: a class name, an XML
/// tag, a JSON token): every byte that does not start a valid sequence is written
/// \xNN, the rest is kept, so that callers (Python's str) can always decode it.
std::string printable_utf8(std::string_view text);

}  // namespace tierkit
