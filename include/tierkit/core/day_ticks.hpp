#pragma once
/// @file day_ticks.hpp
/// Day numbers from timestamps counted in ticks since 1970-01-01 (numpy datetime64,
/// Arrow timestamps): how a host's date columns enter a FeatureTable, whose columns
/// are doubles. The lifecycle stages read first_purchase and last_purchase this way.
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>

#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit {

namespace detail {

/// A missing day: NaN in a double column, the missing value itself in an integer one.
template <class Out>
constexpr Out missing_day_as(std::int64_t missing) noexcept {
    if constexpr (std::is_floating_point_v<Out>)
        return std::numeric_limits<Out>::quiet_NaN();
    else
        return static_cast<Out>(missing);
}

template <std::int64_t PerDay, class Out>
void floor_days(std::span<const std::int64_t> ticks, std::int64_t missing, std::span<Out> out, std::int64_t per_day) {
    parallel_for(
        ticks.size(),
        [&](std::size_t begin, std::size_t end) {
            // A constant divisor (the usual units) compiles to a multiplication.
            const std::int64_t d = PerDay != 0 ? PerDay : per_day;
            const Out gap = missing_day_as<Out>(missing);
            for (std::size_t i = begin; i < end; ++i) {
                const std::int64_t t = ticks[i];
                std::int64_t q = t / d;
                q -= (t % d != 0) & (t < 0);  // floor, not truncation
                out[i] = t == missing ? gap : static_cast<Out>(q);
            }
        },
        std::size_t{1} << 16);
}

template <class Out>
void day_numbers(std::span<const std::int64_t> ticks, std::int64_t ticks_per_day, std::int64_t missing,
                 std::span<Out> out, const std::string& name) {
    if (ticks_per_day < 1)
        throw InvalidInput("column '" + name + "': ticks per day must be >= 1, got " + std::to_string(ticks_per_day));
    if (out.size() != ticks.size())
        throw InvalidInput("column '" + name + "': " + std::to_string(ticks.size()) + " dates for " +
                           std::to_string(out.size()) + " rows");
    switch (ticks_per_day) {
        case 1:
            floor_days<1>(ticks, missing, out, 1);
            break;
        case 24:
            floor_days<24>(ticks, missing, out, 24);
            break;
        case 1'440:
            floor_days<1'440>(ticks, missing, out, 1'440);
            break;
        case 86'400:
            floor_days<86'400>(ticks, missing, out, 86'400);
            break;
        case 86'400'000:
            floor_days<86'400'000>(ticks, missing, out, 86'400'000);
            break;
        case 86'400'000'000:
            floor_days<86'400'000'000>(ticks, missing, out, 86'400'000'000);
            break;
        case 86'400'000'000'000:
            floor_days<86'400'000'000'000>(ticks, missing, out, 86'400'000'000'000);
            break;
        default:
            floor_days<0>(ticks, missing, out, ticks_per_day);
            break;
    }
}

}  // namespace detail

/// out[i] = floor(ticks[i] / ticks_per_day) as a double, NaN where ticks[i] == missing
/// (NaT). Days, hours, minutes, seconds, milliseconds, microseconds and nanoseconds
/// divide by a constant; any other positive ticks_per_day works too.
/// @throws InvalidInput naming `name` when ticks_per_day < 1 or out has another length.
inline void day_numbers_from_ticks(std::span<const std::int64_t> ticks, std::int64_t ticks_per_day,
                                   std::int64_t missing, std::span<double> out, const std::string& name = "dates") {
    detail::day_numbers(ticks, ticks_per_day, missing, out, name);
}

/// The same as whole day numbers: out[i] = floor(ticks[i] / ticks_per_day), and
/// `missing` where ticks[i] == missing (numpy's NaT is INT64_MIN, tierkit's missing day).
inline void day_numbers_from_ticks(std::span<const std::int64_t> ticks, std::int64_t ticks_per_day,
                                   std::int64_t missing, std::span<std::int64_t> out,
                                   const std::string& name = "dates") {
    detail::day_numbers(ticks, ticks_per_day, missing, out, name);
}

}  // namespace tierkit
