#pragma once
/// @file gamma_gamma.hpp
/// Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves",
/// JMR 42(4); Hardie's note 025). The value of each repeat transaction is Gamma(p, nu)
/// with nu ~ Gamma(q, v) across customers (v is "gamma" in the paper, "v" in lifetimes).
/// The model is fitted on repeat customers with x = number of repeat purchases and m = mean
/// spend over them, and assumes spend is independent of frequency (check it with
/// frequency_spend_correlation).
/// Pure functions, thread-safe.
#include <array>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/version.hpp>
#include <span>
#include <string_view>

#include "tierkit/clv/fit.hpp"
#include "tierkit/clv/histogram.hpp"

namespace tierkit::clv {

struct GammaGammaParams {
    double p = 0, q = 0, v = 0;

    static constexpr std::string_view model = "gamma-gamma";
    static constexpr std::array<std::string_view, 3> names{"p", "q", "v"};
    std::array<double, 3> values() const noexcept { return {p, q, v}; }
    void validate() const;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar& boost::make_nvp("p", p);
        ar& boost::make_nvp("q", q);
        ar& boost::make_nvp("v", v);
    }
};

/// Log-likelihood of one repeat customer (x >= 1 repeat purchases, mean spend m > 0).
/// @throws InvalidInput when x < 1 or m <= 0.
double log_likelihood(const GammaGammaParams& p, double x, double m);
/// Total log-likelihood; `gradient` (3 elements, optional) gets d LL / d (p, q, v).
double log_likelihood(const GammaGammaParams& p, const SpendPatterns& data, std::span<double> gradient = {});

/// @throws InvalidInput when there is no repeat customer; NumericError when the fit does
/// not converge (for instance, every customer with the same spend).
Fitted<GammaGammaParams> fit_gamma_gamma(const SpendPatterns& data, const FitOptions& options = {});

/// Population mean spend per transaction, p v / (q - 1).
/// @throws NumericError when q <= 1: the mean is then infinite, and lifetimes' formula
/// would return a negative number.
double mean_spend(const GammaGammaParams& p);

/// E[spend per transaction | x, m]: the posterior mean p (v + x m) / (p x + q - 1), which
/// is the population mean when x = 0 (m is then ignored).
/// @throws NumericError when q <= 1 (see mean_spend); InvalidInput for an invalid row.
double conditional_expected_average_spend(const GammaGammaParams& p, double x, double m);

namespace detail {
/// conditional_expected_average_spend without its checks, for column loops that checked
/// the rows and q > 1 once: `mean` is mean_spend(p).
inline double expected_average_spend(const GammaGammaParams& p, double mean, double x, double m) noexcept {
    if (x == 0) return mean;
    return p.p * (p.v + x * m) / (p.p * x + p.q - 1.0);
}
}  // namespace detail

}  // namespace tierkit::clv

BOOST_CLASS_VERSION(tierkit::clv::GammaGammaParams, 0)
