#pragma once
/// @file fit.hpp
/// Options and results common to every CLV model fit.
///
/// Design notes: every model is fitted by maximum likelihood over the logarithms of its
/// parameters (so they stay positive) with analytic gradients: L-BFGS (LBFGSpp) from a
/// few deterministic starting points, then Newton steps on a finite-difference Hessian of
/// the analytic gradient to reach the optimum to near machine precision. The same Hessian
/// gives the standard errors (delta method: se = theta * sqrt(diag(inverse Hessian in log
/// space)), which is what lifetimes reports) and 95% intervals computed on the log scale,
/// theta * exp(+-1.96 se/theta), which stay positive (lifetimes' theta +- 1.96 se gives
/// Pareto/NBD's beta on CDNOW a negative lower bound). A fit that does not reach a
/// gradient norm below the tolerance, whose parameters run off to 0 or infinity, or whose
/// Hessian is not positive definite throws NumericError naming the model and the reason;
/// it never returns NaN parameters.
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "tierkit/clv/time_unit.hpp"
#include "tierkit/core/progress.hpp"

namespace tierkit::clv {

struct FitOptions {
    /// L2 penalty with lifetimes' meaning: the objective is the mean negative
    /// log-likelihood per customer plus penalizer * sum(theta^2), where the time-scale
    /// parameters (alpha, beta) enter in units where the largest T is 1.
    double penalizer = 0.0;
    /// Maximum L-BFGS iterations per starting point.
    int max_iterations = 2000;
    /// Convergence: Euclidean norm of the gradient of the mean objective with respect to
    /// the log-parameters.
    double gradient_tolerance = 1e-6;
    /// Unit of recency and T; recorded in the fitted parameters and used by CLV.
    TimeUnit time_unit = TimeUnit::unspecified;
    /// Optional starting point in natural parameters (model order); empty for the defaults.
    std::vector<double> initial_params;
    /// If given, called after every optimizer iteration (L-BFGS iterations, then Newton
    /// steps; see progress.hpp) from the fitting thread: stage "clv " + the model name
    /// ("clv bg/nbd"), done = iterations so far over the starting points tried, total =
    /// their most (max_iterations + 20 Newton steps each; it grows when a fit moves on to
    /// another starting point), value "log_likelihood" (the
    /// sum over customers, without the penalty, at the point reached). Whatever it
    /// throws stops the fit and reaches the caller. Not owned; results do not depend on it.
    const Progress* progress = nullptr;
};

/// What a fit reports besides the parameters.
struct FitSummary {
    std::string model;               ///< "bg/nbd", "mbg/nbd", "pareto/nbd", "gamma-gamma"
    std::vector<std::string> names;  ///< parameter names in model order
    std::vector<double> coef;        ///< estimates
    std::vector<double> se;          ///< standard errors
    std::vector<double> lower;       ///< 95% interval, log scale
    std::vector<double> upper;
    std::vector<double> covariance;  ///< row-major n x n, natural parameters
    double log_likelihood = 0;       ///< sum over customers, without the penalty
    double customers = 0;            ///< sum of the counts fitted
    std::size_t patterns = 0;        ///< distinct patterns fitted
    int iterations = 0;              ///< L-BFGS iterations + Newton steps
    double gradient_norm = 0;        ///< at the optimum, as FitOptions::gradient_tolerance
    double penalizer = 0;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::make_nvp("model", model);
        ar& boost::make_nvp("names", names);
        ar& boost::make_nvp("coef", coef);
        ar& boost::make_nvp("se", se);
        ar& boost::make_nvp("lower", lower);
        ar& boost::make_nvp("upper", upper);
        ar& boost::make_nvp("covariance", covariance);
        ar& boost::make_nvp("log_likelihood", log_likelihood);
        ar& boost::make_nvp("customers", customers);
        ar& boost::make_nvp("patterns", patterns);
        ar& boost::make_nvp("iterations", iterations);
        ar& boost::make_nvp("gradient_norm", gradient_norm);
        ar& boost::make_nvp("penalizer", penalizer);
    }
};

/// A fitted model: immutable parameters plus the fit's summary.
template <class Params>
struct Fitted {
    Params params;
    FitSummary summary;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::make_nvp("params", params);
        ar& boost::make_nvp("summary", summary);
    }
};

}  // namespace tierkit::clv

BOOST_CLASS_VERSION(tierkit::clv::FitSummary, 0)
