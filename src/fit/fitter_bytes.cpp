// The bytes of a Fitter and its PartialStates: the one envelope (core/envelope.hpp)
// around a Boost binary archive. See include/tierkit/fit_state.hpp.
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <sstream>

#include "fit/stages.hpp"
#include "tierkit/core/envelope.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/fit_state.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/scoring/serialize.hpp"

namespace tierkit {

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

}  // namespace tierkit

namespace boost::serialization {

template <class Archive>
void serialize(Archive& ar, tierkit::RuleStateRecord& r, unsigned /*version*/) {
    ar& r.values& r.points& r.names& r.weights& r.scale& r.objective& r.iterations& r.grid& r.total& r.open_buckets& r
        .sums_above;
}

}  // namespace boost::serialization

namespace tierkit {

// ---- Fitter bytes -----------------------------------------------------------------------

/// A Fitter's bytes: its fields, then the rule state's fields (RuleStateRecord) in the
/// places the first Fitter states put them, so those still load and resume.
struct FitterAccess {
    struct Record {
        std::string policy;
        std::uint32_t mode = 0, sketch_k = 0, kmeans_sample = 0, stage = 0, passes = 0;
        std::vector<FittedScore> scores;
        RuleStateRecord rule;
        std::string model_bytes;
        std::uint32_t refine_buckets = 0;
        RefineBuckets buckets;
        bool has_clv = false;
        clv::FittedClv clv;

        template <class Archive>
        void serialize(Archive& ar, unsigned version) {
            ar& policy& mode& sketch_k& kmeans_sample& stage& passes& scores& rule.values& rule.points& rule.names& rule
                .weights& rule.scale& rule.objective& rule.iterations& model_bytes& rule.grid& refine_buckets& buckets
                .bounds& buckets.counts& buckets.wanted& buckets.collected_rows& buckets.pending& rule.total& rule
                .open_buckets& rule.sums_above& has_clv;
            if (has_clv) ar& clv;
            if (version >= 1) ar& rule.rows;  // a gathering rule state's rows (none in the first format)
        }
    };
};

}  // namespace tierkit

BOOST_CLASS_VERSION(tierkit::FitterAccess::Record, 1)

namespace tierkit {

std::string Fitter::to_bytes() const {
    FitterAccess::Record r;
    r.policy = policy_.to_json();
    r.mode = static_cast<std::uint32_t>(options_.mode);
    r.sketch_k = options_.sketch_k;
    r.kmeans_sample = options_.kmeans_sample;
    r.stage = stage_;
    r.passes = passes_;
    r.scores = scores_;
    if (rule_state_) rule_state_->save(r.rule);
    if (model_) {
        std::ostringstream out;
        save(*model_, out);
        r.model_bytes = out.str();
    }
    r.refine_buckets = options_.refine_buckets;
    r.buckets = buckets_;
    r.has_clv = clv_.has_value();
    if (clv_) r.clv = *clv_;
    return seal(envelope::Content::fitter, archive_bytes(r));
}

Fitter Fitter::from_bytes(const std::string& bytes) {
    FitterAccess::Record r;
    read_archive(unseal(envelope::Content::fitter, bytes, "Fitter.from_bytes"), r, "Fitter.from_bytes");
    if (r.mode > 2 || r.stage > fit_passes::finished)
        throw FormatError("Fitter.from_bytes: unknown mode or pass in the payload");
    FitOptions options{static_cast<FitMode>(r.mode), r.sketch_k, r.kmeans_sample, r.refine_buckets};
    if (options.sketch_k < 8) throw FormatError("Fitter.from_bytes: sketch_k " + std::to_string(r.sketch_k) + " < 8");
    Policy policy = Policy::default_policy();
    try {
        policy = Policy::from_json(r.policy);
    } catch (const PolicyError& e) {
        throw FormatError(std::string("Fitter.from_bytes: the stored policy is invalid: ") + e.what());
    }
    // The constructor sets up the stages and the rule's state as when the Fitter was made.
    Fitter f;
    try {
        f = Fitter(std::move(policy), options);
    } catch (const Error& e) {
        throw FormatError(std::string("Fitter.from_bytes: the stored policy cannot be fitted in this mode: ") +
                          e.what());
    }
    const auto& b = r.buckets;
    if (b.counts.size() != b.bounds.size() || b.wanted.size() != b.bounds.size())
        throw FormatError("Fitter.from_bytes: refine bounds, counts and wanted buckets differ in number");
    for (std::size_t j = 0; j < b.bounds.size(); ++j)
        if ((!b.counts[j].empty() && b.counts[j].size() != 2 * b.bounds[j].size() + 1) ||
            !std::is_sorted(b.bounds[j].begin(), b.bounds[j].end()))
            throw FormatError("Fitter.from_bytes: refine column " + std::to_string(j) +
                              " has unsorted bounds or a bad count");
    f.buckets_ = std::move(r.buckets);
    if (f.rule_state_) {
        f.rule_state_->load(r.rule, f.buckets_);
        // What the rule's state does not keep must be empty: the bytes are of this rule.
        RuleStateRecord kept;
        f.rule_state_->save(kept);
        if (archive_bytes(kept) != archive_bytes(r.rule))
            throw FormatError("Fitter.from_bytes: the stored rule state does not match the policy's rule");
    }
    if (r.scores.size() != f.policy_.scores().size())
        throw FormatError("Fitter.from_bytes: " + std::to_string(r.scores.size()) + " fitted scores for " +
                          std::to_string(f.policy_.scores().size()) + " in the policy");
    if (r.stage > fit_passes::weights_pass && r.stage < fit_passes::finished && !f.rule_state_)
        throw FormatError("Fitter.from_bytes: a rule pass is stored but the policy's rule has no passes in this mode");
    f.stage_ = r.stage;
    f.passes_ = r.passes;
    f.scores_ = std::move(r.scores);
    if (!r.model_bytes.empty()) {
        if (f.options_.mode != FitMode::exact || r.stage != fit_passes::finished)
            throw FormatError(
                "Fitter.from_bytes: a fitted model is stored but the fit is not an exact one that is done");
        std::istringstream in(r.model_bytes);
        f.model_ = load(in);
    }
    if (r.has_clv) {
        if (!f.policy_.clv() || !(r.clv.spec() == *f.policy_.clv()))
            throw FormatError("Fitter.from_bytes: the fitted clv models do not match the policy's clv section");
        f.clv_ = std::move(r.clv);
    }
    return f;
}

}  // namespace tierkit
