#pragma once
/// @file synthetic.hpp
/// Synthetic transactions from a heterogeneous buy-till-you-die process, for demos,
/// tests and benchmarks.
///
/// Each customer belongs to one of four types (occasional, regular, loyal, whale).
/// A customer joins on a uniform day of the window and makes a first purchase then.
/// While alive, purchases arrive as a Poisson process with a customer rate drawn from
/// a gamma distribution around the type's rate; after each purchase the customer
/// drops out with a probability drawn around the type's (geometric dropout, as in
/// BG/NBD). Amounts are gamma around a customer mean that is itself gamma around
/// the type's mean spend; margin is a type-dependent share of the amount; a small
/// share of purchases is partly refunded a few days later (a negative row).
///
/// Deterministic: customer i's history depends only on (seed, i), so the result is
/// the same for any thread count. The generator is splitmix64-seeded xoshiro256**
/// with its own gamma/normal samplers, so numbers do not change with the standard
/// library either.
#include <cstdint>
#include <vector>

namespace tierkit {

struct SyntheticOptions {
    std::int64_t customers = 10000;
    std::uint64_t seed = 42;
    std::int64_t start_day = 19358;  ///< 2023-01-01
    std::int64_t days = 730;         ///< length of the observation window
    double refund_rate = 0.02;       ///< share of purchases partly refunded
    unsigned threads = 0;            ///< 0 = all hardware threads
};

struct SyntheticData {
    // Transactions, sorted by customer then day.
    std::vector<std::int64_t> customer;
    std::vector<std::int64_t> day;
    std::vector<double> amount;
    std::vector<double> margin;
    std::vector<double> quantity;
    // One row per customer (ids 1..n): the true type (0 occasional, 1 regular,
    // 2 loyal, 3 whale) and whether the customer was still alive at the end.
    std::vector<std::int64_t> ids;
    std::vector<std::int32_t> type;
    std::vector<std::uint8_t> alive;
};

/// @throws InvalidInput for customers < 0 or days <= 0.
SyntheticData synthetic(const SyntheticOptions& options = {});

/// The type names, by type index.
inline const char* synthetic_type_name(std::int32_t t) noexcept {
    static const char* names[] = {"occasional", "regular", "loyal", "whale"};
    return t >= 0 && t < 4 ? names[t] : "unknown";
}

}  // namespace tierkit
