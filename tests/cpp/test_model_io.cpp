// Saving and loading fitted models: every built-in rule, every archive kind,
// bit-identical assignments; broken input is a FormatError.
#include <gtest/gtest.h>

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
        EXPECT_EQ(format_error_of("this is not a model"), "load: not a tierkit model: bad magic at byte 0 (expected \"TIERKIT\")");
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
        EXPECT_EQ(format_error_of(huge).rfind("load: payload length 9187201950435737471 at byte 20 exceeds the cap", 0), 0u);
        std::stringstream again(bytes);
        const auto other = kind == ArchiveKind::xml ? ArchiveKind::text : ArchiveKind::xml;
        EXPECT_THROW(load(again, other), FormatError);
    }
    EXPECT_EQ(parse_archive_kind("xml"), ArchiveKind::xml);
    EXPECT_THROW(parse_archive_kind("yaml"), InvalidInput);
}
