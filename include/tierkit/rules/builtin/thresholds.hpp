#pragma once
/// @file thresholds.hpp
/// `thresholds`: fixed cut points on a score (or column) -> ordered tiers.
///
/// Policy: {"kind": "thresholds", "score": "value", "cuts": [80, 60, 30]}
/// Cuts are strictly descending, one fewer than the tiers: value >= 80 -> tier 0,
/// >= 60 -> tier 1, >= 30 -> tier 2, else tier 3. A value equal to a cut belongs to
/// the higher tier.
#include <algorithm>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cmath>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tierkit/core/parallel.hpp"
#include "tierkit/rules/cuts.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

class ThresholdRule : public Rule {
public:
    ThresholdRule() = default;  ///< for loading
    /// @param source score or column name; @param cuts strictly descending.
    ThresholdRule(std::string source, std::vector<double> cuts) : source_(std::move(source)), cuts_(std::move(cuts)) {}
    std::string kind() const override { return "thresholds"; }
    std::size_t tiers() const override { return cuts_.size() + 1; }
    void fit(const RuleInput&) override {}
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        assign_by_cuts(input.values(source_), cuts_, tier, reason);
    }
    std::vector<std::string> reasons() const override {
        std::vector<std::string> out;
        for (double c : cuts_) out.push_back("thresholds: " + source_ + " >= " + format_number(c));
        out.push_back("thresholds: " + source_ + " < " + format_number(cuts_.empty() ? 0.0 : cuts_.back()));
        if (cuts_.empty()) out.back() = "thresholds: single tier";
        return out;
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override { return {{"cuts", cuts_}}; }
    std::unique_ptr<Rule> clone() const override { return std::make_unique<ThresholdRule>(*this); }
    std::vector<std::string> inputs() const override { return {source_}; }
    ScoreCuts score_cuts() const override { return {source_, cuts_}; }
    bool defaults_to_main_score() const override { return true; }
    /// Nothing to learn in a fit by chunks: no passes (defined in src/rules/builtin/thresholds.cpp).
    std::unique_ptr<RuleState> make_state(const FitOptions& options) const override;
    std::unique_ptr<RowAssigner> row_assigner(const RowLayout& layout) const override {
        return std::make_unique<CutsRowAssigner>(layout, source_, cuts_, kind());
    }
    /// The policy factory: {"cuts": [...], "score" | "column"}. @throws PolicyError naming `path`.
    static std::unique_ptr<Rule> from_json(const nlohmann::json& params, const std::string& path, std::size_t tiers);
    const std::string& source() const noexcept { return source_; }
    const std::vector<double>& cuts() const noexcept { return cuts_; }

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("source", source_);
        ar& boost::serialization::make_nvp("cuts", cuts_);
    }

private:
    std::string source_;
    std::vector<double> cuts_;
};

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::ThresholdRule, 0)
