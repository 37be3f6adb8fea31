#include "tierkit/clv/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <tuple>

#include "tierkit/core/error.hpp"

namespace tierkit::clv {
namespace {

std::string number(double v) {
    std::ostringstream out;
    out.precision(15);
    out << v;
    return out.str();
}

std::string where(const char* column, std::size_t row) {
    return row == no_row ? std::string(column) : std::string(column) + "[" + std::to_string(row) + "]";
}

[[noreturn]] void reject(const char* column, std::size_t row, const std::string& requirement, double got) {
    throw InvalidInput(where(column, row) + ": " + requirement + ", got " + number(got));
}

void check_frequency(std::size_t row, double x) {
    if (!std::isfinite(x) || x < 0 || x != std::floor(x)) reject("frequency", row, "must be a non-negative integer", x);
}

std::uint64_t key_bits(double v) {
    // -0.0 and 0.0 are the same key
    return std::bit_cast<std::uint64_t>(v == 0.0 ? 0.0 : v);
}

std::uint64_t mix(std::uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

void check_weights(std::span<const double> weights, std::size_t n, std::size_t first_row) {
    if (weights.empty()) return;
    if (weights.size() != n)
        throw InvalidInput("weights: expected " + std::to_string(n) + " rows, got " + std::to_string(weights.size()));
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(weights[i]) || weights[i] < 0)
            reject("weights", first_row + i, "must be finite and >= 0", weights[i]);
}

void check_length(const char* column, std::size_t expected, std::size_t got) {
    if (expected != got)
        throw InvalidInput(std::string(column) + ": expected " + std::to_string(expected) + " rows, got " +
                           std::to_string(got));
}

}  // namespace

void validate_rfm(std::size_t row, double frequency, double recency, double T) {
    check_frequency(row, frequency);
    if (!std::isfinite(T) || T < 0) reject("T", row, "must be finite and >= 0", T);
    if (!std::isfinite(recency) || recency < 0) reject("recency", row, "must be finite and >= 0", recency);
    if (recency > T) reject("recency", row, "must be <= T (" + number(T) + ")", recency);
    if (frequency == 0 && recency != 0) reject("recency", row, "must be 0 when frequency is 0", recency);
}

void validate_spend(std::size_t row, double frequency, double monetary_value) {
    check_frequency(row, frequency);
    if (frequency > 0 && !(std::isfinite(monetary_value) && monetary_value > 0))
        reject("monetary_value", row, "must be finite and > 0 when frequency > 0", monetary_value);
    if (frequency == 0 && !(std::isfinite(monetary_value) && monetary_value >= 0))
        reject("monetary_value", row, "must be finite and >= 0", monetary_value);
}

double RfmPatterns::customers() const noexcept {
    double total = 0;
    for (double c : count) total += c;
    return total;
}

double RfmPatterns::max_T() const noexcept {
    double m = 0;
    for (double t : T) m = std::max(m, t);
    return m;
}

double SpendPatterns::customers() const noexcept {
    double total = 0;
    for (double c : count) total += c;
    return total;
}

namespace detail {

PatternTable::PatternTable() : slots_(64, Slot{0, 0, 0, 0}), mask_(63) {}

void PatternTable::add(double k0, double k1, double k2, double count) {
    if (count == 0) return;
    if (k0 == 0.0) k0 = 0.0;  // normalizes -0.0
    if (k1 == 0.0) k1 = 0.0;
    if (k2 == 0.0) k2 = 0.0;
    const std::uint64_t h = mix(key_bits(k0) * 0x9e3779b97f4a7c15ULL ^ mix(key_bits(k1) + 0x632be59bd9b4e019ULL) ^
                                (key_bits(k2) * 0xbf58476d1ce4e5b9ULL));
    std::size_t i = h & mask_;
    for (;;) {
        Slot& s = slots_[i];
        if (s.count == 0) {
            s = Slot{k0, k1, k2, count};
            if (++size_ * 2 > slots_.size()) grow();
            return;
        }
        if (s.k0 == k0 && s.k1 == k1 && s.k2 == k2) {
            s.count += count;
            return;
        }
        i = (i + 1) & mask_;
    }
}

void PatternTable::grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, Slot{0, 0, 0, 0});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old)
        if (s.count != 0) add(s.k0, s.k1, s.k2, s.count);
}

