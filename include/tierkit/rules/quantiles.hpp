#pragma once
/// @file quantiles.hpp
/// `quantiles`: quotas from the top. The top 5% of the score -> tier 0, the next
/// 15% -> tier 1, ... the rest -> the last tier.
///
/// Policy: {"kind": "quantiles", "score": "value", "shares": [0.05, 0.15, 0.5]}
/// `shares` gives the first tiers' shares (one fewer than the tiers, or all of them
/// summing to 1). Fit learns one cut per boundary: with n customers and cumulative
/// share S, the cut is the round(S * n)-th highest value, and every customer whose
/// value is >= the cut is in that tier or a better one. So customers tied at a cut
/// stay together, in the higher tier, and that tier may hold more than its quota. A
/// quota that rounds to no customer gives an empty tier (cut = +infinity). The cuts
/// then apply unchanged to new customers.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <boost/serialization/base_object.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "tierkit/rules/thresholds.hpp"

namespace tierkit {

class QuantileRule : public Rule {
public:
    QuantileRule() = default;  ///< for loading
    /// @param shares per-tier shares of the first tiers (each in (0, 1], sum <= 1).
    QuantileRule(std::string source, std::vector<double> shares) : source_(std::move(source)), shares_(std::move(shares)) {}
    std::string kind() const override { return "quantiles"; }
    std::size_t tiers() const override { return shares_.size() + 1; }
    void fit(const RuleInput& input) override {
        const auto v = input.values(source_);
        std::vector<double> sorted(v.begin(), v.end());
        std::sort(sorted.begin(), sorted.end(), std::greater<>());
        cuts_.clear();
        double cumulative = 0;
        for (double s : shares_) {
            cumulative += s;
            const auto count = static_cast<std::size_t>(
                std::min<double>(static_cast<double>(sorted.size()), std::floor(cumulative * static_cast<double>(sorted.size()) + 0.5)));
            cuts_.push_back(count == 0 ? std::numeric_limits<double>::infinity() : sorted[count - 1]);
        }
    }
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        const auto v = input.values(source_);
        for (std::size_t i = 0; i < v.size(); ++i) tier[i] = reason[i] = tier_of(v[i], cuts_);
    }
    std::vector<std::string> reasons() const override {
        std::vector<std::string> out;
        double cumulative = 0;
        for (std::size_t k = 0; k < cuts_.size(); ++k) {
            cumulative += shares_[k];
            out.push_back("quantiles: " + source_ + " >= " + format_number(cuts_[k]) + " (top " +
                          format_number(100 * cumulative) + "%)");
        }
        out.push_back(cuts_.empty() ? "quantiles: single tier"
                                    : "quantiles: " + source_ + " < " + format_number(cuts_.back()));
        return out;
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override {
        return {{"shares", shares_}, {"cuts", cuts_}};
    }
    std::unique_ptr<Rule> clone() const override { return std::make_unique<QuantileRule>(*this); }
    ScoreCuts score_cuts() const override { return {source_, cuts_}; }
    const std::vector<double>& cuts() const noexcept { return cuts_; }
    /// Install cuts learned elsewhere (the out-of-core Fitter, fit_state.hpp), one per share.
    /// @throws InvalidInput when their number differs from the shares'.
    void set_cuts(std::vector<double> cuts) {
        if (cuts.size() != shares_.size())
            throw InvalidInput("quantiles: expected " + std::to_string(shares_.size()) + " cuts, got " + std::to_string(cuts.size()));
        cuts_ = std::move(cuts);
    }
    const std::string& source() const noexcept { return source_; }
    const std::vector<double>& shares() const noexcept { return shares_; }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("source", source_);
        ar& boost::serialization::make_nvp("shares", shares_);
        ar& boost::serialization::make_nvp("cuts", cuts_);
    }

private:
    std::string source_;
    std::vector<double> shares_;
    std::vector<double> cuts_;
};

}  // namespace tierkit

BOOST_CLASS_EXPORT_KEY2(tierkit::QuantileRule, "tierkit.rule.quantiles")
BOOST_CLASS_VERSION(tierkit::QuantileRule, 0)
