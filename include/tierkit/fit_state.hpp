#pragma once
/// @file fit_state.hpp
/// Fitting a policy over chunks of customers (partitions of a Dask or Spark data
/// frame, files read one at a time): mergeable states. The Fitter is a generic
/// scheduler of passes; the sketches are in fit/sketch.hpp, a pass's state in
/// fit/partial_state.hpp, the refine buckets in fit/refine.hpp and a rule's part in
/// fit/rule_state.hpp.
///
/// A Fitter runs the fit in passes. Each pass reads every chunk once:
///   PartialState s = fitter.update(chunk)      (on the worker that holds the chunk)
///   s = Fitter::merge(s1, s2)                  (any tree of merges)
///   fitter.advance(s)                          (on the client: finish the pass)
/// until fitter.done(); then fitter.model(). Fitter and PartialState serialize to
/// bytes (to_bytes / from_bytes) to be shipped to workers and back. A pass over a
/// single chunk is fitter.advance(chunk); fit(policy, table) is the exact Fitter
/// advanced over its one chunk, the table, which that pass reads in place.
///
/// ## Modes
/// - exact (one pass): every chunk's feature rows are gathered, and the pass fits
///   every row on the client: the clv section, the criteria (in parallel), the
///   weights, then the rule on the whole table (its default gathering state). One
///   chunk is not gathered: advance(chunk) reads its columns where they are. The
///   result is bit-identical to fit() on the whole table when the chunks are merged
///   in table order (merge(a, b) puts a's rows before b's; Dask and Spark reductions
///   keep partition order), for every rule, the clv section, and value maps and
///   missing values (the gathered rows are the whole table). Memory: one row per
///   customer of the used columns on the client, never the transactions. Merge order changes only the row order:
///   n, min, max, mean, sd, median, IQR, percentile knots and the quantile and abc
///   cuts do not depend on it; entropy and CRITIC sums may differ in the last bits.
/// - sketch (out of core, 2 to 4 passes plus Lloyd iterations): each pass keeps
///   aggregates only, so the client's memory does not grow with the customers.
///   0. clv (only with a clv section): the (frequency, recency, T) and spend patterns
///      of clv/histogram.hpp, merged exactly; the CLV models are fitted on them as
///      fit() does (bit-identical parameters), and every later pass reads the chunk
///      with the clv columns added.
///   1. clip (only with clip): a quantile sketch of each clipped raw column.
///   2. criteria: count, min, max, mean and variance of each transformed criterion
///      (exact, merged with Chan's formula), and a quantile sketch for the robust,
///      percentile and bins normalizers (median, IQR and the percentile knots).
///   3. weights (only for entropy, CRITIC or TOPSIS): entropy's sum y and
///      sum y ln y, CRITIC's centred sums and cross-products, TOPSIS's ideal and
///      anti-ideal (min and max of the normalized values) - all exact merges.
///   4. rule: the passes of the rule's own state (Rule::make_state, fit/rule_state.hpp,
///      defined in the rule's src/rules/builtin/<kind>_fit.cpp); the Fitter only
///      schedules them. quantiles - a sketch of the score (or column); abc - a sketch of the
///      column, then a pass adding up the exact value mass and minimum of the customers
///      between consecutive sketch values (so a class boundary is off by at most the
///      customers of one such bin, and exact when the column has few distinct values); kmeans - a bottom-k sample by
///      hashed customer id seeds k-means++ (as fit() does on all rows), then every Lloyd iteration is one pass of
///      per-cluster sums and counts (a map-reduce); the iterations stop when the squared centroid shift is <= tol * the
///      data's mean variance or after max_iter (an empty cluster keeps its centroid; the inertia is the last pass's,
///      against the centroids before their last move); thresholds - nothing to learn.
///   A rule with no passes of its own, which needs every row (rfm_segments, expression
///   with pct(), chain, matrix, override, group_by, kmeans with "k": "auto", a host's
///   rule), gets the default gathering state: one pass gathers the rows of its scores,
///   criteria and input columns, and the rule is fitted on them as the exact mode fits
///   it on the same scores (chunks merged in table order). The client then holds those
///   rows. A policy with privacy.min_group unset or > 1 is refused (privacy.hpp).
/// - refine (out of core, exact): bounded state per pass like sketch, and the model of
///   fit() on all rows byte for byte, whatever the chunks and the merge tree (rows
///   may even come in any order). Each stage with order statistics (clip bounds;
///   median, IQR and percentile knots of the robust, percentile and bins criteria;
///   the quantile rule's cuts; the abc rule's class boundaries) runs up to 3 passes:
///   1. sketch ("clip", "criteria", "rule"): the sketch pass above; the criteria pass
///      also keeps the exact sum of each transformed criterion (ExactSum,
///      exact_sum.hpp), so the mean is fit_criterion's to the bit;
///   2. count ("clip_count", "criteria_count", "rule_count"): exact row counts of
///      buckets bounded by the sketch's values (a bucket for the rows equal to each
///      value, one for the rows strictly between two), merged by addition. A
///      criterion's buckets are split further by equally spaced bounds between
///      sketch values, min(n, refine_buckets) bounds in all; it also gets the exact
///      sum of squared deviations from its mean (the sd, to the bit) and its distinct
///      values with their counts while it has at most max_knots of them (then its
///      curve, median and IQR follow from them exactly). abc also gets each bucket's
///      exact value mass (at most 1024 bounds): walking them from the top finds the
///      bucket where the running sum reaches each cut's share, as AbcRule::fit walks;
///   3. values ("clip_values", "criteria_values", "rule_values"; only when needed):
///      the values of the buckets between two bounds that hold a target (the clip and
///      quartile ranks, the max_knots knot ranks, the cut ranks, abc's boundary
///      buckets), merged as sorted (value, count) lists. Each target then has its
///      exact value and the rows below and equal to it (ties included); a target in
///      a bucket of one value needs no values pass.
///   Memory: the client holds about 24 bytes per bound (a default percentile
///   criterion: up to 2^18 bounds, 6 MB) and the gathered values (collected_rows()): none
///   for a column with at most max_knots distinct values, a few buckets for clip,
///   quantile and abc targets, and for a column with more distinct values about
///   1.3 * max_knots * (1 + n / min(n, refine_buckets)) rows, as each of the 16385
///   knot ranks needs its own row plus the rest of its bucket: measured on 10^6
///   log-normal values (bench_fit_state.cpp) 10.5% of the rows at the default 2^18
///   buckets, 4.1% at 2^20 (the floor, max_knots rows, is 1.6%). Past about
///   refine_buckets rows the share stays near 1.3 * max_knots / refine_buckets of n:
///   raise refine_buckets with n (24 bytes per bound, on the client and in every
///   partition's count state).
///   Supports the thresholds, quantiles and abc rules, manual, ahp and TOPSIS scores
///   (TOPSIS's ideal and anti-ideal are exact maxima and minima) and the clv section.
///   Entropy and CRITIC weights (sums of logs and products in row order), kmeans,
///   privacy.min_group > 1 and what sketch mode refuses are refused with a PolicyError
///   naming them. fit_criterion's mean and sd and AbcRule's running shares use
///   ExactSum too: the exactly rounded sum, the same in any order and chunking.
///
/// ## What the bytes hold
/// A Fitter and a PartialState are working state shipped between a client and its
/// workers, not model files: in exact mode a PartialState carries the gathered rows
/// (ids included) and the sketches hold single values of the data. Keep them inside
/// the cluster; save and share the Model (model_io.hpp) instead.
///
/// ## The quantile sketch and its rank error
/// QuantileSketch is a compactor sketch in the manner of KLL (Karnin, Lang &
/// Liberty 2016) with equal capacity k on every level: a full level is sorted and
/// every other item (odd or even positions, by a deterministic coin) moves up with
/// twice the weight. Sketches merge level by level. It holds only values seen in
/// the data and keeps their total weight exactly (= the count), so:
/// - a quantile cut is always a value of the data, and customers tied at a cut stay
///   together in the higher tier exactly as in the exact fit;
/// - ties: a value's rank range is [less, less + equal) of the sketch's weights,
///   and the percentile curve gives tied values their average rank, as fit() does.
/// With the default k = 1024 the rank error of a returned quantile is at most 0.5%
/// of n (tested on 200,000 values in 1 and 16 chunks; typically below 0.1%). The
/// coin is a function of the sketch's own content, so the same chunks merged in the
/// same tree give the same bytes on every run.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tierkit/clv/engine.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/fit/partial_state.hpp"
#include "tierkit/fit/refine.hpp"
#include "tierkit/fit/rule_state.hpp"
#include "tierkit/fit/sketch.hpp"
#include "tierkit/model.hpp"

