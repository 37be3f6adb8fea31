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
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tierkit/privacy.hpp"
#include "tierkit/rules/cuts.hpp"

namespace tierkit {

namespace detail {

/// The r-th largest value of v for each r in `ranks` (1-based, each in 1..v.size()),
/// the same value a full descending sort would put at position r - 1. One parallel
/// pass for the range, one for a histogram over 2^16 equal-width value buckets (the
/// bucket of a value never decreases with the value), then a selection among the
/// values of the one bucket that holds each rank. Non-finite values, or a range wider
/// than a double holds, fall back to a selection over all rows.
inline std::vector<double> largest_at_ranks(std::span<const double> v, const std::vector<std::size_t>& ranks) {
    const std::size_t n = v.size();
    std::vector<double> out(ranks.size(), std::numeric_limits<double>::quiet_NaN());
    if (n == 0 || ranks.empty()) return out;
    const std::size_t chunks = std::max<std::size_t>(1, std::min<std::size_t>(num_threads(), n >> 16));
    auto rows = [&](std::size_t c) { return std::pair{n * c / chunks, n * (c + 1) / chunks}; };
    std::vector<double> lo(chunks, std::numeric_limits<double>::infinity()),
        hi(chunks, -std::numeric_limits<double>::infinity());
    std::vector<std::uint8_t> finite(chunks, 1);
    parallel_for(
        chunks,
        [&](std::size_t c0, std::size_t c1) {
            for (std::size_t c = c0; c < c1; ++c) {
                const auto [b, e] = rows(c);
                for (std::size_t i = b; i < e; ++i) {
                    if (!std::isfinite(v[i])) finite[c] = 0;
                    lo[c] = std::min(lo[c], v[i]);
                    hi[c] = std::max(hi[c], v[i]);
                }
            }
        },
        1);
    const double min = *std::min_element(lo.begin(), lo.end()), max = *std::max_element(hi.begin(), hi.end());
    // Non-finite values, or a range too wide for a double (max - min overflows): select
    // among all rows.
    if (std::find(finite.begin(), finite.end(), 0) != finite.end() || !std::isfinite(max - min)) {
        std::vector<double> all(v.begin(), v.end());
        for (std::size_t j = 0; j < ranks.size(); ++j) {
            std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(ranks[j] - 1), all.end(),
                             std::greater<>());
            out[j] = all[ranks[j] - 1];
        }
        return out;
    }
    if (!(max > min)) return std::vector<double>(ranks.size(), min);
    constexpr std::size_t buckets = std::size_t{1} << 16;
    const double scale = static_cast<double>(buckets) / (max - min);
    auto bucket = [&](double x) { return std::min(buckets - 1, static_cast<std::size_t>((x - min) * scale)); };
    std::vector<std::vector<std::uint32_t>> partial(chunks, std::vector<std::uint32_t>(buckets, 0));
    parallel_for(
        chunks,
        [&](std::size_t c0, std::size_t c1) {
            for (std::size_t c = c0; c < c1; ++c) {
                const auto [b, e] = rows(c);
                auto& h = partial[c];
                for (std::size_t i = b; i < e; ++i) ++h[bucket(v[i])];
            }
        },
        1);
    std::vector<std::size_t> count(buckets, 0);
    for (const auto& h : partial)
        for (std::size_t b = 0; b < buckets; ++b) count[b] += h[b];
    // The bucket of each rank and the rank within it (from the top).
    std::vector<std::size_t> at(ranks.size()), within(ranks.size());
    for (std::size_t j = 0; j < ranks.size(); ++j) {
        std::size_t above = 0, b = buckets;
        while (b > 0 && above + count[b - 1] < ranks[j]) above += count[--b];
        at[j] = b - 1;
        within[j] = ranks[j] - above;
    }
    std::vector<std::size_t> wanted(at);
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    std::vector<std::vector<std::vector<double>>> gathered(chunks, std::vector<std::vector<double>>(wanted.size()));
    parallel_for(
        chunks,
        [&](std::size_t c0, std::size_t c1) {
            for (std::size_t c = c0; c < c1; ++c) {
                const auto [b, e] = rows(c);
                for (std::size_t i = b; i < e; ++i) {
                    const auto it = std::lower_bound(wanted.begin(), wanted.end(), bucket(v[i]));
                    if (it != wanted.end() && *it == bucket(v[i]))
                        gathered[c][static_cast<std::size_t>(it - wanted.begin())].push_back(v[i]);
                }
            }
        },
        1);
    for (std::size_t j = 0; j < ranks.size(); ++j) {
        const auto w = static_cast<std::size_t>(std::lower_bound(wanted.begin(), wanted.end(), at[j]) - wanted.begin());
        std::vector<double> values;
        for (const auto& g : gathered) values.insert(values.end(), g[w].begin(), g[w].end());
        std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(within[j] - 1), values.end(),
                         std::greater<>());
        out[j] = values[within[j] - 1];
    }
    return out;
}

}  // namespace detail

