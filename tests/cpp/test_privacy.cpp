// privacy.min_group: fitted models hold no customer id and no single customer's
// amount in any archive kind; values shared by >= K rows stay exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

#include "tierkit/fit_state.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/tierkit.hpp"

using namespace tierkit;

namespace {

constexpr std::int64_t first_id = 9753186420;  // 10-digit ids
constexpr std::size_t min_group = 10;

/// Synthetic customers with distinctive ids and amounts of 10+ significant digits.
const FeatureTable& features() {
    static const FeatureTable t = [] {
        SyntheticOptions o;
        o.customers = 600;
        o.seed = 11;
        auto d = synthetic(o);
        for (auto& c : d.customer) c = first_id + 7 * c;
        // Off any lattice of cents, so that a mean of amounts is not one of them by chance.
        for (std::size_t i = 0; i < d.amount.size(); ++i) {
            d.amount[i] = d.amount[i] * 1.0123456789 + 1e-6 * std::sqrt(static_cast<double>(i) + 2);
            d.margin[i] = d.margin[i] * 1.0123456789 + 1e-6 * std::sqrt(static_cast<double>(i) + 3);
        }
        return summarize({d.customer, d.day, d.amount, d.margin, {}}).features;
    }();
    return t;
}

/// The first `digits` significant digits of x as printed with %.17g ("1157.4234").
std::string significant_prefix(double x, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", std::fabs(x));
    std::string out;
    int seen = 0;
    bool started = false;
    for (const char* p = buf; *p && seen < digits; ++p) {
        if (*p == 'e') return {};
        if (*p != '.' && *p != '0') started = true;
        if (started) out += *p;
        if (started && *p != '.') ++seen;
    }
    return seen == digits ? out : std::string{};
}

/// Significant digits of the shortest decimal that reads back as x.
int shortest_digits(double x) {
    for (int p = 1; p < 17; ++p) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.*g", p, x);
        if (std::strtod(buf, nullptr) == x) return p;
    }
    return 17;
}

/// Values of the data that belong to single customers: the amount columns' values
/// with at least 10 significant digits that fewer than k rows share in every one of
/// these columns.
std::vector<double> distinctive_amounts(const FeatureTable& t, std::size_t k = min_group) {
    std::map<double, std::size_t> shared;  // most rows sharing the value in one column
    for (const char* name : {"revenue", "aov", "monetary_value", "margin"}) {
        std::map<double, std::size_t> count;
        for (double v : t.column(name)) ++count[v];
        for (const auto& [v, c] : count) shared[v] = std::max(shared[v], c);
    }
    std::vector<double> out;
    for (const auto& [v, c] : shared)
        if (c < k && shortest_digits(v) >= 10) out.push_back(v);
    return out;
}

std::string save_bytes(const Model& m, ArchiveKind kind) {
    std::ostringstream out;
    save(m, out, kind);
    return out.str();
}

template <class T>
bool contains_bytes(const std::string& hay, T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));  // little-endian hosts: the archive's byte order
    return hay.find(std::string(raw, sizeof(T))) != std::string::npos;
}

/// Every leak of an id, an amount or its log1p (what a log1p criterion stores) into
/// `bytes`, described; amounts are those fewer than k rows share.
std::vector<std::string> leaks(const std::string& bytes, const FeatureTable& t, std::size_t k = min_group) {
    std::vector<std::string> found;
    for (std::int64_t id : t.ids()) {
        const std::string text = std::to_string(id);
        if (contains_bytes(bytes, id) || contains_bytes(bytes, static_cast<double>(id)) ||
            bytes.find(text.substr(0, 8)) != std::string::npos)
            found.push_back("id " + text);
    }
    // Binary, %.17g (8 significant digits) and, as text and xml archives write it, %.17e.
    const auto scientific = [](double x) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17e", x);
        return std::string(buf);
    };
    for (double v : distinctive_amounts(t, k)) {
        const double l = std::log1p(v);
        if (contains_bytes(bytes, v) || bytes.find(significant_prefix(v, 8)) != std::string::npos ||
            bytes.find(scientific(v)) != std::string::npos || contains_bytes(bytes, l) ||
            bytes.find(significant_prefix(l, 8)) != std::string::npos ||
            bytes.find(scientific(l)) != std::string::npos) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.17g", v);
            found.push_back(std::string("amount ") + buf);
        }
    }
    return found;
}

