#pragma once
/// @file rule_state.hpp
/// A rule's part of a fit by chunks (fit_state.hpp): its own passes over the chunks.
///
/// The Fitter schedules passes without knowing any rule. After the criteria and
/// weights passes it asks the rule's state (Rule::make_state) for the rule's passes:
///   pass = state.first_pass()
///   while pass != no_more_passes:
///     out = state.update(pass, chunk)   on each chunk (any thread), into a PartialState
///     total = merge of the outs        field by field (partial_state.hpp)
///     pass = state.advance(pass, total) on the client
///   state.finish(rule)                  the learned values into the fitted rule
/// Exact, sketch and refine are the state's business: Rule::make_state gets the fit
/// options and returns null when the rule cannot be fitted that way out of core.
/// The exact mode gathers the chunks and calls Rule::fit on the whole table. In
/// sketch mode a rule with no passes of its own (Rule::make_state's default) gets
/// the default gathering state: one pass gathers the rows of what the rule reads
/// (its scores, normalized criteria and input columns), and finish() calls Rule::fit
/// on them, so the rule is fitted on every row exactly as the exact mode fits it on
/// the same scores (rows merged in table order). Its memory grows with the rows.
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/exact_sum.hpp"
#include "tierkit/fit/partial_state.hpp"
#include "tierkit/fit/refine.hpp"
#include "tierkit/fit/sketch.hpp"
#include "tierkit/model.hpp"
#include "tierkit/rules/rule.hpp"

