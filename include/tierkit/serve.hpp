#pragma once
/// @file serve.hpp
/// What a host that only loads models and scores customers includes: load a model
/// file, assign a table, score one customer at a time. No Boost, Eigen or JSON header:
/// the Model stays an incomplete type here, held by std::shared_ptr, and every call
/// on it is a compiled function of the library. (tierkit.hpp has everything: fit,
/// summarize, policies, the Model's members; including it costs several times more
/// compile time per translation unit.)
///
/// @code
/// #include <tierkit/serve.hpp>
///
/// std::ifstream file("model.tkm", std::ios::binary);
/// const std::shared_ptr<const tierkit::Model> model = tierkit::load_shared(file);
/// tierkit::FeatureTable table(ids);                      // then add_column per input column
/// for (const auto& name : tierkit::input_columns(*model)) table.add_column(name, values_of(name));
/// const tierkit::Assignment a = tierkit::assign(*model, table, {.with_contributions = false});
/// tierkit::Scorer scorer(model, tierkit::input_columns(*model));
/// const tierkit::Scored& r = scorer.assign_one(row);    // real time, one customer
/// @endcode
///
/// Thread safety: a Model is immutable; assign() may run from many threads at once on
/// one Model. Use one Scorer per thread (Scorers share the Model).
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tierkit/assignment.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/table.hpp"
#include "tierkit/scorer.hpp"

namespace tierkit {

class Model;

/// Read a model written by save() (any archive kind: the envelope says which), as
/// tierkit::load does, into a shared Model for Scorers and threads to share.
/// @throws FormatError saying what was wrong and at which byte.
std::shared_ptr<const Model> load_shared(std::istream& in);

// assign(model, table, options) is declared in scorer.hpp (the Scorer's general path calls it).

/// Model::input_columns(): every feature column assign reads.
std::vector<std::string> input_columns(const Model& model);
/// The model's score names, in the order of Assignment::scores and Scored::scores.
std::vector<std::string> score_names(const Model& model);
/// The policy's tier names (index 0 = the best tier).
std::vector<std::string> tier_names(const Model& model);

}  // namespace tierkit
