#pragma once
// Weights that need no data (manual, AHP), shared by fit (model.cpp) and the
// out-of-core Fitter (fit_state.cpp). Internal to the compiled library.
#include <optional>
#include <vector>

#include "tierkit/model.hpp"
#include "tierkit/scoring/weights.hpp"

namespace tierkit::detail {

/// The weights of a manual or AHP weight spec (AHP's lambda_max and CR go into
/// `out`); nullopt for the data-driven methods.
/// @throws as weights::manual / weights::ahp.
inline std::optional<std::vector<double>> preset_weights(const WeightSpec& w, const ScoreSpec& spec, FittedScore& out) {
    switch (w.method) {
        case WeightMethod::manual: {
            std::vector<double> raw;
            for (const auto& cr : spec.criteria) raw.push_back(cr.weight);
            return weights::manual(raw);
        }
        case WeightMethod::ahp: {
            const auto r =
                weights::ahp(w.matrix, spec.criteria.size(), w.random_index, w.accept_inconsistent ? -1.0 : w.max_cr);
            out.ahp_lambda_max = r.lambda_max;
            out.ahp_consistency_ratio = r.consistency_ratio;
            return r.weights;
        }
        default:
            return std::nullopt;
    }
}

}  // namespace tierkit::detail
