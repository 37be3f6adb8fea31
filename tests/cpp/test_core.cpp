// The core: the one fork-join, the generator, number formatting, JSON checks and the
// generated version.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tierkit/core/day_ticks.hpp"
#include "tierkit/core/envelope.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/core/json_checks.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/core/random.hpp"
#include "tierkit/core/version.hpp"

namespace tk = tierkit;

namespace {

/// A row-wise result whose bits depend on the order of additions inside each row,
/// plus per-range sums combined in range order: the pattern of tierkit's kernels.
std::vector<double> run_kernel(std::size_t n, unsigned threads) {
    std::vector<double> out(n);
    tk::parallel_for(
        n,
        [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) {
                double acc = 0;
                for (int k = 1; k <= 8; ++k) acc += std::sin(static_cast<double>(i) * 0.001 * k) / k;
                out[i] = acc;
            }
        },
        1000, threads);
    return out;
}

}  // namespace

TEST(ParallelFor, CoversEveryRowOnceAtAnyThreadCount) {
    for (unsigned threads : {1u, 2u, 3u, 4u, 7u}) {
        std::vector<std::atomic<int>> seen(10007);
        tk::parallel_for(
            seen.size(),
            [&](std::size_t b, std::size_t e) {
                for (std::size_t i = b; i < e; ++i) seen[i].fetch_add(1);
            },
            100, threads);
        for (std::size_t i = 0; i < seen.size(); ++i)
            ASSERT_EQ(seen[i].load(), 1) << "row " << i << " threads " << threads;
    }
}

TEST(ParallelFor, BitIdenticalAtOneTwoFourThreads) {
    const auto one = run_kernel(100000, 1);
    const auto two = run_kernel(100000, 2);
    const auto four = run_kernel(100000, 4);
    ASSERT_EQ(one.size(), 100000u);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(double)));
    EXPECT_EQ(0, std::memcmp(one.data(), four.data(), one.size() * sizeof(double)));
    // Not all zeros: the kernel really ran.
    EXPECT_NE(one[12345], 0.0);
}

// In both tests below each task sleeps, so none of the 3 pool workers can claim a
// second task before the caller has claimed one: the caller and the workers each
// run at least one task, whatever the timing.

TEST(ParallelFor, ExceptionFromAWorkerReachesTheCaller) {
    const auto caller = std::this_thread::get_id();
    std::atomic<int> finished{0};
    std::atomic<int> thrown{0};
    try {
        tk::parallel_for(
            1000,
            [&](std::size_t, std::size_t) {
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                if (std::this_thread::get_id() != caller) {
                    thrown.fetch_add(1);
                    throw std::runtime_error("worker");
                }
                finished.fetch_add(1);
            },
            250, 4);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "worker");
    }
    EXPECT_GE(thrown.load(), 1);
    EXPECT_GE(finished.load(), 1);                  // the caller's own ranges ran to their end
    EXPECT_EQ(thrown.load() + finished.load(), 4);  // every range ended before the rethrow
}

TEST(ParallelFor, ExceptionFromTheCallersShareReachesTheCaller) {
    const auto caller = std::this_thread::get_id();
    std::atomic<int> finished{0};
    std::atomic<int> thrown{0};
    try {
        tk::fork_join(
            4,
            [&](unsigned) {
                std::this_thread::sleep_for(std::chrono::milliseconds(30));
                if (std::this_thread::get_id() == caller) {
                    thrown.fetch_add(1);
                    throw std::out_of_range("caller's share");
                }
                finished.fetch_add(1);
            },
            4);
        FAIL() << "no exception";
    } catch (const std::out_of_range& e) {
        EXPECT_STREQ(e.what(), "caller's share");
    }
    EXPECT_GE(thrown.load(), 1);
    EXPECT_GE(finished.load(), 1);  // the workers' tasks ended too
    EXPECT_EQ(thrown.load() + finished.load(), 4);
}

TEST(ParallelFor, FirstExceptionByTaskOrderWins) {
    for (int round = 0; round < 20; ++round) {
        try {
            tk::fork_join(
                8,
                [&](unsigned t) {
                    if (t == 6) throw std::runtime_error("six");
                    if (t == 3) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(2));
                        throw std::runtime_error("three");
                    }
                },
                4);
            FAIL() << "no exception";
        } catch (const std::runtime_error& e) {
            ASSERT_STREQ(e.what(), "three");
        }
    }
}

