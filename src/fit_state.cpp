// The out-of-core Fitter: the quantile sketch, mergeable moments, the passes of the
// sketch mode and the exact (gathering) mode. See include/tierkit/fit_state.hpp.
#include "tierkit/fit_state.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>
#include <tuple>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "tierkit/core/envelope.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/random.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/rules/builtin/abc.hpp"
#include "tierkit/rules/builtin/kmeans.hpp"
#include "tierkit/rules/builtin/quantiles.hpp"
#include "tierkit/rules/builtin/thresholds.hpp"
#include "tierkit/scoring/weights.hpp"

#include "preset_weights.hpp"

namespace tierkit {

// ---- QuantileSketch -------------------------------------------------------------------

QuantileSketch::QuantileSketch(std::uint32_t k) : k_(k) {
    if (k < 8) throw InvalidInput("sketch_k: must be >= 8, got " + std::to_string(k));
}

void QuantileSketch::add(double x) {
    if (levels_.empty()) levels_.emplace_back();
    levels_[0].push_back(x);
    ++n_;
    if (levels_[0].size() >= k_) compress();
}

void QuantileSketch::compress() {
    for (std::size_t h = 0; h < levels_.size(); ++h) {
        auto& level = levels_[h];
        if (level.size() < k_) continue;
        std::sort(level.begin(), level.end());
        // An odd item stays behind (the largest), so the total weight is kept exactly.
        const std::size_t pairs = level.size() / 2;
        coin_ = splitmix64_hash(coin_ ^ (static_cast<std::uint64_t>(h) << 32) ^ level.size());
        const std::size_t offset = coin_ & 1;
        if (h + 1 == levels_.size()) levels_.emplace_back();
        auto& up = levels_[h + 1];  // (emplace_back may have moved `level`: index again)
        auto& here = levels_[h];
        for (std::size_t p = 0; p < pairs; ++p) up.push_back(here[2 * p + offset]);
        if (here.size() % 2) {
            const double last = here.back();
            here.assign(1, last);
        } else {
            here.clear();
        }
    }
}

void QuantileSketch::merge(const QuantileSketch& other) {
    if (other.k_ != k_)
        throw InvalidInput("sketch merge: capacities differ (" + std::to_string(k_) + " and " + std::to_string(other.k_) + ")");
    if (levels_.size() < other.levels_.size()) levels_.resize(other.levels_.size());
    for (std::size_t h = 0; h < other.levels_.size(); ++h)
        levels_[h].insert(levels_[h].end(), other.levels_[h].begin(), other.levels_[h].end());
    n_ += other.n_;
    coin_ = splitmix64_hash(coin_ + 0x632be59bd9b4e019ULL * other.coin_);
    compress();
}

std::vector<std::pair<double, double>> QuantileSketch::items() const {
    std::vector<std::pair<double, double>> all;
    for (std::size_t h = 0; h < levels_.size(); ++h)
        for (double v : levels_[h]) all.emplace_back(v, std::ldexp(1.0, static_cast<int>(h)));
    std::sort(all.begin(), all.end());
    std::vector<std::pair<double, double>> out;
    for (const auto& [v, w] : all) {
        if (!out.empty() && out.back().first == v) out.back().second += w;
        else out.emplace_back(v, w);
    }
    return out;
}

double QuantileSketch::at_rank(double r) const {
    const auto it = items();
    if (it.empty()) return std::numeric_limits<double>::quiet_NaN();
    double below = 0;
    for (const auto& [v, w] : it) {
        if (r < below + w) return v;
        below += w;
    }
    return it.back().first;
}

double QuantileSketch::quantile(double q) const {
    if (n_ == 0) return std::numeric_limits<double>::quiet_NaN();
    const double pos = q * static_cast<double>(n_ - 1);
    const double lo = std::floor(pos);
    const double a = at_rank(lo), b = at_rank(std::min(lo + 1, static_cast<double>(n_ - 1)));
    return a + (b - a) * (pos - lo);
}

// ---- Moments ------------------------------------------------------------------------

void Moments::add(double x) noexcept {
    n += 1;
    const double delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
    min = std::min(min, x);
    max = std::max(max, x);
}

void Moments::merge(const Moments& o) noexcept {
    if (o.n == 0) return;
    if (n == 0) {
        *this = o;
        return;
    }
    const double total = n + o.n, delta = o.mean - mean;
    mean += delta * o.n / total;
    m2 += o.m2 + delta * delta * n * o.n / total;
    n = total;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
}

// ---- ValueCounts ----------------------------------------------------------------------

ValueCounts ValueCounts::of(std::vector<double> values, std::uint32_t cap) {
    ValueCounts out;
    out.cap = cap;
    std::sort(values.begin(), values.end());
    for (double v : values) {
        if (!out.values.empty() && out.values.back() == v) {
            out.counts.back() += 1;
            continue;
        }
        if (cap && out.values.size() == cap) {
            out.overflow = true;
            out.values.clear();
            out.counts.clear();
            return out;
        }
        out.values.push_back(v);
        out.counts.push_back(1);
    }
    return out;
}

void ValueCounts::merge(const ValueCounts& o) {
    cap = std::max(cap, o.cap);
    if (overflow || o.overflow) {
        *this = ValueCounts{{}, {}, cap, true};
        return;
    }
    std::vector<double> v, c;
    v.reserve(values.size() + o.values.size());
    c.reserve(values.size() + o.values.size());
    std::size_t i = 0, j = 0;
    while (i < values.size() || j < o.values.size()) {
        const bool take_a = j == o.values.size() || (i < values.size() && values[i] <= o.values[j]);
        const double x = take_a ? values[i] : o.values[j];
        const double n = take_a ? counts[i++] : o.counts[j++];
        if (!v.empty() && v.back() == x) c.back() += n;
        else {
            v.push_back(x);
            c.push_back(n);
        }
    }
    if (cap && v.size() > cap) {
        *this = ValueCounts{{}, {}, cap, true};
        return;
    }
    values = std::move(v);
    counts = std::move(c);
}

double ValueCounts::rows() const noexcept { return std::accumulate(counts.begin(), counts.end(), 0.0); }

// ---- the byte envelope ----------------------------------------------------------------

namespace {

constexpr std::uint32_t state_format_version = 1;

// Fit and fitter states are written in the one envelope (core/envelope.hpp); the
// 24-byte "TKSTATE"/"TKFITTR" envelope of the first states still reads.
std::string seal(envelope::Content content, const std::string& payload) {
    return envelope::write_envelope(content, envelope::Encoding::binary_archive, state_format_version, payload);
}

std::string unseal(envelope::Content content, const std::string& bytes, const char* what) {
    const auto opened = envelope::read_envelope(bytes, {content, state_format_version, bytes.size(), what});
    if (opened.header.encoding != envelope::Encoding::binary_archive)
        throw FormatError(std::string(what) + ": payload encoding " +
                          std::to_string(static_cast<unsigned>(opened.header.encoding)) +
                          " at byte 12 is not a binary archive");
    return std::string(opened.payload);
}

template <class T>
std::string archive_bytes(const T& value) {
    std::ostringstream out;
    {
        boost::archive::binary_oarchive ar(out, boost::archive::no_header);
        ar << value;
    }
    return out.str();
}

template <class T>
void read_archive(const std::string& payload, T& value, const char* what) {
    std::istringstream in(payload);
    try {
        boost::archive::binary_iarchive ar(in, boost::archive::no_header);
        ar >> value;
    } catch (const boost::archive::archive_exception& e) {
        throw FormatError(std::string(what) + ": the payload cannot be read: " + e.what());
    } catch (const std::bad_alloc&) {
        throw FormatError(std::string(what) + ": the payload claims more memory than is available");
    }
}

}  // namespace

std::string PartialState::to_bytes() const { return seal(envelope::Content::fit_state, archive_bytes(*this)); }

PartialState PartialState::from_bytes(const std::string& bytes) {
    PartialState s;
    read_archive(unseal(envelope::Content::fit_state, bytes, "PartialState.from_bytes"), s, "PartialState.from_bytes");
    return s;
}

// ---- the stages -----------------------------------------------------------------------

namespace {

enum Stage : std::uint32_t {
    gather, clv_pass, clip, clip_count, clip_values, criteria, criteria_count, criteria_values, weights_pass,
    rule_pass, rule_count, rule_values, abc_mass, kmeans_seed, lloyd, finished
};

const char* stage_name(std::uint32_t s) {
    static const char* names[] = {"gather",   "clv",         "clip",       "clip_count", "clip_values", "criteria",
                                  "criteria_count", "criteria_values", "weights", "rule", "rule_count", "rule_values",
                                  "abc_mass", "kmeans_seed", "lloyd",      "done"};
    return s <= finished ? names[s] : "unknown";
}

const char* mode_name(FitMode m) { return m == FitMode::exact ? "exact" : m == FitMode::sketch ? "sketch" : "refine"; }

// ---- refine: exact order statistics from bucket counts and the values of few buckets ----
//
// The bounds of a column are the distinct values of its sketch, b[0] < ... < b[m-1].
// Bucket 2i + 1 holds the rows equal to b[i]; bucket 2i the rows strictly between
// b[i-1] and b[i] (bucket 0 those below b[0], bucket 2m those above b[m-1]).

std::size_t bucket_of(const std::vector<double>& bounds, double x) {
    const auto i = static_cast<std::size_t>(std::upper_bound(bounds.begin(), bounds.end(), x) - bounds.begin());
    return i > 0 && bounds[i - 1] == x ? 2 * i - 1 : 2 * i;
}

/// The bounds of a column: its sketch's distinct values, plus (for `buckets` > 0)
/// equally spaced points between two of them, as many in each gap, so that there are
/// about min(buckets, rows) bounds. (Every level of the sketch spans the whole column evenly by
/// rank, so consecutive sketch values are about n / items rows apart.)
std::vector<double> bounds_of(const QuantileSketch& q, std::uint32_t buckets) {
    const auto items = q.items();
    std::vector<double> out;
    // (No more bounds than rows: a bucket of about one row gathers no more.)
    const double wanted = std::min(static_cast<double>(buckets), static_cast<double>(q.count()));
    const double splits = items.empty() ? 0.0 : std::floor(wanted / static_cast<double>(items.size()));
    for (std::size_t i = 0; i < items.size(); ++i) {
        out.push_back(items[i].first);
        if (i + 1 == items.size()) continue;
        const double a = items[i].first, b = items[i + 1].first;
        for (double t = 1; t <= splits; ++t) {
            const double x = a + (b - a) * (t / (splits + 1));
            if (x > out.back() && x < b) out.push_back(x);
        }
    }
    return out;
}

void count_buckets(const std::vector<double>& bounds, std::span<const double> values, std::vector<double>& out) {
    out.assign(2 * bounds.size() + 1, 0.0);
    for (double x : values) out[bucket_of(bounds, x)] += 1;
}

/// The values of `values` in the (sorted) buckets `wanted`, counted.
ValueCounts values_in(const std::vector<double>& bounds, const std::vector<double>& wanted, std::span<const double> values) {
    std::vector<double> kept;
    if (!wanted.empty())
        for (double x : values)
            if (std::binary_search(wanted.begin(), wanted.end(), static_cast<double>(bucket_of(bounds, x)))) kept.push_back(x);
    return ValueCounts::of(std::move(kept), 0);
}

/// A tie group of a column: its value, the rows below it and the rows equal to it.
struct Group {
    double value = 0, less = 0, eq = 0;
};

/// Order statistics of a column from its bucket counts plus the values of the
/// buckets that hold the ranks asked for; or from all its distinct values
/// (`all`, bounds and counts unused).
class OrderIndex {
public:
    OrderIndex(const std::vector<double>& bounds, const std::vector<double>& counts, const ValueCounts& inside)
        : bounds_(bounds), counts_(counts), inside_(inside) {
        before_.resize(counts.size() + 1, 0.0);
        for (std::size_t b = 0; b < counts.size(); ++b) before_[b + 1] = before_[b] + counts[b];
    }
    double rows() const noexcept { return before_.back(); }
    /// The bucket of the row of ascending rank r (0 <= r < rows()).
    std::size_t bucket_of_rank(double r) const {
        return static_cast<std::size_t>(std::upper_bound(before_.begin() + 1, before_.end(), r) - before_.begin() - 1);
    }
    /// The open bucket (one that needs its values gathered) holding rank r, if any.
    std::optional<std::size_t> open_bucket(double r) const {
        const std::size_t b = bucket_of_rank(r);
        if (b % 2 == 1 || counts_[b] == 0) return std::nullopt;
        return b;
    }
    /// The group holding the row of ascending rank r.
    Group at(double r) const {
        const std::size_t b = bucket_of_rank(r);
        if (b % 2 == 1) return {bounds_[b / 2], before_[b], counts_[b]};
        // An open bucket: walk its gathered values.
        const std::size_t i = b / 2;
        auto it = i == 0 ? inside_.values.begin() : std::upper_bound(inside_.values.begin(), inside_.values.end(), bounds_[i - 1]);
        double less = before_[b];
        for (; it != inside_.values.end() && (i == bounds_.size() || *it < bounds_[i]); ++it) {
            const double eq = inside_.counts[static_cast<std::size_t>(it - inside_.values.begin())];
            if (r < less + eq) return {*it, less, eq};
            less += eq;
        }
        throw InvalidInput("Fitter.advance: the gathered values do not hold rank " + std::to_string(r) +
                           " (a state of another fit?)");
    }

private:
    const std::vector<double>& bounds_;
    const std::vector<double>& counts_;
    const ValueCounts& inside_;
    std::vector<double> before_;  ///< rows before each bucket
};

/// The ranks numpy's linear quantile q of n rows reads (as PrivateGroups::quantile).
std::pair<double, double> quantile_ranks(double q, double n) {
    const double lo = std::floor(q * (n - 1));
    return {lo, std::min(lo + 1, n - 1)};
}

/// numpy's linear quantile q, as PrivateGroups::quantile computes it from the values at its ranks.
template <class At>
double linear_quantile(double q, double n, const At& value_at) {
    const double pos = q * (n - 1);
    const auto [lo, hi] = quantile_ranks(q, n);
    const double frac = pos - lo;
    const double a = value_at(lo), b = value_at(hi);
    return a + (b - a) * frac;
}

/// The ranks of the percentile knots of a column of n rows with more than max_knots
/// distinct values (as fit_criterion picks them).
std::vector<double> knot_ranks(double n) {
    const std::size_t k = FittedCriterion::max_knots;
    std::vector<double> out;
    for (std::size_t j = 0; j < k; ++j)
        out.push_back(static_cast<double>(std::llround(static_cast<double>(j) * (n - 1) / static_cast<double>(k - 1))));
    return out;
}

/// Median, IQR and percentile knots as fit_criterion makes them (min_group 1), from
/// the column's groups: every group (`groups`, when there are at most max_knots) or
/// the one at any rank (`at`).
template <class At>
void set_order_statistics(FittedCriterion& f, const std::vector<Group>* groups, const At& at) {
    auto value_at = [&](double r) { return at(r).value; };
    f.median = linear_quantile(0.5, f.n, value_at);
    f.iqr = linear_quantile(0.75, f.n, value_at) - linear_quantile(0.25, f.n, value_at);
    f.knots.clear();
    f.knot_y.clear();
    f.knot_lo.clear();
    f.knot_hi.clear();
    const double denom = f.n > 1 ? f.n - 1 : 1.0;
    auto add_knot = [&](const Group& g) {
        f.knots.push_back(g.value);
        f.knot_y.push_back(f.n > 1 ? (g.less + (g.eq - 1) / 2) / denom : 0.5);
        f.knot_lo.push_back(f.n > 1 ? (g.less - 0.5) / denom : 0.5);
        f.knot_hi.push_back(f.n > 1 ? (g.less + g.eq - 0.5) / denom : 0.5);
    };
    if (groups) {
        for (const auto& g : *groups) add_knot(g);
    } else {
        bool first = true;
        double last = 0;
        for (double r : knot_ranks(f.n)) {
            const Group g = at(r);
            if (first || g.value != last) add_knot(g);
            first = false;
            last = g.value;
        }
    }
    f.build_index();
}

/// Every group of some distinct values with their counts.
std::vector<Group> groups_of(const std::vector<double>& values, const std::vector<double>& counts) {
    std::vector<Group> out;
    double less = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        out.push_back({values[i], less, counts[i]});
        less += counts[i];
    }
    return out;
}

/// The group at rank r of a list of every group.
Group group_at(const std::vector<Group>& g, double r) {
    const auto it = std::upper_bound(g.begin(), g.end(), r, [](double rank, const Group& x) { return rank < x.less; });
    return *(it - 1);
}

bool needs_order(const CriterionSpec& c) {
    return c.normalizer == Normalizer::percentile || c.normalizer == Normalizer::bins || c.normalizer == Normalizer::robust;
}

/// The data-driven part of a weight spec (entropy or critic), or null.
const WeightSpec* objective_of(const WeightSpec& w) {
    if (w.method == WeightMethod::entropy || w.method == WeightMethod::critic) return &w;
    if (w.method == WeightMethod::combined) return objective_of(*w.objective);
    return nullptr;
}

bool needs_weights_pass(const ScoreSpec& s) { return objective_of(s.weights) || s.method == ScoreMethod::topsis; }

std::span<const double> chunk_column(const FeatureTable& t, const std::string& score, std::size_t k, const std::string& column) {
    if (!t.has(column))
        throw UnknownColumn("score '" + score + "', criteria[" + std::to_string(k) + "].column: " + t.unknown_message(column));
    const auto v = t.column(column);
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(v[i]))
            throw InvalidInput("column '" + column + "', row " + std::to_string(i) + ": must be a finite number, got " +
                               std::to_string(v[i]));
    return v;
}

