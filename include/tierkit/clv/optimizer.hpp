#pragma once
/// @file optimizer.hpp
/// The maximum-likelihood engine shared by the CLV models (see fit.hpp for the method).
/// Model code describes its likelihood as a LikelihoodProblem; maximize_likelihood does
/// the rest. Exposed for tests and for hosts adding a model of their own.
#include <functional>
#include <string>
#include <vector>

#include "tierkit/clv/fit.hpp"

namespace tierkit::clv {

struct LikelihoodProblem {
    std::string model;               ///< used in error messages
    std::vector<std::string> names;  ///< parameter names
    /// Multiplies each parameter inside the penalty and in the divergence check (1/max T for
    /// time-scale parameters, 1 otherwise).
    std::vector<double> scale;
    double customers = 0;  ///< total count (the mean objective divides by it)
    std::size_t patterns = 0;
    /// Total log-likelihood at natural parameters `theta`, writing d LL / d theta to `grad`.
    /// May return a non-finite value or throw NumericError where it cannot be evaluated;
    /// the optimizer then treats the point as infeasible.
    std::function<double(const double* theta, double* grad)> log_likelihood;
    /// Starting points (natural parameters), tried in order until one converges.
    std::vector<std::vector<double>> starts;
};

/// Maximizes the (penalized) likelihood.
/// @throws NumericError naming the model when no start converges (with the best gradient
/// norm and parameters reached), when a parameter diverges, or when the Hessian at the
/// optimum is not positive definite.
FitSummary maximize_likelihood(const LikelihoodProblem& problem, const FitOptions& options);

}  // namespace tierkit::clv
