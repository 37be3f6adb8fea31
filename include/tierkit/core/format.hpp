#pragma once
/// @file core/format.hpp
/// Numbers in messages and reason texts, written one way everywhere.
#include <array>
#include <cstdio>
#include <string>

namespace tierkit {

/// `v` with up to `digits` significant digits (printf's %g: 0.25, 1e+06, inf, nan);
/// 17 digits give back the exact double.
inline std::string format_number(double v, int digits = 6) {
    std::array<char, 40> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "%.*g", digits, v);
    return buffer.data();
}

}  // namespace tierkit
