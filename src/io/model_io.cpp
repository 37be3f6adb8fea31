// Model archives with Boost.Serialization. Rules export themselves (rules/register.hpp).
#include "tierkit/io/model_io.hpp"

#include <array>
#include <boost/math/special_functions/nonfinite_num_facets.hpp>
#include <cmath>
#include <cstring>
#include <istream>
#include <iterator>
#include <locale>
#include <optional>
#include <ostream>
#include <sstream>

#include "tierkit/core/envelope.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/scoring/serialize.hpp"

namespace tierkit {
namespace {

/// The archived form of a Model.
struct ModelRecord {
    std::string policy;
    std::vector<FittedScore> scores;
    std::shared_ptr<Rule> rule;
    std::optional<clv::FittedClv> clv;  ///< since version 1

    template <class Archive>
    void serialize(Archive& ar, unsigned version) {
        using boost::serialization::make_nvp;
        ar& make_nvp("policy", policy);
        ar& make_nvp("scores", scores);
        ar& make_nvp("rule", rule);
        // Version 1 added the CLV models of the policy's clv section; a version-0 record
        // has none (its policy cannot have a clv section).
        if (version >= 1) {
            bool has_clv = clv.has_value();
            ar& make_nvp("has_clv", has_clv);
            if (has_clv) {
                if (!clv) clv.emplace();
                ar& make_nvp("clv", *clv);
            }
        }
    }
};

}  // namespace
}  // namespace tierkit

// The version must be known before the archives below are instantiated.
BOOST_CLASS_VERSION(tierkit::ModelRecord, 1)

