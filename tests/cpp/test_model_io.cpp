// Saving and loading fitted models: every built-in rule, every archive kind,
// bit-identical assignments; broken input is a FormatError.
#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <sstream>

#include "tierkit/io/model_io.hpp"
#include "tierkit/tierkit.hpp"

using namespace tierkit;

namespace {
const FeatureTable& features() {
    static const FeatureTable t = [] {
        SyntheticOptions o;
        o.customers = 3000;
        o.seed = 5;
        auto d = synthetic(o);
        return summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    }();
    return t;
}

const char* policies[] = {
    R"({"criteria": [{"column": "revenue", "transform": "log1p", "clip": [0.01, 0.99]},
                     {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"}],
        "weights": {"method": "entropy"},
        "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})",
    R"({"method": "topsis", "criteria": ["revenue", "frequency", {"column": "margin", "normalizer": "robust"}],
        "weights": {"method": "combined", "subjective": {"method": "ahp", "matrix": [[1, 2, 4], [0.5, 1, 2], [0.25, 0.5, 1]]},
                    "objective": {"method": "critic"}, "mode": "multiplicative"},
        "rule": {"kind": "thresholds", "cuts": [70, 40]}, "tiers": ["a", "b", "c"]})",
    R"({"criteria": [{"column": "revenue", "normalizer": "bins", "bins": 5}], "rule": {"kind": "abc"}, "tiers": ["A", "B", "C"]})",
};
}  // namespace

TEST(ModelIo, EveryBuiltinRuleRoundTripsBitIdentically) {
    for (const char* text : policies) {
        const Model model = fit(Policy::from_json(text), features());
        const auto expected = model.assign(features());
        for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
            std::stringstream buffer;
            save(model, buffer, kind);
            const Model loaded = load(buffer, kind);
            const auto got = loaded.assign(features());
            EXPECT_EQ(got.tier, expected.tier) << text;
            EXPECT_EQ(got.scores, expected.scores) << text;  // bit-identical doubles
            EXPECT_EQ(got.contributions, expected.contributions);
            EXPECT_EQ(got.reasons, expected.reasons);
            EXPECT_EQ(loaded.policy().to_json(), model.policy().to_json());
        }
    }
}

namespace {
std::string format_error_of(const std::string& bytes) {
    std::stringstream in(bytes);
    try {
        load(in);
    } catch (const FormatError& e) {
        return e.what();
    }
    return "(no error)";
}
}  // namespace

TEST(ModelIo, BrokenFilesAreFormatErrors) {
    const Model model = fit(Policy::from_json(policies[0]), features());
    for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
        std::stringstream buffer;
        save(model, buffer, kind);
        const std::string bytes = buffer.str();
        EXPECT_EQ(format_error_of("this is not a model"),
                  "load: not a tierkit model: bad magic at byte 0 (expected \"TIERKIT\")");
        EXPECT_EQ(format_error_of(bytes.substr(0, 20)), "load: truncated header: 20 of 32 bytes");
        const std::string cut = format_error_of(bytes.substr(0, bytes.size() / 2));
        EXPECT_EQ(cut.rfind("load: truncated: the header announces ", 0), 0u) << cut;
        std::string flipped = bytes;
        flipped[bytes.size() / 2] ^= 0x20;
        EXPECT_EQ(format_error_of(flipped).rfind("load: checksum mismatch", 0), 0u);
        std::string future = bytes;
        future[8] = 9;
        EXPECT_EQ(format_error_of(future), "load: format version 9 at byte 8 is not one this tierkit reads (1..1)");
        std::string huge = bytes;
        for (int k = 20; k < 28; ++k) huge[k] = '\x7f';
        EXPECT_EQ(format_error_of(huge).rfind("load: payload length 9187201950435737471 at byte 20 exceeds the cap", 0),
                  0u);
        std::stringstream again(bytes);
        const auto other = kind == ArchiveKind::xml ? ArchiveKind::text : ArchiveKind::xml;
        EXPECT_THROW(load(again, other), FormatError);
    }
    EXPECT_EQ(parse_archive_kind("xml"), ArchiveKind::xml);
    EXPECT_THROW(parse_archive_kind("yaml"), InvalidInput);
}

namespace {
/// `payload` (the archive after the 32-byte envelope) re-wrapped with a matching
/// length and CRC-32, so that load() reaches the archive reader.
std::string rewrap(const std::string& file, const std::string& payload) {
    std::string out = file.substr(0, 32) + payload;
    for (int k = 0; k < 8; ++k)
        out[20 + k] = static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * k)) & 0xff);
    boost::crc_32_type crc;
    crc.process_bytes(payload.data(), payload.size());
    for (int k = 0; k < 4; ++k) out[28 + k] = static_cast<char>((crc.checksum() >> (8 * k)) & 0xff);
    return out;
}
std::string saved(ArchiveKind kind) {
    std::stringstream buffer;
    save(fit(Policy::from_json(policies[1]), features()), buffer, kind);
    return buffer.str();
}
}  // namespace