/// The kmeans rule's criteria block among `blocks`.
const CriteriaBlock& kmeans_block(const std::vector<CriteriaBlock>& blocks, const std::string& score) {
    for (const auto& b : blocks)
        if (score.empty() || b.score == score) return b;
    throw InvalidInput("kmeans: no criteria for score '" + score + "'");
}

/// Offsets of each score's sums in the weights pass: entropy 2 per criterion, critic
/// c + c * c (centred sums, cross-products of all criteria; constant ones stay 0).
std::vector<std::size_t> weight_sum_offsets(const Policy& p) {
    std::vector<std::size_t> off{0};
    for (const auto& s : p.scores()) {
        const WeightSpec* o = objective_of(s.weights);
        const std::size_t c = s.criteria.size();
        off.push_back(off.back() + (!o ? 0 : o->method == WeightMethod::entropy ? 2 * c : c + c * c));
    }
    return off;
}

/// y = scale * (offset + sign * t) of the entropy variant, from the criterion's range.
struct EntropyMap {
    double offset = 0, sign = 1, scale = 0;  // scale 0: constant column (no information)
};
EntropyMap entropy_map(const FittedCriterion& f, bool proportion, std::size_t j) {
    EntropyMap m;
    const bool lower = f.spec.direction == Direction::lower;
    if (proportion && f.min < 0)
        throw InvalidInput("columns[" + std::to_string(j) + "] ('" + f.spec.column +
                           "'): must be >= 0 for the proportion variant, got a minimum of " + std::to_string(f.min));
    if (f.max == f.min) return m;
    m.sign = lower ? -1.0 : 1.0;
    if (proportion) {
        m.offset = lower ? f.max + f.min : 0.0;
        m.scale = 1.0 / f.max;
    } else {
        m.offset = lower ? f.max : -f.min;
        m.scale = 1.0 / (f.max - f.min);
    }
    return m;
}

