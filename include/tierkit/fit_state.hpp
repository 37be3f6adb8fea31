#pragma once
/// @file fit_state.hpp
/// Fitting a policy over chunks of customers (partitions of a Dask or Spark data
/// frame, files read one at a time): mergeable states.
///
/// A Fitter runs the fit in passes. Each pass reads every chunk once:
///   PartialState s = fitter.update(chunk)      (on the worker that holds the chunk)
///   s = Fitter::merge(s1, s2)                  (any tree of merges)
///   fitter.advance(s)                          (on the client: finish the pass)
/// until fitter.done(); then fitter.model(). Fitter and PartialState serialize to
/// bytes (to_bytes / from_bytes) to be shipped to workers and back.
///
/// ## Modes
/// - exact (one pass): every chunk's feature rows are gathered, and the model is
///   fit(policy, rows) on the client. The result is bit-identical to a fit on the
///   whole table when the chunks are merged in table order (merge(a, b) puts a's
///   rows before b's; Dask and Spark reductions keep partition order), for every
///   rule and the clv section. Memory: one row per customer of the used columns on
///   the client, never the transactions. Merge order changes only the row order:
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
///   4. rule: quantiles - a sketch of the score (or column); abc - a sketch of the
///      column, then a pass adding up the exact value mass and minimum of the customers
///      between consecutive sketch values (so a class boundary is off by at most the
///      customers of one such bin, and exact when the column has few distinct values); kmeans - a bottom-k sample by hashed
///      customer id seeds k-means++ (as fit() does on all rows), then every Lloyd
///      iteration is one pass of per-cluster sums and counts (a map-reduce); the
///      iterations stop when the squared centroid shift is <= tol * the data's mean
///      variance or after max_iter (an empty cluster keeps its centroid; the inertia
///      is the last pass's, against the centroids before their last move);
///      thresholds - nothing to learn.
///   Rules that need every row (rfm_segments, expression with pct(), chain, matrix,
///   override, group_by, kmeans with "k": "auto") cannot be fitted in sketch mode:
///   the Fitter's constructor throws a PolicyError naming them (use the exact mode).
///   So does a policy with privacy.min_group > 1 (privacy.hpp).
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
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <optional>

#include "tierkit/clv/engine.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/exact_sum.hpp"
#include "tierkit/model.hpp"

namespace tierkit {

/// A mergeable quantile sketch of doubles (see the file comment).
class QuantileSketch {
public:
    static constexpr std::uint32_t default_k = 1024;

    /// @throws InvalidInput when k < 8.
    explicit QuantileSketch(std::uint32_t k = default_k);
    /// Add one finite value.
    void add(double x);
    /// Add every value of `other` (of the same k).
    /// @throws InvalidInput when the capacities differ.
    void merge(const QuantileSketch& other);
    std::uint64_t count() const noexcept { return n_; }
    std::uint32_t capacity() const noexcept { return k_; }
    /// Distinct values ascending with their weights (the weights sum to count()).
    std::vector<std::pair<double, double>> items() const;
    /// An estimate of sorted[r] (0-based ascending rank r < count()).
    double at_rank(double r) const;
    /// An estimate of numpy's linear-interpolation quantile q in [0, 1].
    double quantile(double q) const;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& k_;
        ar& n_;
        ar& coin_;
        ar& levels_;
        if constexpr (Archive::is_loading::value) {
            std::uint64_t weight = 0;
            for (std::size_t h = 0; h < levels_.size() && h < 64; ++h) weight += levels_[h].size() << h;
            if (k_ < 8 || levels_.size() > 64 || weight != n_)
                throw FormatError("quantile sketch: capacity " + std::to_string(k_) + " or item weights do not add up to the count " +
                                  std::to_string(n_));
        }
    }

private:
    void compress();
    std::uint32_t k_ = default_k;
    std::uint64_t n_ = 0;
    std::uint64_t coin_ = 0;
    std::vector<std::vector<double>> levels_;  ///< level h holds items of weight 2^h
};

/// Count, min, max, mean and the sum of squared deviations (Chan et al.'s merge).
struct Moments {
    double n = 0, mean = 0, m2 = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    void add(double x) noexcept;
    void merge(const Moments& o) noexcept;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& n;
        ar& mean;
        ar& m2;
        ar& min;
        ar& max;
    }
};

enum class FitMode { exact, sketch, refine };

struct FitOptions {
    FitMode mode = FitMode::exact;
    std::uint32_t sketch_k = QuantileSketch::default_k;
    /// kmeans in sketch mode: rows of the bottom-k sample that seeds k-means++.
    std::uint32_t kmeans_sample = 4096;
    /// refine mode: about how many buckets split a percentile, bins or robust
    /// criterion (whose up to max_knots percentile knots are each a target rank):
    /// its values pass gathers about 1.3 * max_knots * (1 + n / min(n, refine_buckets))
    /// rows (see the file comment).
    std::uint32_t refine_buckets = 1u << 18;
};

/// Distinct values ascending with their row counts, merged by adding counts. With a
/// cap, more than `cap` distinct values make it `overflow` (and empty).
struct ValueCounts {
    std::vector<double> values;
    std::vector<double> counts;
    std::uint32_t cap = 0;  ///< 0: no cap
    bool overflow = false;

    /// From any values (sorted and counted here).
    static ValueCounts of(std::vector<double> values, std::uint32_t cap);
    void merge(const ValueCounts& other);
    double rows() const noexcept;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& values;
        ar& counts;
        ar& cap;
        ar& overflow;
        if constexpr (Archive::is_loading::value) {
            if (values.size() != counts.size() || (cap && values.size() > cap) || !std::is_sorted(values.begin(), values.end()))
                throw FormatError("value counts: " + std::to_string(values.size()) + " values, " + std::to_string(counts.size()) +
                                  " counts, cap " + std::to_string(cap) + " (or unsorted values)");
        }
    }
};

