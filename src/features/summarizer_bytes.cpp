// The Summarizer's state as bytes: tierkit's envelope around a little-endian record.
#include <bit>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>

#include "tierkit/core/envelope.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/features/summarize.hpp"

namespace tierkit {

namespace {

// The state: tierkit's envelope (core/envelope.hpp, content kind summarizer state,
// encoding record) around the little-endian record below.
constexpr std::uint32_t state_version = 1;
constexpr const char* who = "Summarizer.from_bytes";

class Writer {
public:
    template <class T>
    void put(T v) {
        static_assert(std::is_arithmetic_v<T>);
        std::uint64_t bits = 0;
        if constexpr (std::is_floating_point_v<T>)
            bits = std::bit_cast<std::uint64_t>(static_cast<double>(v));
        else
            bits = static_cast<std::uint64_t>(v);
        constexpr std::size_t size = std::is_floating_point_v<T> ? 8 : sizeof(T);
        char b[8];
        for (std::size_t k = 0; k < size; ++k) b[k] = static_cast<char>((bits >> (8 * k)) & 0xff);
        out.append(b, size);
    }
    void put(const std::string& text) {
        put<std::uint64_t>(text.size());
        out.append(text);
    }
    std::string out;
};

class Reader {
public:
    /// `bytes` start at byte `base` of the state.
    Reader(std::string_view bytes, std::size_t base) : in(bytes), base_(base) {}
    template <class T>
    T get(const char* what) {
        constexpr std::size_t size = std::is_floating_point_v<T> ? 8 : sizeof(T);
        need(size, what);
        std::uint64_t bits = 0;
        for (std::size_t k = 0; k < size; ++k)
            bits |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + k])) << (8 * k);
        pos += size;
        if constexpr (std::is_floating_point_v<T>)
            return std::bit_cast<double>(bits);
        else
            return static_cast<T>(bits);
    }
    /// A count of records of `record` bytes each, checked against what is left.
    std::size_t count(std::size_t record, const char* what) {
        const std::size_t at = offset();
        const auto n = get<std::uint64_t>(what);
        if (record > 0 && n > (in.size() - pos) / record)
            fail(at, std::string(what) + ": " + std::to_string(n) + " records do not fit in the " +
                         std::to_string(in.size() - pos) + " bytes left");
        return static_cast<std::size_t>(n);
    }
    std::string text(const char* what) {
        const std::size_t n = count(1, what);
        std::string s(in.substr(pos, n));
        pos += n;
        return s;
    }
    std::size_t offset() const { return base_ + pos; }
    bool done() const { return pos == in.size(); }
    [[noreturn]] static void fail(std::size_t at, const std::string& message) {
        throw FormatError(std::string(who) + ": " + message + " (at byte " + std::to_string(at) + ")");
    }

private:
    void need(std::size_t size, const char* what) {
        if (in.size() - pos < size)
            fail(offset(), std::string("truncated payload: ") + what + " needs " + std::to_string(size) + " bytes, " +
                               std::to_string(in.size() - pos) + " left");
    }
    std::string_view in;
    std::size_t base_;
    std::size_t pos = 0;
};

}  // namespace

