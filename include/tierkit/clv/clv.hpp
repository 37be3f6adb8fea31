#pragma once
/// @file clv.hpp
/// Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD transaction models, the
/// Gamma-Gamma spend model, their mergeable sufficient statistics, fitting and predictions.
///
/// ```cpp
/// using namespace tierkit::clv;
/// RfmHistogram state;                      // one per thread or partition
/// state.update(frequency, recency, T);     // any number of chunks
/// auto fit = fit_bg_nbd(state.finalize(), {.time_unit = TimeUnit::weeks});
/// double alive = p_alive(fit.params, 26, 30.857, 31);
/// ```
#include "tierkit/clv/bg_nbd.hpp"
#include "tierkit/clv/fit.hpp"
#include "tierkit/clv/gamma_gamma.hpp"
#include "tierkit/clv/histogram.hpp"
#include "tierkit/clv/hypergeometric.hpp"
#include "tierkit/clv/pareto_nbd.hpp"
#include "tierkit/clv/predict.hpp"
#include "tierkit/clv/time_unit.hpp"