class QuantileRule : public Rule {
public:
    QuantileRule() = default;  ///< for loading
    /// @param shares per-tier shares of the first tiers (each in (0, 1], sum <= 1).
    QuantileRule(std::string source, std::vector<double> shares)
        : source_(std::move(source)), shares_(std::move(shares)) {}
    std::string kind() const override { return "quantiles"; }
    std::size_t tiers() const override { return shares_.size() + 1; }
    void fit(const RuleInput& input) override {
        const auto v = input.values(source_);
        // Only the order statistics at the cuts are needed (no sort).
        std::vector<std::size_t> ranks;
        double cumulative = 0;
        for (double s : shares_) {
            cumulative += s;
            ranks.push_back(static_cast<std::size_t>(std::min<double>(
                static_cast<double>(v.size()), std::floor(cumulative * static_cast<double>(v.size()) + 0.5))));
        }
        std::vector<std::size_t> positive;
        for (auto r : ranks)
            if (r > 0) positive.push_back(r);
        const auto values = detail::largest_at_ranks(v, positive);
        cuts_.clear();
        for (std::size_t j = 0, k = 0; j < ranks.size(); ++j)
            cuts_.push_back(ranks[j] == 0 ? std::numeric_limits<double>::infinity() : values[k++]);
        if (input.min_group > 1) {
            // privacy.hpp: a cut is the value of the group of >= min_group rows holding it.
            std::vector<double> order(v.begin(), v.end());
            std::sort(order.begin(), order.end());
            to_group_values(cuts_, order, input.min_group);
        }
    }
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        assign_by_cuts(input.values(source_), cuts_, tier, reason);
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
    std::vector<std::string> inputs() const override { return {source_}; }
    ScoreCuts score_cuts() const override { return {source_, cuts_}; }
    /// Its passes in a fit by chunks (fit/rule_state.hpp; defined in src/rules/builtin/quantiles_fit.cpp).
    std::unique_ptr<RuleState> make_state(const FitOptions& options) const override;
    /// The shares, then the rest (1 - their sum) for the last tier.
    std::vector<double> target_shares() const override {
        std::vector<double> out(shares_);
        double sum = 0;
        for (double s : shares_) sum += s;
        out.push_back(std::max(0.0, 1.0 - sum));
        return out;
    }
    bool defaults_to_main_score() const override { return true; }
    std::unique_ptr<RowAssigner> row_assigner(const RowLayout& layout) const override {
        return std::make_unique<CutsRowAssigner>(layout, source_, cuts_, kind());
    }
    /// The policy factory. @throws PolicyError naming `path`.
    static std::unique_ptr<Rule> from_json(const nlohmann::json& params, const std::string& path, std::size_t tiers);
    const std::vector<double>& cuts() const noexcept { return cuts_; }
    /// Install cuts learned elsewhere (the out-of-core Fitter, fit_state.hpp), one per share.
    /// @throws InvalidInput when their number differs from the shares'.
    void set_cuts(std::vector<double> cuts) {
        if (cuts.size() != shares_.size())
            throw InvalidInput("quantiles: expected " + std::to_string(shares_.size()) + " cuts, got " +
                               std::to_string(cuts.size()));
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

BOOST_CLASS_VERSION(tierkit::QuantileRule, 0)
