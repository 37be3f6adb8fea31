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

TEST(ModelIo, GarbageAndTruncationAreFormatErrors) {
    const Model model = fit(Policy::from_json(policies[0]), features());
    for (auto kind : {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml}) {
        std::stringstream garbage("this is not a model");
        EXPECT_THROW(load(garbage, kind), FormatError);
        std::stringstream buffer;
        save(model, buffer, kind);
        const std::string bytes = buffer.str();
        std::stringstream truncated(bytes.substr(0, bytes.size() / 2));
        EXPECT_THROW(load(truncated, kind), Error);
    }
    EXPECT_EQ(parse_archive_kind("xml"), ArchiveKind::xml);
    EXPECT_THROW(parse_archive_kind("yaml"), InvalidInput);
}