/// `policy` with "privacy": {"min_group": k}; as it is (the default grouping) for k 0.
std::string with_privacy(std::string policy, std::size_t k = min_group) {
    if (k == 0) return policy;
    const auto brace = policy.rfind('}');
    return policy.substr(0, brace) + R"(, "privacy": {"min_group": )" + std::to_string(k) + "}}";
}

struct Case {
    const char* name;
    std::string policy;
};

/// The policies with "privacy": {"min_group": k} (none for k 0).
std::vector<Case> cases(std::size_t k = min_group) {
    const auto with_privacy = [k](std::string policy) { return ::with_privacy(std::move(policy), k); };
    return {
        {"default", with_privacy(Policy::default_policy().to_json())},
        {"kmeans", with_privacy(R"({"scores": [{"name": "value",
            "criteria": [{"column": "revenue", "transform": "log1p", "normalizer": "minmax"},
                         {"column": "frequency", "normalizer": "percentile"},
                         {"column": "aov", "normalizer": "zscore"}],
            "weights": {"method": "critic"}}],
            "rule": {"kind": "kmeans", "score": "value", "k": 3, "seed": 7, "n_init": 2},
            "tiers": ["gold", "silver", "bronze"]})")},
        {"rfm_segments", with_privacy(R"({"criteria": ["revenue"],
            "rule": {"kind": "rfm_segments", "bins": 5, "ties": "average",
                     "segments": [{"name": "Best", "r": [4, 5], "f": [4, 5], "m": [4, 5]},
                                  {"name": "Sleeping", "r": [1, 2]}],
                     "fallback": "Others"},
            "tiers": ["Best", "Sleeping", "Others"]})")},
        {"clv", with_privacy(R"({"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12,
                                 "discount_rate": 0.01, "time_unit": "W"},
            "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.7, "normalizer": "percentile"},
                                                      {"column": "p_alive", "weight": 0.3, "normalizer": "minmax"}]}],
            "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]},
            "tiers": ["key", "growth", "rest"]})")},
        // Every other normalizer, clipping, TOPSIS, abc on a raw column, pct().
        {"mixed", with_privacy(R"({"scores": [
              {"name": "value", "method": "topsis",
               "criteria": [{"column": "revenue", "clip": [0.05, 0.95], "normalizer": "robust"},
                            {"column": "aov", "normalizer": "bins", "bins": 4},
                            {"column": "margin", "normalizer": "zscore"}],
               "weights": {"method": "entropy"}}],
            "rule": {"kind": "abc", "column": "revenue"}, "tiers": ["A", "B", "C"]})")},
        {"expression", with_privacy(R"({"criteria": ["revenue", "aov"],
            "rule": {"kind": "expression", "branches": [
                {"when": "pct(revenue) >= 0.8 or pct(aov) >= 0.9", "tier": "key"}, {"else": "rest"}]},
            "tiers": ["key", "rest"]})")},
    };
}

const ArchiveKind kinds[] = {ArchiveKind::binary, ArchiveKind::text, ArchiveKind::xml};

}  // namespace

TEST(Privacy, TheDataHasDistinctiveIdsAndAmounts) {
    // Guards the test below: without privacy the same models do hold such values.
    const auto amounts = distinctive_amounts(features());
    EXPECT_GT(amounts.size(), 1000u);
    EXPECT_EQ(significant_prefix(1157.4234567890001, 8), "1157.4234");
    EXPECT_EQ(significant_prefix(0.00123456789, 8), "12345678");
    for (const auto& c : cases(1)) {  // the explicit opt-out keeps single customers' values
        if (std::string(c.name) == "kmeans" || std::string(c.name) == "clv") continue;
        const Model plain = fit(Policy::from_json(c.policy), features());
        EXPECT_FALSE(leaks(save_bytes(plain, ArchiveKind::binary), features()).empty()) << c.name;
        EXPECT_FALSE(leaks(save_bytes(plain, ArchiveKind::text), features()).empty()) << c.name;
    }
}

