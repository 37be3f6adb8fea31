#pragma once
/// @file serialize.hpp
/// Boost.Serialization of criteria and fitted scores (criterion.hpp, score.hpp):
/// what the model archives (io/), the Fitter's state bytes and the rules that save
/// criteria include. The types' own headers include no Boost header, so a host that
/// only scores (serve.hpp) compiles none.
///
/// Versions: CriterionSpec and FittedCriterion are at version 1 (value maps and
/// missing values); version 0 files hold numeric columns that reject missing values.
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include "tierkit/core/error.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/score.hpp"

namespace boost::serialization {

template <class Archive>
void serialize(Archive& ar, tierkit::CriterionSpec& c, unsigned version) {
    ar& make_nvp("column", c.column);
    ar& make_nvp("direction", c.direction);
    ar& make_nvp("transform", c.transform);
    ar& make_nvp("clip", c.clip);
    ar& make_nvp("clip_lower", c.clip_lower);
    ar& make_nvp("clip_upper", c.clip_upper);
    ar& make_nvp("normalizer", c.normalizer);
    ar& make_nvp("bins", c.bins);
    ar& make_nvp("weight", c.weight);
    if (version >= 1) {
        ar& make_nvp("labels", c.labels);
        ar& make_nvp("label_values", c.label_values);
        ar& make_nvp("missing", c.missing);
        ar& make_nvp("missing_value", c.missing_value);
        ar& make_nvp("unknown_as_missing", c.unknown_as_missing);
        if constexpr (Archive::is_loading::value)
            if (c.labels.size() != c.label_values.size() || static_cast<unsigned>(c.missing) > 4)
                throw tierkit::FormatError("load: criterion '" + c.column +
                                           "': value map or missing option is corrupt");
    }
    // version 0 (files written before value maps): numeric column, missing rejected.
}

template <class Archive>
void serialize(Archive& ar, tierkit::FittedCriterion& f, unsigned version) {
    ar& make_nvp("spec", f.spec);
    ar& make_nvp("n", f.n);
    ar& make_nvp("lo", f.lo);
    ar& make_nvp("hi", f.hi);
    ar& make_nvp("min", f.min);
    ar& make_nvp("max", f.max);
    ar& make_nvp("mean", f.mean);
    ar& make_nvp("sd", f.sd);
    ar& make_nvp("median", f.median);
    ar& make_nvp("iqr", f.iqr);
    ar& make_nvp("knots", f.knots);
    ar& make_nvp("knot_y", f.knot_y);
    ar& make_nvp("knot_lo", f.knot_lo);
    ar& make_nvp("knot_hi", f.knot_hi);
    if (version >= 1) {
        ar& make_nvp("missing_fill", f.missing_fill);
        ar& make_nvp("missing_count", f.missing_count);
    }
    // version 0: no fill (its spec is version 0 too, so missing is reject).
    if constexpr (Archive::is_loading::value) {
        f.check_curve("load: criterion '" + f.spec.column + "'");
        f.build_index();
    }
}

template <class Archive>
void serialize(Archive& ar, tierkit::FittedScore& s, unsigned /*version*/) {
    ar& make_nvp("name", s.name);
    ar& make_nvp("method", s.method);
    ar& make_nvp("criteria", s.criteria);
    ar& make_nvp("weights", s.weights);
    ar& make_nvp("ideal", s.ideal);
    ar& make_nvp("anti_ideal", s.anti_ideal);
    ar& make_nvp("ahp_lambda_max", s.ahp_lambda_max);
    ar& make_nvp("ahp_consistency_ratio", s.ahp_consistency_ratio);
}

}  // namespace boost::serialization

BOOST_CLASS_VERSION(tierkit::CriterionSpec, 1)
BOOST_CLASS_VERSION(tierkit::FittedCriterion, 1)
BOOST_CLASS_VERSION(tierkit::FittedScore, 0)
