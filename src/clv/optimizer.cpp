// Maximum likelihood for the CLV models: L-BFGS (LBFGSpp) on log-parameters, Newton
// refinement on a finite-difference Hessian of the analytic gradient, delta-method
// standard errors. See tierkit/clv/fit.hpp for the contract.
#include "tierkit/clv/optimizer.hpp"

#include <LBFGS.h>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tierkit/core/error.hpp"
#include "tierkit/core/progress.hpp"

namespace tierkit::clv {
namespace {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kHessianStep = 1e-5;  // in log-parameter units
constexpr double kForwardStep = 1e-6;
constexpr double kDivergedLog = 23.0;  // |log(scale * theta)| beyond this: e^23 ~ 1e10

// The mean penalized negative log-likelihood in log-parameters u, remembering the best
// feasible point seen (line searches may end on a worse trial point when they throw).
class Objective {
public:
    Objective(const LikelihoodProblem& problem, double penalizer)
        : problem_(problem), penalizer_(penalizer), theta_(problem.names.size()), grad_(problem.names.size()) {}

    double operator()(const Vector& u, Vector& g) {
        ++evaluations_;
        const std::size_t n = theta_.size();
        for (std::size_t i = 0; i < n; ++i) theta_[i] = std::exp(u[static_cast<Eigen::Index>(i)]);
        double ll;
        try {
            ll = problem_.log_likelihood(theta_.data(), grad_.data());
        } catch (const NumericError&) {
            ll = -kInfinity;
        }
        last_ll_ = ll;
        bool finite = std::isfinite(ll);
        for (std::size_t i = 0; i < n && finite; ++i) finite = std::isfinite(grad_[i]) && std::isfinite(theta_[i]);
        if (!finite) {
            g.setZero();
            return kInfinity;
        }
        double f = -ll / problem_.customers;
        for (std::size_t i = 0; i < n; ++i) {
            const auto k = static_cast<Eigen::Index>(i);
            const double scaled = problem_.scale[i] * theta_[i];
            f += penalizer_ * scaled * scaled;
            g[k] = -theta_[i] * grad_[i] / problem_.customers + 2.0 * penalizer_ * scaled * scaled;
        }
        if (f < best_f_) {
            best_f_ = f;
            best_ll_ = ll;
            best_u_ = u;
            best_g_ = g;
        }
        return f;
    }

    double log_likelihood_at(const Vector& u) {
        const std::size_t n = theta_.size();
        for (std::size_t i = 0; i < n; ++i) theta_[i] = std::exp(u[static_cast<Eigen::Index>(i)]);
        return problem_.log_likelihood(theta_.data(), grad_.data());
    }

    /// The log-likelihood of the latest evaluation.
    double last_log_likelihood() const { return last_ll_; }
    double best_f() const { return best_f_; }
    double best_log_likelihood() const { return best_ll_; }
    const Vector& best_u() const { return best_u_; }
    const Vector& best_g() const { return best_g_; }
    int evaluations() const { return evaluations_; }

private:
    const LikelihoodProblem& problem_;
    double penalizer_;
    std::vector<double> theta_, grad_;
    double best_f_ = kInfinity;
    Vector best_u_, best_g_;
    int evaluations_ = 0;
    double last_ll_ = -kInfinity, best_ll_ = -kInfinity;
};

// Progress of one fit over all its starting points (FitOptions::progress). The total
// grows by one start's most iterations as each start is tried: usually the first
// converges and the others never run.
class Reporter {
public:
    Reporter(const LikelihoodProblem& problem, const FitOptions& options)
        : progress_(options.progress && *options.progress ? options.progress : nullptr),
          per_start_(options.max_iterations + kNewtonSteps) {
        if (progress_) stage_ = "clv " + problem.model;
    }
    /// A starting point is about to be tried.
    void start() { total_ += per_start_; }
    /// One more iteration, which reached `log_likelihood`. Rethrows what the callable
    /// throws, after noting it (failed()).
    void step(double log_likelihood) {
        if (!progress_) return;
        ++done_;
        const ProgressValue values[] = {{"log_likelihood", log_likelihood}};
        try {
            (*progress_)(ProgressStep{stage_, done_, total_, values});
        } catch (...) {
            failed_ = true;
            throw;
        }
    }
    /// Whether the callable threw (so an exception is the caller's to see, not the
    /// optimizer's own).
    bool failed() const { return failed_; }
    /// Iterations reported so far (0 without a callable).
    double done() const { return done_; }