TEST(Privacy, NoIdOrAmountInAnyArchive) {
    // The default (no privacy section: groups of 5 on these 600 rows) and an explicit 10.
    for (const std::size_t k : {std::size_t{0}, min_group}) {
        const std::size_t used = k == 0 ? default_min_group : k;
        for (const auto& c : cases(k)) {
            const Model model = fit(Policy::from_json(c.policy), features());
            EXPECT_EQ(model.policy().min_group().value_or(0), used) << c.name;
            for (ArchiveKind kind : kinds) {
                const std::string bytes = save_bytes(model, kind);
                const auto found = leaks(bytes, features(), used);
                EXPECT_TRUE(found.empty()) << c.name << " (kind " << static_cast<int>(kind) << "): " << found.size()
                                           << " leaks, first: " << (found.empty() ? "" : found.front());
                // The private model still loads and assigns as saved.
                std::istringstream in(bytes);
                const Model loaded = load(in);
                EXPECT_EQ(loaded.assign(features()).tier, model.assign(features()).tier) << c.name;
                EXPECT_EQ(loaded.policy().min_group().value_or(0), used) << c.name;
            }
        }
    }
}

TEST(Privacy, GroupsKeepLargeTiesExactAndAverageTheRest) {
    // 0 x4, then 1 2 3 5 (each alone), then 9 x4; K = 3.
    const std::vector<double> col{9, 0, 1, 9, 0, 2, 3, 9, 0, 5, 9, 0};
    CriterionSpec spec;
    spec.column = "x";
    const FittedCriterion f = fit_criterion(spec, col, 3);
    // Groups: {0 x4} exact; {1, 2, 3} reaches 3 rows, 5 alone cannot stand before the
    // tie group 9 x4 and joins it: mean (1+2+3+5)/4 = 2.75; {9 x4} exact.
    EXPECT_EQ(f.knots, (std::vector<double>{0, 2.75, 9}));
    const double d = 11;  // n - 1
    EXPECT_EQ(f.knot_y, (std::vector<double>{1.5 / d, 5.5 / d, 9.5 / d}));
    EXPECT_EQ(f.knot_lo, (std::vector<double>{-0.5 / d, 3.5 / d, 7.5 / d}));
    EXPECT_EQ(f.knot_hi, (std::vector<double>{3.5 / d, 7.5 / d, 11.5 / d}));
    EXPECT_EQ(f.min, 0);        // mean of the 3 lowest: 0 0 0
    EXPECT_EQ(f.max, 9);        // mean of the 3 highest: 9 9 9
    EXPECT_EQ(f.median, 2.75);  // ranks 5 and 6 are in the middle group
    EXPECT_EQ(f.iqr, 9 - 0);    // q75 at rank 8.25 (9, 9), q25 at 2.75 (0, 0)
    // min_group 1 keeps every distinct value.
    EXPECT_EQ(fit_criterion(spec, col, 1).knots, (std::vector<double>{0, 1, 2, 3, 5, 9}));

    // A trailing run too small to stand alone joins the group before it.
    const PrivateGroups g(std::vector<double>{0, 0, 0, 4, 5, 6, 7, 8}, 3);
    ASSERT_EQ(g.groups().size(), 2u);
    EXPECT_TRUE(g.groups()[0].exact);
    EXPECT_EQ(g.groups()[1].value, 6);  // (4+5+6+7+8)/5
    EXPECT_EQ(g.groups()[1].count, 5);
    EXPECT_EQ(g.value_of(7), 6);
    EXPECT_EQ(g.value_of(0), 0);
}

