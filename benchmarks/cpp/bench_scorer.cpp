// Scorer::assign_one per call for a built-in rule and for a host rule registered
// with TIERKIT_REGISTER_RULE, with (Rule::row_assigner) and without its one-customer
// path, on the same 3-criterion policy and 10,000 fitted customers.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"
#include "tierkit/tierkit.hpp"

namespace bench_host {

/// Tier 0 when the first score is at least a cut learned at fit (its median).
class ScoreMedianRule : public tierkit::Rule {
public:
    ScoreMedianRule() = default;
    ScoreMedianRule(const nlohmann::json& p, const std::string&, std::size_t) : row_(p.value("row", false)) {}
    std::string kind() const override { return "bench_score_median"; }
    std::size_t tiers() const override { return 2; }
    void fit(const tierkit::RuleInput& input) override {
        std::vector<double> v(input.scores[0].begin(), input.scores[0].end());
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
        cut_ = v[v.size() / 2];
    }
    void assign(const tierkit::RuleInput& input, std::span<std::int32_t> tier,
                std::span<std::int32_t> reason) const override {
        for (std::size_t i = 0; i < input.scores[0].size(); ++i)
            tier[i] = reason[i] = input.scores[0][i] >= cut_ ? 0 : 1;
    }
    std::vector<std::string> reasons() const override { return {"high", "low"}; }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override { return {{"cut", {cut_}}}; }
    std::unique_ptr<tierkit::Rule> clone() const override { return std::make_unique<ScoreMedianRule>(*this); }
    std::unique_ptr<tierkit::RowAssigner> row_assigner(const tierkit::RowLayout&) const override {
        return row_ ? std::make_unique<Row>(cut_) : nullptr;
    }
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<tierkit::Rule>(*this));
        ar& boost::serialization::make_nvp("row", row_);
        ar& boost::serialization::make_nvp("cut", cut_);
    }

private:
    struct Row : tierkit::RowAssigner {
        explicit Row(double c) : cut(c) {}
        void assign_one(const tierkit::RowInput& in, std::int32_t& tier, std::int32_t& reason) const override {
            tier = reason = in.scores[0] >= cut ? 0 : 1;
        }
        double cut;
    };
    bool row_ = false;
    double cut_ = 0;
};

}  // namespace bench_host

TIERKIT_REGISTER_RULE(bench_host::ScoreMedianRule, "bench_score_median")

namespace {

const tierkit::FeatureTable& customers() {
    static const tierkit::FeatureTable t = [] {
        std::mt19937_64 rng(11);
        std::lognormal_distribution<double> amount(4.0, 1.2);
        const std::size_t n = 10000;
        std::vector<std::int64_t> ids(n);
        for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i + 1);
        tierkit::FeatureTable f(ids);
        for (int c = 0; c < 3; ++c) {
            std::vector<double> v(n);
            for (auto& x : v) x = amount(rng);
            f.add_column("c" + std::to_string(c), std::move(v));
        }
        return f;
    }();
    return t;
}

/// state.range(0): 0 = built-in quantiles, 1 = host rule with its row path, 2 = host rule without.
void BM_ScorerAssignOne(benchmark::State& state) {
    const char* rules[] = {R"("rule": {"kind": "quantiles", "shares": [0.5]})",
                           R"("rule": {"kind": "bench_score_median", "row": true})",
                           R"("rule": {"kind": "bench_score_median"})"};
    const std::string policy = std::string(R"({"criteria": ["c0", {"column": "c1", "transform": "log1p"}, "c2"], )") +
                               rules[state.range(0)] + R"(, "tiers": ["high", "low"]})";
    const tierkit::Model model = tierkit::fit(tierkit::Policy::from_json(policy), customers());
    tierkit::Scorer scorer(model, {"c0", "c1", "c2"});
    std::vector<std::vector<double>> rows(1024, std::vector<double>(3));
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = 0; j < 3; ++j) rows[i][j] = customers().column(j)[i * 7];
    std::size_t i = 0;
    for (auto _ : state) {
        const tierkit::Scored& r = scorer.assign_one(rows[i++ & 1023]);
        benchmark::DoNotOptimize(r.tier);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["allocation_free"] = scorer.allocation_free() ? 1 : 0;
    state.SetLabel(state.range(0) == 0   ? "built-in quantiles"
                   : state.range(0) == 1 ? "host rule, row path"
                                         : "host rule, general path");
}
BENCHMARK(BM_ScorerAssignOne)->Arg(0)->Arg(1)->Arg(2);

}  // namespace
