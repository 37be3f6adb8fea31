// The quantile rule's passes in a fit by chunks (fit/rule_state.hpp): a quantile
// sketch of its score or column (sketch mode), then in refine mode the exact counts of
// the buckets between the sketch's values and the values of the buckets holding a cut.
#include <cmath>
#include <limits>
#include <memory>

#include "tierkit/fit/rule_state.hpp"
#include "tierkit/rules/builtin/quantiles.hpp"

namespace tierkit {

namespace {

enum Pass : std::uint32_t { sketch_pass = 0, count_pass = 1, values_pass = 2 };

class QuantileState final : public RuleState {
public:
    QuantileState(const QuantileRule& rule, FitMode mode)
        : source_(rule.source()), shares_(rule.shares()), mode_(mode) {}
    std::unique_ptr<RuleState> clone() const override { return std::make_unique<QuantileState>(*this); }
    std::uint32_t first_pass() const override { return sketch_pass; }
    std::string pass_name(std::uint32_t pass) const override {
        return pass == sketch_pass ? "rule" : pass == count_pass ? "rule_count" : "rule_values";
    }

    void update(std::uint32_t pass, const RuleInput& input, const RuleFitContext& context, const RefineBuckets& buckets,
                PartialState& out) const override {
        const auto v = finite_values(input, source_);
        if (pass == sketch_pass) {
            QuantileSketch q(context.options.sketch_k);
            for (double x : v) q.add(x);
            out.sketches.push_back(std::move(q));
        } else if (pass == count_pass) {
            out.buckets.emplace_back();
            count_buckets(buckets.bounds.at(0), v, out.buckets.back());
        } else {
            out.values.push_back(values_in(buckets.bounds.at(0), buckets.wanted.at(0), v));
        }
    }

    bool has_layout(std::uint32_t pass, const PartialState& total, const RefineBuckets& buckets) const override {
        if (pass == sketch_pass) return total.sketches.size() == 1;
        if (pass == values_pass) return total.values.size() == buckets.counts.size();
        bool ok = total.buckets.size() == buckets.bounds.size();
        for (std::size_t j = 0; ok && j < buckets.bounds.size(); ++j)
            ok = total.buckets[j].empty() || total.buckets[j].size() == 2 * buckets.bounds[j].size() + 1;
        return ok;
    }

    std::uint32_t advance(std::uint32_t pass, const PartialState& total, const RuleFitContext& /*context*/,
                          RefineBuckets& buckets) override {
        if (pass == sketch_pass) {
            const QuantileSketch& q = total.sketches.at(0);
            const double n = static_cast<double>(q.count());
            if (q.count() == 0) throw InvalidInput("fit: the table has no rows");
            // The sketch's cuts (refine mode replaces them with exact ones).
            cuts_.clear();
            for (double r : cut_ranks(n))
                cuts_.push_back(r < 0 ? std::numeric_limits<double>::infinity() : q.at_rank(r));
            if (mode_ != FitMode::refine) return no_more_passes;
            buckets.bounds.assign(1, bounds_of(q, 0));
            buckets.counts.assign(1, {});
            buckets.wanted.assign(1, {});
            return count_pass;
        }
        if (pass == count_pass) {
            buckets.counts = total.buckets;
            buckets.pending = 0;
            buckets.wanted.assign(buckets.counts.size(), {});
            if (!buckets.counts.at(0).empty())
                buckets.want_ranks(0, [&](double n) {
                    std::vector<double> out;
                    for (double r : cut_ranks(n))
                        if (r >= 0) out.push_back(r);
                    return out;
                });
            if (buckets.any_wanted()) return values_pass;
            // Every cut is in a bucket of one value: done without gathering.
            const ValueCounts none;
            if (!buckets.counts.at(0).empty()) set_cuts(OrderIndex(buckets.bounds.at(0), buckets.counts.at(0), none));
            buckets.clear();
            return no_more_passes;
        }
        if (!buckets.counts.at(0).empty())
            set_cuts(OrderIndex(buckets.bounds.at(0), buckets.counts.at(0), total.values.at(0)));
        buckets.finish_values();
        return no_more_passes;
    }

    void finish(Rule& rule, const RuleFitContext& /*context*/) const override {
        dynamic_cast<QuantileRule&>(rule).set_cuts(cuts_);
    }
    void save(RuleStateRecord& record) const override { record.values = cuts_; }
    void load(const RuleStateRecord& record, const RefineBuckets& /*buckets*/) override { cuts_ = record.values; }

private:
    /// The cuts as ascending ranks of n rows (-1 for an empty tier), as QuantileRule::fit counts them.
    std::vector<double> cut_ranks(double n) const {
        std::vector<double> out;
        double cumulative = 0;
        for (double s : shares_) {
            cumulative += s;
            const double count = std::min(n, std::floor(cumulative * n + 0.5));
            out.push_back(count == 0 ? -1.0 : n - count);
        }
        return out;
    }
    void set_cuts(const OrderIndex& index) {
        cuts_.clear();
        for (double r : cut_ranks(index.rows()))
            cuts_.push_back(r < 0 ? std::numeric_limits<double>::infinity() : index.at(r).value);
    }

    std::string source_;
    std::vector<double> shares_;
    FitMode mode_;
    std::vector<double> cuts_;
};

}  // namespace

std::unique_ptr<RuleState> QuantileRule::make_state(const FitOptions& options) const {
    return std::make_unique<QuantileState>(*this, options.mode);
}

}  // namespace tierkit