TEST(Privacy, ValuesSharedByKRowsAreUnchanged) {
    // Every value shared by >= K rows: the private fit equals the exact one.
    std::vector<double> col;
    for (int v : {3, 1, 4, 1, 5}) col.insert(col.end(), 12, static_cast<double>(v));
    col.insert(col.end(), 10, 2.5);
    for (auto normalizer : {Normalizer::percentile, Normalizer::robust, Normalizer::minmax, Normalizer::bins}) {
        CriterionSpec spec;
        spec.column = "x";
        spec.normalizer = normalizer;
        spec.clip = true;
        const FittedCriterion exact = fit_criterion(spec, col, 1), grouped = fit_criterion(spec, col, 10);
        EXPECT_EQ(grouped.knots, exact.knots);
        EXPECT_EQ(grouped.knot_y, exact.knot_y);
        EXPECT_EQ(grouped.min, exact.min);
        EXPECT_EQ(grouped.max, exact.max);
        EXPECT_EQ(grouped.lo, exact.lo);
        EXPECT_EQ(grouped.hi, exact.hi);
        if (normalizer != Normalizer::minmax) {
            EXPECT_EQ(grouped.median, exact.median);
            EXPECT_EQ(grouped.iqr, exact.iqr);
        }
    }
    // Heavily tied RFM counts stay exact in the rfm_segments thresholds too.
    std::vector<std::int64_t> ids(col.size());
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i + 1);
    FeatureTable t(ids);
    t.add_column("frequency", col);
    t.add_column("revenue", col);
    t.add_column("days_since_last", col);
    const char* rfm = R"({"criteria": ["revenue"], "rule": {"kind": "rfm_segments", "bins": 3,
        "segments": [{"name": "Best", "f": [3, 3]}], "fallback": "Others"}, "tiers": ["Best", "Others"]})";
    const Model exact = fit(Policy::from_json(rfm), t);
    const Model grouped = fit(Policy::from_json(with_privacy(rfm)), t);
    EXPECT_EQ(grouped.rule().parameters(), exact.rule().parameters());
    EXPECT_EQ(grouped.assign(t).tier, exact.assign(t).tier);
}

TEST(Privacy, RefusesTooFewRowsAndSmallClusters) {
    FeatureTable t(std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    std::vector<double> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    t.add_column("revenue", x);
    const std::string few =
        R"({"criteria": ["revenue"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]},
                               "privacy": {"min_group": 13}})";
    try {
        fit(Policy::from_json(few), t);
        FAIL() << "expected InvalidInput";
    } catch (const InvalidInput& e) {
        EXPECT_NE(std::string(e.what()).find("privacy.min_group 13 needs at least that many rows"), std::string::npos)
            << e.what();
    }
    // 12 rows in 3 clusters: one has at most 4 < 5 members.
    const std::string km = R"({"criteria": [{"column": "revenue", "normalizer": "minmax"}], "tiers": ["a", "b", "c"],
                              "rule": {"kind": "kmeans", "k": 3, "seed": 1}, "privacy": {"min_group": 5}})";
    try {
        fit(Policy::from_json(km), t);
        FAIL() << "expected PolicyError";
    } catch (const PolicyError& e) {
        EXPECT_NE(std::string(e.what()).find("fewer than privacy.min_group 5"), std::string::npos) << e.what();
    }
    // Policy validation.
    EXPECT_THROW(Policy::from_json(R"({"criteria": ["revenue"], "tiers": ["a"], "privacy": {"min_group": 2.5}})"),
                 PolicyError);
    EXPECT_THROW(Policy::from_json(R"({"criteria": ["revenue"], "tiers": ["a"], "privacy": {"k": 2}})"), PolicyError);
    EXPECT_THROW(Policy::from_json(R"({"criteria": ["revenue"], "tiers": ["a"], "privacy": {"min_group": 0}})"),
                 PolicyError);
    // The sketch mode cannot group: refused.
    FitOptions sketch;
    sketch.mode = FitMode::sketch;
    EXPECT_THROW(Fitter(Policy::from_json(few), sketch), PolicyError);
}

TEST(Privacy, QuantileCutIsTheMeanOfItsGroup) {
    // 20 distinct values 1..20, top 50%: the exact cut is 11; K = 4 groups
    // {1..4} {5..8} {9..12} {13..16} {17..20}, so the cut is mean(9..12) = 10.5.
    std::vector<std::int64_t> ids(20);
    std::vector<double> x(20);
    for (int i = 0; i < 20; ++i) ids[i] = i + 1, x[i] = i + 1;
    FeatureTable t(ids);
    t.add_column("revenue", x);
    const char* policy = R"({"criteria": ["revenue"], "tiers": ["a", "b"],
                            "rule": {"kind": "quantiles", "column": "revenue", "shares": [0.5]}})";
    EXPECT_EQ(fit(Policy::from_json(policy), t).rule().score_cuts().cuts, std::vector<double>{11});
    const std::string grouped =
        std::string(policy).substr(0, std::string(policy).rfind('}')) + R"(, "privacy": {"min_group": 4}})";
    EXPECT_EQ(fit(Policy::from_json(grouped), t).rule().score_cuts().cuts, std::vector<double>{10.5});
}

