#pragma once
/// @file time_unit.hpp
/// The time unit a CLV model was fitted in. A weekly fit read as monthly gives numbers that
/// look plausible and are wrong by a factor of four, so every API that turns a model's time
/// into calendar months (customer lifetime value) asks for the unit explicitly.
#include <string>
#include <string_view>

#include "tierkit/core/error.hpp"

namespace tierkit::clv {

/// Unit of T and recency in the data a transaction model was fitted on.
enum class TimeUnit : int { unspecified = 0, hours = 1, days = 2, weeks = 3, months = 4 };

/// Periods of `unit` in one month, with the factors lifetimes uses in its
/// `customer_lifetime_value` (H 720, D 30, W 4.345, M 1); 0 for `unspecified`.
constexpr double periods_per_month(TimeUnit unit) noexcept {
    switch (unit) {
        case TimeUnit::hours:
            return 720.0;
        case TimeUnit::days:
            return 30.0;
        case TimeUnit::weeks:
            return 4.345;
        case TimeUnit::months:
            return 1.0;
        case TimeUnit::unspecified:
            break;
    }
    return 0.0;
}

/// "hours", "days", "weeks", "months" or "unspecified".
constexpr std::string_view to_string(TimeUnit unit) noexcept {
    switch (unit) {
        case TimeUnit::hours:
            return "hours";
        case TimeUnit::days:
            return "days";
        case TimeUnit::weeks:
            return "weeks";
        case TimeUnit::months:
            return "months";
        case TimeUnit::unspecified:
            break;
    }
    return "unspecified";
}

/// Parses lifetimes' letters ("H", "D", "W", "M") or the names above; "" is unspecified.
/// @throws InvalidInput for anything else.
inline TimeUnit parse_time_unit(std::string_view text) {
    if (text.empty() || text == "unspecified") return TimeUnit::unspecified;
    if (text == "H" || text == "hours" || text == "hour") return TimeUnit::hours;
    if (text == "D" || text == "days" || text == "day") return TimeUnit::days;
    if (text == "W" || text == "weeks" || text == "week") return TimeUnit::weeks;
    if (text == "M" || text == "months" || text == "month") return TimeUnit::months;
    throw InvalidInput("time_unit: must be one of H, D, W, M (hours, days, weeks, months), got '" + std::string(text) +
                       "'");
}

}  // namespace tierkit::clv