std::vector<double> merged_weights(const WeightSpec& w, const ScoreSpec& spec, FittedScore& out, const double* sums) {
    const std::size_t c = spec.criteria.size();
    if (auto preset = detail::preset_weights(w, spec, out)) return *std::move(preset);
    switch (w.method) {
        case WeightMethod::manual:
        case WeightMethod::ahp: break;  // preset_weights above
        case WeightMethod::entropy: {
            const double rows = out.criteria.front().n;
            if (rows < 2) throw InvalidInput("columns: must have at least 2 rows, got " + std::to_string(rows));
            std::vector<double> d(c, 0.0);
            double total = 0;
            for (std::size_t j = 0; j < c; ++j) {
                const double sy = sums[2 * j], sylogy = sums[2 * j + 1];
                if (!(sy > 0) || out.criteria[j].max == out.criteria[j].min) continue;
                const double e = (std::log(sy) - sylogy / sy) / std::log(rows);
                d[j] = std::clamp(1.0 - e, 0.0, 1.0);
                total += d[j];
            }
            if (!(total > 0)) return std::vector<double>(c, 1.0 / static_cast<double>(c));
            for (double& x : d) x /= total;
            return d;
        }
        case WeightMethod::critic: {
            const double rows = out.criteria.front().n;
            if (rows < 2) throw InvalidInput("columns: must have at least 2 rows, got " + std::to_string(rows));
            std::vector<std::size_t> varying;
            for (std::size_t j = 0; j < c; ++j)
                if (out.criteria[j].max > out.criteria[j].min) varying.push_back(j);
            const std::size_t v = varying.size();
            std::vector<double> cov(v * v);
            for (std::size_t a = 0; a < v; ++a)
                for (std::size_t b = 0; b < v; ++b) {
                    const std::size_t ja = varying[a], jb = varying[b];
                    cov[a * v + b] = (sums[c + ja * c + jb] - sums[ja] * sums[jb] / rows) / (rows - 1);
                }
            return weights::critic_from_covariance(c, varying, cov);
        }
        case WeightMethod::combined: {
            const auto s = merged_weights(*w.subjective, spec, out, sums);
            const auto o = merged_weights(*w.objective, spec, out, sums);
            return weights::combine(s, o, w.multiplicative ? weights::CombineMode::multiplicative : weights::CombineMode::linear,
                                    w.alpha);
        }
    }
    return {};
}

FeatureTable gathered_table(const PartialState& s) {
    FeatureTable t(s.ids);
    for (std::size_t j = 0; j < s.names.size(); ++j) t.add_column(s.names[j], s.columns[j]);
    for (std::size_t j = 0; j < s.category_names.size(); ++j)
        t.add_category(s.category_names[j], s.category_codes[j], s.category_labels[j]);
    return t;
}

/// What the refine passes of a stage compute from each column's order statistics:
/// the ranks they need and, once their groups are known, the fitted values.
struct Refinement {
    const Policy& policy;
    std::vector<FittedScore>& scores;
    std::vector<double>& rule_values;
    std::uint32_t stage;

    FittedCriterion& criterion(std::size_t j) const {
        for (auto& s : scores) {
            if (j < s.criteria.size()) return s.criteria[j];
            j -= s.criteria.size();
        }
        throw InvalidInput("Fitter.advance: the state has more columns than the policy's criteria");
    }
    bool clip_stage() const { return stage == Stage::clip_count || stage == Stage::clip_values; }
    bool rule_stage() const { return stage == Stage::rule_count || stage == Stage::rule_values; }

    /// The quantile rule's cuts as (ascending rank, or -1 for an empty tier).
    std::vector<double> cut_ranks(double n) const {
        const auto rule = policy.make_rule();
        std::vector<double> out;
        double cumulative = 0;
        for (double s : dynamic_cast<const QuantileRule&>(*rule).shares()) {
            cumulative += s;
            const double count = std::min(n, std::floor(cumulative * n + 0.5));
            out.push_back(count == 0 ? -1.0 : n - count);
        }
        return out;
    }

    std::vector<double> ranks(std::size_t j, double n) const {
        std::vector<double> out;
        auto quantile = [&](double q) {
            const auto [lo, hi] = quantile_ranks(q, n);
            out.push_back(lo);
            out.push_back(hi);
        };
        if (rule_stage()) {
            for (double r : cut_ranks(n))
                if (r >= 0) out.push_back(r);
            return out;
        }
        const FittedCriterion& f = criterion(j);
        if (clip_stage()) {
            quantile(f.spec.clip_lower);
            quantile(f.spec.clip_upper);
            return out;
        }
        for (double q : {0.25, 0.5, 0.75}) quantile(q);
        const auto knots = knot_ranks(n);
        out.insert(out.end(), knots.begin(), knots.end());
        return out;
    }

    void finish(std::size_t j, const OrderIndex& index) const {
        const double n = index.rows();
        auto value_at = [&](double r) { return index.at(r).value; };
        if (rule_stage()) {
            rule_values.clear();
            for (double r : cut_ranks(n)) rule_values.push_back(r < 0 ? std::numeric_limits<double>::infinity() : value_at(r));
            return;
        }
        FittedCriterion& f = criterion(j);
        if (clip_stage()) {
            f.lo = linear_quantile(f.spec.clip_lower, n, value_at);
            f.hi = linear_quantile(f.spec.clip_upper, n, value_at);
            return;
        }
        set_order_statistics(f, nullptr, [&](double r) { return index.at(r); });
    }
};

}  // namespace

// ---- Fitter ---------------------------------------------------------------------------

Fitter::Fitter(Policy policy, FitOptions options) : policy_(std::move(policy)), options_(options) {
    QuantileSketch check(options_.sketch_k);  // validates sketch_k
    (void)check;
    for (const auto& spec : policy_.scores()) {
        FittedScore s;
        s.name = spec.name;
        s.method = spec.method;
        for (const auto& c : spec.criteria) {
            if (c.needs_resolving())
                throw PolicyError("criterion '" + c.column + "': value maps and missing options need the whole table; "
                                  "fit it with fit(), not by chunks");
            FittedCriterion f;
            f.spec = c;
            s.criteria.push_back(std::move(f));
        }
        scores_.push_back(std::move(s));
    }
    if (options_.mode == FitMode::exact) {
        stage_ = gather;
        return;
    }
    const std::string mode = mode_name(options_.mode);
    const bool refine = options_.mode == FitMode::refine;
    const auto rule = policy_.make_rule();
    const std::string kind = rule->kind();
    const bool supported = dynamic_cast<const ThresholdRule*>(rule.get()) || dynamic_cast<const QuantileRule*>(rule.get()) ||
                           dynamic_cast<const AbcRule*>(rule.get()) || (!refine && dynamic_cast<const KMeansRule*>(rule.get()));
    if (!supported)
        throw PolicyError("rule: kind '" + kind + "' (or group_by) cannot be fitted in " + mode + " mode, " +
                          (refine ? "which supports thresholds, quantiles and abc; use the exact or sketch mode"
                                  : "it needs every row at once; use the exact mode"));
    if (const auto* km = dynamic_cast<const KMeansRule*>(rule.get()); km && km->options().k == 0)
        throw PolicyError("rule.k: \"auto\" cannot be fitted in sketch mode (silhouette and elbow need every row); "
                          "give k or use the exact mode");
    if (refine)
        for (std::size_t s = 0; s < policy_.scores().size(); ++s)
            if (const WeightSpec* o = objective_of(policy_.scores()[s].weights))
                throw PolicyError("scores[" + std::to_string(s) + "].weights: method '" +
                                  (o->method == WeightMethod::entropy ? "entropy" : "critic") +
                                  "' sums over every row in row order, which refine mode cannot reproduce bit for bit; "
                                  "use the exact or sketch mode");
    if (options_.kmeans_sample < 1) throw InvalidInput("kmeans_sample: must be >= 1, got 0");
    // The grouping (privacy.hpp) needs every row in order; these modes keep single
    // rows' values, so they fit only a policy that opts out explicitly.
    if (!policy_.min_group())
        throw PolicyError("privacy.min_group: the default groups stored values by min(5, rows / 50), which only the "
                          "exact mode computes; use the exact mode, or set \"privacy\": {\"min_group\": 1} to fit "
                          "single rows' values in " + mode + " mode");
    if (*policy_.min_group() > 1)
        throw PolicyError("privacy.min_group: " + std::to_string(*policy_.min_group()) + " needs the exact mode (the " + mode +
                          " mode's values are single rows, not groups of that many)");
    stage_ = gather;
    next_stage();
}

