// libFuzzer target for the policy a model file carries: the input is the archived
// policy text of a text model file whose envelope (length, CRC-32) is valid, so every
// input reaches the policy reader behind tierkit::load.
//
// The first byte picks a nesting depth (0 to 255,000 levels of '[' before the rest),
// so deep documents are tried on every run, not only when the fuzzer builds them;
// the rest is the text (garbage, JSON, deep JSON). load may only succeed or throw
// tierkit::FormatError: a stack overflow in nlohmann's recursive parser, dump or
// destructor, or any other exception, is reported as a crash.
//
// Seeds: tests/fuzz/corpus/model_policy (policies, deep and broken JSON).
// Run: scripts/fuzz.sh (all targets briefly), `make fuzz` (longer).
#include <boost/crc.hpp>
#include <cstdint>
#include <sstream>
#include <string>

#include "tierkit/core/error.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"

namespace {

using namespace tierkit;

const char* policy_text = R"({"criteria": ["revenue", {"column": "days_since_last", "direction": "lower"}],
    "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"], "privacy": {"min_group": 1}})";

/// A text model file split around its archived policy: prefix + "<length> <policy>" + suffix.
struct Template {
    std::string head;    ///< the 32-byte envelope
    std::string before;  ///< payload up to the policy's length field
    std::string after;   ///< payload after the policy text
};

const Template& model_template() {
    static const Template t = [] {
        FeatureTable f(std::vector<std::int64_t>{1, 2, 3, 4});
        f.add_column("revenue", {1, 2, 3, 4});
        f.add_column("days_since_last", {4, 3, 2, 1});
        const Model model = fit(Policy::from_json(policy_text), f);
        std::ostringstream out;
        save(model, out, ArchiveKind::text);
        const std::string bytes = out.str();
        const std::string& policy = model.policy().to_json();
        const std::string field = std::to_string(policy.size()) + " " + policy;
        const std::size_t at = bytes.find(field, 32);
        if (at == std::string::npos) std::abort();
        return Template{bytes.substr(0, 32), bytes.substr(32, at - 32), bytes.substr(at + field.size())};
    }();
    return t;
}

std::string model_with_policy(const std::string& policy) {
    const Template& t = model_template();
    const std::string payload = t.before + std::to_string(policy.size()) + " " + policy + t.after;
    std::string file = t.head + payload;
    const std::uint64_t length = payload.size();
    for (int k = 0; k < 8; ++k) file[20 + k] = static_cast<char>((length >> (8 * k)) & 0xff);
    boost::crc_32_type crc;
    crc.process_bytes(payload.data(), payload.size());
    for (int k = 0; k < 4; ++k) file[28 + k] = static_cast<char>((crc.checksum() >> (8 * k)) & 0xff);
    return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t depth = static_cast<std::size_t>(data[0]) * 1000;
    const std::string text = std::string(depth, '[') + std::string(reinterpret_cast<const char*>(data + 1), size - 1);
    std::istringstream in(model_with_policy(text));
    try {
        const Model model = load(in);
        std::ostringstream out;
        save(model, out, ArchiveKind::text);
    } catch (const FormatError&) {
    }
    return 0;
}