std::vector<PatternTable::Slot> PatternTable::sorted() const {
    std::vector<Slot> out;
    out.reserve(size_);
    for (const Slot& s : slots_)
        if (s.count != 0) out.push_back(s);
    std::sort(out.begin(), out.end(),
              [](const Slot& l, const Slot& r) { return std::tie(l.k0, l.k1, l.k2) < std::tie(r.k0, r.k1, r.k2); });
    return out;
}

}  // namespace detail

void RfmHistogram::update(std::span<const double> frequency, std::span<const double> recency, std::span<const double> T,
                          std::span<const double> weights, std::size_t first_row) {
    const std::size_t n = frequency.size();
    check_length("recency", n, recency.size());
    check_length("T", n, T.size());
    check_weights(weights, n, first_row);
    for (std::size_t i = 0; i < n; ++i) validate_rfm(first_row + i, frequency[i], recency[i], T[i]);
    for (std::size_t i = 0; i < n; ++i) table_.add(frequency[i], recency[i], T[i], weights.empty() ? 1.0 : weights[i]);
}

void RfmHistogram::merge(const RfmHistogram& other) {
    for (const auto& s : other.table_.slots())
        if (s.count != 0) table_.add(s.k0, s.k1, s.k2, s.count);
}

RfmPatterns RfmHistogram::finalize() const {
    RfmPatterns out;
    const auto rows = table_.sorted();
    out.frequency.reserve(rows.size());
    out.recency.reserve(rows.size());
    out.T.reserve(rows.size());
    out.count.reserve(rows.size());
    for (const auto& s : rows) {
        out.frequency.push_back(s.k0);
        out.recency.push_back(s.k1);
        out.T.push_back(s.k2);
        out.count.push_back(s.count);
    }
    return out;
}

void SpendHistogram::update(std::span<const double> frequency, std::span<const double> monetary_value,
                            std::span<const double> weights, std::size_t first_row) {
    const std::size_t n = frequency.size();
    check_length("monetary_value", n, monetary_value.size());
    check_weights(weights, n, first_row);
    for (std::size_t i = 0; i < n; ++i) validate_spend(first_row + i, frequency[i], monetary_value[i]);
    for (std::size_t i = 0; i < n; ++i) {
        const double w = weights.empty() ? 1.0 : weights[i];
        if (frequency[i] == 0)
            zero_repeat_ += w;
        else
            table_.add(frequency[i], monetary_value[i], 0.0, w);
    }
}

void SpendHistogram::merge(const SpendHistogram& other) {
    for (const auto& s : other.table_.slots())
        if (s.count != 0) table_.add(s.k0, s.k1, s.k2, s.count);
    zero_repeat_ += other.zero_repeat_;
}

SpendPatterns SpendHistogram::finalize() const {
    SpendPatterns out;
    const auto rows = table_.sorted();
    for (const auto& s : rows) {
        out.frequency.push_back(s.k0);
        out.monetary_value.push_back(s.k1);
        out.count.push_back(s.count);
    }
    out.zero_repeat_customers = zero_repeat_;
    return out;
}

RfmPatterns compress_rfm(std::span<const double> frequency, std::span<const double> recency, std::span<const double> T,
                         std::span<const double> weights) {
    RfmHistogram h;
    h.update(frequency, recency, T, weights);
    return h.finalize();
}

SpendPatterns compress_spend(std::span<const double> frequency, std::span<const double> monetary_value,
                             std::span<const double> weights) {
    SpendHistogram h;
    h.update(frequency, monetary_value, weights);
    return h.finalize();
}