void Fitter::next_stage() {
    const auto rule = policy_.make_rule();
    while (stage_ < finished) {
        ++stage_;
        bool needed = false;
        switch (stage_) {
            case clv_pass: needed = policy_.clv().has_value(); break;
            case clip:
                for (const auto& s : policy_.scores())
                    for (const auto& c : s.criteria) needed = needed || c.clip;
                break;
            case clip_count:
                needed = options_.mode == FitMode::refine && !bounds_.empty();
                break;
            case clip_values:
            case criteria_values:
            case rule_values:
                needed = std::any_of(wanted_.begin(), wanted_.end(), [](const auto& w) { return !w.empty(); });
                break;
            case criteria_count: needed = options_.mode == FitMode::refine; break;
            case rule_count:
                needed = options_.mode == FitMode::refine &&
                         (dynamic_cast<const QuantileRule*>(rule.get()) || dynamic_cast<const AbcRule*>(rule.get()));
                break;
            case criteria: needed = true; break;
            case weights_pass:
                for (const auto& s : policy_.scores()) needed = needed || needs_weights_pass(s);
                if (!needed) finish_weights(nullptr);
                break;
            case rule_pass:
                needed = dynamic_cast<const QuantileRule*>(rule.get()) || dynamic_cast<const AbcRule*>(rule.get());
                break;
            case abc_mass: needed = options_.mode == FitMode::sketch && dynamic_cast<const AbcRule*>(rule.get()); break;
            case kmeans_seed: needed = dynamic_cast<const KMeansRule*>(rule.get()) != nullptr; break;
            case lloyd: needed = !centroids_.empty() && iterations_ < dynamic_cast<const KMeansRule&>(*rule).options().max_iter; break;
            default: needed = true;
        }
        if (needed) return;
    }
}

bool Fitter::done() const noexcept { return stage_ == finished; }
std::string Fitter::stage() const { return stage_name(stage_); }

PartialState Fitter::update(const FeatureTable& input) const {
    if (done()) throw PolicyError("Fitter.update: the fit is done; call model()");
    // After the clv pass, criteria and rules read the clv columns like any feature column.
    FeatureTable with_clv;
    if (clv_ && stage_ > clv_pass) with_clv = clv_->add_columns(input);
    const FeatureTable& chunk = clv_ && stage_ > clv_pass ? with_clv : input;
    PartialState out;
    out.stage = stage_;
    out.mode = options_.mode;
    const auto& specs = policy_.scores();
    switch (stage_) {
        case gather: {
            out.ids.assign(chunk.ids().begin(), chunk.ids().end());
            out.names = chunk.names();
            for (std::size_t j = 0; j < chunk.cols(); ++j) out.columns.emplace_back(chunk.column(j).begin(), chunk.column(j).end());
            for (const auto& name : chunk.category_names()) {
                const auto [codes, labels] = chunk.category(name);
                out.category_names.push_back(name);
                out.category_codes.emplace_back(codes.begin(), codes.end());
                out.category_labels.push_back(*labels);
            }
            break;
        }
        case clv_pass: {
            const auto& spec = *policy_.clv();
            clv::RfmHistogram rfm;
            rfm.update(chunk.column(spec.frequency), chunk.column(spec.recency), chunk.column(spec.T));
            out.rfm.push_back(rfm.finalize());
            if (spec.gamma_gamma) {
                clv::SpendHistogram spend;
                spend.update(chunk.column(spec.frequency), chunk.column(spec.monetary_value));
                out.spend.push_back(spend.finalize());
            }
            break;
        }
        case clip_count:
        case clip_values:
        case criteria_count:
        case criteria_values: {
            const bool clipping = stage_ == clip_count || stage_ == clip_values;
            const bool counting = stage_ == clip_count || stage_ == criteria_count;
            std::size_t j = 0;
            for (std::size_t s = 0; s < specs.size(); ++s)
                for (std::size_t k = 0; k < specs[s].criteria.size(); ++k, ++j) {
                    const auto& spec = specs[s].criteria[k];
                    const auto col = chunk_column(chunk, specs[s].name, k, spec.column);
                    const FittedCriterion& f = scores_[s].criteria[k];
                    std::vector<double> t;
                    if (!clipping) {
                        t.resize(col.size());
                        for (std::size_t i = 0; i < col.size(); ++i) t[i] = f.transform(col[i]);
                    }
                    const std::span<const double> v = clipping ? col : std::span<const double>(t);
                    if (stage_ == criteria_count) {
                        ExactSum ss;
                        for (double x : v) ss.add((x - f.mean) * (x - f.mean));
                        out.exact_sums.push_back(ss);
                    }
                    const bool used = j < bounds_.size() && (clipping ? spec.clip : needs_order(spec));
                    out.buckets.emplace_back();
                    if (!counting) {
                        out.values.push_back(used && j < wanted_.size() ? values_in(bounds_[j], wanted_[j], v) : ValueCounts{});
                        continue;
                    }
                    if (used) count_buckets(bounds_[j], v, out.buckets.back());
                    // criteria: every distinct value while there are at most max_knots.
                    out.values.push_back(!clipping && used ? ValueCounts::of(t, FittedCriterion::max_knots) : ValueCounts{});
                }
            break;
        }
        case clip:
        case criteria: {
            for (std::size_t s = 0; s < specs.size(); ++s)
                for (std::size_t k = 0; k < specs[s].criteria.size(); ++k) {
                    const auto& spec = specs[s].criteria[k];
                    const auto col = chunk_column(chunk, specs[s].name, k, spec.column);
                    if (stage_ == clip) {
                        QuantileSketch q(options_.sketch_k);
                        if (spec.clip)
                            for (double x : col) q.add(x);
                        out.sketches.push_back(std::move(q));
                        continue;
                    }
                    const FittedCriterion& f = scores_[s].criteria[k];
                    Moments m;
                    const bool order = needs_order(spec), refine = options_.mode == FitMode::refine;
                    QuantileSketch q(options_.sketch_k);
                    ExactSum sum;
                    for (double x : col) {
                        const double t = f.transform(x);
                        m.add(t);
                        if (refine) sum.add(t);
                        if (order) q.add(t);
                    }
                    out.moments.push_back(m);
                    out.sketches.push_back(std::move(q));
                    if (refine) out.exact_sums.push_back(sum);
                }
            break;
        }
        case weights_pass: {
            const auto off = weight_sum_offsets(policy_);
            out.sums.assign(off.back(), 0.0);
            for (std::size_t s = 0; s < specs.size(); ++s) {
                const std::size_t c = specs[s].criteria.size();
                const FittedScore& fs = scores_[s];
                std::vector<std::span<const double>> cols;
                for (std::size_t k = 0; k < c; ++k) cols.push_back(chunk_column(chunk, specs[s].name, k, specs[s].criteria[k].column));
                if (specs[s].method == ScoreMethod::topsis)
                    for (std::size_t k = 0; k < c; ++k) {
                        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
                        for (double x : cols[k]) {
                            const double y = fs.criteria[k].normalize(x);
                            lo = std::min(lo, y);
                            hi = std::max(hi, y);
                        }
                        out.lows.push_back(lo);
                        out.highs.push_back(hi);
                    }
                const WeightSpec* o = objective_of(specs[s].weights);
                if (!o) continue;
                double* sums = out.sums.data() + off[s];
                if (o->method == WeightMethod::entropy) {
                    for (std::size_t k = 0; k < c; ++k) {
                        const EntropyMap e = entropy_map(fs.criteria[k], o->entropy_proportion, k);
                        if (e.scale == 0) continue;
                        for (double x : cols[k]) {
                            const double y = (e.offset + e.sign * fs.criteria[k].transform(x)) * e.scale;
                            if (y > 0) {
                                sums[2 * k] += y;
                                sums[2 * k + 1] += y * std::log(y);
                            }
                        }
                    }
                } else {
                    // Centred, direction-signed, min-max scaled: (t - mean) * sign / (max - min).
                    std::vector<double> factor(c, 0.0), centred(c);
                    for (std::size_t k = 0; k < c; ++k) {
                        const auto& f = fs.criteria[k];
                        if (f.max > f.min) factor[k] = (f.spec.direction == Direction::lower ? -1.0 : 1.0) / (f.max - f.min);
                    }
                    for (std::size_t i = 0; i < chunk.rows(); ++i) {
                        for (std::size_t k = 0; k < c; ++k) {
                            centred[k] = (fs.criteria[k].transform(cols[k][i]) - fs.criteria[k].mean) * factor[k];
                            sums[k] += centred[k];
                        }
                        for (std::size_t a = 0; a < c; ++a)
                            for (std::size_t b = 0; b < c; ++b) sums[c + a * c + b] += centred[a] * centred[b];
                    }
                }
            }
            break;
        }
        case rule_pass:
        case rule_count:
        case rule_values:
        case abc_mass: {
            const auto scores = score_columns(scores_, chunk);
            std::vector<std::string> names;
            for (const auto& s : scores_) names.push_back(s.name);
            const RuleInput input{chunk, names, scores, nullptr};
            const auto rule = policy_.make_rule();
            const bool abc = dynamic_cast<const AbcRule*>(rule.get()) != nullptr;
            const std::string source =
                abc ? dynamic_cast<const AbcRule&>(*rule).source() : dynamic_cast<const QuantileRule&>(*rule).source();
            const auto v = input.values(source);
            QuantileSketch q(options_.sketch_k);
            if (stage_ == abc_mass) {
                out.sums.assign(grid_.size(), 0.0);
                out.lows.assign(grid_.size(), std::numeric_limits<double>::infinity());
                out.highs.assign(grid_.size(), -std::numeric_limits<double>::infinity());
            }
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (!std::isfinite(v[i]))
                    throw InvalidInput("column '" + source + "', row " + std::to_string(i) + ": must be a finite number, got " +
                                       std::to_string(v[i]));
                const double x = abc ? std::max(v[i], 0.0) : v[i];
                if (stage_ == rule_pass) {
                    q.add(x);
                    continue;
                }
                if (stage_ != abc_mass) continue;
                // The bin whose lower edge is the largest grid value <= x (the first bin below the grid).
                const auto up = std::upper_bound(grid_.begin(), grid_.end(), x);
                const std::size_t b = up == grid_.begin() ? 0 : static_cast<std::size_t>(up - grid_.begin()) - 1;
                out.sums[b] += x;
                out.lows[b] = std::min(out.lows[b], x);
                out.highs[b] = std::max(out.highs[b], x);
            }
            if (stage_ == rule_pass) out.sketches.push_back(std::move(q));
            if (stage_ == rule_count || stage_ == rule_values) {
                std::vector<double> x(v.begin(), v.end());
                if (abc)
                    for (double& e : x) e = std::max(e, 0.0);
                const auto& bounds = bounds_.at(0);
                if (stage_ == rule_values) {
                    out.values.push_back(values_in(bounds, wanted_.at(0), x));
                    break;
                }
                out.buckets.emplace_back();
                count_buckets(bounds, x, out.buckets.back());
                if (abc) {  // the exact value mass of every bucket
                    out.exact_sums.resize(out.buckets.back().size());
                    for (double e : x) out.exact_sums[bucket_of(bounds, e)].add(e);
                }
            }
            break;
        }
        case kmeans_seed:
        case lloyd: {
            const auto rule = policy_.make_rule();
            const auto& km = dynamic_cast<const KMeansRule&>(*rule);
            const auto blocks = normalized_criteria(scores_, chunk);
            const CriteriaBlock& b = kmeans_block(blocks, km.options().score);
            const std::size_t d = b.names.size(), n = chunk.rows();
            if (stage_ == kmeans_seed) {
                out.moments.resize(d);
                std::vector<std::pair<std::uint64_t, std::size_t>> keyed(n);
                for (std::size_t i = 0; i < n; ++i) {
                    for (std::size_t f = 0; f < d; ++f) out.moments[f].add(b.normalized[f][i]);
                    keyed[i] = {splitmix64_hash(static_cast<std::uint64_t>(chunk.ids()[i]) ^ splitmix64_hash(km.options().seed)), i};
                }
                out.sample_capacity = options_.kmeans_sample;
                const std::size_t keep = std::min<std::size_t>(n, options_.kmeans_sample);
                std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(keep), keyed.end());
                for (std::size_t r = 0; r < keep; ++r) {
                    const std::size_t i = keyed[r].second;
                    out.sample_keys.push_back(keyed[r].first);
                    out.sample_ids.push_back(chunk.ids()[i]);
                    for (std::size_t f = 0; f < d; ++f) out.sample_points.push_back(b.normalized[f][i]);
                }
                break;
            }
            const std::size_t k = centroids_.size() / d;
            out.sums.assign(k * d + k + 1, 0.0);
            for (std::size_t i = 0; i < n; ++i) {
                std::size_t best = 0;
                double best_d = std::numeric_limits<double>::infinity();
                for (std::size_t j = 0; j < k; ++j) {
                    double dist = 0;
                    for (std::size_t f = 0; f < d; ++f) {
                        const double diff = b.normalized[f][i] - centroids_[j * d + f];
                        dist += diff * diff;
                    }
                    if (dist < best_d) {
                        best_d = dist;
                        best = j;
                    }
                }
                for (std::size_t f = 0; f < d; ++f) out.sums[best * d + f] += b.normalized[f][i];
                out.sums[k * d + best] += 1;
                out.sums[k * d + k] += best_d;
            }
            break;
        }
        default: break;
    }
    return out;
}

