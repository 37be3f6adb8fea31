// The C++ quickstart: transactions -> summarize -> fit -> save -> load -> assign -> assign_one.
// Build it against the installed package (examples/quickstart/CMakeLists.txt):
//   cmake -S examples/quickstart -B build/quickstart -DCMAKE_PREFIX_PATH=<prefix> && cmake --build build/quickstart
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <tierkit/tierkit.hpp>
#include <vector>

int main() try {
    // 1. Transactions: customer id, day (days since 1970-01-01), amount.
    const std::vector<std::int64_t> customer{1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 5, 6, 6};
    const std::vector<std::int64_t> day{19700, 19850, 19990, 19800, 19960, 19995, 19600,
                                        19700, 19800, 19900, 19500, 19900, 19980};
    const std::vector<double> amount{500, 300, 200, 150, 150, 2000, 100, 100, 100, 100, 50, 120, 130};

    // 2. One row of features per customer (revenue, frequency, days_since_last, ...).
    tierkit::SummarizeOptions options;
    options.as_of = 20000;
    const tierkit::Summary summary = tierkit::summarize({customer, day, amount, {}, {}}, options);
    const tierkit::FeatureTable& features = summary.features;

    // 3. Fit a policy: a value score from frequency and recency, and ABC classes by
    //    cumulative share of revenue (A: the customers holding the first 80%).
    const tierkit::Policy policy = tierkit::Policy::from_json(R"({
      "criteria": [{"column": "frequency", "normalizer": "minmax"},
                   {"column": "days_since_last", "direction": "lower", "normalizer": "minmax"}],
      "rule": {"kind": "abc", "column": "revenue", "cuts": [0.8, 0.95]},
      "tiers": ["A", "B", "C"]})");
    const tierkit::Model fitted = tierkit::fit(policy, features);

    // 4. Save (any std::ostream: a file opened in binary mode, here memory), 5. load.
    std::stringstream file;
    tierkit::save(fitted, file, tierkit::ArchiveKind::binary);
    const auto model = std::make_shared<const tierkit::Model>(tierkit::load(file));

    // 6. Assign every customer: scores by name, tier, reason.
    const tierkit::Assignment a = model->assign(features, {.with_contributions = false});
    const std::span<const double> value = a.score("score");
    std::printf("customer  score  tier  reason\n");
    for (std::size_t i = 0; i < a.ids.size(); ++i)
        std::printf("%8lld  %5.1f  %-4s  %s\n", static_cast<long long>(a.ids[i]), value[i],
                    a.tier_names[static_cast<std::size_t>(a.tier[i])].c_str(),
                    a.reasons[static_cast<std::size_t>(a.reason[i])].c_str());
    const tierkit::TierSummary by_tier = tierkit::summarize_tiers(a, features.column("revenue"));
    for (std::size_t k = 0; k < by_tier.tier.size(); ++k)
        std::printf("tier %s: %lld of %zu customers, %.2f%% of revenue\n", by_tier.tier[k].c_str(),
                    static_cast<long long>(by_tier.customers[k]), a.ids.size(), 100 * by_tier.revenue_share[k]);

    // 7. Score one customer at a time (real time), from the columns the model reads.
    const std::vector<std::string> columns = model->input_columns();
    std::string names;
    for (const auto& c : columns) names += (names.empty() ? "" : ", ") + c;
    std::printf("the model reads: %s\n", names.c_str());
    tierkit::Scorer scorer(model, columns);
    std::vector<double> row(columns.size());
    for (std::size_t i = 0; i < features.rows(); ++i) {  // the same answers as assign, bit for bit
        for (std::size_t j = 0; j < columns.size(); ++j) row[j] = features.column(columns[j])[i];
        const tierkit::Scored& r = scorer.assign_one(row);
        if (r.tier != a.tier[i] || r.scores[0] != value[i]) {
            std::fprintf(stderr, "assign_one differs from assign for customer %lld\n",
                         static_cast<long long>(a.ids[i]));
            return 1;
        }
    }
    const std::vector<double> newcomer{2, 15, 450};  // frequency, days_since_last, revenue
    const tierkit::Scored& r = scorer.assign_one(newcomer);
    std::printf("a new customer: score %.1f, tier %s (%s)\n", r.scores[0],
                scorer.tier_names()[static_cast<std::size_t>(r.tier)].c_str(),
                scorer.reasons()[static_cast<std::size_t>(r.reason)].c_str());
    return 0;
} catch (const tierkit::Error& e) {  // bad input, policy or model file: the message says where
    std::fprintf(stderr, "tierkit: %s\n", e.what());
    return 1;
}