double frequency_spend_correlation(const SpendPatterns& patterns) {
    if (patterns.size() < 2)
        throw InvalidInput("frequency_spend_correlation: needs at least two distinct repeat customers, got " +
                           std::to_string(patterns.size()));
    double n = 0, mx = 0, mm = 0;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        n += patterns.count[i];
        mx += patterns.count[i] * patterns.frequency[i];
        mm += patterns.count[i] * patterns.monetary_value[i];
    }
    mx /= n;
    mm /= n;
    double sxx = 0, smm = 0, sxm = 0;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        const double dx = patterns.frequency[i] - mx, dm = patterns.monetary_value[i] - mm;
        sxx += patterns.count[i] * dx * dx;
        smm += patterns.count[i] * dm * dm;
        sxm += patterns.count[i] * dx * dm;
    }
    if (sxx == 0 || smm == 0)
        throw InvalidInput(std::string("frequency_spend_correlation: ") + (sxx == 0 ? "frequency" : "monetary_value") +
                           " is constant, the correlation is undefined");
    return sxm / std::sqrt(sxx * smm);
}

}  // namespace tierkit::clv

namespace tierkit::clv::detail {

RfmLayout RfmLayout::build(const RfmPatterns& patterns) {
    const std::size_t n = patterns.size();
    if (patterns.frequency.size() != n || patterns.recency.size() != n || patterns.T.size() != n)
        throw InvalidInput("patterns: frequency, recency, T and count must have the same length");
    bool sorted_unique = true;
    for (std::size_t i = 0; i < n; ++i) {
        validate_rfm(i, patterns.frequency[i], patterns.recency[i], patterns.T[i]);
        if (!std::isfinite(patterns.count[i]) || patterns.count[i] < 0)
            throw InvalidInput("count[" + std::to_string(i) + "]: must be finite and >= 0, got " +
                               std::to_string(patterns.count[i]));
        if (i > 0 && !(std::tie(patterns.frequency[i - 1], patterns.recency[i - 1], patterns.T[i - 1]) <
                       std::tie(patterns.frequency[i], patterns.recency[i], patterns.T[i])))
            sorted_unique = false;
        if (patterns.count[i] == 0) sorted_unique = false;
    }
    const RfmPatterns* source = &patterns;
    RfmPatterns rebuilt;
    if (!sorted_unique) {
        RfmHistogram h;
        h.update(patterns.frequency, patterns.recency, patterns.T, patterns.count);
        rebuilt = h.finalize();
        source = &rebuilt;
    }
    const RfmPatterns& p = *source;
    RfmLayout out;
    out.count = p.count;
    // distinct values (in order of first appearance) and per-row indices, by hashing
    auto index_values = [](const std::vector<double>& column, std::vector<double>& values,
                           std::vector<std::uint32_t>& index) {
        std::size_t capacity = 16;
        while (capacity < 2 * column.size()) capacity *= 2;
        const std::size_t mask = capacity - 1;
        constexpr std::uint32_t kEmpty = static_cast<std::uint32_t>(-1);
        std::vector<std::uint32_t> table(capacity, kEmpty);
        index.resize(column.size());
        for (std::size_t i = 0; i < column.size(); ++i) {
            const double v = column[i] == 0.0 ? 0.0 : column[i];
            std::size_t slot = mix(key_bits(v)) & mask;
            while (table[slot] != kEmpty && values[table[slot]] != v) slot = (slot + 1) & mask;
            if (table[slot] == kEmpty) {
                table[slot] = static_cast<std::uint32_t>(values.size());
                values.push_back(v);
            }
            index[i] = table[slot];
        }
    };
    index_values(p.recency, out.recency_values, out.recency_index);
    index_values(p.T, out.T_values, out.T_index);
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (i == 0 || p.frequency[i] != p.frequency[i - 1]) {
            out.x.push_back(p.frequency[i]);
            out.block.push_back(i);
            out.block_count.push_back(0.0);
        }
        out.block_count.back() += p.count[i];
        out.customers += p.count[i];
        out.repeat_purchases += p.count[i] * p.frequency[i];
        out.sum_T += p.count[i] * p.T[i];
        out.max_T = std::max(out.max_T, p.T[i]);
    }
    out.block.push_back(p.size());
    return out;
}

}  // namespace tierkit::clv::detail