namespace tierkit {

/// The multi-pass fitter (see the file comment).
class Fitter {
public:
    /// @throws PolicyError in sketch or refine mode for a rule (or weighting) that
    ///   mode cannot fit (see the file comment), naming it.
    explicit Fitter(Policy policy, FitOptions options = {});

    bool done() const noexcept;
    /// The current pass: "gather", "clv", "clip", "clip_count", "clip_values",
    /// "criteria", "criteria_count", "criteria_values", "weights", one of the rule
    /// state's passes (RuleState::pass_name: "rule", "rule_count", "rule_values" and
    /// "abc_mass" of the cut rules, "kmeans_seed" and "lloyd" of kmeans) or "done".
    std::string stage() const;
    /// Passes finished so far.
    std::uint32_t passes() const noexcept { return passes_; }
    /// refine mode: the rows whose values the "_values" passes gathered so far (the
    /// rows of the buckets holding a target rank), summed over those passes.
    double collected_rows() const noexcept { return buckets_.collected_rows; }
    const FitOptions& options() const noexcept { return options_; }
    const Policy& policy() const noexcept { return policy_; }

    /// What the current pass learns from one chunk. Safe from many threads at once.
    /// @throws UnknownColumn, InvalidInput (NaN/inf naming column and row of the chunk),
    ///   PolicyError when done().
    PartialState update(const FeatureTable& chunk) const;
    /// Combine two states of the same pass (associative; exact statistics are also
    /// commutative; exact mode puts a's rows first). An empty PartialState{} is the identity.
    /// @throws InvalidInput when they belong to different passes or modes.
    static PartialState merge(const PartialState& a, const PartialState& b);
    /// Finish the current pass with the merged state of every chunk; starts the next.
    /// @throws InvalidInput when the state is of another pass or holds no rows, plus
    ///   what fit() throws.
    void advance(const PartialState& total);
    /// Finish the current pass with one chunk that holds every row: advance(update(chunk)),
    /// except that the exact mode's pass fits `chunk` in place, without gathering a
    /// copy of it (what fit() runs). `progress` gets the exact pass's long parts (progress.hpp).
    /// @throws as update() and advance(), and what fit() throws.
    void advance(const FeatureTable& chunk, const Progress* progress = nullptr);
    /// The fitted model. @throws PolicyError unless done().
    Model model() const&;
    /// The fitted model, moved out of the Fitter. @throws PolicyError unless done().
    Model model() &&;

