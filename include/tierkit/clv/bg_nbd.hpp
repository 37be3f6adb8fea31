#pragma once
/// @file bg_nbd.hpp
/// BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing
/// Science 24(2)) and MBG/NBD (Batislam, Denizel & Filiztekin 2007, IJRM 24(3), with the
/// erratum of Wagner & Hoppe 2008).
///
/// While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha);
/// after each purchase (BG/NBD), or also at time 0 (MBG/NBD), they drop out with
/// probability p ~ Beta(a, b). Times are in the unit of the data (TimeUnit).
///
/// Every function is a pure function of its arguments and safe to call from many threads.
/// Arguments (x, t_x, T) are checked as validate_rfm does; horizons t must be finite and
/// >= 0; parameters must be finite and > 0 (InvalidInput otherwise).
#include <array>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/version.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "tierkit/clv/fit.hpp"
#include "tierkit/clv/histogram.hpp"
#include "tierkit/clv/time_unit.hpp"

namespace tierkit::clv {

/// How BG/NBD and MBG/NBD predictions evaluate 2F1 (the values agree to about 1e-13).
enum class PredictionNumerics : int {
    /// log_hyp2f1 once per horizon: archives of class version 0.
    per_horizon_2f1 = 0,
    /// One series per customer whose coefficients the horizons share (see
    /// conditional_expected_purchases with several horizons).
    shared_series = 1,
};

namespace detail {
template <class Archive>
void serialize_time_unit(Archive& ar, TimeUnit& unit) {
    int code = static_cast<int>(unit);
    ar& boost::make_nvp("time_unit", code);
    unit = static_cast<TimeUnit>(code);
}
/// Class version 1 stores the numerics; version 0 (older archives) had only the
/// per-horizon 2F1.
template <class Archive>
void serialize_numerics(Archive& ar, PredictionNumerics& numerics, unsigned version) {
    int code = static_cast<int>(numerics);
    if (version >= 1)
        ar& boost::make_nvp("numerics", code);
    else
        code = static_cast<int>(PredictionNumerics::per_horizon_2f1);
    numerics = code == 0 ? PredictionNumerics::per_horizon_2f1 : PredictionNumerics::shared_series;
}
}  // namespace detail

/// BG/NBD parameters.
struct BgNbdParams {
    double r = 0, alpha = 0, a = 0, b = 0;
    TimeUnit time_unit = TimeUnit::unspecified;
    /// How conditional_expected_purchases evaluates its hypergeometric function (see
    /// PredictionNumerics). Parameters fitted or built now use the shared series; those
    /// read from an archive written before it existed keep the per-horizon 2F1, so a saved
    /// model's derived columns, and the tiers cut on them, stay bit for bit what they were.
    PredictionNumerics numerics = PredictionNumerics::shared_series;

    static constexpr std::string_view model = "bg/nbd";
    static constexpr std::array<std::string_view, 4> names{"r", "alpha", "a", "b"};
    std::array<double, 4> values() const noexcept { return {r, alpha, a, b}; }
    /// @throws InvalidInput if a parameter is not finite and > 0.
    void validate() const;

    template <class Archive>
    void serialize(Archive& ar, unsigned version) {
        ar& boost::make_nvp("r", r);
        ar& boost::make_nvp("alpha", alpha);
        ar& boost::make_nvp("a", a);
        ar& boost::make_nvp("b", b);
        detail::serialize_time_unit(ar, time_unit);
        detail::serialize_numerics(ar, numerics, version);
    }
};

/// MBG/NBD parameters (same names and meaning as BG/NBD).
struct MbgNbdParams {
    double r = 0, alpha = 0, a = 0, b = 0;
    TimeUnit time_unit = TimeUnit::unspecified;
    PredictionNumerics numerics = PredictionNumerics::shared_series;  ///< as BgNbdParams::numerics

    static constexpr std::string_view model = "mbg/nbd";
    static constexpr std::array<std::string_view, 4> names{"r", "alpha", "a", "b"};
    std::array<double, 4> values() const noexcept { return {r, alpha, a, b}; }
    void validate() const;