std::string Summarizer::to_bytes() const {
    compact();
    Writer w;
    const auto& o = options_;
    w.put<std::uint8_t>(o.as_of.has_value());
    w.put<std::int64_t>(o.as_of.value_or(0));
    w.put<std::uint8_t>(static_cast<std::uint8_t>(o.period));
    w.put<double>(o.freq_multiplier);
    w.put<std::int64_t>(o.trend_window_days);
    w.put<double>(o.trend_cap);
    w.put<std::uint64_t>(o.windows_days.size());
    for (int d : o.windows_days) w.put<std::int64_t>(d);
    w.put<std::uint8_t>(o.reject_invalid);
    w.put<std::int8_t>(static_cast<std::int8_t>(has_margin_));
    w.put<std::int8_t>(static_cast<std::int8_t>(has_quantity_));
    for (std::int64_t v : {rows_, used_, after_, refunds_, max_day_}) w.put<std::int64_t>(v);
    w.put<std::uint64_t>(ids_.size());
    for (std::size_t s = 0; s < ids_.size(); ++s) {
        w.put<std::int64_t>(ids_[s]);
        w.put<std::int64_t>(after_of_[s]);
        if (has_margin_ == 1) {
            w.put<double>(margin_[s].hi);
            w.put<double>(margin_[s].lo);
        }
        if (has_quantity_ == 1) {
            w.put<double>(quantity_[s].hi);
            w.put<double>(quantity_[s].lo);
        }
    }
    w.put<std::uint64_t>(cells());
    std::vector<Cell> scratch;
    for (std::size_t s = 0; s < ids_.size(); ++s)
        for (const Cell& c : cells_of(s, scratch)) {
            w.put<std::uint32_t>(c.slot);
            w.put<std::int64_t>(c.day);
            for (double v : {c.gross.hi, c.gross.lo, c.refund.hi, c.refund.lo}) w.put<double>(v);
            w.put<std::int64_t>(c.purchases);
        }
    w.put<std::uint64_t>(row_rejects_.size());
    for (const Reject& r : row_rejects_) {
        w.put<std::int64_t>(r.row);
        w.put<std::int64_t>(r.customer);
        w.put(r.reason);
    }
    return envelope::write_envelope(envelope::Content::summarizer_state, envelope::Encoding::record, state_version,
                                    w.out);
}

