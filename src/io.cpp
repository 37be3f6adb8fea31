// Model archives with Boost.Serialization, and the export of the built-in rules.
#include "tierkit/io/model_io.hpp"

#include <istream>
#include <locale>
#include <ostream>

#include <boost/math/special_functions/nonfinite_num_facets.hpp>

#include "tierkit/error.hpp"
#include "tierkit/io/archives.hpp"
#include "tierkit/rules/abc.hpp"
#include "tierkit/rules/quantiles.hpp"
#include "tierkit/rules/thresholds.hpp"

BOOST_CLASS_EXPORT_IMPLEMENT(tierkit::ThresholdRule)
BOOST_CLASS_EXPORT_IMPLEMENT(tierkit::QuantileRule)
BOOST_CLASS_EXPORT_IMPLEMENT(tierkit::AbcRule)

namespace tierkit {
namespace {

/// The archived form of a Model.
struct ModelRecord {
    std::string policy;
    std::vector<FittedScore> scores;
    std::shared_ptr<Rule> rule;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        using boost::serialization::make_nvp;
        ar& make_nvp("policy", policy);
        ar& make_nvp("scores", scores);
        ar& make_nvp("rule", rule);
    }
};

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
ModelRecord read(std::istream& in) {
    ModelRecord record;
    const std::locale previous = in.imbue(nonfinite_locale(in.getloc()));
    try {
        IArchive ar(in, boost::archive::no_codecvt);
        ar >> boost::serialization::make_nvp("model", record);
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

void save(const Model& model, std::ostream& out, ArchiveKind kind) {
    ModelRecord record{model.policy().to_json(), model.scores(), std::const_pointer_cast<Rule>(model.rule_ptr())};
    try {
        switch (kind) {
            case ArchiveKind::binary: write<boost::archive::binary_oarchive>(record, out); break;
            case ArchiveKind::text: write<boost::archive::text_oarchive>(record, out); break;
            case ArchiveKind::xml: write<boost::archive::xml_oarchive>(record, out); break;
        }
    } catch (const boost::archive::archive_exception& e) {
        throw FormatError(std::string("save: cannot serialize the model (rule '") + model.rule().kind() + "'): " + e.what());
    }
    if (!out) throw FormatError("save: the output stream failed");
}

Model load(std::istream& in, ArchiveKind kind) {
    ModelRecord record;
    try {
        switch (kind) {
            case ArchiveKind::binary: record = read<boost::archive::binary_iarchive>(in); break;
            case ArchiveKind::text: record = read<boost::archive::text_iarchive>(in); break;
            case ArchiveKind::xml: record = read<boost::archive::xml_iarchive>(in); break;
        }
    } catch (const boost::archive::archive_exception& e) {
        throw FormatError(std::string("load: not a readable tierkit model archive: ") + e.what());
    } catch (const std::bad_alloc&) {
        throw FormatError("load: the archive claims more memory than is available");
    }
    if (!record.rule) throw FormatError("load: the archive holds no rule");
    Policy policy = Policy::from_json(record.policy);
    if (record.rule->tiers() != policy.tiers().size())
        throw FormatError("load: the rule makes " + std::to_string(record.rule->tiers()) + " tiers but the policy names " +
                          std::to_string(policy.tiers().size()));
    if (record.scores.size() != policy.scores().size())
        throw FormatError("load: the archive has " + std::to_string(record.scores.size()) + " fitted scores for " +
                          std::to_string(policy.scores().size()) + " in the policy");
    return Model(std::move(policy), std::move(record.scores), std::shared_ptr<const Rule>(std::move(record.rule)));
}

}  // namespace tierkit
