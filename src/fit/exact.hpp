#pragma once
// The exact mode's pass of the Fitter (private to src/): every row of one table fitted
// at once. See include/tierkit/fit_state.hpp.
#include "tierkit/model.hpp"

namespace tierkit::detail {

/// The model of every row of `table`: the clv section, the criteria in parallel, the
/// weights, then the rule on the whole table and the fit report. The table is read in
/// place. Defined beside the scoring it uses (src/model.cpp).
/// @throws what fit() throws.
Model fit_rows(const Policy& policy, const FeatureTable& table, const Progress* progress);

}  // namespace tierkit::detail
