#pragma once
/// @file engine.hpp
/// CLV inside the engine: a policy's `clv` section (ClvSpec) and the CLV models fitted
/// with the policy (FittedClv), which add `p_alive`, `expected_purchases` and `clv` columns
/// that criteria, expressions and rules read like any feature column.
///
/// Policy section (every key but `model` and `time_unit` has a default):
/// @code{.json}
/// "clv": {
///   "model": "bgnbd",              // "bgnbd" | "mbgnbd" | "paretonbd"
///   "spend": "gammagamma",         // or "none" (default): no "clv" column then
///   "horizon_months": 12,          // whole months, 1..1200
///   "discount_rate": 0.01,         // monthly, >= 0
///   "time_unit": "W",              // unit of recency and T in the table: H, D, W, M; required
///   "periods_per_month": 4.345,    // optional; overrides the unit's factor (H 720, D 30, W 4.345, M 1)
///   "penalizer": 0.0,              // L2 penalizer of the transaction model (lifetimes' meaning)
///   "spend_penalizer": 0.0,        // L2 penalizer of Gamma-Gamma
///   "columns": {"frequency": "frequency", "recency": "recency", "T": "T",
///               "monetary_value": "monetary_value"}
/// }
/// @endcode
///
/// Derived columns, per customer, with the horizon H = horizon_months months and
/// f = periods per month:
/// - `p_alive`: P(alive at T | frequency, recency, T);
/// - `expected_purchases`: expected purchases in the next H f periods (the horizon);
/// - `clv` (only with a spend model): the discounted CLV over the horizon, as lifetimes'
///   `customer_lifetime_value`: sum over months i = 1..H of expected spend x
///   (E[X(i f)] - E[X((i-1) f)]) / (1 + discount_rate)^i. Without a spend model there is
///   no monetary estimate, so no `clv` column: a policy that wants a value per customer
///   names a spend model rather than getting a purchase count called value.
/// Each column is computed by the column functions of predict.hpp with the fitted
/// parameters, so it equals (bit for bit) what those functions return.
///
/// Design notes: fit(policy, table) fits the transaction model (and Gamma-Gamma) on the
/// table's distinct patterns before any score is fitted, then hands the criteria and the
/// rule a copy of the table (cheap: spans and shared owners) with the derived columns
/// added. Model::assign recomputes them from the stored parameters the same way and also
/// returns them as Assignment::extras. A table that already has a column of one of those
/// names is an error: the policy would otherwise read a different `clv` than the one it
/// declares. FittedClv holds parameters and fit summaries only, never customer rows, is
/// immutable after fit, and its const members may run from many threads at once.
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/split_member.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/version.hpp>
#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tierkit/clv/bg_nbd.hpp"
#include "tierkit/clv/fit.hpp"
#include "tierkit/clv/gamma_gamma.hpp"
#include "tierkit/clv/pareto_nbd.hpp"
#include "tierkit/clv/predict.hpp"
#include "tierkit/clv/time_unit.hpp"
#include "tierkit/core/table.hpp"

namespace tierkit::clv {

/// The transaction model a policy's clv section selects.
enum class TransactionModel : int { bg_nbd = 0, mbg_nbd = 1, pareto_nbd = 2 };

/// "bgnbd", "mbgnbd" or "paretonbd" (the names the policy uses).
const char* to_string(TransactionModel model) noexcept;

/// The names of the derived columns.
inline constexpr const char* p_alive_column = "p_alive";
inline constexpr const char* expected_purchases_column = "expected_purchases";
inline constexpr const char* clv_column = "clv";

/// A policy's validated `clv` section.
struct ClvSpec {
    TransactionModel model = TransactionModel::bg_nbd;
    bool gamma_gamma = false;  ///< "spend": "gammagamma"
    int horizon_months = 12;
    double discount_rate = 0.01;  ///< monthly
    TimeUnit time_unit = TimeUnit::unspecified;
    double periods_per_month = 0.0;  ///< 0: from time_unit
    double penalizer = 0.0;
    double spend_penalizer = 0.0;
    std::string frequency = "frequency";
    std::string recency = "recency";
    std::string T = "T";
    std::string monetary_value = "monetary_value";

    /// Parse and validate a `clv` object; `path` prefixes every message
    /// (`clv.horizon_months: must be > 0, got -1`).
    /// @throws PolicyError naming the JSON path of the offending value.
    static ClvSpec from_json(const nlohmann::json& j, const std::string& path = "clv");
    /// The section as JSON with every default filled in (from_json reads it back equal).
    nlohmann::json to_json() const;
    /// Checks the ranges from_json checks, for a spec built in code.
    /// @throws PolicyError naming `path` + the field.
    void validate(const std::string& path = "clv") const;

    /// The horizon handed to customer_lifetime_value.
    ClvHorizon horizon() const noexcept {
        return ClvHorizon{horizon_months, discount_rate, time_unit, periods_per_month};
    }
    /// Model periods per month: periods_per_month when given, else the time unit's factor.
    double model_periods_per_month() const noexcept {
        return periods_per_month > 0 ? periods_per_month : clv::periods_per_month(time_unit);
    }
    /// The horizon in model periods, horizon_months x periods per month.
    double horizon_periods() const noexcept { return horizon_months * model_periods_per_month(); }
    /// The derived columns: p_alive, expected_purchases, and clv with a spend model.
    std::vector<std::string> output_columns() const;
    /// The table columns read: frequency, recency, T, and monetary_value with a spend model.
    std::vector<std::string> input_columns() const;

