#pragma once
/// @file abc.hpp
/// `abc`: the Pareto (ABC) cut by cumulative share of a value column.
///
/// Policy: {"kind": "abc", "column": "revenue", "cuts": [0.8, 0.95]}
/// Customers are ranked by the column, highest first, and walked while adding up
/// their share of the total: a customer is in A while the cumulative share *before*
/// it is below 80%, in B below 95%, else C. So the customer who straddles a cut goes
/// to the higher class, and A is the smallest set of customers holding at least 80%
/// of the value. This is not "the top 20% of customers" (see `quantiles`).
/// Fit stores, per class, the lowest value in it; customers tied with that value
/// join the higher class, and new customers are classified by these thresholds.
/// Negative values count as 0. When the total is not positive, every customer goes
/// to the last class.
#include <algorithm>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <functional>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/exact_sum.hpp"
#include "tierkit/privacy.hpp"
#include "tierkit/rules/cuts.hpp"

namespace tierkit {

class AbcRule : public Rule {
public:
    AbcRule() = default;  ///< for loading
    /// @param cuts ascending cumulative shares in (0, 1).
    AbcRule(std::string source, std::vector<double> cuts) : source_(std::move(source)), cuts_(std::move(cuts)) {}
    std::string kind() const override { return "abc"; }
    std::size_t tiers() const override { return cuts_.size() + 1; }
    void fit(const RuleInput& input) override {
        const auto v = input.values(source_);
        std::vector<double> sorted(v.size());
        std::transform(v.begin(), v.end(), sorted.begin(), [](double x) { return std::max(x, 0.0); });
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        // Exact sums (exact_sum.hpp): the total and the running sums do not depend on
        // how additions are grouped, so the out-of-core Fitter reproduces them.
        const double total = exact_sum(sorted, [](double x) { return x; });
        thresholds_.assign(cuts_.size(), std::numeric_limits<double>::infinity());
        if (!(total > 0)) return;
        walk(sorted, ExactSum{}, total, 0, cuts_.size());
        if (input.min_group > 1) {
            // privacy.hpp: a threshold is the value of the group of >= min_group rows holding it.
            std::reverse(sorted.begin(), sorted.end());
            to_group_values(thresholds_, sorted, input.min_group);
        }
        // A value of 0 never reaches a class by share: keep thresholds > 0 so zeros fall to the last class.
        keep_thresholds_positive();
    }
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        assign_by_cuts(input.values(source_), thresholds_, tier, reason);
    }
    std::vector<std::string> reasons() const override {
        std::vector<std::string> out;
        for (std::size_t k = 0; k < thresholds_.size(); ++k)
            out.push_back("abc: " + source_ + " >= " + format_number(thresholds_[k]) +
                          " (cumulative share <= " + format_number(100 * cuts_[k]) + "%)");
        out.push_back("abc: " + source_ + " in the last " +
                      format_number(100 * (1 - (cuts_.empty() ? 0 : cuts_.back()))) + "% of the total");
        return out;
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override {
        return {{"cuts", cuts_}, {"thresholds", thresholds_}};
    }
    std::unique_ptr<Rule> clone() const override { return std::make_unique<AbcRule>(*this); }
    std::vector<std::string> inputs() const override { return {source_}; }
    ScoreCuts score_cuts() const override { return {source_, thresholds_}; }
    /// Its passes in a fit by chunks (fit/rule_state.hpp; defined in src/rules/builtin/abc_fit.cpp).
    std::unique_ptr<RuleState> make_state(const FitOptions& options) const override;
    std::unique_ptr<RowAssigner> row_assigner(const RowLayout& layout) const override {
        return std::make_unique<CutsRowAssigner>(layout, source_, thresholds_, kind());
    }
    /// The policy factory. @throws PolicyError naming `path`.
    static std::unique_ptr<Rule> from_json(const nlohmann::json& params, const std::string& path, std::size_t tiers);
    const std::vector<double>& thresholds() const noexcept { return thresholds_; }
    /// Install thresholds learned elsewhere (the out-of-core Fitter, fit_state.hpp), one per cut.
    /// @throws InvalidInput when their number differs from the cuts'.
    void set_thresholds(std::vector<double> thresholds) {
        if (thresholds.size() != cuts_.size())
            throw InvalidInput("abc: expected " + std::to_string(cuts_.size()) + " thresholds, got " +
                               std::to_string(thresholds.size()));
        thresholds_ = std::move(thresholds);
    }
    const std::string& source() const noexcept { return source_; }
    const std::vector<double>& cuts() const noexcept { return cuts_; }

    /// Walk `desc` (descending values >= 0, after values whose exact sum is `before`)
    /// for the cuts [first, last): a value is in the class of the first cut k whose
    /// share of `total` the exact sum before it has not reached (sum < cuts[k] * total),
    /// and bounds thresholds[k'] for every k' >= k. fit() walks all values at once.
    void walk(std::span<const double> desc, ExactSum before, double total, std::size_t first, std::size_t last) {
        std::size_t cls = first;
        auto below = [&](const ExactSum& s) { return s.compare(cuts_[cls] * total) < 0; };
        constexpr std::size_t block = 1024;
        for (std::size_t i = 0; i < desc.size();) {
            while (cls < last && !below(before)) ++cls;
            if (cls == last) return;
            const std::size_t end = std::min(desc.size(), i + block);
            ExactSum after = before;
            for (std::size_t j = i; j < end; ++j) after.add(desc[j]);
            if (below(after)) {
                // The sum before every value of the block is below the cut: all in class cls.
                for (std::size_t k = cls; k < last; ++k) thresholds_[k] = std::min(thresholds_[k], desc[end - 1]);
                before = after;
                i = end;
                continue;
            }
            for (; i < end; ++i) {
                while (cls < last && !below(before)) ++cls;
                if (cls == last) return;
                for (std::size_t k = cls; k < last; ++k) thresholds_[k] = std::min(thresholds_[k], desc[i]);
                before.add(desc[i]);
            }
        }
    }
    /// Thresholds <= 0 become the smallest positive double (zeros fall to the last class).
    void keep_thresholds_positive() {
        for (auto& t : thresholds_)
            if (t <= 0) t = std::numeric_limits<double>::min();
    }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("source", source_);
        ar& boost::serialization::make_nvp("cuts", cuts_);
        ar& boost::serialization::make_nvp("thresholds", thresholds_);
    }

private:
    std::string source_;
    std::vector<double> cuts_;
    std::vector<double> thresholds_;
};

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::AbcRule, 0)