// A length read from the file is checked against the bytes left before anything is
// allocated: Boost itself would reserve whatever a crafted count asks for.
TEST(ModelIo, HugeLengthsInThePayloadAreFormatErrorsNotAllocations) {
    const std::string binary = saved(ArchiveKind::binary);
    std::string payload = binary.substr(32);
    const std::string policy = fit(Policy::from_json(policies[1]), features()).policy().to_json();
    const std::size_t at = payload.find(policy);
    ASSERT_NE(at, std::string::npos);
    std::string huge_string = payload;
    for (int k = 0; k < 8; ++k) huge_string[at - 8 + k] = k == 5 ? '\x01' : '\0';  // 2^40 characters
    EXPECT_EQ(format_error_of(rewrap(binary, huge_string)),
              "load: a string of 1099511627776 elements at payload byte " + std::to_string(at) +
                  " is longer than the " + std::to_string(payload.size() - at) + " bytes left");
    // The count of fitted scores follows the policy text and the vector's class
    // information (1 byte tracking, 4 bytes version).
    std::string huge_vector = payload;
    for (int k = 0; k < 8; ++k) huge_vector[at + policy.size() + 5 + k] = k == 6 ? '\x01' : '\0';  // 2^48 scores
    EXPECT_EQ(format_error_of(rewrap(binary, huge_vector))
                  .rfind("load: a collection of 281474976710656 elements at payload byte ", 0),
              0u)
        << format_error_of(rewrap(binary, huge_vector));

    const std::string text = saved(ArchiveKind::text);
    std::string text_payload = text.substr(32);
    const std::string length = std::to_string(policy.size()) + " {";
    const std::size_t t_at = text_payload.find(length);
    ASSERT_NE(t_at, std::string::npos);
    text_payload.replace(t_at, length.size() - 2, "99999999999999");
    EXPECT_EQ(format_error_of(rewrap(text, text_payload))
                  .rfind("load: a string of 99999999999999 elements at payload byte ", 0),
              0u)
        << format_error_of(rewrap(text, text_payload));
}

// The fitted scores must match the policy they were saved with and keep assign()'s
// invariants; a file that breaks them is rejected by load, not trusted by assign.
TEST(ModelIo, InconsistentFittedStateIsAFormatError) {
    const std::string text = saved(ArchiveKind::text);
    const Model model = fit(Policy::from_json(policies[1]), features());
    // Re-save with a policy whose JSON differs from the fitted scores: a hand-edited file.
    const Model edited(Policy::from_json(policies[0]), model.scores(), model.rule_ptr(), model.clv());
    std::stringstream buffer;
    save(edited, buffer, ArchiveKind::text);
    EXPECT_EQ(format_error_of(buffer.str()).rfind("load: scores[0]: does not match the policy's score", 0), 0u)
        << format_error_of(buffer.str());
    // An archived policy that is not a valid policy.
    std::string payload = text.substr(32);
    const std::string needle = "\"topsis\"";
    const std::size_t at = payload.find(needle);
    ASSERT_NE(at, std::string::npos);
    payload.replace(at, needle.size(), "\"tOpsis\"");
    EXPECT_EQ(format_error_of(rewrap(text, payload)).rfind("load: the archived policy is invalid: ", 0), 0u)
        << format_error_of(rewrap(text, payload));
}

// An end tag longer than the expected name: Boost 1.74's check read past the expected
// name (found by fuzz_model_io, a global-buffer-overflow under ASan); now a FormatError.
TEST(ModelIo, XmlEndTagLongerThanExpectedIsAFormatError) {
    const std::string xml = saved(ArchiveKind::xml);
    std::string payload = xml.substr(32);
    const std::size_t at = payload.find("</weights>");
    ASSERT_NE(at, std::string::npos);
    payload.replace(at, 10, "</weightsandmanymorecharactersthanthetagname>");
    const std::string error = format_error_of(rewrap(xml, payload));
    EXPECT_EQ(error, "load: the xml payload cannot be read: XML start/end tag mismatch - weights") << error;
}

namespace {
/// A text model file whose archived policy text is `stored`, with a valid envelope.
std::string with_stored_policy(const std::string& stored) {
    const std::string text = saved(ArchiveKind::text);
    std::string payload = text.substr(32);
    const std::string policy = fit(Policy::from_json(policies[1]), features()).policy().to_json();
    const std::string length = std::to_string(policy.size()) + " {";
    const std::size_t at = payload.find(length);
    if (at == std::string::npos) return "(the policy was not found in the saved file)";
    payload.replace(at, length.size() - 1 + policy.size(), std::to_string(stored.size()) + " " + stored);
    return rewrap(text, payload);
}
}  // namespace

// A stored policy nested 100,000 deep behind a valid checksum: nlohmann's recursive
// DOM would overflow the stack; the depth-limited reader stops at 64 levels.
TEST(ModelIo, DeeplyNestedStoredPolicyIsAFormatError) {
    const std::string deep = "{\"name\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
    const std::string error = format_error_of(with_stored_policy(deep));
    EXPECT_EQ(error.rfind("load: the archived policy is invalid: policy.name[0][0]", 0), 0u) << error;
    EXPECT_NE(error.find(": nested deeper than 64 levels of arrays and objects"), std::string::npos) << error;
}

// Bytes of a damaged file quoted in a message (here a JSON token of the stored
// policy) are escaped, so the message is valid UTF-8 (Python decodes it as str).
TEST(ModelIo, MessagesQuotingDamagedBytesAreValidUtf8) {
    const std::string error = format_error_of(with_stored_policy("{\"name\": \"\xff\xc1\"}"));
    EXPECT_EQ(error.rfind("load: the archived policy is invalid: policy: not valid JSON at byte 11: ", 0), 0u) << error;
    EXPECT_NE(error.find("\\xff"), std::string::npos) << error;
    EXPECT_EQ(error.find('\xff'), std::string::npos) << error;
}
