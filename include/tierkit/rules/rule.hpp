#pragma once
/// @file rule.hpp
/// The classification rule interface. A rule turns scores and feature columns into
/// an ordered tier index per customer (0 = the first, best tier) and a reason code
/// per customer (an index into reasons()).
///
/// Life cycle: a rule is built from its policy parameters, then fit() once on the
/// training data (cut points, shares...), then assign() any number of times. After
/// fit, a rule is immutable and assign() may run from many threads at once.
#include <algorithm>
#include <boost/serialization/access.hpp>
#include <boost/serialization/assume_abstract.hpp>
#include <boost/serialization/export.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/version.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tierkit/core/column.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/core/progress.hpp"
#include "tierkit/core/table.hpp"
#include "tierkit/rules/input.hpp"

namespace tierkit {

struct FitOptions;
class RuleState;

/// What a rule sees: the feature table and the named composite scores (0..100).
struct RuleInput {
    const FeatureTable& table;
    const std::vector<std::string>& score_names;
    /// The scores' columns (views of the caller's vectors, which outlive the input).
    ScoreViews scores;
    /// Normalized criteria per score, in the policy's score order; null unless the
    /// rule's needs_criteria() is true.
    const std::vector<CriteriaBlock>* criteria = nullptr;
    /// The policy's privacy.min_group (privacy.hpp): rows behind every value a rule
    /// learns from the data and stores (cut points, centroids). 1 = exact values.
    std::size_t min_group = 1;
    /// Where fit() reports the iterations of an iterative rule (kmeans); null = no
    /// reports (see progress.hpp). assign() ignores it.
    const Progress* progress = nullptr;

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

/// Cut points on one score or column: a value v is in tier k for the first k with
/// v >= cuts[k], else in the last tier (cuts descending). Re-tiering with hysteresis
/// applies its margins to these cuts. An empty source means the rule has none.
struct ScoreCuts {
    std::string source;
    std::vector<double> cuts;
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
    virtual void assign(const RuleInput& input, std::span<std::int32_t> tier, std::span<std::int32_t> reason) const = 0;
    /// Human-readable reason per reason code (after fit).
    virtual std::vector<std::string> reasons() const = 0;
    /// Learned parameters for display: name -> values (e.g. "cuts").
    virtual std::vector<std::pair<std::string, std::vector<double>>> parameters() const = 0;
    virtual std::unique_ptr<Rule> clone() const = 0;
    /// Extra per-customer output columns (e.g. RFM scores and cell), computed for
    /// the same rows as assign(). Default: none.
    virtual std::vector<std::pair<std::string, std::vector<double>>> extra_columns(const RuleInput&) const {
        return {};
    }
    /// Whether fit/assign read RuleInput::criteria.
    virtual bool needs_criteria() const { return false; }
    /// The score cut points the rule tiers by (after fit), when it is such a rule
    /// (thresholds, quantiles, abc). Default: none (empty source).
    virtual ScoreCuts score_cuts() const { return {}; }
    /// Per tier, the share of the customers the rule aims at (quotas), when it sets
    /// them (quantiles). Default: none (empty). tier_sizes.hpp calls a tier under half
    /// its quota starved.
    virtual std::vector<double> target_shares() const { return {}; }
    /// What a user should know about the rule as defined or fitted (e.g. segments that
    /// win no cell, so get no customer). Default: nothing.
    virtual std::vector<std::string> warnings() const { return {}; }
    /// The scores and table columns (numeric or categorical) the rule reads by name,
    /// in order of first use; Model::input_columns() keeps the ones that are not
    /// scores. A rule that reads feature columns overrides it. Default: none (the
    /// rule reads only the scores and criteria it is given).
    virtual std::vector<std::string> inputs() const { return {}; }
    /// The columns among inputs() that the rule reads as groups (table.category),
    /// whatever their type: a caller passes them as categories, numbers included.
    /// Nesting rules return their nested rules' group columns. Default: none.
    virtual std::vector<std::string> group_columns() const { return {}; }
    /// Whether the rule reads feature columns it cannot name before it runs (a host's
    /// callable handed the whole table): callers then pass every column, not only
    /// Model::input_columns(). Nesting rules return true when a nested rule does.
    /// Default: false.
    virtual bool reads_every_column() const { return false; }
    /// Whether the rule reads the policy's main (first) score when its policy object
    /// names neither "score" nor "column". The policy fills that score in, at the top
    /// level and inside chain, override, group_by and matrix alike. Default: false.
    virtual bool defaults_to_main_score() const { return false; }
    /// The rule's allocation-free one-customer path for a Scorer (scorer.hpp), bound
    /// to `layout`; null (the default) when the rule has none, and the Scorer then
    /// assigns a one-row table through assign(). Called after fit.
    /// @throws UnknownColumn when the rule reads a column not in the layout.
    virtual std::unique_ptr<RowAssigner> row_assigner(const RowLayout& /*layout*/) const { return nullptr; }
    /// The rule's state for a fit by chunks (fit/rule_state.hpp) with `options`' mode:
    /// its passes, merges and finish. Null (the default) when the rule needs every row
    /// at once: the Fitter's exact mode gathers the chunks and calls fit() on them.
    /// @throws PolicyError for options the rule cannot be fitted with by chunks.
    /// (Defined in src/fit/rule_state.cpp.)
    virtual std::unique_ptr<RuleState> make_state(const FitOptions& options) const;

    /// Boost.Serialization: a rule saves and loads inside a Model through a
    /// pointer to this base; each concrete rule serializes its base object and its
    /// own members, and is exported under a stable name (see rules/register.hpp).
    template <class Archive>
    void serialize(Archive&, unsigned /*version*/) {}
};

/// Appends the names of `more` that `out` does not hold yet, in order: how a rule
/// that nests others collects their inputs() and group_columns().
inline void append_new(std::vector<std::string>& out, std::vector<std::string> more) {
    for (auto& name : more)
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
}

}  // namespace tierkit

BOOST_SERIALIZATION_ASSUME_ABSTRACT(tierkit::Rule)
BOOST_CLASS_VERSION(tierkit::Rule, 0)