TEST(ParallelFor, NestedCallsAndCallsFromManyThreadsFinish) {
    // Outer tasks each run an inner parallel_for: every worker can be busy with an
    // outer task while inner calls wait; the callers then run their own tasks.
    std::vector<std::thread> callers;
    std::atomic<long> total{0};
    for (int c = 0; c < 4; ++c)
        callers.emplace_back([&] {
            tk::fork_join(
                6,
                [&](unsigned) {
                    tk::parallel_for(
                        1000, [&](std::size_t b, std::size_t e) { total.fetch_add(static_cast<long>(e - b)); }, 10, 4);
                },
                4);
        });
    for (auto& t : callers) t.join();
    EXPECT_EQ(total.load(), 4L * 6 * 1000);
}

TEST(ParallelFor, ThePoolKeepsItsThreads) {
    tk::parallel_for(
        8, [](std::size_t, std::size_t) {}, 1, 3);
    const unsigned before = tk::detail::WorkerPool::instance().workers();
    EXPECT_GE(before, 2u);
    for (int k = 0; k < 200; ++k)
        tk::parallel_for(
            8, [](std::size_t, std::size_t) {}, 1, 3);
    EXPECT_EQ(tk::detail::WorkerPool::instance().workers(), before);
}

TEST(ParallelFor, PerCallThreadCountBoundsTheRanges) {
    std::atomic<int> ranges{0};
    tk::parallel_for(
        1 << 20, [&](std::size_t, std::size_t) { ranges.fetch_add(1); }, 1, 3);
    EXPECT_EQ(ranges.load(), 3);
    ranges = 0;
    tk::parallel_for(
        10, [&](std::size_t, std::size_t) { ranges.fetch_add(1); }, 4, 8);  // 10 rows, grain 4
    EXPECT_EQ(ranges.load(), 3);
}

TEST(Random, SplitmixMatchesTheReferenceOutputs) {
    // splitmix64.c (Vigna) seeded with 1234567.
    std::uint64_t state = 1234567;
    EXPECT_EQ(tk::splitmix64_next(state), 6457827717110365317ULL);
    EXPECT_EQ(tk::splitmix64_next(state), 3203168211198807973ULL);
    EXPECT_EQ(tk::splitmix64_next(state), 9817491932198370423ULL);
    EXPECT_EQ(tk::splitmix64_hash(1234567), 6457827717110365317ULL);
}

TEST(Random, XoshiroMatchesTheReferenceAlgorithm) {
    // Expected values from the reference C code (splitmix64 seeding, xoshiro256**).
    tk::Xoshiro256 a(0);
    EXPECT_EQ(a.next(), 0x99ec5f36cb75f2b4ULL);
    EXPECT_EQ(a.next(), 0xbf6e1f784956452aULL);
    tk::Xoshiro256 d(7);
    EXPECT_DOUBLE_EQ(d.uniform(), 0.7005764821796896);
    // A stream is the generator of seed ^ (stream * 0xd1342543de82ef95).
    tk::Xoshiro256 s(42, 3), t(42 ^ (3 * 0xd1342543de82ef95ULL));
    for (int k = 0; k < 4; ++k) EXPECT_EQ(s.next(), t.next());
    tk::Xoshiro256 o(9);
    for (int k = 0; k < 10000; ++k) {
        const double u = o.uniform_open();
        ASSERT_TRUE(u > 0 && u < 1);
    }
}

TEST(Format, NumbersAsPrintfG) {
    EXPECT_EQ(tk::format_number(0.25), "0.25");
    EXPECT_EQ(tk::format_number(1234567.0), "1.23457e+06");
    EXPECT_EQ(tk::format_number(1.0 / 3.0, 17), "0.33333333333333331");
    EXPECT_EQ(tk::format_number(std::numeric_limits<double>::infinity()), "inf");
    EXPECT_EQ(tk::format_number(-std::numeric_limits<double>::infinity()), "-inf");
    EXPECT_EQ(tk::format_number(-3.0), "-3");
}