PartialState Fitter::merge(const PartialState& a, const PartialState& b) {
    const auto empty = [](const PartialState& s) {
        return s.ids.empty() && s.names.empty() && s.moments.empty() && s.sketches.empty() && s.sums.empty() &&
               s.lows.empty() && s.sample_keys.empty() && s.category_names.empty() && s.exact_sums.empty() &&
               s.buckets.empty() && s.values.empty();
    };
    if (empty(b) && b.stage == 0) return a;
    if (empty(a) && a.stage == 0) return b;
    if (a.stage != b.stage || a.mode != b.mode)
        throw InvalidInput(std::string("merge: states of different passes ('") + stage_name(a.stage) + "' and '" +
                           stage_name(b.stage) + "')");
    PartialState out = a;
    if (a.stage == gather) {
        if (a.names.empty() && a.ids.empty()) return b;
        if (b.names.empty() && b.ids.empty()) return a;
        for (std::size_t j = 0; j < b.names.size(); ++j) {
            const auto it = std::find(a.names.begin(), a.names.end(), b.names[j]);
            if (it == a.names.end() || a.names.size() != b.names.size())
                throw InvalidInput("merge: the chunks have different columns ('" + b.names[j] + "' is not in both)");
            auto& col = out.columns[static_cast<std::size_t>(it - a.names.begin())];
            col.insert(col.end(), b.columns[j].begin(), b.columns[j].end());
        }
        out.ids.insert(out.ids.end(), b.ids.begin(), b.ids.end());
        if (a.category_names.size() != b.category_names.size())
            throw InvalidInput("merge: the chunks have different categorical columns");
        for (std::size_t j = 0; j < b.category_names.size(); ++j) {
            const auto it = std::find(a.category_names.begin(), a.category_names.end(), b.category_names[j]);
            if (it == a.category_names.end())
                throw InvalidInput("merge: categorical column '" + b.category_names[j] + "' is not in both chunks");
            const auto at = static_cast<std::size_t>(it - a.category_names.begin());
            auto& labels = out.category_labels[at];
            std::map<std::string, std::int32_t> code;
            for (std::size_t l = 0; l < labels.size(); ++l) code.emplace(labels[l], static_cast<std::int32_t>(l));
            std::vector<std::int32_t> remap;
            for (const auto& label : b.category_labels[j]) {
                auto [pos, added] = code.emplace(label, static_cast<std::int32_t>(labels.size()));
                if (added) labels.push_back(label);
                remap.push_back(pos->second);
            }
            for (std::int32_t c : b.category_codes[j]) out.category_codes[at].push_back(c < 0 ? c : remap[static_cast<std::size_t>(c)]);
        }
        return out;
    }
    if (a.moments.size() != b.moments.size() || a.sketches.size() != b.sketches.size() || a.sums.size() != b.sums.size() ||
        a.lows.size() != b.lows.size() || a.rfm.size() != b.rfm.size() || a.spend.size() != b.spend.size() ||
        a.exact_sums.size() != b.exact_sums.size() || a.buckets.size() != b.buckets.size() || a.values.size() != b.values.size())
        throw InvalidInput("merge: the states have different layouts (were they made by the same Fitter pass?)");
    // CLV patterns: re-counted with their counts as weights, then sorted (exact, any order).
    for (std::size_t j = 0; j < b.rfm.size(); ++j) {
        clv::RfmHistogram h;
        for (const auto* p : {&a.rfm[j], &b.rfm[j]}) h.update(p->frequency, p->recency, p->T, p->count);
        out.rfm[j] = h.finalize();
    }
    for (std::size_t j = 0; j < b.spend.size(); ++j) {
        clv::SpendHistogram h;
        for (const auto* p : {&a.spend[j], &b.spend[j]}) {
            h.update(p->frequency, p->monetary_value, p->count);
            const std::vector<double> zero{0.0}, weight{p->zero_repeat_customers};
            if (p->zero_repeat_customers > 0) h.update(zero, zero, weight);
        }
        out.spend[j] = h.finalize();
    }
    for (std::size_t j = 0; j < b.moments.size(); ++j) out.moments[j].merge(b.moments[j]);
    for (std::size_t j = 0; j < b.sketches.size(); ++j) out.sketches[j].merge(b.sketches[j]);
    for (std::size_t j = 0; j < b.sums.size(); ++j) out.sums[j] += b.sums[j];
    for (std::size_t j = 0; j < b.exact_sums.size(); ++j) out.exact_sums[j].merge(b.exact_sums[j]);
    for (std::size_t j = 0; j < b.buckets.size(); ++j) {
        if (a.buckets[j].size() != b.buckets[j].size())
            throw InvalidInput("merge: the states have different bucket counts (were they made by the same Fitter pass?)");
        for (std::size_t i = 0; i < b.buckets[j].size(); ++i) out.buckets[j][i] += b.buckets[j][i];  // counts: exact
    }
    for (std::size_t j = 0; j < b.values.size(); ++j) out.values[j].merge(b.values[j]);
    for (std::size_t j = 0; j < b.lows.size(); ++j) {
        out.lows[j] = std::min(out.lows[j], b.lows[j]);
        out.highs[j] = std::max(out.highs[j], b.highs[j]);
    }
    if (!b.sample_keys.empty() || !a.sample_keys.empty()) {
        // Bottom-k by (key, id, point): the same sample whatever the merge order.
        const std::size_t d = a.sample_keys.empty() ? (b.sample_points.size() / b.sample_keys.size())
                                                    : (a.sample_points.size() / a.sample_keys.size());
        struct Row {
            std::uint64_t key;
            std::int64_t id;
            std::vector<double> point;
            bool operator<(const Row& o) const { return std::tie(key, id, point) < std::tie(o.key, o.id, o.point); }
        };
        std::vector<Row> rows;
        for (const PartialState* s : {&a, &b})
            for (std::size_t r = 0; r < s->sample_keys.size(); ++r)
                rows.push_back({s->sample_keys[r], s->sample_ids[r],
                                std::vector<double>(s->sample_points.begin() + static_cast<std::ptrdiff_t>(r * d),
                                                    s->sample_points.begin() + static_cast<std::ptrdiff_t>((r + 1) * d))});
        std::sort(rows.begin(), rows.end());
        // Each side kept its own bottom-`capacity`: the union's bottom-`capacity` is the answer.
        rows.resize(std::min<std::size_t>(rows.size(), std::max(a.sample_capacity, b.sample_capacity)));
        out.sample_keys.clear();
        out.sample_ids.clear();
        out.sample_points.clear();
        for (const auto& r : rows) {
            out.sample_keys.push_back(r.key);
            out.sample_ids.push_back(r.id);
            out.sample_points.insert(out.sample_points.end(), r.point.begin(), r.point.end());
        }
    }
    return out;
}

