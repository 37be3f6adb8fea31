#pragma once
/// @file predict.hpp
/// Column-at-a-time predictions for any of the transaction models (BgNbdParams,
/// MbgNbdParams, ParetoNbdParams) and customer lifetime value.
///
/// Each function checks the column lengths and every row before computing, and reports
/// the first bad row by column and index. Outputs are written to caller-owned spans, so a
/// host (numpy, Arrow) can hand in its own memory. Safe to call from many threads on
/// disjoint outputs.
#include <cmath>
#include <cstddef>
#include <span>
#include <string>

#include "tierkit/clv/bg_nbd.hpp"
#include "tierkit/clv/gamma_gamma.hpp"
#include "tierkit/clv/pareto_nbd.hpp"
#include "tierkit/core/error.hpp"

namespace tierkit::clv {

/// The (frequency, recency, T) columns of a customer summary.
struct RfmColumns {
    std::span<const double> frequency;
    std::span<const double> recency;
    std::span<const double> T;

    std::size_t size() const noexcept { return frequency.size(); }
};

namespace detail {
inline void check_length(const char* column, std::size_t expected, std::size_t got) {
    if (expected != got)
        throw InvalidInput(std::string(column) + ": expected " + std::to_string(expected) +
                           " rows, got " + std::to_string(got));
}
inline void check_columns(const RfmColumns& c, std::size_t out_size) {
    check_length("recency", c.frequency.size(), c.recency.size());
    check_length("T", c.frequency.size(), c.T.size());
    check_length("out", c.frequency.size(), out_size);
    for (std::size_t i = 0; i < c.size(); ++i) validate_rfm(i, c.frequency[i], c.recency[i], c.T[i]);
}
inline void check_horizon(double t) {
    if (!(std::isfinite(t) && t >= 0))
        throw InvalidInput("t: must be finite and >= 0, got " + std::to_string(t));
}
}  // namespace detail

/// out[i] = P(alive | row i).
/// @throws InvalidInput for different lengths or an invalid row.
template <class Params>
void p_alive(const Params& params, const RfmColumns& data, std::span<double> out) {
    params.validate();
    detail::check_columns(data, out.size());
    for (std::size_t i = 0; i < data.size(); ++i)
        out[i] = p_alive(params, data.frequency[i], data.recency[i], data.T[i]);
}

/// out[i] = expected purchases of customer i in the next t periods (t in the model's unit).
/// @throws InvalidInput for different lengths, an invalid row or t.
template <class Params>
void conditional_expected_purchases(const Params& params, double t, const RfmColumns& data,
                                    std::span<double> out) {
    params.validate();
    detail::check_horizon(t);
    detail::check_columns(data, out.size());
    for (std::size_t i = 0; i < data.size(); ++i)
        out[i] = conditional_expected_purchases(params, t, data.frequency[i], data.recency[i], data.T[i]);
}

/// out[i] = E[X(t[i])] for a new customer.
template <class Params>
void expected_purchases(const Params& params, std::span<const double> t, std::span<double> out) {
    params.validate();
    detail::check_length("out", t.size(), out.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (!(std::isfinite(t[i]) && t[i] >= 0))
            throw InvalidInput("t[" + std::to_string(i) + "]: must be finite and >= 0, got " +
                               std::to_string(t[i]));
    }
    for (std::size_t i = 0; i < t.size(); ++i) out[i] = expected_purchases(params, t[i]);
}

/// out[i] = P(X(t[i]) = n[i]) for a new customer; n[i] a non-negative integer.
template <class Params>
void probability_of_purchases(const Params& params, std::span<const double> t,
                              std::span<const double> n, std::span<double> out) {
    params.validate();
    detail::check_length("n", t.size(), n.size());
    detail::check_length("out", t.size(), out.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (!(std::isfinite(t[i]) && t[i] >= 0))
            throw InvalidInput("t[" + std::to_string(i) + "]: must be finite and >= 0, got " +
                               std::to_string(t[i]));
        if (!(std::isfinite(n[i]) && n[i] >= 0 && n[i] == std::floor(n[i]) && n[i] < 2147483647.0))
            throw InvalidInput("n[" + std::to_string(i) + "]: must be a non-negative integer, got " +
                               std::to_string(n[i]));
    }
    for (std::size_t i = 0; i < t.size(); ++i)
        out[i] = probability_of_purchases(params, t[i], static_cast<int>(n[i]));
}

/// out[i] = Gamma-Gamma's expected spend per transaction of customer i.
/// @throws NumericError when q <= 1; InvalidInput for different lengths or an invalid row.
inline void conditional_expected_average_spend(const GammaGammaParams& params,
                                               std::span<const double> frequency,
                                               std::span<const double> monetary_value,
                                               std::span<double> out) {
    params.validate();
    detail::check_length("monetary_value", frequency.size(), monetary_value.size());
    detail::check_length("out", frequency.size(), out.size());
    for (std::size_t i = 0; i < frequency.size(); ++i) validate_spend(i, frequency[i], monetary_value[i]);
    for (std::size_t i = 0; i < frequency.size(); ++i)
        out[i] = conditional_expected_average_spend(params, frequency[i], monetary_value[i]);
}

// ---- customer lifetime value ------------------------------------------------------------

/// The horizon of a CLV: whole months, a monthly discount rate, and the length of a month
/// in the transaction model's time unit. The unit is never guessed.
struct ClvHorizon {
    int months = 12;
    double monthly_discount_rate = 0.01;
    /// Unit of the transaction model's times; may be left unspecified when the fitted
    /// parameters carry it.
    TimeUnit time_unit = TimeUnit::unspecified;
    /// Model periods per month; when > 0 it overrides time_unit (e.g. 52/12 weeks).
    double periods_per_month = 0.0;
};

/// Model periods per month for `horizon` and a model fitted in `model_unit`.
/// @throws InvalidInput when neither says the unit, when they disagree, or for months < 0,
/// a discount rate <= -1 or a non-finite value.
inline double resolve_periods_per_month(const ClvHorizon& horizon, TimeUnit model_unit) {
    if (horizon.months < 0)
        throw InvalidInput("months: must be >= 0, got " + std::to_string(horizon.months));
    if (!(std::isfinite(horizon.monthly_discount_rate) && horizon.monthly_discount_rate > -1))
        throw InvalidInput("monthly_discount_rate: must be finite and > -1, got " +
                           std::to_string(horizon.monthly_discount_rate));
    if (horizon.periods_per_month != 0.0) {
        if (!(std::isfinite(horizon.periods_per_month) && horizon.periods_per_month > 0))
            throw InvalidInput("periods_per_month: must be finite and > 0, got " +
                               std::to_string(horizon.periods_per_month));
        return horizon.periods_per_month;
    }
    if (horizon.time_unit != TimeUnit::unspecified && model_unit != TimeUnit::unspecified &&
        horizon.time_unit != model_unit)
        throw InvalidInput("time_unit: the horizon is in " + std::string(to_string(horizon.time_unit)) +
                           " but the model was fitted in " + std::string(to_string(model_unit)));
    const TimeUnit unit = horizon.time_unit != TimeUnit::unspecified ? horizon.time_unit : model_unit;
    if (unit == TimeUnit::unspecified)
        throw InvalidInput(
            "time_unit: unknown; fit with a time unit or give the horizon's time_unit or "
            "periods_per_month (a weekly model read as monthly is off by a factor of 4.345)");
    return periods_per_month(unit);
}

/// Discounted CLV of one customer, with lifetimes' semantics: the sum over months
/// i = 1..H of spend * (E[X(i f)] - E[X((i-1) f)]) / (1 + d)^i, where f = periods per month,
/// E[X(.)] the transaction model's conditional expectation and spend Gamma-Gamma's
/// conditional expected average spend.
/// @throws InvalidInput (unit, horizon, row) and NumericError (Gamma-Gamma q <= 1).
template <class Params>
double customer_lifetime_value(const Params& transactions, const GammaGammaParams& spend, double x,
                               double t_x, double T, double monetary_value, const ClvHorizon& horizon) {
    const double f = resolve_periods_per_month(horizon, transactions.time_unit);
    const double m = conditional_expected_average_spend(spend, x, monetary_value);
    double previous = 0.0, value = 0.0;
    for (int i = 1; i <= horizon.months; ++i) {
        const double current = conditional_expected_purchases(transactions, i * f, x, t_x, T);
        value += m * (current - previous) / std::pow(1.0 + horizon.monthly_discount_rate, i);
        previous = current;
    }
    return value;
}

/// Column version of customer_lifetime_value.
template <class Params>
void customer_lifetime_value(const Params& transactions, const GammaGammaParams& spend,
                             const RfmColumns& data, std::span<const double> monetary_value,
                             const ClvHorizon& horizon, std::span<double> out) {
    transactions.validate();
    spend.validate();
    resolve_periods_per_month(horizon, transactions.time_unit);
    detail::check_columns(data, out.size());
    detail::check_length("monetary_value", data.size(), monetary_value.size());
    for (std::size_t i = 0; i < data.size(); ++i) validate_spend(i, data.frequency[i], monetary_value[i]);
    mean_spend(spend);  // throws for q <= 1 before any work
    for (std::size_t i = 0; i < data.size(); ++i)
        out[i] = customer_lifetime_value(transactions, spend, data.frequency[i], data.recency[i],
                                         data.T[i], monetary_value[i], horizon);
}

}  // namespace tierkit::clv
