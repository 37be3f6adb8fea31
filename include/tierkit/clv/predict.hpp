#pragma once
/// @file predict.hpp
/// Column-at-a-time predictions for any of the transaction models (BgNbdParams,
/// MbgNbdParams, ParetoNbdParams) and customer lifetime value.
///
/// Each function checks the column lengths and every row before computing, and reports
/// the first bad row by column and index. Outputs are written to caller-owned spans, so a
/// host (numpy, Arrow) can hand in its own memory. Safe to call from many threads on
/// disjoint outputs. p_alive, conditional_expected_purchases and customer_lifetime_value
/// compute row ranges in parallel (parallel_for); each value depends on its row only, so
/// the results are the same at any thread count. For BG/NBD and MBG/NBD,
/// conditional_expected_purchases and customer_lifetime_value compute one series per
/// distinct (x, T) (HorizonExpectations), with the same bits as customer by customer.
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tierkit/clv/bg_nbd.hpp"
#include "tierkit/clv/gamma_gamma.hpp"
#include "tierkit/clv/pareto_nbd.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit::clv {

/// The (frequency, recency, T) columns of a customer summary.
struct RfmColumns {
    std::span<const double> frequency;
    std::span<const double> recency;
    std::span<const double> T;

    std::size_t size() const noexcept { return frequency.size(); }
};

namespace detail {
/// Rows per parallel range of the column functions below.
inline constexpr std::size_t clv_rows_per_range = 2048;

inline void check_length(const char* column, std::size_t expected, std::size_t got) {
    if (expected != got)
        throw InvalidInput(std::string(column) + ": expected " + std::to_string(expected) + " rows, got " +
                           std::to_string(got));
}
/// Rows checked per parallel range; parallel_for rethrows the first range's error, so the
/// first bad row is the one reported at any thread count.
inline constexpr std::size_t check_rows_per_range = 1 << 16;

inline void check_columns(const RfmColumns& c, std::size_t out_size) {
    check_length("recency", c.frequency.size(), c.recency.size());
    check_length("T", c.frequency.size(), c.T.size());
    check_length("out", c.frequency.size(), out_size);
    parallel_for(
        c.size(),
        [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) validate_rfm(i, c.frequency[i], c.recency[i], c.T[i]);
        },
        check_rows_per_range);
}
inline void check_spend(std::span<const double> frequency, std::span<const double> monetary_value) {
    parallel_for(
        frequency.size(),
        [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) validate_spend(i, frequency[i], monetary_value[i]);
        },
        check_rows_per_range);
}
inline void check_horizon(double t) {
    if (!(std::isfinite(t) && t >= 0)) throw InvalidInput("t: must be finite and >= 0, got " + std::to_string(t));
}
/// Models whose column predictions share a series per distinct (x, T) (HorizonExpectations).
template <class Params>
concept SharedHorizons = std::is_same_v<Params, BgNbdParams> || std::is_same_v<Params, MbgNbdParams>;
}  // namespace detail

/// out[i] = P(alive | row i).
/// @throws InvalidInput for different lengths or an invalid row.
template <class Params>
void p_alive(const Params& params, const RfmColumns& data, std::span<double> out) {
    params.validate();
    detail::check_columns(data, out.size());
    parallel_for(
        data.size(),
        [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i)
                out[i] = p_alive(params, data.frequency[i], data.recency[i], data.T[i]);
        },
        detail::clv_rows_per_range * 8);
}

