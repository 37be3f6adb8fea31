// The abc rule's passes in a fit by chunks (fit/rule_state.hpp).
//
// sketch mode: a quantile sketch of the column (negative values as 0); its distinct
// values become the lower edges of bins, and a second pass adds up each bin's exact
// value mass and minimum. Walking the bins from the highest finds each class boundary
// to within one bin (exact when every bin holds one distinct value).
// refine mode: after the sketch, the exact count and exact value mass (ExactSum) of
// every bucket between the sketch's values (at most 1024 bounds); walking them from
// the top finds the bucket where the running sum reaches each cut's share, as
// AbcRule::fit walks; a last pass gathers the values of those buckets when they hold
// more than one value, and walks them as fit() does.
#include <algorithm>
#include <limits>
#include <memory>

#include "tierkit/fit/rule_state.hpp"
#include "tierkit/rules/builtin/abc.hpp"

namespace tierkit {

namespace {

enum Pass : std::uint32_t { sketch_pass = 0, count_pass = 1, values_pass = 2, mass_pass = 3 };

/// abc keeps an exact sum (552 bytes) per refine bucket: at most this many bounds.
constexpr std::size_t max_bounds = 1024;

class AbcState final : public RuleState {
public:
    AbcState(const AbcRule& rule, FitMode mode) : source_(rule.source()), cuts_(rule.cuts()), mode_(mode) {}
    std::unique_ptr<RuleState> clone() const override { return std::make_unique<AbcState>(*this); }
    std::uint32_t first_pass() const override { return sketch_pass; }
    std::string pass_name(std::uint32_t pass) const override {
        switch (pass) {
            case sketch_pass:
                return "rule";
            case count_pass:
                return "rule_count";
            case values_pass:
                return "rule_values";
            default:
                return "abc_mass";
        }
    }

    void update(std::uint32_t pass, const RuleInput& input, const RuleFitContext& context, const RefineBuckets& buckets,
                PartialState& out) const override {
        const auto v = finite_values(input, source_);
        std::vector<double> x(v.begin(), v.end());
        for (double& e : x) e = std::max(e, 0.0);  // negative values count as 0
        switch (pass) {
            case sketch_pass: {
                QuantileSketch q(context.options.sketch_k);
                for (double e : x) q.add(e);
                out.sketches.push_back(std::move(q));
                break;
            }
            case mass_pass: {
                out.sums.assign(grid_.size(), 0.0);
                out.lows.assign(grid_.size(), std::numeric_limits<double>::infinity());
                out.highs.assign(grid_.size(), -std::numeric_limits<double>::infinity());
                for (double e : x) {
                    // The bin whose lower edge is the largest grid value <= e (the first bin below the grid).
                    const auto up = std::upper_bound(grid_.begin(), grid_.end(), e);
                    const std::size_t b = up == grid_.begin() ? 0 : static_cast<std::size_t>(up - grid_.begin()) - 1;
                    out.sums[b] += e;
                    out.lows[b] = std::min(out.lows[b], e);
                    out.highs[b] = std::max(out.highs[b], e);
                }
                break;
            }
            case values_pass:
                out.values.push_back(values_in(buckets.bounds.at(0), buckets.wanted.at(0), x));
                break;
            default: {
                const auto& bounds = buckets.bounds.at(0);
                out.buckets.emplace_back();
                count_buckets(bounds, x, out.buckets.back());
                out.exact_sums.resize(out.buckets.back().size());  // the exact value mass of every bucket
                for (double e : x) out.exact_sums[bucket_of(bounds, e)].add(e);
            }
        }
    }

    bool has_layout(std::uint32_t pass, const PartialState& total, const RefineBuckets& buckets) const override {
        switch (pass) {
            case sketch_pass:
                return total.sketches.size() == 1;
            case mass_pass:
                return total.sums.size() == grid_.size() && total.lows.size() == grid_.size() &&
                       total.highs.size() == grid_.size();
            case values_pass:
                return total.values.size() == buckets.counts.size();
            default: {
                bool ok = total.buckets.size() == buckets.bounds.size();
                for (std::size_t j = 0; ok && j < buckets.bounds.size(); ++j)
                    ok = total.buckets[j].empty() || total.buckets[j].size() == 2 * buckets.bounds[j].size() + 1;
                return ok && total.buckets.size() == 1 && total.exact_sums.size() == total.buckets[0].size();
            }
        }
    }