    static constexpr int kNewtonSteps = 20;

private:
    const Progress* progress_;
    double per_start_;
    double total_ = 0;
    double done_ = 0;
    std::string stage_;
    bool failed_ = false;
};

// The objective as LBFGSpp's solver sees it: the Objective, plus a report after each
// L-BFGS iteration (LBFGSpp calls the line search exactly once per iteration).
struct ReportingObjective {
    Objective& objective;
    Reporter& reporter;
    double operator()(const Vector& u, Vector& g) { return objective(u, g); }
};

// LBFGSpp's backtracking line search, then the report of the iteration it ends. The
// line search's last evaluation is the point it accepted.
template <class Scalar>
class ReportingLineSearch {
public:
    template <class Foo>
    static void LineSearch(Foo& f, Scalar& fx, Vector& x, Vector& grad, Scalar& step, const Vector& drt,
                           const Vector& xp, const LBFGSpp::LBFGSParam<Scalar>& param) {
        LBFGSpp::LineSearchBacktracking<Scalar>::LineSearch(f, fx, x, grad, step, drt, xp, param);
        f.reporter.step(f.objective.last_log_likelihood());
    }
};

// Finite differences of the analytic gradient, symmetrized: central (error ~1e-10) for the
// standard errors, forward from the known gradient g (error ~1e-6, half the evaluations)
// for Newton steps, whose Hessian is reused for the standard errors only when the step
// that followed was tiny.
Matrix hessian(Objective& objective, const Vector& u, const Vector* g = nullptr) {
    const auto n = u.size();
    Matrix h(n, n);
    Vector gp(n), gm(n);
    for (Eigen::Index j = 0; j < n; ++j) {
        Vector up = u;
        if (g) {
            up[j] += kForwardStep;
            if (!std::isfinite(objective(up, gp))) return Matrix::Constant(n, n, std::nan(""));
            h.col(j) = (gp - *g) / kForwardStep;
            continue;
        }
        Vector um = u;
        up[j] += kHessianStep;
        um[j] -= kHessianStep;
        const double fp = objective(up, gp);
        const double fm = objective(um, gm);
        if (!std::isfinite(fp) || !std::isfinite(fm)) return Matrix::Constant(n, n, std::nan(""));
        h.col(j) = (gp - gm) / (2.0 * kHessianStep);
    }
    return (h + h.transpose()) / 2.0;
}

std::string describe_point(const LikelihoodProblem& problem, const Vector& u) {
    std::ostringstream out;
    out.precision(6);
    for (std::size_t i = 0; i < problem.names.size(); ++i)
        out << (i ? ", " : "") << problem.names[i] << "=" << std::exp(u[static_cast<Eigen::Index>(i)]);
    return out.str();
}

std::string scientific(double v) {
    std::ostringstream out;
    out.precision(3);
    out << std::scientific << v;
    return out.str();
}

constexpr double kReuseHessian = 1e-6;  // max |delta log-parameter| to reuse a Hessian

struct Attempt {
    Vector u;
    Matrix hessian;  // of the mean objective, at hessian_at (empty when none was computed)
    Vector hessian_at;
    double f = kInfinity;
    double gradient_norm = kInfinity;
    int iterations = 0;
};

Attempt run_from(const LikelihoodProblem& problem, const FitOptions& options, const std::vector<double>& start,
                 Reporter& reporter) {
    Objective objective(problem, options.penalizer);
    const auto n = static_cast<Eigen::Index>(problem.names.size());
    Vector u(n);
    for (Eigen::Index i = 0; i < n; ++i) u[i] = std::log(start[static_cast<std::size_t>(i)]);
    Vector g(n);
    Attempt attempt;
    if (!std::isfinite(objective(u, g))) return attempt;

    LBFGSpp::LBFGSParam<double> param;
    param.m = 10;
    param.epsilon = std::min(options.gradient_tolerance, 1e-8);
    param.epsilon_rel = 0;
    param.past = 3;
    param.delta = 1e-15;
    param.max_iterations = options.max_iterations;
    param.max_linesearch = 60;
    param.linesearch = LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_WOLFE;
    LBFGSpp::LBFGSSolver<double, ReportingLineSearch> solver(param);
    ReportingObjective reporting{objective, reporter};
    double fx = 0;
    try {
        const double reported = reporter.done();
        attempt.iterations = solver.minimize(reporting, u, fx);
        // LBFGSpp counts a start that is already optimal as one iteration, without a
        // line search: report it too.
        if (reporter.done() == reported && attempt.iterations == 1) reporter.step(objective.best_log_likelihood());
    } catch (const std::exception&) {
        if (reporter.failed()) throw;  // the progress callable's: stop the fit
        // The line search gave up (usually at the optimum, limited by rounding); continue
        // from the best point seen.
        attempt.iterations = objective.evaluations();
    }
    u = objective.best_u();
    g = objective.best_g();
    double f = objective.best_f();

    // Newton refinement, only from a point L-BFGS brought near the optimum. One step from
    // gradient ~1e-8 usually lands at ~1e-14; the last Hessian is kept for the standard
    // errors when the point moved by less than kReuseHessian since it was computed.
    if (g.norm() < 1e-3) {
        double log_likelihood = objective.best_log_likelihood();  // at u
        for (int step = 0; step < Reporter::kNewtonSteps && g.norm() > 1e-11; ++step) {
            const Matrix h = hessian(objective, u, &g);
            if (!h.allFinite()) break;
            Eigen::LLT<Matrix> llt(h);
            if (llt.info() != Eigen::Success) break;
            attempt.hessian = h;
            attempt.hessian_at = u;
            const Vector direction = -llt.solve(g);
            bool improved = false;
            double scale = 1.0;
            for (int half = 0; half < 30; ++half, scale /= 2) {
                Vector trial = u + scale * direction;
                Vector trial_g(n);
                const double trial_f = objective(trial, trial_g);
                if (std::isfinite(trial_f) && trial_g.norm() < g.norm() &&
                    trial_f <= f + 1e-13 * std::max(1.0, std::abs(f))) {
                    u = trial;
                    g = trial_g;
                    f = trial_f;
                    log_likelihood = objective.last_log_likelihood();  // of the accepted trial
                    improved = true;
                    break;
                }
            }
            ++attempt.iterations;
            reporter.step(log_likelihood);
            if (!improved) break;
        }
    }
    attempt.u = u;
    attempt.f = f;
    attempt.gradient_norm = g.norm();
    return attempt;
}

}  // namespace

FitSummary maximize_likelihood(const LikelihoodProblem& problem, const FitOptions& options) {
    const std::size_t n = problem.names.size();
    if (!(std::isfinite(options.penalizer) && options.penalizer >= 0))
        throw InvalidInput("penalizer: must be finite and >= 0, got " + std::to_string(options.penalizer));
    if (options.max_iterations < 1)
        throw InvalidInput("max_iterations: must be >= 1, got " + std::to_string(options.max_iterations));
    if (!(options.gradient_tolerance > 0))
        throw InvalidInput("gradient_tolerance: must be > 0, got " + std::to_string(options.gradient_tolerance));
    std::vector<std::vector<double>> starts = problem.starts;
    if (!options.initial_params.empty()) {
        if (options.initial_params.size() != n)
            throw InvalidInput("initial_params: expected " + std::to_string(n) + " values, got " +
                               std::to_string(options.initial_params.size()));
        for (std::size_t i = 0; i < n; ++i)
            if (!(std::isfinite(options.initial_params[i]) && options.initial_params[i] > 0))
                throw InvalidInput("initial_params[" + std::to_string(i) + "]: must be finite and > 0, got " +
                                   std::to_string(options.initial_params[i]));
        starts.insert(starts.begin(), options.initial_params);
    }

    Attempt best;
    Reporter reporter(problem, options);
    for (const auto& start : starts) {
        reporter.start();
        Attempt attempt = run_from(problem, options, start, reporter);
        if (attempt.u.size() == 0) continue;
        if (best.u.size() == 0 || attempt.gradient_norm < best.gradient_norm ||
            (attempt.gradient_norm <= options.gradient_tolerance && attempt.f < best.f))
            best = attempt;
        if (attempt.gradient_norm <= options.gradient_tolerance) break;
    }
    if (best.u.size() == 0)
        throw NumericError(problem.model + ": the log-likelihood is not finite at any starting point");
    for (std::size_t i = 0; i < n; ++i) {
        const double scaled_log = best.u[static_cast<Eigen::Index>(i)] + std::log(problem.scale[i]);
        if (std::abs(scaled_log) > kDivergedLog)
            throw NumericError(problem.model + ": parameter '" + problem.names[i] + "' diverged to " +
                               scientific(std::exp(best.u[static_cast<Eigen::Index>(i)])) +
                               "; the data do not identify the model");
    }
    if (!(best.gradient_norm <= options.gradient_tolerance)) {
        // A parameter far from its scale usually means the optimum is at the boundary.
        std::size_t extreme = 0;
        double extreme_log = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double scaled_log = std::abs(best.u[static_cast<Eigen::Index>(i)] + std::log(problem.scale[i]));
            if (scaled_log > extreme_log) extreme_log = scaled_log, extreme = i;
        }
        const std::string hint = extreme_log > 9.0
                                     ? "; parameter '" + problem.names[extreme] +
                                           "' is running off to 0 or infinity: the data do not identify the model "
                                           "(too few customers?), a penalizer may help"
                                     : "";
        throw NumericError(problem.model + ": fit did not converge after " + std::to_string(best.iterations) +
                           " iterations: gradient norm " + scientific(best.gradient_norm) + " > tolerance " +
                           scientific(options.gradient_tolerance) + " at " + describe_point(problem, best.u) + hint);
    }