namespace tierkit {

/// A rule state numbers its passes 0 .. max_rule_passes - 1 (a Fitter's bytes hold the
/// number); no_more_passes ends the rule's part.
inline constexpr std::uint32_t max_rule_passes = 6;
inline constexpr std::uint32_t no_more_passes = max_rule_passes;

/// What a rule state keeps between passes, as a Fitter's bytes hold it (the format of
/// the first Fitter states, which still load): a state uses the fields it needs and
/// leaves the others empty.
struct RuleStateRecord {
    std::vector<double> values;  ///< learned values (cuts, thresholds)
    std::vector<double> points;  ///< points (centroids), row-major
    std::vector<std::string> names;
    std::vector<double> weights;
    double scale = 0, objective = 0;
    std::int32_t iterations = 0;
    std::vector<double> grid;  ///< edges of bins for a later pass
    double total = 0;
    std::vector<double> open_buckets;  ///< per target, the refine bucket holding it (-1: known)
    std::vector<ExactSum> sums_above;  ///< per target, the exact sum above its bucket
    PartialState rows;                 ///< a gathering state's rows (Fitter bytes of format 1 on)
};

/// What the Fitter lends a rule state's passes.
struct RuleFitContext {
    const FitOptions& options;
    const std::vector<FittedScore>& scores;  ///< the fitted scores (criteria and weights)
};

class RuleState {
public:
    virtual ~RuleState() = default;
    virtual std::unique_ptr<RuleState> clone() const = 0;
    /// The rule's first pass, or no_more_passes when it learns nothing from chunks.
    virtual std::uint32_t first_pass() const = 0;
    /// The name of a pass (Fitter::stage()).
    virtual std::string pass_name(std::uint32_t pass) const = 0;
    /// What `pass` learns from one chunk (input: its table, scores and, when the rule
    /// needs_criteria(), normalized criteria). Safe from many threads at once.
    /// @throws InvalidInput for values the rule cannot use, naming column and row.
    virtual void update(std::uint32_t pass, const RuleInput& input, const RuleFitContext& context,
                        const RefineBuckets& buckets, PartialState& out) const = 0;
    /// Whether `total` has the layout `pass` makes (a state read from bytes is checked).
    virtual bool has_layout(std::uint32_t pass, const PartialState& total, const RefineBuckets& buckets) const = 0;
    /// Finish `pass` with the merged state of every chunk; returns the next pass (or
    /// no_more_passes). @throws InvalidInput when the state holds no rows.
    virtual std::uint32_t advance(std::uint32_t pass, const PartialState& total, const RuleFitContext& context,
                                  RefineBuckets& buckets) = 0;
    /// Set the learned values on `rule` (the policy's rule, not fitted).
    /// @throws what Rule::fit throws, for a state that fits the rule itself.
    virtual void finish(Rule& rule, const RuleFitContext& context) const = 0;
    virtual void save(RuleStateRecord& record) const = 0;
    /// @throws FormatError when the record does not fit the rule or the buckets.
    virtual void load(const RuleStateRecord& record, const RefineBuckets& buckets) = 0;
};

/// A copyable owner of a rule state (a copy clones it).
class RuleStatePtr {
public:
    RuleStatePtr() = default;
    explicit RuleStatePtr(std::unique_ptr<RuleState> p) noexcept : p_(std::move(p)) {}
    RuleStatePtr(const RuleStatePtr& o) : p_(o.p_ ? o.p_->clone() : nullptr) {}
    RuleStatePtr(RuleStatePtr&&) noexcept = default;
    RuleStatePtr& operator=(const RuleStatePtr& o) {
        if (this != &o) p_ = o.p_ ? o.p_->clone() : nullptr;
        return *this;
    }
    RuleStatePtr& operator=(RuleStatePtr&&) noexcept = default;
    ~RuleStatePtr() = default;
    RuleState* operator->() const noexcept { return p_.get(); }
    RuleState& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    std::unique_ptr<RuleState> p_;
};

/// The state of a rule with nothing to learn from the data: no passes.
class FixedRuleState final : public RuleState {
public:
    std::unique_ptr<RuleState> clone() const override { return std::make_unique<FixedRuleState>(); }
    std::uint32_t first_pass() const override { return no_more_passes; }
    std::string pass_name(std::uint32_t) const override { return "done"; }
    void update(std::uint32_t, const RuleInput&, const RuleFitContext&, const RefineBuckets&,
                PartialState&) const override {}
    bool has_layout(std::uint32_t, const PartialState&, const RefineBuckets&) const override { return true; }
    std::uint32_t advance(std::uint32_t, const PartialState&, const RuleFitContext&, RefineBuckets&) override {
        return no_more_passes;
    }
    void finish(Rule&, const RuleFitContext&) const override {}
    void save(RuleStateRecord&) const override {}
    void load(const RuleStateRecord&, const RefineBuckets&) override {}
};

/// The default gathering state (see the file comment): one pass, "rule_gather", whose
/// chunks' states hold the rows of what the rule reads, merged by appending; finish()
/// fits the rule on them.
class GatheringRuleState final : public RuleState {
public:
    /// What `rule` reads: its inputs() (every column when reads_every_column()) and,
    /// when it needs_criteria(), the normalized criteria.
    explicit GatheringRuleState(const Rule& rule);
    std::unique_ptr<RuleState> clone() const override { return std::make_unique<GatheringRuleState>(*this); }
    std::uint32_t first_pass() const override { return 0; }
    std::string pass_name(std::uint32_t) const override { return "rule_gather"; }
    void update(std::uint32_t pass, const RuleInput& input, const RuleFitContext& context, const RefineBuckets& buckets,
                PartialState& out) const override;
    bool has_layout(std::uint32_t pass, const PartialState& total, const RefineBuckets& buckets) const override;
    std::uint32_t advance(std::uint32_t pass, const PartialState& total, const RuleFitContext& context,
                          RefineBuckets& buckets) override;
    void finish(Rule& rule, const RuleFitContext& context) const override;
    void save(RuleStateRecord& record) const override { record.rows = rows_; }
    void load(const RuleStateRecord& record, const RefineBuckets& buckets) override;

private:
    std::vector<std::string> inputs_;
    bool every_column_ = false;
    bool criteria_ = false;
    PartialState rows_;  ///< after the pass: every chunk's rows
};

/// `v`, a chunk's column, after checking that every value is finite.
/// @throws InvalidInput naming the column and the row of a NaN or inf.
inline std::span<const double> checked_finite(std::span<const double> v, const std::string& column) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i]))
            throw InvalidInput("column '" + column + "', row " + std::to_string(i) + ": must be a finite number, got " +
                               std::to_string(v[i]));
    return v;
}

/// The values a rule state reads by name (a score or a column), each finite.
/// @throws UnknownColumn, InvalidInput naming the column and the row of a NaN or inf.
inline std::span<const double> finite_values(const RuleInput& input, const std::string& source) {
    return checked_finite(input.values(source), source);
}

}  // namespace tierkit