/// out[i] = expected purchases of customer i in the next t periods (t in the model's unit).
/// @throws InvalidInput for different lengths, an invalid row or t.
template <class Params>
void conditional_expected_purchases(const Params& params, double t, const RfmColumns& data, std::span<double> out) {
    params.validate();
    detail::check_horizon(t);
    detail::check_columns(data, out.size());
    if constexpr (detail::SharedHorizons<Params>) {
        // one series per distinct (x, T) (HorizonExpectations), the same bits as per row
        for (std::size_t begin = 0; begin < data.size();) {
            const HorizonExpectations<Params> table(params, std::span<const double>(&t, 1), data.frequency, data.T,
                                                    begin);
            parallel_for(
                table.end() - begin,
                [&](std::size_t first, std::size_t last) {
                    for (std::size_t i = begin + first; i < begin + last; ++i)
                        table.at(i, data.recency[i], out.subspan(i, 1));
                },
                detail::clv_rows_per_range);
            begin = table.end();
        }
        return;
    }
    parallel_for(
        data.size(),
        [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i)
                out[i] = conditional_expected_purchases(params, t, data.frequency[i], data.recency[i], data.T[i]);
        },
        detail::clv_rows_per_range);
}

/// out[i] = E[X(t[i])] for a new customer.
template <class Params>
void expected_purchases(const Params& params, std::span<const double> t, std::span<double> out) {
    params.validate();
    detail::check_length("out", t.size(), out.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (!(std::isfinite(t[i]) && t[i] >= 0))
            throw InvalidInput("t[" + std::to_string(i) + "]: must be finite and >= 0, got " + std::to_string(t[i]));
    }
    for (std::size_t i = 0; i < t.size(); ++i) out[i] = expected_purchases(params, t[i]);
}

/// out[i] = P(X(t[i]) = n[i]) for a new customer; n[i] a non-negative integer.
template <class Params>
void probability_of_purchases(const Params& params, std::span<const double> t, std::span<const double> n,
                              std::span<double> out) {
    params.validate();
    detail::check_length("n", t.size(), n.size());
    detail::check_length("out", t.size(), out.size());
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (!(std::isfinite(t[i]) && t[i] >= 0))
            throw InvalidInput("t[" + std::to_string(i) + "]: must be finite and >= 0, got " + std::to_string(t[i]));
        if (!(std::isfinite(n[i]) && n[i] >= 0 && n[i] == std::floor(n[i]) && n[i] < 2147483647.0))
            throw InvalidInput("n[" + std::to_string(i) + "]: must be a non-negative integer, got " +
                               std::to_string(n[i]));
    }
    for (std::size_t i = 0; i < t.size(); ++i) out[i] = probability_of_purchases(params, t[i], static_cast<int>(n[i]));
}

/// out[i] = Gamma-Gamma's expected spend per transaction of customer i.
/// @throws NumericError when q <= 1; InvalidInput for different lengths or an invalid row.
inline void conditional_expected_average_spend(const GammaGammaParams& params, std::span<const double> frequency,
                                               std::span<const double> monetary_value, std::span<double> out) {
    params.validate();
    detail::check_length("monetary_value", frequency.size(), monetary_value.size());
    detail::check_length("out", frequency.size(), out.size());
    detail::check_spend(frequency, monetary_value);
    if (frequency.empty()) return;
    const double mean = mean_spend(params);  // throws for q <= 1
    for (std::size_t i = 0; i < frequency.size(); ++i)
        out[i] = detail::expected_average_spend(params, mean, frequency[i], monetary_value[i]);
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
    if (horizon.months < 0) throw InvalidInput("months: must be >= 0, got " + std::to_string(horizon.months));
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

namespace detail {
/// Months i = 1..H in model periods (i f) and the discount factors (1 + d)^i.
struct ClvMonths {
    std::vector<double> horizons, discounts;
    ClvMonths(const ClvHorizon& horizon, double f) : horizons(horizon.months), discounts(horizon.months) {
        for (int i = 1; i <= horizon.months; ++i) {
            horizons[i - 1] = i * f;
            discounts[i - 1] = std::pow(1.0 + horizon.monthly_discount_rate, i);
        }
    }
};

/// Models with a multi-horizon conditional_expected_purchases (BG/NBD, MBG/NBD).
template <class Params>
concept MultiHorizon = requires(const Params& p, std::span<const double> t, std::span<double> out) {
    conditional_expected_purchases(p, t, 0.0, 0.0, 0.0, out);
};

/// CLV of one customer given the expected purchases at the months' horizons and the
/// expected spend per transaction m.
inline double clv_of_expected(double m, const ClvMonths& months, std::span<const double> expected) {
    double previous = 0.0, value = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        value += m * (expected[i] - previous) / months.discounts[i];
        previous = expected[i];
    }
    return value;
}

/// CLV of one customer given the months; `expected` has one slot per month.
template <class Params>
double clv_of_row(const Params& transactions, const GammaGammaParams& spend, double x, double t_x, double T,
                  double monetary_value, const ClvMonths& months, std::span<double> expected) {
    if constexpr (MultiHorizon<Params>) {
        conditional_expected_purchases(transactions, std::span<const double>(months.horizons), x, t_x, T, expected);
    } else {
        for (std::size_t i = 0; i < expected.size(); ++i)
            expected[i] = conditional_expected_purchases(transactions, months.horizons[i], x, t_x, T);
    }
    return clv_of_expected(conditional_expected_average_spend(spend, x, monetary_value), months, expected);
}
}  // namespace detail