    bool operator==(const ClvSpec&) const = default;
};

/// Derived columns by name, in output_columns() order.
using ClvColumns = std::vector<std::pair<std::string, std::vector<double>>>;

/// The CLV models fitted for a policy's clv section: immutable parameters and fit
/// summaries.
class FittedClv {
public:
    using Transactions = std::variant<Fitted<BgNbdParams>, Fitted<MbgNbdParams>, Fitted<ParetoNbdParams>>;

    /// An empty value, for loading from an archive.
    FittedClv() = default;
    /// From parameters fitted elsewhere. The alternative of `transactions` must be the
    /// spec's model, and `spend` is given exactly when the spec has a spend model.
    /// @throws InvalidInput otherwise, or for invalid parameters.
    FittedClv(ClvSpec spec, Transactions transactions, std::optional<Fitted<GammaGammaParams>> spend = std::nullopt);

    /// Fit the spec's transaction model (and Gamma-Gamma) on the table's columns.
    /// @throws InvalidInput when the table already has a derived column's name or a row is
    ///   invalid (`clv: recency[12]: must be <= T (39), got 40`), UnknownColumn when an
    ///   input column is missing (`clv.columns.T: unknown column 'T'; available: ...`),
    ///   NumericError when a fit does not converge, the data have no repeat purchase, or
    ///   Gamma-Gamma's q <= 1 (mean spend undefined). Every message starts with "clv".
    ///   Whatever `progress` throws, unchanged.
    /// @param progress if given, gets every optimizer iteration of each model fitted
    ///   (FitOptions::progress: stages "clv bg/nbd" etc., then "clv gamma-gamma").
    static FittedClv fit(const ClvSpec& spec, const FeatureTable& table, const Progress* progress = nullptr);
    /// The same fit from compressed patterns (RfmHistogram / SpendHistogram states merged
    /// over chunks, see histogram.hpp): fit() compresses the table's rows and calls this,
    /// so equal patterns give bit-identical models. `spend` is given exactly when the spec
    /// has a spend model. @throws as fit(), InvalidInput for missing patterns.
    static FittedClv fit_patterns(const ClvSpec& spec, const RfmPatterns& rfm,
                                  const std::optional<SpendPatterns>& spend, const Progress* progress = nullptr);

    /// The derived columns for every row of `table`, in spec().output_columns() order.
    /// @throws as fit() for a taken name, a missing column or an invalid row.
    ClvColumns columns(const FeatureTable& table) const;
    /// A copy of `table` with the derived columns added.
    /// @throws as columns().
    FeatureTable add_columns(const FeatureTable& table) const;
    /// A copy of `table` with `columns` (from columns(table)) added.
    static FeatureTable add_columns(const FeatureTable& table, ClvColumns columns);

    const ClvSpec& spec() const noexcept { return spec_; }
    const Transactions& transactions() const noexcept { return transactions_; }
    /// The transaction model's fit summary (names, coef, se, intervals, log-likelihood).
    const FitSummary& transaction_summary() const noexcept;
    /// Gamma-Gamma, when the spec has a spend model.
    const std::optional<Fitted<GammaGammaParams>>& spend() const noexcept { return spend_; }

    /// Boost.Serialization: the spec as its JSON text, then the fitted models. Loading
    /// re-validates the spec and the parameters (FormatError when they are invalid).
    template <class Archive>
    void save(Archive& ar, unsigned /*version*/) const {
        std::string spec = spec_json();
        ar& boost::make_nvp("spec", spec);
        std::visit([&ar](const auto& fitted) { ar& boost::make_nvp("transactions", fitted); }, transactions_);
        if (spec_.gamma_gamma) ar& boost::make_nvp("spend", *spend_);
    }
    template <class Archive>
    void load(Archive& ar, unsigned /*version*/) {
        std::string spec;
        ar& boost::make_nvp("spec", spec);
        ClvSpec parsed = spec_from_archive(spec);
        Transactions transactions;
        switch (parsed.model) {
            case TransactionModel::bg_nbd:
                transactions.emplace<Fitted<BgNbdParams>>();
                break;
            case TransactionModel::mbg_nbd:
                transactions.emplace<Fitted<MbgNbdParams>>();
                break;
            case TransactionModel::pareto_nbd:
                transactions.emplace<Fitted<ParetoNbdParams>>();
                break;
        }
        std::visit([&ar](auto& fitted) { ar& boost::make_nvp("transactions", fitted); }, transactions);
        std::optional<Fitted<GammaGammaParams>> spend;
        if (parsed.gamma_gamma) {
            spend.emplace();
            ar& boost::make_nvp("spend", *spend);
        }
        *this = from_archive(std::move(parsed), std::move(transactions), std::move(spend));
    }
    BOOST_SERIALIZATION_SPLIT_MEMBER()

private:
    std::string spec_json() const;
    /// @throws FormatError for a spec that does not parse.
    static ClvSpec spec_from_archive(const std::string& text);
    /// @throws FormatError for parameters that do not match the spec or are invalid.
    static FittedClv from_archive(ClvSpec spec, Transactions transactions,
                                  std::optional<Fitted<GammaGammaParams>> spend);

    ClvSpec spec_;
    Transactions transactions_;
    std::optional<Fitted<GammaGammaParams>> spend_;
};

}  // namespace tierkit::clv

BOOST_CLASS_VERSION(tierkit::clv::FittedClv, 0)