    std::uint32_t advance(std::uint32_t pass, const PartialState& total, const RuleFitContext& /*context*/,
                          RefineBuckets& buckets) override {
        switch (pass) {
            case sketch_pass: {
                const QuantileSketch& q = total.sketches.at(0);
                if (q.count() == 0) throw InvalidInput("fit: the table has no rows");
                thresholds_.clear();
                if (mode_ == FitMode::refine) {
                    buckets.bounds.assign(1, bounds_of(q, 0));
                    auto& b = buckets.bounds[0];
                    const std::size_t step = (b.size() + max_bounds - 1) / max_bounds;
                    std::vector<double> thin;
                    for (std::size_t i = 0; i < b.size(); i += step) thin.push_back(b[i]);
                    b = std::move(thin);
                    buckets.counts.assign(1, {});
                    buckets.wanted.assign(1, {});
                }
                // The sketch's distinct values become the lower edges of the mass pass's bins.
                grid_.clear();
                for (const auto& item : q.items()) grid_.push_back(item.first);
                return mode_ == FitMode::refine ? count_pass : mass_pass;
            }
            case mass_pass:
                walk_bins(total);
                return no_more_passes;
            case count_pass:
                buckets.counts = total.buckets;
                buckets.pending = 0;
                if (find_buckets(total, buckets)) return values_pass;
                walk_buckets(PartialState{}, buckets);
                buckets.clear();
                return no_more_passes;
            default:
                walk_buckets(total, buckets);
                buckets.finish_values();
                return no_more_passes;
        }
    }

    void finish(Rule& rule, const RuleFitContext& /*context*/) const override {
        dynamic_cast<AbcRule&>(rule).set_thresholds(thresholds_);
    }
    void save(RuleStateRecord& record) const override {
        record.values = thresholds_;
        record.grid = grid_;
        record.total = total_;
        record.open_buckets = bucket_;
        record.sums_above = above_;
    }
    void load(const RuleStateRecord& record, const RefineBuckets& buckets) override {
        if (record.sums_above.size() != record.open_buckets.size())
            throw FormatError("Fitter.from_bytes: abc buckets and sums differ in number");
        for (double b : record.open_buckets)
            if (b >= 0 && (buckets.bounds.empty() || !(b < static_cast<double>(2 * buckets.bounds[0].size() + 1))))
                throw FormatError("Fitter.from_bytes: abc bucket " + std::to_string(b) + " out of range");
        thresholds_ = record.values;
        grid_ = record.grid;
        total_ = record.total;
        bucket_ = record.open_buckets;
        above_ = record.sums_above;
    }

private:
    /// sketch mode: walk the bins from the highest, each as one block of customers, as
    /// AbcRule::fit walks the sorted column: a bin whose first customer starts below a
    /// cut's share is in that class, and its minimum bounds the class. Exact when every
    /// bin holds one distinct value; otherwise a bin straddling a cut joins the higher class.
    void walk_bins(const PartialState& total) {
        double sum = 0;
        for (double m : total.sums) sum += m;
        thresholds_.assign(cuts_.size(), std::numeric_limits<double>::infinity());
        if (sum > 0) {
            double before = 0;
            std::size_t cls = 0;
            for (std::size_t b = grid_.size(); b-- > 0 && cls < cuts_.size();) {
                if (!(total.lows[b] <= total.highs[b])) continue;  // empty bin
                while (cls < cuts_.size() && !(before < cuts_[cls] * sum)) ++cls;
                if (cls == cuts_.size()) break;
                for (std::size_t k = cls; k < cuts_.size(); ++k)
                    thresholds_[k] = std::min(thresholds_[k], total.lows[b]);
                before += total.sums[b];
            }
            for (auto& t : thresholds_)
                if (t <= 0) t = std::numeric_limits<double>::min();
        }
        grid_.clear();
    }