/// Discounted CLV of one customer, with lifetimes' semantics: the sum over months
/// i = 1..H of spend * (E[X(i f)] - E[X((i-1) f)]) / (1 + d)^i, where f = periods per month,
/// E[X(.)] the transaction model's conditional expectation and spend Gamma-Gamma's
/// conditional expected average spend. BG/NBD and MBG/NBD compute the H expectations in
/// one call (their multi-horizon conditional_expected_purchases).
/// @throws InvalidInput (unit, horizon, row) and NumericError (Gamma-Gamma q <= 1).
template <class Params>
double customer_lifetime_value(const Params& transactions, const GammaGammaParams& spend, double x, double t_x,
                               double T, double monetary_value, const ClvHorizon& horizon) {
    const double f = resolve_periods_per_month(horizon, transactions.time_unit);
    const detail::ClvMonths months(horizon, f);
    std::vector<double> expected(months.horizons.size());
    return detail::clv_of_row(transactions, spend, x, t_x, T, monetary_value, months, expected);
}

/// Column version of customer_lifetime_value.
template <class Params>
void customer_lifetime_value(const Params& transactions, const GammaGammaParams& spend, const RfmColumns& data,
                             std::span<const double> monetary_value, const ClvHorizon& horizon, std::span<double> out) {
    transactions.validate();
    spend.validate();
    resolve_periods_per_month(horizon, transactions.time_unit);
    detail::check_columns(data, out.size());
    detail::check_length("monetary_value", data.size(), monetary_value.size());
    detail::check_spend(data.frequency, monetary_value);
    const double mean = mean_spend(spend);  // throws for q <= 1 before any work
    const detail::ClvMonths months(horizon, resolve_periods_per_month(horizon, transactions.time_unit));
    if constexpr (detail::SharedHorizons<Params>) {
        // one series per distinct (x, T) (HorizonExpectations), the same bits as per row
        for (std::size_t begin = 0; begin < data.size();) {
            const HorizonExpectations<Params> table(transactions, months.horizons, data.frequency, data.T, begin);
            parallel_for(
                table.end() - begin,
                [&](std::size_t first, std::size_t last) {
                    std::vector<double> expected(months.horizons.size());
                    for (std::size_t i = begin + first; i < begin + last; ++i) {
                        table.at(i, data.recency[i], expected);
                        const double m =
                            detail::expected_average_spend(spend, mean, data.frequency[i], monetary_value[i]);
                        out[i] = detail::clv_of_expected(m, months, expected);
                    }
                },
                detail::clv_rows_per_range);
            begin = table.end();
        }
        return;
    }
    // Row ranges in parallel; each row's value depends on that row only (bit-identical at
    // any thread count).
    parallel_for(
        data.size(),
        [&](std::size_t begin, std::size_t end) {
            std::vector<double> expected(months.horizons.size());
            for (std::size_t i = begin; i < end; ++i)
                out[i] = detail::clv_of_row(transactions, spend, data.frequency[i], data.recency[i], data.T[i],
                                            monetary_value[i], months, expected);
        },
        detail::clv_rows_per_range);
}

}  // namespace tierkit::clv
