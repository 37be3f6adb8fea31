#pragma once
/// @file score.hpp
/// A composite score: its fitted criteria (criterion.hpp) and weights, combined as a
/// weighted sum or by TOPSIS into 0..100 (the kernels over many rows are in
/// scoring/composite.hpp). No Boost header: the archive code is in
/// scoring/serialize.hpp, so the serving header (serve.hpp) can see fitted scores.
#include <limits>
#include <string>
#include <vector>

#include "tierkit/scoring/criterion.hpp"

namespace tierkit {

enum class ScoreMethod { weighted_sum, topsis };

/// One composite score with its fitted criteria and weights.
struct FittedScore {
    std::string name;
    ScoreMethod method = ScoreMethod::weighted_sum;
    std::vector<FittedCriterion> criteria;
    std::vector<double> weights;     ///< sum to 1
    std::vector<double> ideal;       ///< topsis: best normalized value per criterion in the fit data
    std::vector<double> anti_ideal;  ///< topsis: worst
    double ahp_lambda_max = std::numeric_limits<double>::quiet_NaN();
    double ahp_consistency_ratio = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace tierkit
