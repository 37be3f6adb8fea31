#pragma once
/// @file direction.hpp
/// Whether a larger value of a criterion is better (revenue) or worse (days since
/// the last purchase).
namespace tierkit {
enum class Direction { higher, lower };
}  // namespace tierkit