Summarizer Summarizer::from_bytes(std::string_view bytes) {
    const auto [header, payload] =
        envelope::read_envelope(bytes, {envelope::Content::summarizer_state, state_version, max_state_bytes, who});
    if (header.encoding != envelope::Encoding::record)
        Reader::fail(12, "payload encoding " + std::to_string(static_cast<int>(header.encoding)) +
                             " is not a summarizer record (3)");
    Reader r(payload, header.size);
    SummarizeOptions o;
    const bool has_as_of = r.get<std::uint8_t>("as_of flag") != 0;
    const auto as_of = r.get<std::int64_t>("as_of");
    if (has_as_of) o.as_of = as_of;
    const std::size_t at_period = r.offset();
    const auto period = r.get<std::uint8_t>("freq");
    if (period > 2) Reader::fail(at_period, "unknown period code " + std::to_string(period));
    o.period = static_cast<Period>(period);
    o.freq_multiplier = r.get<double>("freq_multiplier");
    const std::size_t at_tw = r.offset();
    const auto tw = r.get<std::int64_t>("trend_window");
    if (tw <= 0 || tw > std::numeric_limits<int>::max())
        Reader::fail(at_tw, "trend_window " + std::to_string(tw) + " out of range");
    o.trend_window_days = static_cast<int>(tw);
    o.trend_cap = r.get<double>("trend_cap");
    o.windows_days.resize(r.count(8, "windows"));
    for (int& d : o.windows_days) {
        const std::size_t at = r.offset();
        const auto v = r.get<std::int64_t>("window");
        if (v <= 0 || v > std::numeric_limits<int>::max())
            Reader::fail(at, "window " + std::to_string(v) + " out of range");
        d = static_cast<int>(v);
    }
    o.reject_invalid = r.get<std::uint8_t>("reject_invalid") != 0;
    Summarizer s = [&] {
        try {
            return Summarizer(o);
        } catch (const InvalidInput& e) {
            Reader::fail(r.offset(), std::string("bad options: ") + e.what());
        }
    }();
    const std::size_t at_flags = r.offset();
    s.has_margin_ = r.get<std::int8_t>("margin flag");
    s.has_quantity_ = r.get<std::int8_t>("quantity flag");
    if (s.has_margin_ < -1 || s.has_margin_ > 1 || s.has_quantity_ < -1 || s.has_quantity_ > 1 ||
        (s.has_margin_ < 0) != (s.has_quantity_ < 0))
        Reader::fail(at_flags, "bad margin/quantity flags");
    for (std::int64_t* v : {&s.rows_, &s.used_, &s.after_, &s.refunds_, &s.max_day_})
        *v = r.get<std::int64_t>("counter");
    if (s.max_day_ != std::numeric_limits<std::int64_t>::min() &&
        (s.max_day_ <= -(std::int64_t{1} << 40) || s.max_day_ >= (std::int64_t{1} << 40)))
        Reader::fail(at_flags + 2, "last day out of range");
    if (s.rows_ < 0 || s.used_ < 0 || s.after_ < 0 || s.refunds_ < 0 || s.used_ + s.after_ > s.rows_)
        Reader::fail(at_flags + 2, "inconsistent row counters");
    const std::size_t per_slot = 16 + (s.has_margin_ == 1 ? 16 : 0) + (s.has_quantity_ == 1 ? 16 : 0);
    const std::size_t slots = r.count(per_slot, "customers");
    if (slots >= std::numeric_limits<std::uint32_t>::max()) Reader::fail(r.offset(), "too many customers");
    if (s.has_margin_ < 0 && slots > 0) Reader::fail(at_flags, "customers without a first chunk");
    s.ids_.reserve(slots);
    s.after_of_.reserve(slots);
    std::unordered_set<std::int64_t> seen;  // only to name a repeated id where it is
    seen.reserve(slots);
    for (std::size_t k = 0; k < slots; ++k) {
        const std::size_t at = r.offset();
        const auto id = r.get<std::int64_t>("customer id");
        if (id == missing_id || !seen.insert(id).second)
            Reader::fail(at, "customer id " + std::to_string(id) + " is missing or repeated");
        s.ids_.push_back(id);
        s.after_of_.push_back(r.get<std::int64_t>("rows after as_of"));
        if (s.after_of_.back() < 0) Reader::fail(at + 8, "negative count of rows after as_of");
        if (s.has_margin_ == 1) s.margin_.push_back(Sum{r.get<double>("margin"), r.get<double>("margin")});
        if (s.has_quantity_ == 1) s.quantity_.push_back(Sum{r.get<double>("quantity"), r.get<double>("quantity")});
    }
    const std::size_t cells = r.count(52, "cells");

    for (std::size_t k = 0; k < cells; ++k) {
        const std::size_t at = r.offset();
        Cell c{};
        c.slot = r.get<std::uint32_t>("cell customer");
        c.day = r.get<std::int64_t>("cell day");
        c.gross.hi = r.get<double>("cell purchases");
        c.gross.lo = r.get<double>("cell purchases");
        c.refund.hi = r.get<double>("cell refunds");
        c.refund.lo = r.get<double>("cell refunds");
        c.purchases = r.get<std::int64_t>("cell purchase count");
        // Days stay far from overflow in as_of - day (|day| < 2^40: any real date).
        constexpr std::int64_t day_limit = std::int64_t{1} << 40;
        if (c.slot >= slots || c.purchases < 0 || c.day <= -day_limit || c.day >= day_limit)
            Reader::fail(at, "cell " + std::to_string(k) + " is inconsistent");
        s.add_cell(c);
    }
    s.compact_ = s.cells() == 0;
    s.compacted_size_ = 0;
    s.cell_start_.clear();
    const std::size_t rejects = r.count(24, "rejects");
    for (std::size_t k = 0; k < rejects; ++k) {
        Reject rj;
        rj.row = r.get<std::int64_t>("reject row");
        rj.customer = r.get<std::int64_t>("reject customer");
        const std::size_t at_reason = r.offset() + 8;  // after the length
        rj.reason = r.text("reject reason");
        // Reasons reach messages and Python's str: tierkit writes them as UTF-8.
        if (const std::size_t bad = invalid_utf8_at(rj.reason); bad != std::string::npos) {
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(rj.reason[bad]));
            Reader::fail(at_reason + bad,
                         "reject " + std::to_string(k) + ": the reason is not valid UTF-8 (byte " + byte + ")");
        }
        s.row_rejects_.push_back(std::move(rj));
    }
    if (!r.done()) Reader::fail(r.offset(), "unexpected bytes after the state");
    return s;
}

}  // namespace tierkit
