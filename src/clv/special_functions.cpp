// Boost.Math behind the small interface of tierkit/clv/special_functions.hpp. Errors are
// reported as NaN/inf (errno policy) rather than Boost exceptions: callers check finiteness
// and raise tierkit errors with context; double is not promoted to long double (speed).
#include "tierkit/clv/special_functions.hpp"

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>

namespace tierkit::clv {
namespace {
using Policy =
    boost::math::policies::policy<boost::math::policies::domain_error<boost::math::policies::errno_on_error>,
                                  boost::math::policies::pole_error<boost::math::policies::errno_on_error>,
                                  boost::math::policies::overflow_error<boost::math::policies::errno_on_error>,
                                  boost::math::policies::evaluation_error<boost::math::policies::errno_on_error>,
                                  boost::math::policies::promote_double<false>>;
}  // namespace

double log_gamma(double x) { return boost::math::lgamma(x, Policy()); }
double digamma(double x) { return boost::math::digamma(x, Policy()); }
double log_beta(double a, double b) {
    return boost::math::lgamma(a, Policy()) + boost::math::lgamma(b, Policy()) - boost::math::lgamma(a + b, Policy());
}
double regularized_beta(double a, double b, double x) { return boost::math::ibeta(a, b, x, Policy()); }

}  // namespace tierkit::clv