    /// Envelope as PartialState's ("TKFITTR\0") then a Boost binary archive.
    std::string to_bytes() const;
    /// @throws FormatError as PartialState::from_bytes, PolicyError for a bad policy.
    static Fitter from_bytes(const std::string& bytes);

private:
    friend struct FitterAccess;
    Fitter() = default;
    void next_stage();
    /// Start the rule state's pass `pass` (no_more_passes: the fit is done).
    void enter_rule_pass(std::uint32_t pass);
    bool in_rule_pass() const noexcept;
    void finish_weights(const PartialState* total);
    /// The clip and criteria refine passes' advance.
    void refine_criteria(const PartialState& total);
    /// @throws InvalidInput unless `total` has the sizes the current pass makes.
    void check_layout(const PartialState& total) const;

    Policy policy_ = Policy::default_policy();
    FitOptions options_;
    std::uint32_t stage_ = 0;
    std::uint32_t passes_ = 0;
    std::vector<FittedScore> scores_;
    std::optional<Model> model_;         ///< exact mode: the fitted model
    std::optional<clv::FittedClv> clv_;  ///< the clv section's models (after the clv pass)
    /// refine: the bucket state of the current stage's columns (criteria or the rule's).
    RefineBuckets buckets_;
    /// sketch and refine: the policy's rule (not fitted) and its state.
    std::shared_ptr<const Rule> rule_;
    RuleStatePtr rule_state_;
};

/// Convenience: run a Fitter over in-memory chunks (each pass reads every chunk,
/// merges left to right).
Model fit_chunks(const Policy& policy, std::span<const FeatureTable> chunks, FitOptions options = {});

}  // namespace tierkit
