#pragma once
/// @file matrix.hpp
/// `matrix`: a value x potential grid. Each axis is a score or column cut into
/// bands (fixed `cuts`, descending, or quotas `shares` from the top, fitted like
/// `quantiles`); each cell names a tier.
///
/// @code{.json}
/// {"kind": "matrix",
///  "x": {"score": "value", "shares": [0.3]},
///  "y": {"score": "potential", "cuts": [50]},
///  "cells": [["strategic", "key"],
///            ["develop", "maintain"]]}
/// @endcode
/// cells[i][j] is the tier of x band i and y band j, band 0 being the highest.
/// 2x2 and 3x3 are usual; any size works.
#include <algorithm>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/vector.hpp>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tierkit/rules/rule.hpp"

namespace tierkit {

class MatrixRule : public Rule {
public:
    MatrixRule() = default;
    /// @param x,y band rules (thresholds or quantiles); @param cells row-major tier
    /// indices, x bands by y bands.
    MatrixRule(std::shared_ptr<Rule> x, std::shared_ptr<Rule> y, std::vector<std::int32_t> cells, std::size_t tiers)
        : x_(std::move(x)), y_(std::move(y)), cells_(std::move(cells)), tiers_(tiers) {}
    std::string kind() const override { return "matrix"; }
    std::size_t tiers() const override { return tiers_; }
    void fit(const RuleInput& input) override {
        x_->fit(input);
        y_->fit(input);
    }
    void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const override {
        const std::size_t n = input.table.rows();
        std::vector<std::int32_t> bx(n), by(n), scratch(n);
        x_->assign(input, bx, scratch);
        y_->assign(input, by, scratch);
        const auto ny = static_cast<std::int32_t>(y_->tiers());
        for (std::size_t i = 0; i < n; ++i) {
            reason[i] = bx[i] * ny + by[i];
            tier[i] = cells_[static_cast<std::size_t>(reason[i])];
        }
    }
    std::vector<std::string> reasons() const override {
        const auto rx = x_->reasons(), ry = y_->reasons();
        std::vector<std::string> out;
        for (std::size_t i = 0; i < rx.size(); ++i)
            for (std::size_t j = 0; j < ry.size(); ++j)
                out.push_back("matrix cell (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) + "): " + rx[i] +
                              "; " + ry[j]);
        return out;
    }
    std::vector<std::pair<std::string, std::vector<double>>> parameters() const override {
        std::vector<std::pair<std::string, std::vector<double>>> out;
        for (auto& [k, v] : x_->parameters()) out.emplace_back("x." + k, v);
        for (auto& [k, v] : y_->parameters()) out.emplace_back("y." + k, v);
        return out;
    }
    bool reads_every_column() const override { return x_->reads_every_column() || y_->reads_every_column(); }
    std::vector<std::string> inputs() const override {
        auto out = x_->inputs();
        for (auto& name : y_->inputs())
            if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
        return out;
    }
    std::unique_ptr<Rule> clone() const override {
        return std::make_unique<MatrixRule>(std::shared_ptr<Rule>(x_->clone()), std::shared_ptr<Rule>(y_->clone()),
                                            cells_, tiers_);
    }

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
        ar& boost::serialization::make_nvp("rule", boost::serialization::base_object<Rule>(*this));
        ar& boost::serialization::make_nvp("x", x_);
        ar& boost::serialization::make_nvp("y", y_);
        ar& boost::serialization::make_nvp("cells", cells_);
        ar& boost::serialization::make_nvp("tiers", tiers_);
    }

private:
    std::shared_ptr<Rule> x_, y_;
    std::vector<std::int32_t> cells_;
    std::size_t tiers_ = 0;
};

/// Factory for the registry. @throws PolicyError naming the JSON path.
std::unique_ptr<Rule> make_matrix_rule(const nlohmann::json& params, const std::string& path, std::size_t tiers);

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::MatrixRule, 0)
