#pragma once
/// @file core/random.hpp
/// tierkit's one pseudo-random generator: xoshiro256** (Blackman & Vigna), its state
/// filled by splitmix64 from one 64-bit seed. It is ours, not the standard
/// library's, so a seed gives the same sequence on every platform and standard
/// library, and so the same fit, sample or synthetic data.
#include <cstdint>

namespace tierkit {

/// splitmix64's output function (Steele, Lea & Flood): a well-mixed 64-bit hash of
/// x. splitmix64_next(state) returns splitmix64_hash(state) and advances state.
constexpr std::uint64_t splitmix64_hash(std::uint64_t x) noexcept {
    std::uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// The next splitmix64 output of the generator whose state is `state`.
constexpr std::uint64_t splitmix64_next(std::uint64_t& state) noexcept {
    const std::uint64_t out = splitmix64_hash(state);
    state += 0x9e3779b97f4a7c15ULL;
    return out;
}

/// xoshiro256**: 256 bits of state, period 2^256 - 1. Not thread-safe: one
/// generator per thread or per independent stream.
class Xoshiro256 {
public:
    /// The state is four splitmix64 outputs from `seed`.
    explicit constexpr Xoshiro256(std::uint64_t seed = 0) noexcept {
        for (auto& s : s_) s = splitmix64_next(seed);
    }
    /// An independent stream of one seed (e.g. one per customer), the same whatever
    /// the order in which streams are used.
    constexpr Xoshiro256(std::uint64_t seed, std::uint64_t stream) noexcept
        : Xoshiro256(seed ^ (stream * 0xd1342543de82ef95ULL)) {}

    constexpr std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in [0, 1) with 53 random bits.
    constexpr double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    /// Uniform in (0, 1) (never 0, so its logarithm is finite).
    constexpr double uniform_open() noexcept { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
    /// Uniform integer in [0, n) (Lemire's multiply-shift; n > 0).
    constexpr std::uint64_t below(std::uint64_t n) noexcept { return mul_high(next(), n); }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    /// The high 64 bits of a * b, portably (no 128-bit integer type needed).
    static constexpr std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) noexcept {
        const std::uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32, b_lo = b & 0xffffffffULL, b_hi = b >> 32;
        const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
        const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
        return hi_hi + (hi_lo >> 32) + (cross >> 32);
    }
    std::uint64_t s_[4]{};
};

}  // namespace tierkit