/// What one pass learned from some chunks. Merge with Fitter::merge.
struct PartialState {
    std::uint32_t stage = 0;  ///< the Fitter stage it belongs to
    FitMode mode = FitMode::exact;
    // exact: the gathered rows
    std::vector<std::int64_t> ids;
    std::vector<std::string> names;
    std::vector<std::vector<double>> columns;
    std::vector<std::string> category_names;
    std::vector<std::vector<std::int32_t>> category_codes;
    std::vector<std::vector<std::string>> category_labels;
    // sketch
    std::vector<Moments> moments;
    std::vector<QuantileSketch> sketches;
    std::vector<double> sums;
    std::vector<double> lows, highs;
    std::vector<std::uint64_t> sample_keys;  ///< kmeans: hashed id, ascending
    std::vector<std::int64_t> sample_ids;
    std::vector<double> sample_points;       ///< row-major, one row per key
    std::uint32_t sample_capacity = 0;       ///< rows the sample keeps at most
    std::vector<clv::RfmPatterns> rfm;       ///< clv: (frequency, recency, T) patterns
    std::vector<clv::SpendPatterns> spend;   ///< clv: (frequency, monetary value) patterns
    // refine
    std::vector<ExactSum> exact_sums;            ///< per criterion: sum, then squared deviations
    std::vector<std::vector<double>> buckets;    ///< per column: exact row counts of the buckets
    std::vector<ValueCounts> values;             ///< per column: distinct values (capped) or collected ones

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& stage;
        ar& mode;
        ar& ids;
        ar& names;
        ar& columns;
        ar& category_names;
        ar& category_codes;
        ar& category_labels;
        ar& moments;
        ar& sketches;
        ar& sums;
        ar& lows;
        ar& highs;
        ar& sample_keys;
        ar& sample_ids;
        ar& sample_points;
        ar& sample_capacity;
        ar& rfm;
        ar& spend;
        ar& exact_sums;
        ar& buckets;
        ar& values;
    }

    /// A 24-byte envelope (magic "TKSTATE\0", format version, payload length, CRC-32)
    /// then a Boost binary archive (same platform only, like binary model archives).
    std::string to_bytes() const;
    /// @throws FormatError for a bad magic, version, length or checksum.
    static PartialState from_bytes(const std::string& bytes);
};

/// The multi-pass fitter (see the file comment).
class Fitter {
public:
    /// @throws PolicyError in sketch or refine mode for a rule (or weighting) that
    ///   mode cannot fit (see the file comment), naming it.
    explicit Fitter(Policy policy, FitOptions options = {});

    bool done() const noexcept;
    /// The current pass: "gather", "clv", "clip", "clip_count", "clip_values",
    /// "criteria", "criteria_count", "criteria_values", "weights", "rule",
    /// "rule_count", "rule_values", "abc_mass", "kmeans_seed", "lloyd" or "done".
    std::string stage() const;
    /// Passes finished so far.
    std::uint32_t passes() const noexcept { return passes_; }
    /// refine mode: the rows whose values the "_values" passes gathered so far (the
    /// rows of the buckets holding a target rank), summed over those passes.
    double collected_rows() const noexcept { return collected_rows_; }
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
    /// The fitted model. @throws PolicyError unless done().
    Model model() const;

    /// Envelope as PartialState's ("TKFITTR\0") then a Boost binary archive.
    std::string to_bytes() const;
    /// @throws FormatError as PartialState::from_bytes, PolicyError for a bad policy.
    static Fitter from_bytes(const std::string& bytes);

private:
    friend struct FitterAccess;
    Fitter() = default;
    void next_stage();
    void finish_weights(const PartialState* total);
    /// refine, abc: the count pass and the values pass (false for another rule).
    bool abc_count(const PartialState& total);
    bool abc_values(const PartialState& total);
    /// @throws InvalidInput unless `total` has the sizes the current pass makes.
    void check_layout(const PartialState& total) const;

    Policy policy_ = Policy::default_policy();
    FitOptions options_;
    std::uint32_t stage_ = 0;
    std::uint32_t passes_ = 0;
    std::vector<FittedScore> scores_;
    std::vector<double> rule_values_;  ///< quantile cuts or abc thresholds
    std::vector<double> centroids_;    ///< kmeans: current centroids, row-major
    std::vector<std::string> kmeans_names_;
    std::vector<double> kmeans_weights_;
    double mean_variance_ = 0, inertia_ = 0;
    std::int32_t iterations_ = 0;
    std::string model_bytes_;          ///< exact mode: the fitted model
    std::vector<double> grid_;         ///< abc: bin edges for the mass pass
    std::optional<clv::FittedClv> clv_;  ///< the clv section's models (after the clv pass)
    // refine: per column of the current stage, the bucket bounds (distinct sketch
    // values), the exact bucket counts and the open buckets whose values are gathered.
    std::vector<std::vector<double>> bounds_;
    std::vector<std::vector<double>> counts_;
    std::vector<std::vector<double>> wanted_;
    double collected_rows_ = 0;
    double collected_pending_ = 0;  ///< rows of the buckets the next values pass gathers
    // refine, abc: the exact total, and per cut the bucket holding its class boundary
    // (-1 when known) with the exact sum of the values above that bucket.
    double abc_total_ = 0;
    std::vector<double> abc_bucket_;
    std::vector<ExactSum> abc_before_;
};

/// Convenience: run a Fitter over in-memory chunks (each pass reads every chunk,
/// merges left to right).
Model fit_chunks(const Policy& policy, std::span<const FeatureTable> chunks, FitOptions options = {});

}  // namespace tierkit