TEST(JsonChecks, MessagesNameThePathAndTheValue) {
    using nlohmann::json;
    namespace jc = tk::json_checks;
    const json obj = json::parse(R"({"a": 2, "b": "x", "c": true, "d": [1]})");
    EXPECT_EQ(jc::number_at(obj, "a", "p", 0, 0, 5), 2.0);
    EXPECT_EQ(jc::number_at(obj, "missing", "p", 7), 7.0);
    try {
        jc::number_at(obj, "a", "policy.x", 0, 3, 5);
        FAIL();
    } catch (const tk::PolicyError& e) {
        EXPECT_STREQ(e.what(), "policy.x.a: must be >= 3, got 2");
    }
    try {
        jc::number_at(obj, "b", "p", 0);
        FAIL();
    } catch (const tk::PolicyError& e) {
        EXPECT_STREQ(e.what(), "p.b: must be a number, got \"x\"");
    }
    try {
        jc::only_keys(obj, "q", {"a", "b", "c"});
        FAIL();
    } catch (const tk::PolicyError& e) {
        EXPECT_STREQ(e.what(), "q.d: unknown key; expected one of: a, b, c");
    }
    EXPECT_THROW(jc::require_object(obj.at("d"), "r"), tk::PolicyError);
    EXPECT_EQ(jc::string_at(obj, "b", "p", ""), "x");
    EXPECT_TRUE(jc::bool_at(obj, "c", "p", false));
    // Invalid UTF-8 in a string is shown, not a second error.
    const json bad = std::string("\xff\xfe");
    EXPECT_EQ(jc::show(bad), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(jc::show(json(std::string(100, 'a'))).size(), 60u);
}

TEST(Version, GeneratedFromTheProjectVersion) {
    // The top-level CMakeLists.txt is the one place the version is written.
    std::ifstream in(std::string(TIERKIT_SOURCE_DIR) + "/CMakeLists.txt");
    ASSERT_TRUE(in) << "cannot read CMakeLists.txt";
    std::stringstream text;
    text << in.rdbuf();
    std::smatch m;
    const std::string s = text.str();
    ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(project\(tierkit\s+VERSION\s+([0-9]+)\.([0-9]+)\.([0-9]+))")));
    EXPECT_EQ(std::string(tk::version), m[1].str() + "." + m[2].str() + "." + m[3].str());
    EXPECT_EQ(tk::version_major, std::stoi(m[1].str()));
    EXPECT_EQ(tk::version_minor, std::stoi(m[2].str()));
    EXPECT_EQ(tk::version_patch, std::stoi(m[3].str()));
}

namespace {
namespace env = tk::envelope;

std::string format_error(const std::string& bytes, const env::Expect& expect) {
    try {
        env::read_envelope(bytes, expect);
    } catch (const tk::FormatError& e) {
        return e.what();
    }
    return "(no error)";
}

void put(std::string& b, std::size_t at, std::uint64_t v, int n) {
    for (int k = 0; k < n; ++k) b[at + k] = static_cast<char>((v >> (8 * k)) & 0xff);
}

}  // namespace

TEST(Envelope, OneLayoutWithAContentKind) {
    const std::string payload = "123456789";
    const std::string bytes = env::write_envelope(env::Content::fit_state, env::Encoding::binary_archive, 3, payload);
    ASSERT_EQ(bytes.size(), 32u + payload.size());
    EXPECT_EQ(bytes.substr(0, 8), std::string("TIERKIT\0", 8));
    EXPECT_EQ(bytes[8], 3);                                               // format version
    EXPECT_EQ(bytes[12], 0);                                              // encoding: binary archive
    EXPECT_EQ(bytes[14], 1);                                              // content: fit state
    EXPECT_EQ(static_cast<unsigned char>(bytes[17]), tk::version_minor);  // library version, minor byte
    EXPECT_EQ(bytes[20], 9);                                              // payload length
    // CRC-32 of "123456789" is the standard check value 0xcbf43926.
    EXPECT_EQ(env::crc32(payload), 0xcbf43926u);
    EXPECT_EQ(static_cast<unsigned char>(bytes[28]), 0x26);
    const env::Expect expect{env::Content::fit_state, 3, 1 << 20, "PartialState.from_bytes"};
    const auto opened = env::read_envelope(bytes, expect);
    EXPECT_EQ(opened.payload, payload);
    EXPECT_EQ(opened.header.format_version, 3u);
    EXPECT_EQ(opened.header.size, 32u);

    EXPECT_EQ(
        format_error(bytes, {env::Content::summarizer_state, 3, 1 << 20, "who"}),
        "who: the envelope holds a tierkit fit state (content kind 1 at byte 14), not a tierkit summarizer state");
    EXPECT_EQ(format_error(bytes, {env::Content::fit_state, 2, 1 << 20, "who"}),
              "who: format version 3 at byte 8 is not one this tierkit reads (1..2)");
    EXPECT_EQ(format_error(bytes, {env::Content::fit_state, 3, 8, "who"}),
              "who: payload length 9 at byte 20 exceeds the cap of 8 bytes");
    EXPECT_EQ(format_error(bytes.substr(0, 40), expect),
              "PartialState.from_bytes: truncated: the header announces 9 payload bytes, the file has 8");
    EXPECT_EQ(format_error(bytes + "x", expect),
              "PartialState.from_bytes: the header announces 9 payload bytes, there are 10");
    std::string flipped = bytes;
    flipped[35] ^= 1;
    EXPECT_EQ(format_error(flipped, expect),
              "PartialState.from_bytes: checksum mismatch: the payload (bytes 32..41) is corrupted");
    EXPECT_EQ(format_error("TIERKAT", expect),
              "PartialState.from_bytes: not a tierkit fit state: bad magic at byte 0 (expected \"TIERKIT\")");
    EXPECT_EQ(format_error(bytes.substr(0, 20), expect), "PartialState.from_bytes: truncated header: 20 of 32 bytes");
}

TEST(Envelope, ModelFilesOfFormatOneReadAsModels) {
    // tierkit 0.1.0 wrote the archive kind as a u32 at byte 12: its high half is the
    // content kind 0, a model.
    std::string old = std::string("TIERKIT\0", 8) + std::string(24, '\0') + "payload";
    put(old, 8, 1, 4);
    put(old, 12, 2, 4);  // xml
    put(old, 16, (0u << 16) | (1u << 8) | 0u, 4);
    put(old, 20, 7, 8);
    put(old, 28, env::crc32("payload"), 4);
    const auto opened = env::read_envelope(old, {env::Content::model, 1, 1 << 20, "load"});
    EXPECT_EQ(opened.header.encoding, env::Encoding::xml_archive);
    EXPECT_EQ(opened.header.content, env::Content::model);
    EXPECT_EQ(opened.payload, "payload");
    // The same bytes a model writes today.
    EXPECT_EQ(env::write_envelope(env::Content::model, env::Encoding::xml_archive, 1, "payload").substr(0, 16),
              old.substr(0, 16));
}

TEST(Envelope, OldStateEnvelopesStillRead) {
    // The 24-byte envelope of fit states ("TKSTATE\0") and fitter states ("TKFITTR\0"):
    // version u32 at 8, length u64 at 12, CRC-32 at 20.
    for (const auto& [magic, content] : {std::pair{std::string("TKSTATE\0", 8), env::Content::fit_state},
                                         std::pair{std::string("TKFITTR\0", 8), env::Content::fitter}}) {
        std::string old = magic + std::string(16, '\0') + "state";
        put(old, 8, 1, 4);
        put(old, 12, 5, 8);
        put(old, 20, env::crc32("state"), 4);
        const env::Expect expect{content, 1, 1 << 20, "from_bytes"};
        const auto opened = env::read_envelope(old, expect);
        EXPECT_EQ(opened.payload, "state");
        EXPECT_EQ(opened.header.size, 24u);
        std::string bad = old;
        bad[26] ^= 1;
        EXPECT_EQ(format_error(bad, expect), "from_bytes: checksum mismatch: the payload (bytes 24..29) is corrupted");
        put(bad, 12, 99, 8);
        EXPECT_EQ(format_error(bad, {content, 1, 50, "from_bytes"}),
                  "from_bytes: payload length 99 at byte 12 exceeds the cap of 50 bytes");
    }
    // The 32-byte summarizer state of tierkit 0.1.0: "TKSTATE\0" with a u32 kind 1 at byte 12.
    std::string old = std::string("TKSTATE\0", 8) + std::string(24, '\0') + "cells";
    put(old, 8, 1, 4);
    put(old, 12, 1, 4);
    put(old, 20, 5, 8);
    put(old, 28, env::crc32("cells"), 4);
    const env::Expect expect{env::Content::summarizer_state, 1, 1 << 20, "Summarizer.from_bytes"};
    EXPECT_EQ(env::read_envelope(old, expect).payload, "cells");
    EXPECT_EQ(env::read_envelope(old, expect).header.encoding, env::Encoding::record);
    put(old, 12, 4, 4);
    EXPECT_EQ(format_error(old, expect), "Summarizer.from_bytes: unknown state kind 4 at byte 12");
}

TEST(DayTicks, FloorToDaysWithNaTAsNaN) {
    constexpr std::int64_t ns = 86'400'000'000'000, nat = std::numeric_limits<std::int64_t>::min();
    const std::vector<std::int64_t> ticks = {0, ns - 1, ns, -1, -ns, -ns - 1, nat, 19'782 * ns + 3'600'000'000'000};
    std::vector<double> days(ticks.size());
    tierkit::day_numbers_from_ticks(ticks, ns, nat, days);
    EXPECT_EQ(days[0], 0.0);
    EXPECT_EQ(days[1], 0.0);
    EXPECT_EQ(days[2], 1.0);
    EXPECT_EQ(days[3], -1.0);  // 1969-12-31 23:59:59.999999999
    EXPECT_EQ(days[4], -1.0);
    EXPECT_EQ(days[5], -2.0);
    EXPECT_TRUE(std::isnan(days[6]));
    EXPECT_EQ(days[7], 19'782.0);  // 2024-02-29 01:00
    // A divisor that is no usual unit takes the general division: 7 ticks a day.
    const std::vector<std::int64_t> weeks = {13, 14, -1, -7, -8};
    std::vector<double> out(weeks.size());
    tierkit::day_numbers_from_ticks(weeks, 7, nat, out);
    EXPECT_EQ(out, (std::vector<double>{1, 2, -1, -1, -2}));
    EXPECT_THROW(tierkit::day_numbers_from_ticks(weeks, 0, nat, out, "last_purchase"), tierkit::InvalidInput);
    std::vector<double> short_out(2);
    EXPECT_THROW(tierkit::day_numbers_from_ticks(weeks, 7, nat, short_out), tierkit::InvalidInput);
}

TEST(DayTicks, WholeDaysKeepTheMissingValue) {
    // Integer days (summarize's date column): the same floor, and NaT stays the missing day.
    constexpr std::int64_t us = 86'400'000'000, nat = std::numeric_limits<std::int64_t>::min();
    const std::vector<std::int64_t> ticks = {0, us - 1, us, -1, -us, -us - 1, nat, 19'782 * us + 1};
    std::vector<std::int64_t> days(ticks.size());
    tierkit::day_numbers_from_ticks(ticks, us, nat, std::span<std::int64_t>(days));
    EXPECT_EQ(days, (std::vector<std::int64_t>{0, 0, 1, -1, -1, -2, nat, 19'782}));
    // Every divisor and the double overload agree on the same ticks.
    for (const std::int64_t per_day : {std::int64_t{1}, std::int64_t{24}, std::int64_t{7}, us}) {
        std::vector<std::int64_t> whole(ticks.size());
        std::vector<double> real(ticks.size());
        tierkit::day_numbers_from_ticks(ticks, per_day, nat, std::span<std::int64_t>(whole));
        tierkit::day_numbers_from_ticks(ticks, per_day, nat, std::span<double>(real));
        for (std::size_t i = 0; i < ticks.size(); ++i) {
            if (ticks[i] == nat) {
                EXPECT_EQ(whole[i], nat);
                EXPECT_TRUE(std::isnan(real[i]));
            } else {
                EXPECT_EQ(static_cast<double>(whole[i]), real[i]) << per_day << " " << ticks[i];
            }
        }
    }
    std::vector<std::int64_t> short_out(2);
    EXPECT_THROW(tierkit::day_numbers_from_ticks(ticks, us, nat, std::span<std::int64_t>(short_out), "date"),
                 tierkit::InvalidInput);
}