    Objective objective(problem, options.penalizer);
    const bool reuse = best.hessian.size() > 0 && (best.hessian_at - best.u).cwiseAbs().maxCoeff() < kReuseHessian;
    const Matrix h = (reuse ? best.hessian : hessian(objective, best.u)) * problem.customers;
    Eigen::LLT<Matrix> llt(h);
    if (!h.allFinite() || llt.info() != Eigen::Success)
        throw NumericError(problem.model + ": the Hessian at the optimum is not positive definite (" +
                           describe_point(problem, best.u) + "); standard errors are undefined");
    const Matrix cov_log = llt.solve(Matrix::Identity(h.rows(), h.cols()));

    FitSummary out;
    out.model = problem.model;
    out.names = problem.names;
    out.customers = problem.customers;
    out.patterns = problem.patterns;
    out.iterations = best.iterations;
    out.gradient_norm = best.gradient_norm;
    out.penalizer = options.penalizer;
    out.log_likelihood = objective.log_likelihood_at(best.u);
    out.covariance.resize(n * n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto ki = static_cast<Eigen::Index>(i);
        const double theta = std::exp(best.u[ki]);
        const double se_log = std::sqrt(cov_log(ki, ki));
        out.coef.push_back(theta);
        out.se.push_back(theta * se_log);
        out.lower.push_back(theta * std::exp(-1.959963984540054 * se_log));
        out.upper.push_back(theta * std::exp(1.959963984540054 * se_log));
        for (std::size_t j = 0; j < n; ++j) {
            const auto kj = static_cast<Eigen::Index>(j);
            out.covariance[i * n + j] = theta * std::exp(best.u[kj]) * cov_log(ki, kj);
        }
    }
    return out;
}

}  // namespace tierkit::clv
