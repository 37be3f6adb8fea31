// A rule defined outside the library, the way a C++ host adds one: a class and one
// registration line. It is then named in a policy, fitted, assigned, saved and
// loaded in all three archive kinds.
#include <gtest/gtest.h>

#include <sstream>

#include "tierkit/io/archives.hpp"  // before the registration: the archives the rule is exported for
#include "tierkit/io/model_io.hpp"
#include "tierkit/rules/register.hpp"
#include "tierkit/tierkit.hpp"

namespace host {

/// Rows the last HalfOfMaxRule::assign was handed.
inline std::size_t rows_assigned = 0;

/// Tier 0 when the column is at least `share` of the largest value seen in fit.
class HalfOfMaxRule : public tierkit::Rule {
public:
    HalfOfMaxRule() = default;
    HalfOfMaxRule(const nlohmann::json& params, const std::string& path, std::size_t tiers) {
        if (tiers != 2)
            throw tierkit::PolicyError(path + ": half_of_max makes 2 tiers, the policy names " + std::to_string(tiers));
        column_ = params.value("column", "revenue");
        share_ = params.value("share", 0.5);
        every_column_ = params.value("every_column", false);
    }
    std::string kind() const override { return "half_of_max"; }
    std::size_t tiers() const override { return 2; }
    bool reads_every_column() const override { return every_column_; }
    void fit(const tierkit::RuleInput& input) override {
        cut_ = 0;
        for (double v : input.values(column_)) cut_ = std::max(cut_, v);
        cut_ *= share_;
    }
    void assign(const tierkit::RuleInput& input, std::span<std::int32_t> tier,
                std::span<std::int32_t> reason) const override {
        const auto v = input.values(column_);
        rows_assigned = v.size();
        for (std::size_t i = 0; i < v.size(); ++i) tier[i] = reason[i] = v[i] >= cut_ ? 0 : 1;
    }
    std::vector<std::string> reasons() const override {
        return {column_ + " >= " + tierkit::format_number(cut_), column_ + " < " + tierkit::format_number(cut_)};
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override { return {{"cut", {cut_}}}; }
    std::unique_ptr<tierkit::Rule> clone() const override { return std::make_unique<HalfOfMaxRule>(*this); }

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<tierkit::Rule>(*this));
        ar& BOOST_SERIALIZATION_NVP(column_);
        ar& BOOST_SERIALIZATION_NVP(share_);
        ar& BOOST_SERIALIZATION_NVP(cut_);
    }

private:
    std::string column_;
    double share_ = 0.5;
    double cut_ = 0;
    bool every_column_ = false;  // a policy option only: what reads_every_column() reports
};

}  // namespace host

TIERKIT_REGISTER_RULE(host::HalfOfMaxRule, "half_of_max")

namespace {

tierkit::FeatureTable table() {
    tierkit::FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4});
    t.add_column("revenue", {100, 40, 60, 49.99});
    return t;
}

const char* policy_text = R"({
  "criteria": ["revenue"],
  "rule": {"kind": "half_of_max", "column": "revenue", "share": 0.5},
  "tiers": [{"name": "top", "mode": "strategic"}, "rest"]})";

}  // namespace

TEST(CustomRule, RegisteredByOneLineAndUsableFromAPolicy) {
    auto kinds = tierkit::rule_kinds();
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "half_of_max"), kinds.end());
    const auto model = tierkit::fit(tierkit::Policy::from_json(policy_text), table());
    const auto a = model.assign(table());
    EXPECT_EQ(a.tier, (std::vector<std::int32_t>{0, 1, 0, 1}));
    EXPECT_EQ(a.rule_kind, "half_of_max");
    EXPECT_EQ(a.reasons[a.reason[0]], "revenue >= 50");
}

TEST(CustomRule, SavesAndLoadsInEveryArchiveKind) {
    const auto model = tierkit::fit(tierkit::Policy::from_json(policy_text), table());
    const auto expected = model.assign(table());
    for (auto kind : {tierkit::ArchiveKind::binary, tierkit::ArchiveKind::text, tierkit::ArchiveKind::xml}) {
        std::stringstream buffer;
        tierkit::save(model, buffer, kind);
        const auto loaded = tierkit::load(buffer, kind);
        const auto got = loaded.assign(table());
        EXPECT_EQ(got.tier, expected.tier);
        EXPECT_EQ(got.scores, expected.scores);
        EXPECT_EQ(loaded.rule().kind(), "half_of_max");
        EXPECT_EQ(loaded.rule().parameters()[0].second, (std::vector<double>{50}));
    }
}

TEST(CustomRule, FactoryErrorsReachThePolicy) {
    EXPECT_THROW(tierkit::Policy::from_json(
                     R"({"criteria": ["revenue"], "rule": {"kind": "half_of_max"}, "tiers": ["a", "b", "c"]})"),
                 tierkit::PolicyError);
}

TEST(CustomRule, ReadingEveryColumnIsSeenThroughNestingRules) {
    // A host rule that reads columns it cannot name (every_column) makes the model read
    // every column, whether it is the policy's rule or nested in chain or override.
    auto model_of = [](const std::string& rule) {
        return tierkit::fit(tierkit::Policy::from_json(R"({"criteria": ["revenue"], "rule": )" + rule +
                                                       R"(, "tiers": ["top", "mid", "rest"]})"),
                            table());
    };
    const std::string host = R"({"kind": "half_of_max", "tiers": ["top", "mid"], "every_column": true})";
    const std::string chain =
        R"({"kind": "chain", "first": {"kind": "thresholds", "cuts": [40], "tiers": ["top", "rest"]},
                                  "then": {"top": )" +
        host + "}}";
    const std::string over = R"({"kind": "override", "base": )" + host.substr(0, host.size() - 1) +
                             R"(, "tiers": ["top", "rest"]}, "overrides": [{"when": "revenue < 0", "tier": "mid"}]})";
    EXPECT_TRUE(model_of(chain).reads_every_column());
    EXPECT_TRUE(model_of(over).reads_every_column());
    std::string plain = chain;
    plain.replace(plain.find("true"), 4, "false");
    EXPECT_FALSE(model_of(plain).reads_every_column());
    EXPECT_FALSE(tierkit::fit(tierkit::Policy::from_json(policy_text), table()).reads_every_column());
}

TEST(CustomRule, AChainHandsARuleReadingEveryColumnOnlyTheRowsOfItsTier) {
    // Such a rule (a host's callable) may read every row it is given, so the chain
    // assigns it its tier's rows alone, as it fits it; a row-wise rule gets every row.
    const std::string policy = R"({"criteria": ["revenue"], "tiers": ["top", "mid", "rest"],
        "rule": {"kind": "chain", "first": {"kind": "thresholds", "cuts": [40], "tiers": ["top", "rest"]},
                 "then": {"top": {"kind": "half_of_max", "tiers": ["top", "mid"], "every_column": EVERY}}}})";
    auto assign = [&](const char* every) {
        std::string text = policy;
        text.replace(text.find("EVERY"), 5, every);
        return tierkit::fit(tierkit::Policy::from_json(text), table()).assign(table());
    };
    const auto plain = assign("false");
    EXPECT_EQ(host::rows_assigned, 4u);
    const auto every = assign("true");
    EXPECT_EQ(every.tier, plain.tier);  // the same tiers either way
    std::size_t in_top = 0;
    for (auto t : every.tier) in_top += t != 2;
    EXPECT_EQ(host::rows_assigned, in_top);
    EXPECT_GT(in_top, 0u);
    EXPECT_LT(in_top, 4u);
}