void Fitter::finish_weights(const PartialState* total) {
    const auto& specs = policy_.scores();
    const auto off = weight_sum_offsets(policy_);
    std::size_t topsis_at = 0;
    for (std::size_t s = 0; s < specs.size(); ++s) {
        FittedScore& fs = scores_[s];
        fs.weights = merged_weights(specs[s].weights, specs[s], fs, total ? total->sums.data() + off[s] : nullptr);
        if (specs[s].method == ScoreMethod::topsis) {
            const std::size_t c = specs[s].criteria.size();
            fs.ideal.assign(c, 0.0);
            fs.anti_ideal.assign(c, 1.0);
            for (std::size_t k = 0; k < c; ++k, ++topsis_at) {
                fs.ideal[k] = std::max(fs.ideal[k], total->highs[topsis_at]);
                fs.anti_ideal[k] = std::min(fs.anti_ideal[k], total->lows[topsis_at]);
            }
        }
    }
}

void Fitter::check_layout(const PartialState& total) const {
    // A state read from bytes is checked against what this pass makes before use.
    std::size_t criteria_count = 0, topsis = 0;
    for (const auto& s : policy_.scores()) {
        criteria_count += s.criteria.size();
        if (s.method == ScoreMethod::topsis) topsis += s.criteria.size();
    }
    bool ok = true;
    switch (stage_) {
        case gather:
            ok = total.columns.size() == total.names.size() && total.category_codes.size() == total.category_names.size() &&
                 total.category_labels.size() == total.category_names.size();
            for (const auto& c : total.columns) ok = ok && c.size() == total.ids.size();
            for (const auto& c : total.category_codes) ok = ok && c.size() == total.ids.size();
            for (std::size_t j = 0; ok && j < total.category_codes.size(); ++j)
                for (std::int32_t code : total.category_codes[j])
                    ok = ok && code >= -1 && code < static_cast<std::int32_t>(total.category_labels[j].size());
            break;
        case clv_pass: ok = total.rfm.size() == 1 && total.spend.size() == (policy_.clv()->gamma_gamma ? 1u : 0u); break;
        case clip: ok = total.sketches.size() == criteria_count; break;
        case criteria: ok = total.sketches.size() == criteria_count && total.moments.size() == criteria_count; break;
        case weights_pass:
            ok = total.sums.size() == weight_sum_offsets(policy_).back() && total.lows.size() == topsis &&
                 total.highs.size() == topsis;
            break;
        case rule_pass: ok = total.sketches.size() == 1; break;
        case clip_count:
        case Stage::criteria_count:
        case rule_count:
            ok = total.buckets.size() == bounds_.size() &&
                 (stage_ != Stage::criteria_count ||
                  (total.exact_sums.size() == criteria_count && total.values.size() == criteria_count));
            for (std::size_t j = 0; ok && j < bounds_.size(); ++j)
                ok = total.buckets[j].empty() || total.buckets[j].size() == 2 * bounds_[j].size() + 1;
            break;
        case clip_values:
        case criteria_values:
        case rule_values: ok = total.values.size() == counts_.size(); break;
        case abc_mass: ok = total.sums.size() == grid_.size() && total.lows.size() == grid_.size() && total.highs.size() == grid_.size(); break;
        case kmeans_seed:
            ok = total.sample_ids.size() == total.sample_keys.size() &&
                 total.sample_points.size() == total.sample_keys.size() * total.moments.size();
            break;
        case lloyd:
            ok = !kmeans_names_.empty() && centroids_.size() % kmeans_names_.size() == 0 &&
                 total.sums.size() == centroids_.size() + centroids_.size() / kmeans_names_.size() + 1;
            break;
        default: break;
    }
    if (ok && stage_ == rule_count) {  // abc: an exact sum per bucket
        const auto rule = policy_.make_rule();
        ok = !dynamic_cast<const AbcRule*>(rule.get()) ||
             (total.buckets.size() == 1 && total.exact_sums.size() == total.buckets[0].size());
    }
    if (!ok)
        throw InvalidInput(std::string("Fitter.advance: the state does not have the layout of pass '") + stage_name(stage_) +
                           "' of this policy");
}

