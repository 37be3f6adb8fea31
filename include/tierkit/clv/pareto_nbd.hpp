#pragma once
/// @file pareto_nbd.hpp
/// Pareto/NBD (Schmittlein, Morrison & Colombo 1987, Management Science 33(1)); likelihood
/// as in Fader, Hardie & Lee (2005) and Hardie's note 009, with the Gaussian
/// hypergeometric terms computed in log space (hypergeometric.hpp) so that parameters such
/// as alpha = 0.008, beta = 2.8, x = 500 give finite values.
///
/// While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) and
/// lives an exponential lifetime with rate mu ~ Gamma(s, beta).
/// Pure functions, thread-safe; arguments checked as in bg_nbd.hpp.
#include <array>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/version.hpp>
#include <span>
#include <string_view>

#include "tierkit/clv/bg_nbd.hpp"

namespace tierkit::clv {

struct ParetoNbdParams {
    double r = 0, alpha = 0, s = 0, beta = 0;
    TimeUnit time_unit = TimeUnit::unspecified;

    static constexpr std::string_view model = "pareto/nbd";
    static constexpr std::array<std::string_view, 4> names{"r", "alpha", "s", "beta"};
    std::array<double, 4> values() const noexcept { return {r, alpha, s, beta}; }
    void validate() const;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::make_nvp("r", r);
        ar& boost::make_nvp("alpha", alpha);
        ar& boost::make_nvp("s", s);
        ar& boost::make_nvp("beta", beta);
        detail::serialize_time_unit(ar, time_unit);
    }
};

double log_likelihood(const ParetoNbdParams& p, double x, double t_x, double T);
/// Total log-likelihood; `gradient` (4 elements, optional) gets d LL / d (r, alpha, s, beta).
double log_likelihood(const ParetoNbdParams& p, const RfmPatterns& data, std::span<double> gradient = {});

/// @throws InvalidInput for empty data; NumericError when the data have no repeat purchase
/// or the fit does not converge.
Fitted<ParetoNbdParams> fit_pareto_nbd(const RfmPatterns& data, const FitOptions& options = {});

/// E[X(t)] for a new customer; its limit r beta/alpha log(1 + t/beta) at s = 1.
double expected_purchases(const ParetoNbdParams& p, double t);
double conditional_expected_purchases(const ParetoNbdParams& p, double t, double x, double t_x, double T);
double p_alive(const ParetoNbdParams& p, double x, double t_x, double T);
/// P(X(t) = n) for a new customer (Fader & Hardie's note 012 form).
double probability_of_purchases(const ParetoNbdParams& p, double t, int n);

}  // namespace tierkit::clv

BOOST_CLASS_VERSION(tierkit::clv::ParetoNbdParams, 0)
