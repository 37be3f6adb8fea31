// Scorer::assign_one equals Model::assign row by row, bit for bit, and makes no heap
// allocation on the fast path (counted by replacing the global operator new).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <type_traits>

#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"
#include "tierkit/tierkit.hpp"

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Every replaceable form, so that no allocation and release mix this malloc/free
// pair with the sanitizers' own operators.
void* operator new(std::size_t n) {
    ++allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    ++allocations;
    return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace tierkit;

namespace host {

/// A host's rule: tier 0 when a column is at least its median at fit. With
/// "row": true it offers the Scorer a one-customer path, as the built-ins do.
class ColumnMedianRule : public Rule {
public:
    ColumnMedianRule() = default;
    ColumnMedianRule(const nlohmann::json& p, const std::string& path, std::size_t tiers)
        : column_(p.value("column", "revenue")), row_(p.value("row", false)) {
        if (tiers != 2) throw PolicyError(path + ": column_median makes 2 tiers");
    }
    std::string kind() const override { return "column_median"; }
    std::size_t tiers() const override { return 2; }
    void fit(const RuleInput& input) override {
        std::vector<double> v(input.values(column_).begin(), input.values(column_).end());
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
        cut_ = v[v.size() / 2];
    }
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        const auto v = input.values(column_);
        for (std::size_t i = 0; i < v.size(); ++i) tier[i] = reason[i] = v[i] >= cut_ ? 0 : 1;
    }
    std::vector<std::string> reasons() const override { return {"at least the median", "below the median"}; }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override { return {{"cut", {cut_}}}; }
    std::unique_ptr<Rule> clone() const override { return std::make_unique<ColumnMedianRule>(*this); }
    std::unique_ptr<RowAssigner> row_assigner(const RowLayout& layout) const override {
        if (!row_) return nullptr;
        return std::make_unique<Row>(cut_, layout.column_index(column_, kind()));
    }
    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("column", column_);
        ar& boost::serialization::make_nvp("row", row_);
        ar& boost::serialization::make_nvp("cut", cut_);
    }

private:
    struct Row : RowAssigner {
        Row(double cut, std::size_t column) : cut(cut), column(column) {}
        void assign_one(const RowInput& in, std::int32_t& tier, std::int32_t& reason) const override {
            tier = reason = in.values[column] >= cut ? 0 : 1;
        }
        double cut;
        std::size_t column;
    };
    std::string column_;
    bool row_ = false;
    double cut_ = 0;
};

}  // namespace host

TIERKIT_REGISTER_RULE(host::ColumnMedianRule, "column_median")

namespace {

const FeatureTable& features() {
    static const FeatureTable t = [] {
        SyntheticOptions o;
        o.customers = 800;
        o.seed = 21;
        auto d = synthetic(o);
        return summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    }();
    return t;
}

const std::vector<std::string> columns{"revenue", "frequency", "days_since_last", "aov", "margin", "trend",
                                       "recency", "T",         "monetary_value"};

struct Case {
    const char* policy;
    bool fast;
};

const Case cases[] = {
    {R"j({"criteria": [{"column": "revenue", "transform": "log1p"}, {"column": "frequency", "normalizer": "bins"},
                       {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"},
                       {"column": "aov", "normalizer": "robust", "clip": [0.05, 0.95]}],
          "weights": {"method": "entropy"}, "rule": {"kind": "thresholds", "cuts": [70, 40]}, "tiers": ["a", "b", "c"]})j",
     true},
    {R"j({"method": "topsis", "criteria": ["revenue", "frequency", {"column": "margin", "normalizer": "minmax"}],
          "weights": {"method": "critic"}, "rule": {"kind": "quantiles", "shares": [0.1, 0.3]}, "tiers": ["a", "b", "c"]})j",
     true},
    {R"j({"criteria": ["revenue"], "rule": {"kind": "abc"}, "tiers": ["A", "B", "C"]})j", true},
    {R"j({"criteria": ["revenue"], "rule": {"kind": "thresholds", "column": "frequency", "cuts": [5, 2]}, "tiers": ["a", "b", "c"]})j",
     true},
    {R"j({"scores": [{"name": "value", "criteria": [{"column": "revenue", "normalizer": "minmax"}, "frequency",
                                                     {"column": "days_since_last", "direction": "lower"}]}],
          "rule": {"kind": "kmeans", "k": 4, "seed": 1}, "tiers": ["a", "b", "c", "d"]})j",
     true},
    {R"j({"scores": [{"name": "value", "criteria": ["revenue"]}, {"name": "potential", "criteria": ["trend"]}],
          "rule": {"kind": "matrix", "x": {"score": "value", "cuts": [50]}, "y": {"score": "potential", "cuts": [50]},
                   "cells": [["a", "b"], ["b", "c"]]}, "tiers": ["a", "b", "c"]})j",
     false},
    {R"j({"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01, "time_unit": "D"},
          "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.7}, {"column": "p_alive", "weight": 0.3}]}],
          "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]}, "tiers": ["key", "growth", "rest"]})j",
     false},
    // A host rule gets the allocation-free path when it implements Rule::row_assigner.
    {R"j({"criteria": ["revenue"], "rule": {"kind": "column_median", "column": "frequency", "row": true}, "tiers": ["a", "b"]})j",
     true},
    {R"j({"criteria": ["revenue"], "rule": {"kind": "column_median", "column": "frequency"}, "tiers": ["a", "b"]})j",
     false},
};

}  // namespace