    /// refine: walk the buckets from the highest with the exact sum of the values above
    /// each: a cut's class boundary (the last value whose preceding sum is below the
    /// cut's share, as AbcRule::fit walks) lies in the bucket whose sum reaches the
    /// share. A bucket of one value gives the threshold; an open one is gathered next.
    /// Returns whether some bucket is to be gathered.
    bool find_buckets(const PartialState& total, RefineBuckets& buckets) {
        const auto& count = buckets.counts.at(0);
        const auto& bounds = buckets.bounds.at(0);
        ExactSum all;
        for (const auto& s : total.exact_sums) all.merge(s);
        total_ = all.value();
        thresholds_.assign(cuts_.size(), std::numeric_limits<double>::infinity());
        bucket_.assign(cuts_.size(), -1.0);
        above_.assign(cuts_.size(), ExactSum{});
        buckets.wanted.assign(1, {});
        auto& wanted = buckets.wanted[0];
        if (total_ > 0) {
            std::size_t lowest = 0;
            while (lowest < count.size() && count[lowest] == 0) ++lowest;
            std::vector<bool> found(cuts_.size(), false);
            ExactSum above;
            for (std::size_t b = count.size(); b-- > 0;) {
                if (count[b] == 0) continue;
                ExactSum after = above;
                after.merge(total.exact_sums[b]);
                for (std::size_t k = 0; k < cuts_.size(); ++k) {
                    if (found[k]) continue;
                    const double share = cuts_[k] * total_;
                    if (above.compare(share) >= 0) {
                        found[k] = true;  // no value before the share: an empty class (as fit())
                    } else if (after.compare(share) >= 0 || b == lowest) {
                        found[k] = true;
                        if (b % 2 == 1) {
                            thresholds_[k] = bounds[b / 2];  // a bucket of one value
                        } else {
                            bucket_[k] = static_cast<double>(b);
                            above_[k] = above;
                            wanted.push_back(static_cast<double>(b));
                            buckets.pending += count[b];
                        }
                    }
                }
                above = after;
            }
        }
        std::sort(wanted.begin(), wanted.end());
        const auto last = std::unique(wanted.begin(), wanted.end());
        for (auto it = last; it != wanted.end(); ++it) buckets.pending -= count[static_cast<std::size_t>(*it)];
        wanted.erase(last, wanted.end());
        return !wanted.empty();
    }

    /// refine: walk the gathered values of each open bucket, highest first, as fit() does.
    void walk_buckets(const PartialState& total, const RefineBuckets& buckets) {
        AbcRule walker(source_, cuts_);
        walker.set_thresholds(thresholds_);
        const auto& bounds = buckets.bounds.at(0);
        for (std::size_t k = 0; k < bucket_.size(); ++k) {
            if (bucket_[k] < 0) continue;
            // The gathered values of the bucket, highest first, each as often as it occurs.
            const auto i = static_cast<std::size_t>(bucket_[k]) / 2;
            const ValueCounts& v = total.values.at(0);
            std::vector<double> desc;
            for (std::size_t e = 0; e < v.values.size(); ++e)
                if ((i == 0 || v.values[e] > bounds[i - 1]) && (i == bounds.size() || v.values[e] < bounds[i]))
                    desc.insert(desc.end(), static_cast<std::size_t>(v.counts[e]), v.values[e]);
            std::reverse(desc.begin(), desc.end());
            walker.walk(desc, above_[k], total_, k, k + 1);
        }
        walker.keep_thresholds_positive();
        thresholds_ = walker.thresholds();
        bucket_.clear();
        above_.clear();
    }

    std::string source_;
    std::vector<double> cuts_;
    FitMode mode_;
    std::vector<double> thresholds_;  ///< the learned thresholds, one per cut
    std::vector<double> grid_;        ///< sketch mode: bin edges for the mass pass
    double total_ = 0;                ///< refine: the exact total
    std::vector<double> bucket_;      ///< refine, per cut: the bucket holding its boundary (-1: known)
    std::vector<ExactSum> above_;     ///< refine, per cut: the exact sum of the values above that bucket
};

}  // namespace

std::unique_ptr<RuleState> AbcRule::make_state(const FitOptions& options) const {
    return std::make_unique<AbcState>(*this, options.mode);
}

}  // namespace tierkit