namespace tierkit {
namespace {

// Text and XML archives write doubles through the stream's locale, which cannot
// read back inf or nan (fitted cut points and clip bounds may be infinite). Boost.Math's
// non-finite facets write them as "inf"/"nan" and read them back; the stream's own
// locale is restored afterwards.
std::locale nonfinite_locale(const std::locale& base) {
    std::locale with_put(base, new boost::math::nonfinite_num_put<char>);
    return std::locale(with_put, new boost::math::nonfinite_num_get<char>);
}

template <class OArchive>
void write(const ModelRecord& record, std::ostream& out) {
    const std::locale previous = out.imbue(nonfinite_locale(out.getloc()));
    {
        OArchive ar(out, boost::archive::no_codecvt);
        ar << boost::serialization::make_nvp("model", record);
    }
    out.imbue(previous);
}

template <class IArchive>
ModelRecord read(std::istream& in, std::size_t size) {
    ModelRecord record;
    const std::locale previous = in.imbue(nonfinite_locale(in.getloc()));
    try {
        IArchive ar(in, size, boost::archive::no_codecvt);
        ar >> boost::serialization::make_nvp("model", record);
        // Boost's XML archive reads its closing tag in its destructor and throws there
        // (ending the process) when the payload ends early: read it now, while an error
        // can still reach the caller (the destructor then skips or repeats that read).
        if constexpr (requires { ar.finish(); }) ar.finish();
    } catch (...) {
        in.imbue(previous);
        throw;
    }
    in.imbue(previous);
    return record;
}

}  // namespace

ArchiveKind parse_archive_kind(const std::string& text) {
    if (text == "binary") return ArchiveKind::binary;
    if (text == "text") return ArchiveKind::text;
    if (text == "xml") return ArchiveKind::xml;
    throw InvalidInput("archive kind: expected binary, text or xml, got '" + text + "'");
}

namespace {

const char* kind_name(ArchiveKind k) {
    return k == ArchiveKind::binary ? "binary" : k == ArchiveKind::text ? "text" : "xml";
}

}  // namespace

namespace {

[[noreturn]] void invalid(const std::string& where, const std::string& what) {
    throw FormatError("load: " + where + ": " + what);
}

bool same_spec(const CriterionSpec& a, const CriterionSpec& b) {
    auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
    return a.column == b.column && a.direction == b.direction && a.transform == b.transform && a.clip == b.clip &&
           same(a.clip_lower, b.clip_lower) && same(a.clip_upper, b.clip_upper) && a.normalizer == b.normalizer &&
           a.bins == b.bins && same(a.weight, b.weight) && a.labels == b.labels && a.label_values == b.label_values &&
           a.missing == b.missing && same(a.missing_value, b.missing_value) &&
           a.unknown_as_missing == b.unknown_as_missing;
}

/// The fitted scores must fit the policy they were saved with, and hold the invariants
/// assign() relies on (sizes, sorted finite knots, finite weights): anything else in a
/// file is corruption or tampering.
void check_scores(const std::vector<FittedScore>& scores, const Policy& policy) {
    for (std::size_t i = 0; i < scores.size(); ++i) {
        const FittedScore& s = scores[i];
        const ScoreSpec& spec = policy.scores()[i];
        const std::string at = "scores[" + std::to_string(i) + "]";
        if (s.name != spec.name || s.method != spec.method || s.criteria.size() != spec.criteria.size())
            invalid(at, "does not match the policy's score '" + spec.name + "'");
        const std::size_t c = s.criteria.size();
        if (s.weights.size() != c)
            invalid(at + ".weights", std::to_string(s.weights.size()) + " for " + std::to_string(c) + " criteria");
        for (double w : s.weights)
            if (!std::isfinite(w)) invalid(at + ".weights", "not finite");
        if (s.method == ScoreMethod::topsis) {
            if (s.ideal.size() != c || s.anti_ideal.size() != c)
                invalid(at + ".ideal", "sizes differ from the criteria");
            for (std::size_t k = 0; k < c; ++k)
                if (!std::isfinite(s.ideal[k]) || !std::isfinite(s.anti_ideal[k])) invalid(at + ".ideal", "not finite");
        }
        for (std::size_t k = 0; k < c; ++k) {
            const FittedCriterion& f = s.criteria[k];
            const std::string cat = at + ".criteria[" + std::to_string(k) + "]";
            if (!same_spec(f.spec, spec.criteria[k]))
                invalid(cat, "does not match the policy's criterion '" + spec.criteria[k].column + "'");
            if (std::isnan(f.lo) || std::isnan(f.hi) || f.lo > f.hi) invalid(cat, "clip bounds are not an interval");
            if (f.spec.missing != Missing::reject && !std::isfinite(f.missing_fill))
                invalid(cat, "missing fill is not finite");
            f.check_curve("load: " + cat);  // also checked when the criterion loads (any criterion, e.g. pct() curves)
        }
    }
}

}  // namespace

void save(const Model& model, std::ostream& out, ArchiveKind kind) {
    ModelRecord record{model.policy().to_json(), model.scores(), std::const_pointer_cast<Rule>(model.rule_ptr()),
                       model.clv()};
    std::ostringstream payload;
    try {
        switch (kind) {
            case ArchiveKind::binary:
                write<boost::archive::binary_oarchive>(record, payload);
                break;
            case ArchiveKind::text:
                write<boost::archive::text_oarchive>(record, payload);
                break;
            case ArchiveKind::xml:
                write<boost::archive::xml_oarchive>(record, payload);
                break;
        }
    } catch (const boost::archive::archive_exception& e) {
        throw FormatError(std::string("save: cannot serialize the model (rule '") + model.rule().kind() +
                          "'): " + e.what());
    }
    const std::string bytes = payload.str();
    const auto header =
        envelope::make_header(envelope::Content::model, static_cast<envelope::Encoding>(kind), format_version, bytes);
    out.write(header.data(), header.size());
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw FormatError("save: the output stream failed");
}

Model load(std::istream& in, std::optional<ArchiveKind> expected) {
    const envelope::Expect expect{envelope::Content::model, format_version, max_payload_bytes, "load"};
    std::array<char, envelope::header_size> header{};
    in.read(header.data(), header.size());
    const auto h =
        envelope::read_header(std::string_view(header.data(), static_cast<std::size_t>(in.gcount())), expect);
    if (h.encoding == envelope::Encoding::record)
        throw FormatError("load: payload encoding 3 at byte 12 is not a Boost archive (0 binary, 1 text, 2 xml)");
    const auto kind = static_cast<ArchiveKind>(h.encoding);
    if (expected && *expected != kind)
        throw FormatError(std::string("load: the file holds a ") + kind_name(kind) + " archive, not " +
                          kind_name(*expected));
    const std::uint64_t length = h.length;
    std::string bytes;
    bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(length, 1u << 20)));
    std::size_t have = 0;
    while (have < length) {
        if (bytes.size() < have + 1)
            bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(length, 2 * bytes.size())));
        in.read(bytes.data() + have, static_cast<std::streamsize>(bytes.size() - have));
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) break;
        have += n;
    }
    bytes.resize(have);
    envelope::check_payload(h, bytes, expect);
    std::istringstream payload(bytes);
    ModelRecord record;
    try {
        switch (kind) {
            case ArchiveKind::binary:
                record = read<io::checked_binary_iarchive>(payload, bytes.size());
                break;
            case ArchiveKind::text:
                record = read<io::checked_text_iarchive>(payload, bytes.size());
                break;
            case ArchiveKind::xml:
                record = read<io::checked_xml_iarchive>(payload, bytes.size());
                break;
        }
    } catch (const boost::archive::archive_exception& e) {
        throw FormatError(
            printable_utf8(std::string("load: the ") + kind_name(kind) + " payload cannot be read: " + e.what()));
    } catch (const FormatError& e) {
        throw FormatError(printable_utf8(e.what()));
    } catch (const Error& e) {
        throw FormatError(printable_utf8(std::string("load: the ") + kind_name(kind) +
                                         " payload holds an invalid object: " + e.what()));
    } catch (const std::bad_alloc&) {
        throw FormatError("load: the payload claims more memory than is available");
    } catch (const std::exception& e) {
        throw FormatError(
            printable_utf8(std::string("load: the ") + kind_name(kind) + " payload cannot be read: " + e.what()));
    }
    if (!record.rule) throw FormatError("load: the archive holds no rule");
    Policy policy = [&] {
        try {
            return Policy::from_json(record.policy);
        } catch (const Error& e) {
            throw FormatError(printable_utf8(std::string("load: the archived policy is invalid: ") + e.what()));
        }
    }();
    // fit() stores the min_group it used; files written before grouping was the
    // default have no privacy section and were fitted with min_group 1.
    if (!policy.min_group()) policy = policy.with_min_group(1);
    if (record.rule->tiers() != policy.tiers().size())
        throw FormatError("load: the rule makes " + std::to_string(record.rule->tiers()) +
                          " tiers but the policy names " + std::to_string(policy.tiers().size()));
    if (record.scores.size() != policy.scores().size())
        throw FormatError("load: the archive has " + std::to_string(record.scores.size()) + " fitted scores for " +
                          std::to_string(policy.scores().size()) + " in the policy");
    check_scores(record.scores, policy);
    if (policy.clv().has_value() != record.clv.has_value())
        throw FormatError(policy.clv() ? "load: the policy has a clv section but the archive holds no fitted clv models"
                                       : "load: the archive holds fitted clv models but the policy has no clv section");
    if (record.clv && !(record.clv->spec() == *policy.clv()))
        throw FormatError("load: the archived clv models were fitted for another clv section than the policy's");
    return Model(std::move(policy), std::move(record.scores), std::shared_ptr<const Rule>(std::move(record.rule)),
                 std::move(record.clv));
}

}  // namespace tierkit