TEST(Scorer, EqualsModelAssignRowByRow) {
    const FeatureTable& t = features();
    for (const auto& c : cases) {
        const Model model = fit(Policy::from_json(c.policy), t);
        const Assignment expected = model.assign(t, {.with_contributions = false});
        Scorer scorer(model, columns);
        EXPECT_EQ(scorer.allocation_free(), c.fast) << c.policy;
        EXPECT_EQ(scorer.reasons(), expected.reasons);
        EXPECT_EQ(scorer.tier_names(), expected.tier_names);
        std::vector<double> x(columns.size());
        for (std::size_t i = 0; i < t.rows(); ++i) {
            for (std::size_t j = 0; j < columns.size(); ++j) x[j] = t.column(columns[j])[i];
            const Scored& r = scorer.assign_one(x);
            ASSERT_EQ(r.tier, expected.tier[i]) << c.policy << " row " << i;
            ASSERT_EQ(r.reason, expected.reason[i]) << c.policy << " row " << i;
            for (std::size_t s = 0; s < expected.scores.size(); ++s)
                ASSERT_EQ(r.scores[s], expected.scores[s][i]) << c.policy << " row " << i;  // bit-identical
        }
    }
}

TEST(Scorer, FastPathMakesNoHeapAllocation) {
    const FeatureTable& t = features();
    for (const auto& c : cases) {
        if (!c.fast) continue;
        const Model model = fit(Policy::from_json(c.policy), t);
        Scorer scorer(model, columns);
        std::vector<double> x(columns.size());
        for (std::size_t j = 0; j < columns.size(); ++j) x[j] = t.column(columns[j])[3];
        (void)scorer.assign_one(x);
        const long before = allocations.load();
        std::int32_t sum = 0;
        for (int rep = 0; rep < 1000; ++rep) {
            x[0] = rep;
            sum += scorer.assign_one(x).tier;
        }
        EXPECT_EQ(allocations.load(), before) << c.policy;
        EXPECT_GE(sum, 0);
    }
}

TEST(Scorer, ErrorsNameTheColumn) {
    const Model model = fit(Policy::from_json(cases[0].policy), features());
    try {
        Scorer scorer(model, {"revenue", "frequency"});
        FAIL() << "no error";
    } catch (const UnknownColumn& e) {
        EXPECT_STREQ(e.what(),
                     "score 'score': column 'days_since_last' is not among the scorer's columns: revenue, frequency");
    }
    Scorer scorer(model, columns);
    std::vector<double> x(columns.size(), 1.0);
    x[2] = std::nan("");
    try {
        scorer.assign_one(x);
        FAIL() << "no error";
    } catch (const InvalidInput& e) {
        EXPECT_STREQ(e.what(), "column 'days_since_last': must be a finite number, got nan");
    }
    EXPECT_THROW(scorer.assign_one(std::vector<double>(2, 1.0)), InvalidInput);
}

// A Scorer owns or shares its model: one built from a temporary (as from
// `tierkit::load(in)`) or from a model that is then destroyed still scores like the
// model did (AddressSanitizer checks every read in the sanitizer build).
static_assert(std::is_constructible_v<Scorer, Model&&, std::vector<std::string>>);
static_assert(std::is_constructible_v<Scorer, std::shared_ptr<const Model>, std::vector<std::string>>);
static_assert(std::is_constructible_v<Scorer, std::shared_ptr<Model>, std::vector<std::string>>);

TEST(Scorer, OwnsOrSharesItsModel) {
    const FeatureTable& t = features();
    for (const auto& c : cases) {
        const Policy policy = Policy::from_json(c.policy);
        const Assignment expected = fit(policy, t).assign(t, {.with_contributions = false});
        Scorer from_temporary(fit(policy, t), columns);
        std::optional<Model> dying(fit(policy, t));
        Scorer from_copy(*dying, columns);
        dying.reset();
        auto shared = std::make_shared<const Model>(fit(policy, t));
        Scorer from_shared(shared, columns);
        EXPECT_EQ(from_shared.model().get(), shared.get());
        EXPECT_EQ(shared.use_count(), 2);
        shared.reset();
        Scorer copied = from_temporary;  // copies share the model and keep their own buffers
        EXPECT_EQ(copied.model().get(), from_temporary.model().get());
        std::vector<double> x(columns.size());
        for (std::size_t i = 0; i < t.rows(); i += 7) {
            for (std::size_t j = 0; j < columns.size(); ++j) x[j] = t.column(columns[j])[i];
            for (Scorer* s : {&from_temporary, &from_copy, &from_shared, &copied}) {
                const Scored& r = s->assign_one(x);
                ASSERT_EQ(r.tier, expected.tier[i]) << c.policy << " row " << i;
                for (std::size_t k = 0; k < expected.scores.size(); ++k) ASSERT_EQ(r.scores[k], expected.scores[k][i]);
            }
        }
        EXPECT_NE(copied.assign_one(x).scores.data(), from_temporary.assign_one(x).scores.data());
    }
    EXPECT_THROW(Scorer(std::shared_ptr<const Model>{}, columns), InvalidInput);
}