void Fitter::advance(const PartialState& total) {
    if (done()) throw PolicyError("Fitter.advance: the fit is done; call model()");
    if (total.stage != stage_)
        throw InvalidInput(std::string("Fitter.advance: the state belongs to pass '") + stage_name(total.stage) +
                           "', the fitter is at '" + stage_name(stage_) + "'");
    const auto& specs = policy_.scores();
    check_layout(total);
    switch (stage_) {
        case gather: {
            if (total.ids.empty()) throw InvalidInput("fit: the table has no rows");
            const Model m = fit(policy_, gathered_table(total));
            std::ostringstream out;
            save(m, out);
            model_bytes_ = out.str();
            stage_ = finished;
            ++passes_;
            return;
        }
        case clv_pass: {
            std::optional<clv::SpendPatterns> spend;
            if (!total.spend.empty()) spend = total.spend[0];
            clv_ = clv::FittedClv::fit_patterns(*policy_.clv(), total.rfm.at(0), spend);
            break;
        }
        case clip:
        case criteria: {
            const bool refine = options_.mode == FitMode::refine;
            if (refine) {
                bounds_.assign(total.sketches.size(), {});
                counts_.assign(total.sketches.size(), {});
                wanted_.assign(total.sketches.size(), {});
            }
            std::size_t j = 0;
            for (std::size_t s = 0; s < specs.size(); ++s)
                for (std::size_t k = 0; k < specs[s].criteria.size(); ++k, ++j) {
                    FittedCriterion& f = scores_[s].criteria[k];
                    const QuantileSketch& q = total.sketches.at(j);
                    if (refine && (stage_ == criteria ? needs_order(f.spec) : f.spec.clip))
                        bounds_[j] = bounds_of(q, stage_ == criteria ? options_.refine_buckets : 0);
                    if (stage_ == clip) {
                        if (!f.spec.clip) continue;
                        if (q.count() == 0) throw InvalidInput("column '" + f.spec.column + "': no rows to fit on");
                        f.lo = q.quantile(f.spec.clip_lower);
                        f.hi = q.quantile(f.spec.clip_upper);
                        continue;
                    }
                    const Moments& m = total.moments.at(j);
                    if (m.n == 0) throw InvalidInput("fit: the table has no rows");
                    f.n = m.n;
                    // refine: the exact mean now, the sd after the next pass (fit_criterion's bits).
                    f.mean = refine ? total.exact_sums.at(j).value() / m.n : m.mean;
                    f.sd = m.n > 1 ? std::sqrt(std::max(0.0, m.m2) / (m.n - 1)) : 0.0;
                    f.min = m.min;
                    f.max = m.max;
                    if (f.max == f.min) f.sd = 0;
                    f.knots.clear();
                    f.knot_y.clear();
                    f.knot_lo.clear();
                    f.knot_hi.clear();
                    if (!needs_order(f.spec)) {
                        f.median = f.iqr = std::numeric_limits<double>::quiet_NaN();
                        continue;
                    }
                    // Percentile knots as fit_criterion makes them, ranks from the sketch's weights.
                    std::vector<double> values, weights;
                    for (const auto& [v, w] : q.items()) {
                        values.push_back(v);
                        weights.push_back(w);
                    }
                    const auto groups = groups_of(values, weights);
                    set_order_statistics(f, groups.size() <= FittedCriterion::max_knots ? &groups : nullptr,
                                         [&](double r) { return group_at(groups, r); });
                }
            break;
        }
        case clip_count:
        case criteria_count:
        case rule_count: {
            // Exact bucket counts: find the buckets of the target ranks; the open ones
            // among them are gathered by the next pass.
            counts_ = total.buckets;
            collected_pending_ = 0;
            if (stage_ == rule_count && abc_count(total)) break;
            Refinement refinement{policy_, scores_, rule_values_, stage_};
            if (stage_ == criteria_count) {
                std::size_t j = 0;
                for (auto& fs : scores_)
                    for (auto& f : fs.criteria) {
                        const double ss = total.exact_sums.at(j).value();
                        f.sd = f.n > 1 ? std::sqrt(ss / (f.n - 1)) : 0.0;
                        if (f.max == f.min) f.sd = 0;
                        const ValueCounts& few = total.values.at(j);
                        if (needs_order(f.spec) && !few.overflow) {
                            // At most max_knots distinct values: all of them, counted.
                            const auto groups = groups_of(few.values, few.counts);
                            set_order_statistics(f, &groups, [&](double r) { return group_at(groups, r); });
                            counts_[j].clear();  // done
                        }
                        ++j;
                    }
            }
            wanted_.assign(counts_.size(), {});
            for (std::size_t j = 0; j < counts_.size(); ++j) {
                if (counts_[j].empty()) continue;
                const ValueCounts none;
                const OrderIndex index(bounds_[j], counts_[j], none);
                if (index.rows() == 0) throw InvalidInput("fit: the table has no rows");
                for (double r : refinement.ranks(j, index.rows()))
                    if (const auto b = index.open_bucket(r)) wanted_[j].push_back(static_cast<double>(*b));
                std::sort(wanted_[j].begin(), wanted_[j].end());
                wanted_[j].erase(std::unique(wanted_[j].begin(), wanted_[j].end()), wanted_[j].end());
                for (double b : wanted_[j]) collected_pending_ += counts_[j][static_cast<std::size_t>(b)];
            }
            if (std::all_of(wanted_.begin(), wanted_.end(), [](const auto& w) { return w.empty(); })) {
                // Every target rank is in a bucket of one value: done without gathering.
                const ValueCounts none;
                for (std::size_t j = 0; j < counts_.size(); ++j)
                    if (!counts_[j].empty()) refinement.finish(j, OrderIndex(bounds_[j], counts_[j], none));
                bounds_.clear();
                counts_.clear();
                wanted_.clear();
                ++stage_;  // skip the values pass
            }
            break;
        }
        case clip_values:
        case criteria_values:
        case rule_values: {
            if (stage_ != rule_values || !abc_values(total)) {
                Refinement refinement{policy_, scores_, rule_values_, stage_};
                for (std::size_t j = 0; j < counts_.size(); ++j)
                    if (!counts_[j].empty()) refinement.finish(j, OrderIndex(bounds_[j], counts_[j], total.values.at(j)));
            }
            collected_rows_ += collected_pending_;
            collected_pending_ = 0;
            bounds_.clear();
            counts_.clear();
            wanted_.clear();
            break;
        }
        case weights_pass: finish_weights(&total); break;
        case rule_pass: {
            const auto rule = policy_.make_rule();
            const QuantileSketch& q = total.sketches.at(0);
            const double n = static_cast<double>(q.count());
            if (q.count() == 0) throw InvalidInput("fit: the table has no rows");
            rule_values_.clear();
            if (options_.mode == FitMode::refine) {
                bounds_.assign(1, bounds_of(q, 0));
                if (dynamic_cast<const AbcRule*>(rule.get())) {
                    // abc keeps an exact sum (552 bytes) per bucket: at most 1024 bounds.
                    auto& b = bounds_[0];
                    const std::size_t step = (b.size() + 1023) / 1024;
                    std::vector<double> thin;
                    for (std::size_t i = 0; i < b.size(); i += step) thin.push_back(b[i]);
                    b = std::move(thin);
                }
                counts_.assign(1, {});
                wanted_.assign(1, {});
            }
            if (const auto* qr = dynamic_cast<const QuantileRule*>(rule.get())) {
                double cumulative = 0;
                for (double s : qr->shares()) {
                    cumulative += s;
                    const double count = std::min(n, std::floor(cumulative * n + 0.5));
                    rule_values_.push_back(count == 0 ? std::numeric_limits<double>::infinity() : q.at_rank(n - count));
                }
            } else {
                // abc: the sketch's distinct values become the lower edges of bins; the next
                // pass adds up each bin's exact value mass and minimum.
                grid_.clear();
                for (const auto& item : q.items()) grid_.push_back(item.first);
            }
            break;
        }
        case abc_mass: {
            // Walk the bins from the highest, each as one block of customers, as AbcRule::fit
            // walks the sorted column: a bin whose first customer starts below a cut's share
            // is in that class, and its minimum bounds the class. Exact when every bin holds
            // one distinct value; otherwise a bin straddling a cut joins the higher class.
            const auto rule = policy_.make_rule();
            const auto& cuts = dynamic_cast<const AbcRule&>(*rule).cuts();
            double sum = 0;
            for (double m : total.sums) sum += m;
            rule_values_.assign(cuts.size(), std::numeric_limits<double>::infinity());
            if (sum > 0) {
                double before = 0;
                std::size_t cls = 0;
                for (std::size_t b = grid_.size(); b-- > 0 && cls < cuts.size();) {
                    if (!(total.lows[b] <= total.highs[b])) continue;  // empty bin
                    while (cls < cuts.size() && !(before < cuts[cls] * sum)) ++cls;
                    if (cls == cuts.size()) break;
                    for (std::size_t k = cls; k < cuts.size(); ++k) rule_values_[k] = std::min(rule_values_[k], total.lows[b]);
                    before += total.sums[b];
                }
                for (auto& t : rule_values_)
                    if (t <= 0) t = std::numeric_limits<double>::min();
            }
            grid_.clear();
            break;
        }
        case kmeans_seed: {
            const auto rule = policy_.make_rule();
            const auto& km = dynamic_cast<const KMeansRule&>(*rule);
            const auto& o = km.options();
            const std::size_t d = total.moments.size(), rows = total.sample_keys.size(), k = o.k;
            if (d == 0 || total.moments[0].n == 0) throw InvalidInput("fit: the table has no rows");
            if (static_cast<double>(k) > total.moments[0].n)
                throw InvalidInput("kmeans: needs at least as many rows as clusters (" + std::to_string(k) + "), got " +
                                   std::to_string(static_cast<std::size_t>(total.moments[0].n)));
            mean_variance_ = 0;
            for (const auto& m : total.moments) mean_variance_ += m.m2 / m.n / static_cast<double>(d);
            for (std::size_t s = 0; s < scores_.size(); ++s)
                if (o.score.empty() || scores_[s].name == o.score) {
                    kmeans_names_.clear();
                    for (const auto& c : scores_[s].criteria) kmeans_names_.push_back(c.spec.column);
                    kmeans_weights_ = scores_[s].weights;
                    break;
                }
            if (!o.init.empty()) {
                if (o.init.size() != k * d)
                    throw InvalidInput("kmeans: init centroids have " + std::to_string(o.init.size() / k) +
                                       " values each but the score has " + std::to_string(d) + " criteria");
                centroids_ = o.init;
            } else {
                std::vector<std::vector<double>> cols(d, std::vector<double>(rows));
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t f = 0; f < d; ++f) cols[f][r] = total.sample_points[r * d + f];
                PointColumns x{rows, {}};
                for (const auto& c : cols) x.columns.push_back(c.data());
                Xoshiro256 rng(o.seed);
                KMeansResult best;
                for (int r = 0; r < o.n_init; ++r) {
                    KMeansResult res = kmeans_lloyd(x, kmeans_plus_plus(x, k, rng), o.max_iter, o.tol);
                    if (r == 0 || res.inertia < best.inertia) best = std::move(res);
                }
                centroids_ = best.centroids;
            }
            iterations_ = 0;
            break;
        }
        case lloyd: {
            const auto rule = policy_.make_rule();
            const auto& o = dynamic_cast<const KMeansRule&>(*rule).options();
            const std::size_t d = kmeans_names_.size(), k = centroids_.size() / d;
            if (total.sums.size() != k * d + k + 1) throw InvalidInput("Fitter.advance: the Lloyd state has the wrong size");
            double shift = 0;
            for (std::size_t j = 0; j < k; ++j) {
                const double count = total.sums[k * d + j];
                if (count == 0) continue;  // an empty cluster keeps its centroid
                for (std::size_t f = 0; f < d; ++f) {
                    const double c = total.sums[j * d + f] / count;
                    shift += (c - centroids_[j * d + f]) * (c - centroids_[j * d + f]);
                    centroids_[j * d + f] = c;
                }
            }
            inertia_ = total.sums[k * d + k];
            ++iterations_;
            ++passes_;
            if (shift <= o.tol * mean_variance_ || iterations_ >= o.max_iter) stage_ = finished;
            return;
        }
        default: break;
    }
    ++passes_;
    next_stage();
}

