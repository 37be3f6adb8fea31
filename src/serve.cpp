// The serving header's compiled side: the calls on a Model that serve.hpp declares
// without the Model's definition (and so without Boost in the host's translation unit).
#include "tierkit/serve.hpp"

#include <istream>

#include "tierkit/io/model_io.hpp"
#include "tierkit/model.hpp"

namespace tierkit {

std::shared_ptr<const Model> load_shared(std::istream& in) { return std::make_shared<const Model>(load(in)); }

Assignment assign(const Model& model, const FeatureTable& table, const AssignOptions& options) {
    return model.assign(table, options);
}

std::vector<std::string> input_columns(const Model& model) { return model.input_columns(); }

std::vector<std::string> score_names(const Model& model) {
    std::vector<std::string> out;
    for (const auto& s : model.scores()) out.push_back(s.name);
    return out;
}

std::vector<std::string> tier_names(const Model& model) {
    std::vector<std::string> out;
    for (const auto& t : model.policy().tiers()) out.push_back(t.name);
    return out;
}

}  // namespace tierkit