TEST(Privacy, TheDefaultGroupingFollowsTheTableSize) {
    // min(5, rows / 50), at least 1.
    EXPECT_EQ(default_min_group_for(0), 1u);
    EXPECT_EQ(default_min_group_for(99), 1u);
    EXPECT_EQ(default_min_group_for(100), 2u);
    EXPECT_EQ(default_min_group_for(149), 2u);
    EXPECT_EQ(default_min_group_for(150), 3u);
    EXPECT_EQ(default_min_group_for(249), 4u);
    EXPECT_EQ(default_min_group_for(250), 5u);
    EXPECT_EQ(default_min_group_for(std::size_t{1} << 40), 5u);
    const Policy plain = Policy::default_policy();
    EXPECT_FALSE(plain.min_group().has_value());
    EXPECT_EQ(plain.to_json().find("privacy"), std::string::npos);
    EXPECT_EQ(plain.min_group_for(120), 2u);
    const Policy one = Policy::from_json(with_privacy(plain.to_json(), 1));
    EXPECT_EQ(one.min_group_for(1000000), 1u);

    // A fit without a privacy section is the fit with the resolved min_group, byte for
    // byte (the model's policy stores it either way): 1 under 100 rows, 2 on 120 and 5 on 600.
    const auto rows = [](std::size_t n) {
        std::vector<std::int64_t> ids(features().ids().begin(),
                                      features().ids().begin() + static_cast<std::ptrdiff_t>(n));
        FeatureTable t(ids);
        for (const auto& name : features().names()) {
            const auto col = features().column(name);
            t.add_column(name, std::vector<double>(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(n)));
        }
        return t;
    };
    for (const auto& [n, k] : {std::pair<std::size_t, std::size_t>{80, 1}, {120, 2}, {600, 5}}) {
        const FeatureTable t = rows(n);
        const Model by_default = fit(plain, t);
        EXPECT_EQ(by_default.policy().min_group().value_or(0), k) << n;
        EXPECT_NE(by_default.policy().to_json().find("\"min_group\": " + std::to_string(k)), std::string::npos) << n;
        EXPECT_EQ(save_bytes(by_default, ArchiveKind::text),
                  save_bytes(fit(Policy::from_json(with_privacy(plain.to_json(), k)), t), ArchiveKind::text))
            << n;
        if (k > 1)  // the opt-out then differs: single customers' values
            EXPECT_NE(save_bytes(by_default, ArchiveKind::text), save_bytes(fit(one, t), ArchiveKind::text)) << n;
    }
}

TEST(Privacy, SketchAndRefineFitOnlyAnExplicitMinGroupOfOne) {
    // They keep single rows' values, so the default grouping (which only the exact
    // mode computes, as fit() does) and any min_group > 1 are refused; the opt-out
    // fits in every mode and the exact mode equals fit() on the default.
    const Policy plain = Policy::default_policy();
    for (const FitMode mode : {FitMode::sketch, FitMode::refine}) {
        FitOptions o;
        o.mode = mode;
        try {
            Fitter f(plain, o);
            FAIL() << "expected PolicyError";
        } catch (const PolicyError& e) {
            EXPECT_NE(std::string(e.what()).find("set \"privacy\": {\"min_group\": 1} to fit"), std::string::npos)
                << e.what();
        }
        EXPECT_NO_THROW(Fitter(Policy::from_json(with_privacy(plain.to_json(), 1)), o));
        EXPECT_THROW(Fitter(Policy::from_json(with_privacy(plain.to_json(), 2)), o), PolicyError);
    }
    Fitter exact(plain, FitOptions{});
    exact.advance(exact.update(features()));
    ASSERT_TRUE(exact.done());
    EXPECT_EQ(save_bytes(exact.model(), ArchiveKind::binary), save_bytes(fit(plain, features()), ArchiveKind::binary));
    EXPECT_EQ(exact.model().policy().min_group().value_or(0), default_min_group);
}
