#pragma once
/// @file hypergeometric.hpp
/// The Gauss hypergeometric function 2F1 where the CLV models need it: real parameters,
/// 0 <= z < 1, and values that overflow a double when computed naively (BG/NBD with
/// x = 1000, Pareto/NBD with alpha/beta = 1e-3). Both functions work with logarithms.
///
/// Design notes: log_hyp2f1 sums the Gauss series either directly or after Euler's
/// transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z), choosing the form whose
/// terms start decaying first, with a scaled running sum so that no term overflows; it
/// falls back to the direct (all-positive) form whenever the transformed series cancels.
/// log_hyp2f1_unit is the special case 2F1(1,p;q;z) with 0 < p < q that the Pareto/NBD
/// likelihood reduces to; it also returns the partial derivatives the analytic gradient
/// needs. Terms decay at least like z^k there, so the number of terms is about
/// 40/(1-z); z closer to 1 than about 1e-6 is reported as an error instead of looping.

namespace tierkit::clv {

/// log 2F1(a, b; c; z) for a > 0, b > 0, c > 0 and 0 <= z < 1 (the value is then > 0).
/// @throws InvalidInput if the arguments are outside that domain.
/// @throws NumericError if the series does not converge in 10^7 terms (z too close to 1).
double log_hyp2f1(double a, double b, double c, double z);

/// log S and its partial derivatives, where S(p, q, z) = 2F1(1, p; q; z).
struct LogHyp2f1Unit {
    double value;  ///< log S
    double d_p;    ///< d log S / dp
    double d_q;    ///< d log S / dq
    double d_z;    ///< d log S / dz
};

/// log 2F1(1, p; q; z) and its gradient, for 0 < p < q and 0 <= z < 1.
/// @throws InvalidInput outside that domain; NumericError when z is too close to 1
/// (more than 2*10^6 terms).
LogHyp2f1Unit log_hyp2f1_unit(double p, double q, double z);

}  // namespace tierkit::clv
