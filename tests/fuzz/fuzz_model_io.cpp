// libFuzzer target for the model loader: tierkit::load on untrusted bytes, for all
// three archive kinds.
//
// Each input is loaded twice:
// - as it is (the envelope checks: magic, version, kind, length cap, checksum);
// - when it starts with the magic and has a whole header, with the header's length
//   and CRC-32 fields rewritten to match the bytes after it, so that mutated payloads
//   reach the Boost archive readers (collection sizes, string lengths, class ids,
//   polymorphic pointers, object tracking, non-finite numbers) instead of stopping at
//   the checksum.
// A load may only succeed or throw tierkit::FormatError: any other exception escapes
// to libFuzzer and is reported as a crash, like a sanitizer error, a hang or an
// allocation above -malloc_limit_mb. A model that loads is also assigned on a small
// table (its errors must be tierkit errors) and saved again.
//
// Leak checks are off for this target (scripts/fuzz.sh): Boost 1.74 leaks an object
// loaded through a pointer whose own load throws (regression_leak_* in the corpus).
//
// Seeds: tests/fuzz/corpus/model_io (the golden files of tests/data/golden).
// Run: scripts/fuzz.sh (all targets briefly), `make fuzz` (longer).
#include <boost/crc.hpp>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "tierkit/core/error.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"

namespace {

using namespace tierkit;

const FeatureTable& table() {
    static const FeatureTable t = [] {
        FeatureTable f(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
        for (const char* name : {"frequency", "recency", "T", "monetary_value", "days_since_last", "revenue", "aov",
                                 "margin", "trend", "score", "value", "potential"})
            f.add_column(name, {0, 1, 2.5, 10, 100, 1e6});
        f.add_category("region", {0, 1, 2, 0, 1, 2}, {"north", "south", "east"});
        return f;
    }();
    return t;
}

void try_load(const std::string& bytes) {
    std::istringstream in(bytes);
    const Model model = load(in);
    try {
        (void)model.assign(table());
    } catch (const Error&) {
        // a loaded model may need columns the table lacks, or reject its values
    }
    std::ostringstream out;
    save(model, out, ArchiveKind::text);
}

void load_expecting_format_errors(const std::string& bytes) {
    try {
        try_load(bytes);
    } catch (const FormatError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    load_expecting_format_errors(bytes);
    if (size >= 32 && std::memcmp(data, "TIERKIT", 8) == 0) {
        const std::uint64_t length = size - 32;
        for (int k = 0; k < 8; ++k) bytes[20 + k] = static_cast<char>((length >> (8 * k)) & 0xff);
        boost::crc_32_type crc;
        crc.process_bytes(data + 32, size - 32);
        const std::uint32_t sum = crc.checksum();
        for (int k = 0; k < 4; ++k) bytes[28 + k] = static_cast<char>((sum >> (8 * k)) & 0xff);
        load_expecting_format_errors(bytes);
    }
    return 0;
}
