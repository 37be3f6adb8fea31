// Summarize synthetic transactions, fit the default policy, assign tiers and
// print the tier summary. Exits non-zero if the result is not a valid tiering.
#include <cstdio>

#include <tierkit/tierkit.hpp>

int main() {
    tierkit::SyntheticOptions options;
    options.customers = 20000;
    options.seed = 7;
    const auto data = tierkit::synthetic(options);
    const auto summary = tierkit::summarize({data.customer, data.day, data.amount, data.margin, {}});
    const auto model = tierkit::fit(tierkit::Policy::default_policy(), summary.features);
    const auto assignment = model.assign(summary.features);
    const auto tiers = tierkit::summarize_tiers(assignment, summary.features.column("revenue"));
    std::int64_t total = 0;
    for (std::size_t k = 0; k < tiers.tier.size(); ++k) {
        std::printf("%-12s %8lld customers %6.1f%% of revenue\n", tiers.tier[k].c_str(),
                    static_cast<long long>(tiers.customers[k]), 100 * tiers.revenue_share[k]);
        total += tiers.customers[k];
    }
    return total == static_cast<std::int64_t>(summary.features.rows()) ? 0 : 1;
}