    template <class Archive>
    void serialize(Archive& ar, unsigned version) {
        ar& boost::make_nvp("r", r);
        ar& boost::make_nvp("alpha", alpha);
        ar& boost::make_nvp("a", a);
        ar& boost::make_nvp("b", b);
        detail::serialize_time_unit(ar, time_unit);
        detail::serialize_numerics(ar, numerics, version);
    }
};

// ---- likelihood ---------------------------------------------------------------------

/// Log-likelihood of one customer (x, t_x, T).
double log_likelihood(const BgNbdParams& p, double x, double t_x, double T);
double log_likelihood(const MbgNbdParams& p, double x, double t_x, double T);

/// Total log-likelihood of the patterns (each weighted by its count); when `gradient` has 4
/// elements it receives d LL / d (r, alpha, a, b).
double log_likelihood(const BgNbdParams& p, const RfmPatterns& data, std::span<double> gradient = {});
double log_likelihood(const MbgNbdParams& p, const RfmPatterns& data, std::span<double> gradient = {});

// ---- fitting ------------------------------------------------------------------------

/// Maximum-likelihood fit (see fit.hpp).
/// @throws InvalidInput for empty data; NumericError when the data have no repeat purchase,
/// or the fit does not converge.
Fitted<BgNbdParams> fit_bg_nbd(const RfmPatterns& data, const FitOptions& options = {});
Fitted<MbgNbdParams> fit_mbg_nbd(const RfmPatterns& data, const FitOptions& options = {});

// ---- predictions --------------------------------------------------------------------

/// E[X(t)]: expected repeat purchases in (0, t] of a customer who just made a first purchase.
double expected_purchases(const BgNbdParams& p, double t);
double expected_purchases(const MbgNbdParams& p, double t);

/// E[X(T, T + t] | x, t_x, T]: expected purchases in the next t periods.
double conditional_expected_purchases(const BgNbdParams& p, double t, double x, double t_x, double T);
double conditional_expected_purchases(const MbgNbdParams& p, double t, double x, double t_x, double T);

/// The same at several horizons at once: out[j] = E[X(T, T + t[j]] | x, t_x, T]. The
/// hypergeometric series behind it shares its coefficients across horizons (blocks of 12),
/// and its truncation error is checked to be below 1e-13 of each value (relative), else
/// that block takes the slower logarithmic 2F1 path. The single-horizon function above is
/// this one with one horizon. Allocation-free.
/// @throws InvalidInput for t and out of different lengths, a t < 0 or an invalid row.
void conditional_expected_purchases(const BgNbdParams& p, std::span<const double> t, double x, double t_x, double T,
                                    std::span<double> out);
void conditional_expected_purchases(const MbgNbdParams& p, std::span<const double> t, double x, double t_x, double T,
                                    std::span<double> out);

/// Expected purchases of many customers at the same horizons, for the column functions
/// (predict.hpp's customer_lifetime_value and conditional_expected_purchases). Given that
/// a customer is alive, the expectation depends on x and T only (not on t_x), so customers
/// with the same (x, T) share one series: summaries have few distinct (x, T) pairs (10^6
/// synthetic customers: 28,493). Each value is bit for bit the one of
/// conditional_expected_purchases(p, t, x, t_x, T, out) for that customer.
///
/// The constructor takes rows from `begin` on, until the end of the columns or until the
/// distinct (x, T) pairs times the horizons reach 2^20 (about 9 MB of values); end()
/// says where it stopped. It computes the distinct pairs' series in parallel
/// (parallel_for); at() is then safe to call from many threads.
template <class Params>
class HorizonExpectations {
public:
    /// Rows must be valid (validate_rfm) and x and T of the same length.
    /// @throws InvalidInput for an invalid parameter or horizon.
    HorizonExpectations(const Params& p, std::span<const double> t, std::span<const double> x,
                        std::span<const double> T, std::size_t begin = 0);
    /// One past the last row taken.
    std::size_t end() const noexcept { return end_; }
    /// out[j] = E[X(T, T + t[j]] | x, t_x, T] for `row` (begin <= row < end()), with its t_x;
    /// out has one slot per horizon.
    void at(std::size_t row, double t_x, std::span<double> out) const;

private:
    std::array<double, 4> v_{};
    std::span<const double> x_;
    std::size_t begin_ = 0, end_ = 0, horizons_ = 0, blocks_ = 0;
    double log_a_ = 0;
    std::vector<std::uint32_t> key_;  ///< per row, the index of its (x, T) pair
    /// per pair: log(alpha + T), log(b + x - 1 (+1)), a factor per block of horizons and
    /// a value per horizon (see at())
    std::vector<double> log_span_, log_bx_, factor_, value_;
};

/// P(alive at T | x, t_x, T). For BG/NBD it is 1 when x = 0.
double p_alive(const BgNbdParams& p, double x, double t_x, double T);
double p_alive(const MbgNbdParams& p, double x, double t_x, double T);

/// P(X(t) = n) for a customer who just made a first purchase.
double probability_of_purchases(const BgNbdParams& p, double t, int n);
double probability_of_purchases(const MbgNbdParams& p, double t, int n);

}  // namespace tierkit::clv

BOOST_CLASS_VERSION(tierkit::clv::BgNbdParams, 1)
BOOST_CLASS_VERSION(tierkit::clv::MbgNbdParams, 1)