bool Fitter::abc_count(const PartialState& total) {
    const auto rule = policy_.make_rule();
    const auto* abc = dynamic_cast<const AbcRule*>(rule.get());
    if (!abc) return false;
    // Walk the buckets from the highest with the exact sum of the values above each:
    // a cut's class boundary (the last value whose preceding sum is below the cut's
    // share, as AbcRule::fit walks) lies in the bucket whose sum reaches the share.
    const auto& cuts = abc->cuts();
    const auto& count = counts_.at(0);
    const auto& bounds = bounds_.at(0);
    ExactSum all;
    for (const auto& s : total.exact_sums) all.merge(s);
    abc_total_ = all.value();
    rule_values_.assign(cuts.size(), std::numeric_limits<double>::infinity());
    abc_bucket_.assign(cuts.size(), -1.0);
    abc_before_.assign(cuts.size(), ExactSum{});
    wanted_.assign(1, {});
    if (abc_total_ > 0) {
        std::size_t lowest = 0;
        while (lowest < count.size() && count[lowest] == 0) ++lowest;
        std::vector<bool> found(cuts.size(), false);
        ExactSum above;
        for (std::size_t b = count.size(); b-- > 0;) {
            if (count[b] == 0) continue;
            ExactSum after = above;
            after.merge(total.exact_sums[b]);
            for (std::size_t k = 0; k < cuts.size(); ++k) {
                if (found[k]) continue;
                const double share = cuts[k] * abc_total_;
                if (above.compare(share) >= 0) {
                    found[k] = true;  // no value before the share: an empty class (as fit())
                } else if (after.compare(share) >= 0 || b == lowest) {
                    found[k] = true;
                    if (b % 2 == 1) {
                        rule_values_[k] = bounds[b / 2];  // a bucket of one value
                    } else {
                        abc_bucket_[k] = static_cast<double>(b);
                        abc_before_[k] = above;
                        wanted_[0].push_back(static_cast<double>(b));
                        collected_pending_ += count[b];
                    }
                }
            }
            above = after;
        }
    }
    std::sort(wanted_[0].begin(), wanted_[0].end());
    const auto last = std::unique(wanted_[0].begin(), wanted_[0].end());
    for (auto it = last; it != wanted_[0].end(); ++it) collected_pending_ -= count[static_cast<std::size_t>(*it)];
    wanted_[0].erase(last, wanted_[0].end());
    if (wanted_[0].empty()) {
        abc_values(PartialState{});
        bounds_.clear();
        counts_.clear();
        wanted_.clear();
        ++stage_;  // skip the values pass
    }
    return true;
}

bool Fitter::abc_values(const PartialState& total) {
    const auto rule = policy_.make_rule();
    const auto* abc = dynamic_cast<const AbcRule*>(rule.get());
    if (!abc) return false;
    AbcRule walker(abc->source(), abc->cuts());
    walker.set_thresholds(rule_values_);
    const auto& bounds = bounds_.at(0);
    for (std::size_t k = 0; k < abc_bucket_.size(); ++k) {
        if (abc_bucket_[k] < 0) continue;
        // The gathered values of the bucket, highest first, each as often as it occurs.
        const auto i = static_cast<std::size_t>(abc_bucket_[k]) / 2;
        const ValueCounts& v = total.values.at(0);
        std::vector<double> desc;
        for (std::size_t e = 0; e < v.values.size(); ++e)
            if ((i == 0 || v.values[e] > bounds[i - 1]) && (i == bounds.size() || v.values[e] < bounds[i]))
                desc.insert(desc.end(), static_cast<std::size_t>(v.counts[e]), v.values[e]);
        std::reverse(desc.begin(), desc.end());
        walker.walk(desc, abc_before_[k], abc_total_, k, k + 1);
    }
    walker.keep_thresholds_positive();
    rule_values_ = walker.thresholds();
    abc_bucket_.clear();
    abc_before_.clear();
    return true;
}

Model Fitter::model() const {
    if (!done()) throw PolicyError("Fitter.model: the fit is not done (pass '" + stage() + "' is next)");
    if (!model_bytes_.empty()) {
        std::istringstream in(model_bytes_);
        return load(in);
    }
    std::unique_ptr<Rule> rule = policy_.make_rule();
    if (auto* q = dynamic_cast<QuantileRule*>(rule.get())) q->set_cuts(rule_values_);
    if (auto* a = dynamic_cast<AbcRule*>(rule.get())) a->set_thresholds(rule_values_);
    if (auto* km = dynamic_cast<KMeansRule*>(rule.get())) km->set_centroids(kmeans_names_, kmeans_weights_, centroids_, inertia_, iterations_);
    return Model(policy_, scores_, std::shared_ptr<const Rule>(std::move(rule)), clv_);
}

// ---- Fitter bytes -----------------------------------------------------------------------

struct FitterAccess {
    struct Record {
        std::string policy;
        std::uint32_t mode = 0, sketch_k = 0, kmeans_sample = 0, stage = 0, passes = 0;
        std::vector<FittedScore> scores;
        std::vector<double> rule_values, centroids;
        std::vector<std::string> kmeans_names;
        std::vector<double> kmeans_weights;
        double mean_variance = 0, inertia = 0;
        std::int32_t iterations = 0;
        std::string model_bytes;
        std::vector<double> grid;
        std::uint32_t refine_buckets = 0;
        std::vector<std::vector<double>> bounds, counts, wanted;
        double collected_rows = 0, collected_pending = 0, abc_total = 0;
        std::vector<double> abc_bucket;
        std::vector<ExactSum> abc_before;
        bool has_clv = false;
        clv::FittedClv clv;

        template <class Archive>
        void serialize(Archive& ar, unsigned /*version*/) {
            ar& policy& mode& sketch_k& kmeans_sample& stage& passes& scores& rule_values& centroids& kmeans_names&
                kmeans_weights& mean_variance& inertia& iterations& model_bytes& grid& refine_buckets& bounds& counts& wanted&
                collected_rows& collected_pending& abc_total& abc_bucket& abc_before& has_clv;
            if (has_clv) ar& clv;
        }
    };
};

std::string Fitter::to_bytes() const {
    FitterAccess::Record r{policy_.to_json(), static_cast<std::uint32_t>(options_.mode), options_.sketch_k,
                           options_.kmeans_sample, stage_, passes_, scores_, rule_values_, centroids_, kmeans_names_,
                           kmeans_weights_, mean_variance_, inertia_, iterations_, model_bytes_, grid_, options_.refine_buckets,
                           bounds_, counts_, wanted_, collected_rows_, collected_pending_, abc_total_, abc_bucket_,
                           abc_before_, clv_.has_value(),
                           clv_ ? *clv_ : clv::FittedClv{}};
    return seal(envelope::Content::fitter, archive_bytes(r));
}

Fitter Fitter::from_bytes(const std::string& bytes) {
    FitterAccess::Record r;
    read_archive(unseal(envelope::Content::fitter, bytes, "Fitter.from_bytes"), r, "Fitter.from_bytes");
    if (r.mode > 2 || r.stage > finished) throw FormatError("Fitter.from_bytes: unknown mode or pass in the payload");
    Fitter f;
    try {
        f.policy_ = Policy::from_json(r.policy);
    } catch (const PolicyError& e) {
        throw FormatError(std::string("Fitter.from_bytes: the stored policy is invalid: ") + e.what());
    }
    f.options_ = FitOptions{static_cast<FitMode>(r.mode), r.sketch_k, r.kmeans_sample, r.refine_buckets};
    if (f.options_.sketch_k < 8) throw FormatError("Fitter.from_bytes: sketch_k " + std::to_string(r.sketch_k) + " < 8");
    if (r.counts.size() != r.bounds.size() || r.wanted.size() != r.bounds.size())
        throw FormatError("Fitter.from_bytes: refine bounds, counts and wanted buckets differ in number");
    for (std::size_t j = 0; j < r.bounds.size(); ++j)
        if ((!r.counts[j].empty() && r.counts[j].size() != 2 * r.bounds[j].size() + 1) ||
            !std::is_sorted(r.bounds[j].begin(), r.bounds[j].end()))
            throw FormatError("Fitter.from_bytes: refine column " + std::to_string(j) + " has unsorted bounds or a bad count");
    f.bounds_ = std::move(r.bounds);
    f.counts_ = std::move(r.counts);
    f.wanted_ = std::move(r.wanted);
    f.collected_rows_ = r.collected_rows;
    f.collected_pending_ = r.collected_pending;
    if (r.abc_before.size() != r.abc_bucket.size()) throw FormatError("Fitter.from_bytes: abc buckets and sums differ in number");
    for (double b : r.abc_bucket)
        if (b >= 0 && (f.bounds_.empty() || !(b < static_cast<double>(2 * f.bounds_[0].size() + 1))))
            throw FormatError("Fitter.from_bytes: abc bucket " + std::to_string(b) + " out of range");
    f.abc_total_ = r.abc_total;
    f.abc_bucket_ = std::move(r.abc_bucket);
    f.abc_before_ = std::move(r.abc_before);
    if (r.scores.size() != f.policy_.scores().size())
        throw FormatError("Fitter.from_bytes: " + std::to_string(r.scores.size()) + " fitted scores for " +
                          std::to_string(f.policy_.scores().size()) + " in the policy");
    f.stage_ = r.stage;
    f.passes_ = r.passes;
    f.scores_ = std::move(r.scores);
    f.rule_values_ = std::move(r.rule_values);
    f.centroids_ = std::move(r.centroids);
    f.kmeans_names_ = std::move(r.kmeans_names);
    f.kmeans_weights_ = std::move(r.kmeans_weights);
    f.mean_variance_ = r.mean_variance;
    f.inertia_ = r.inertia;
    f.iterations_ = r.iterations;
    f.model_bytes_ = std::move(r.model_bytes);
    f.grid_ = std::move(r.grid);
    if (r.has_clv) {
        if (!f.policy_.clv() || !(r.clv.spec() == *f.policy_.clv()))
            throw FormatError("Fitter.from_bytes: the fitted clv models do not match the policy's clv section");
        f.clv_ = std::move(r.clv);
    }
    return f;
}

Model fit_chunks(const Policy& policy, std::span<const FeatureTable> chunks, FitOptions options) {
    Fitter f(policy, options);
    while (!f.done()) {
        PartialState total;
        for (const auto& c : chunks) total = Fitter::merge(total, f.update(c));
        f.advance(total);
    }
    return f.model();
}

}  // namespace tierkit
