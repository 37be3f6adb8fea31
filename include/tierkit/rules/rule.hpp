#pragma once
/// @file rule.hpp
/// The classification rule interface. A rule turns scores and feature columns into
/// an ordered tier index per customer (0 = the first, best tier) and a reason code
/// per customer (an index into reasons()).
///
/// Life cycle: a rule is built from its policy parameters, then fit() once on the
/// training data (cut points, shares...), then assign() any number of times. After
/// fit, a rule is immutable and assign() may run from many threads at once.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tierkit/table.hpp"

namespace tierkit {

/// What a rule sees: the feature table and the named composite scores (0..100).
struct RuleInput {
    const FeatureTable& table;
    const std::vector<std::string>& score_names;
    const std::vector<std::vector<double>>& scores;

    /// The values a rule reads: a score by name, else a feature column.
    /// @throws UnknownColumn listing scores and columns.
    std::span<const double> values(const std::string& name) const {
        for (std::size_t k = 0; k < score_names.size(); ++k)
            if (score_names[k] == name) return scores[k];
        if (table.has(name)) return table.column(name);
        std::string msg = "unknown score or column '" + name + "'; scores: ";
        for (std::size_t k = 0; k < score_names.size(); ++k) msg += (k ? ", " : "") + score_names[k];
        msg += "; columns: ";
        auto cols = table.names();
        for (std::size_t k = 0; k < cols.size(); ++k) msg += (k ? ", " : "") + cols[k];
        throw UnknownColumn(msg);
    }
};

class Rule {
public:
    virtual ~Rule() = default;
    /// The registry name of the rule ("thresholds", "quantiles", "abc", ...).
    virtual std::string kind() const = 0;
    /// Number of tiers the rule produces.
    virtual std::size_t tiers() const = 0;
    /// Learn from the training data. Rules without parameters to learn do nothing.
    virtual void fit(const RuleInput& input) = 0;
    /// Write a tier index and a reason code for every row.
    virtual void assign(const RuleInput& input, std::span<std::int32_t> tier,
                        std::span<std::int32_t> reason) const = 0;
    /// Human-readable reason per reason code (after fit).
    virtual std::vector<std::string> reasons() const = 0;
    /// Learned parameters for display: name -> values (e.g. "cuts").
    virtual std::vector<std::pair<std::string, std::vector<double>>> parameters() const = 0;
    virtual std::unique_ptr<Rule> clone() const = 0;
};

/// Format a number for a reason text: up to 6 significant digits.
std::string format_number(double v);

}  // namespace tierkit
