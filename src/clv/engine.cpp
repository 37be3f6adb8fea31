// The policy's clv section (parsing, validation, JSON) and the CLV models fitted with a
// policy: fit on the table's columns, derived columns p_alive / expected_purchases / clv.
#include "tierkit/clv/engine.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/json_parse.hpp"
#include "tierkit/clv/histogram.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/format.hpp"
#include "tierkit/core/json_checks.hpp"
#include "tierkit/core/parallel.hpp"

namespace tierkit::clv {

using nlohmann::json;

const char* to_string(TransactionModel model) noexcept {
    switch (model) {
        case TransactionModel::bg_nbd:
            return "bgnbd";
        case TransactionModel::mbg_nbd:
            return "mbgnbd";
        case TransactionModel::pareto_nbd:
            return "paretonbd";
    }
    return "bgnbd";
}

namespace {

constexpr int max_horizon_months = 1200;
/// Rows per parallel range of the row checks.
constexpr std::size_t rows_per_range = 4096;

using json_checks::fail;
using json_checks::number_at;
using json_checks::only_keys;
using json_checks::show;

std::string string_at(const json& obj, const char* key, const std::string& path) {
    const json& j = obj.at(key);
    if (!j.is_string()) fail(path + "." + key, "must be a string, got " + show(j));
    return j.get<std::string>();
}

/// Runs `body`, prefixing the message of a data or numeric error with "clv: " (the type
/// is kept, so callers still catch InvalidInput or NumericError).
template <class Body>
auto in_clv(Body&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const InvalidInput& e) {
        throw InvalidInput("clv: " + std::string(e.what()));
    } catch (const NumericError& e) {
        throw NumericError("clv: " + std::string(e.what()));
    }
}

/// The spans of the input columns.
struct Inputs {
    std::span<const double> frequency, recency, T, monetary_value;
};

std::span<const double> input_column(const FeatureTable& table, const char* key, const std::string& name) {
    if (!table.has(name)) throw UnknownColumn(std::string("clv.columns.") + key + ": " + table.unknown_message(name));
    return table.column(name);
}

Inputs inputs(const ClvSpec& spec, const FeatureTable& table) {
    Inputs in;
    in.frequency = input_column(table, "frequency", spec.frequency);
    in.recency = input_column(table, "recency", spec.recency);
    in.T = input_column(table, "T", spec.T);
    if (spec.gamma_gamma) in.monetary_value = input_column(table, "monetary_value", spec.monetary_value);
    return in;
}

/// The derived columns must not shadow the table's own.
void check_names_free(const ClvSpec& spec, const FeatureTable& table) {
    for (const auto& name : spec.output_columns())
        if (table.has(name) || table.has_category(name))
            throw InvalidInput("clv: the table already has a column '" + name +
                               "', which the policy's clv section computes; rename or drop the table's column");
}

}  // namespace

// ---- ClvSpec ------------------------------------------------------------------------------

std::vector<std::string> ClvSpec::output_columns() const {
    std::vector<std::string> out{p_alive_column, expected_purchases_column};
    if (gamma_gamma) out.emplace_back(clv_column);
    return out;
}

std::vector<std::string> ClvSpec::input_columns() const {
    std::vector<std::string> out{frequency, recency, T};
    if (gamma_gamma) out.push_back(monetary_value);
    return out;
}

ClvSpec ClvSpec::from_json(const json& j, const std::string& path) {
    json_checks::require_object(j, path);
    only_keys(j, path,
              {"model", "spend", "horizon_months", "discount_rate", "time_unit", "periods_per_month", "penalizer",
               "spend_penalizer", "columns"});
    ClvSpec s;
    if (!j.contains("model")) fail(path + ".model", "required: the transaction model, one of bgnbd, mbgnbd, paretonbd");
    const std::string model = string_at(j, "model", path);
    if (model == "bgnbd" || model == "bg/nbd")
        s.model = TransactionModel::bg_nbd;
    else if (model == "mbgnbd" || model == "mbg/nbd")
        s.model = TransactionModel::mbg_nbd;
    else if (model == "paretonbd" || model == "pareto/nbd")
        s.model = TransactionModel::pareto_nbd;
    else
        fail(path + ".model", "must be one of bgnbd, mbgnbd, paretonbd, got '" + model + "'");

    if (j.contains("spend") && !j.at("spend").is_null()) {
        const std::string spend = string_at(j, "spend", path);
        if (spend == "gammagamma" || spend == "gamma-gamma")
            s.gamma_gamma = true;
        else if (spend == "none")
            s.gamma_gamma = false;
        else
            fail(path + ".spend", "must be gammagamma or none, got '" + spend + "'");
    }

    if (!j.contains("time_unit"))
        fail(path + ".time_unit",
             "required: the unit of recency and T in the table (H, D, W or M); it is never guessed");
    const std::string unit = string_at(j, "time_unit", path);
    try {
        s.time_unit = parse_time_unit(unit);
    } catch (const InvalidInput&) {
        fail(path + ".time_unit", "must be one of H, D, W, M (hours, days, weeks, months), got '" + unit + "'");
    }

    const double months = number_at(j, "horizon_months", path, s.horizon_months);
    if (months != std::floor(months))
        fail(path + ".horizon_months", "must be a whole number of months, got " + format_number(months));
    if (months <= 0) fail(path + ".horizon_months", "must be > 0, got " + format_number(months));
    if (months > max_horizon_months)
        fail(path + ".horizon_months",
             "must be <= " + std::to_string(max_horizon_months) + ", got " + format_number(months));
    s.horizon_months = static_cast<int>(months);
    s.discount_rate = number_at(j, "discount_rate", path, s.discount_rate);
    s.periods_per_month = number_at(j, "periods_per_month", path, 0.0);
    if (j.contains("periods_per_month") && !(s.periods_per_month > 0))
        fail(path + ".periods_per_month", "must be > 0, got " + format_number(s.periods_per_month));
    s.penalizer = number_at(j, "penalizer", path, s.penalizer);
    s.spend_penalizer = number_at(j, "spend_penalizer", path, s.spend_penalizer);

    if (j.contains("columns")) {
        const json& c = j.at("columns");
        const std::string cp = path + ".columns";
        if (!c.is_object())
            fail(cp, "must be an object mapping frequency, recency, T, monetary_value to columns, got " + show(c));
        for (auto it = c.begin(); it != c.end(); ++it) {
            std::string* target = it.key() == "frequency"        ? &s.frequency
                                  : it.key() == "recency"        ? &s.recency
                                  : it.key() == "T"              ? &s.T
                                  : it.key() == "monetary_value" ? &s.monetary_value
                                                                 : nullptr;
            if (!target)
                fail(cp + "." + it.key(), "unknown key; expected one of: frequency, recency, T, monetary_value");
            *target = string_at(c, it.key().c_str(), cp);
            if (target->empty()) fail(cp + "." + it.key(), "must not be empty");
        }
    }
    s.validate(path);
    return s;
}

void ClvSpec::validate(const std::string& path) const {
    if (model != TransactionModel::bg_nbd && model != TransactionModel::mbg_nbd &&
        model != TransactionModel::pareto_nbd)
        fail(path + ".model",
             "must be one of bgnbd, mbgnbd, paretonbd, got code " + std::to_string(static_cast<int>(model)));
    if (time_unit == TimeUnit::unspecified)
        fail(path + ".time_unit",
             "required: the unit of recency and T in the table (H, D, W or M); it is never guessed");
    if (horizon_months <= 0) fail(path + ".horizon_months", "must be > 0, got " + std::to_string(horizon_months));
    if (horizon_months > max_horizon_months)
        fail(path + ".horizon_months",
             "must be <= " + std::to_string(max_horizon_months) + ", got " + std::to_string(horizon_months));
    if (!(std::isfinite(discount_rate) && discount_rate >= 0))
        fail(path + ".discount_rate", "must be >= 0 (a monthly rate), got " + format_number(discount_rate));
    if (!(std::isfinite(periods_per_month) && periods_per_month >= 0))
        fail(path + ".periods_per_month", "must be > 0, got " + format_number(periods_per_month));
    if (!(std::isfinite(penalizer) && penalizer >= 0))
        fail(path + ".penalizer", "must be >= 0, got " + format_number(penalizer));
    if (!(std::isfinite(spend_penalizer) && spend_penalizer >= 0))
        fail(path + ".spend_penalizer", "must be >= 0, got " + format_number(spend_penalizer));
    const std::pair<const char*, const std::string*> columns[] = {
        {"frequency", &frequency}, {"recency", &recency}, {"T", &T}, {"monetary_value", &monetary_value}};
    for (const auto& [key, name] : columns)
        if (name->empty()) fail(path + ".columns." + key, "must not be empty");
}

json ClvSpec::to_json() const {
    json j;
    j["model"] = to_string(model);
    j["spend"] = gamma_gamma ? "gammagamma" : "none";
    j["horizon_months"] = horizon_months;
    j["discount_rate"] = discount_rate;
    j["time_unit"] = std::string(clv::to_string(time_unit));
    if (periods_per_month > 0) j["periods_per_month"] = periods_per_month;
    j["penalizer"] = penalizer;
    j["spend_penalizer"] = spend_penalizer;
    j["columns"] = {{"frequency", frequency}, {"recency", recency}, {"T", T}, {"monetary_value", monetary_value}};
    return j;
}

// ---- FittedClv ----------------------------------------------------------------------------

FittedClv::FittedClv(ClvSpec spec, Transactions transactions, std::optional<Fitted<GammaGammaParams>> spend)
    : spec_(std::move(spec)), transactions_(std::move(transactions)), spend_(std::move(spend)) {
    try {
        spec_.validate();
    } catch (const PolicyError& e) {
        throw InvalidInput(std::string("clv spec: ") + e.what());
    }
    if (transactions_.index() != static_cast<std::size_t>(spec_.model))
        throw InvalidInput(std::string("clv: the spec selects ") + to_string(spec_.model) +
                           " but the fitted transaction model is another one");
    if (spec_.gamma_gamma != spend_.has_value())
        throw InvalidInput(spec_.gamma_gamma ? "clv: the spec has a spend model but no fitted gamma-gamma was given"
                                             : "clv: a fitted gamma-gamma was given but the spec has no spend model");
    in_clv([&] {
        std::visit(
            [&](const auto& fitted) {
                fitted.params.validate();
                // The unit the parameters were fitted in must be the spec's.
                resolve_periods_per_month(spec_.horizon(), fitted.params.time_unit);
            },
            transactions_);
        if (spend_) {
            spend_->params.validate();
            mean_spend(spend_->params);  // q > 1, else no finite CLV
        }
    });
}

FittedClv FittedClv::fit(const ClvSpec& spec, const FeatureTable& table, const Progress* progress) {
    check_names_free(spec, table);
    const Inputs in = inputs(spec, table);
    if (table.rows() == 0) throw InvalidInput("clv: the table has no rows");
    RfmPatterns rfm;
    std::optional<SpendPatterns> spend;
    in_clv([&] {
        rfm = compress_rfm(in.frequency, in.recency, in.T);
        if (spec.gamma_gamma) spend = compress_spend(in.frequency, in.monetary_value);
    });
    return fit_patterns(spec, rfm, spend, progress);
}

FittedClv FittedClv::fit_patterns(const ClvSpec& spec, const RfmPatterns& rfm,
                                  const std::optional<SpendPatterns>& spend, const Progress* progress) {
    if (spec.gamma_gamma != spend.has_value())
        throw InvalidInput(spec.gamma_gamma ? "clv: the spend model needs spend patterns"
                                            : "clv: spend patterns without a spend model");
    if (rfm.size() == 0) throw InvalidInput("clv: the table has no rows");
    Transactions transactions;
    std::optional<Fitted<GammaGammaParams>> fitted_spend;
    in_clv([&] {
        FitOptions options;
        options.penalizer = spec.penalizer;
        options.time_unit = spec.time_unit;
        options.progress = progress;
        switch (spec.model) {
            case TransactionModel::bg_nbd:
                transactions = fit_bg_nbd(rfm, options);
                break;
            case TransactionModel::mbg_nbd:
                transactions = fit_mbg_nbd(rfm, options);
                break;
            case TransactionModel::pareto_nbd:
                transactions = fit_pareto_nbd(rfm, options);
                break;
        }
        if (spec.gamma_gamma) {
            FitOptions spend_options;
            spend_options.penalizer = spec.spend_penalizer;
            spend_options.progress = progress;
            fitted_spend = fit_gamma_gamma(*spend, spend_options);
        }
    });
    return FittedClv(spec, std::move(transactions), std::move(fitted_spend));
}

ClvColumns FittedClv::columns(const FeatureTable& table) const {
    check_names_free(spec_, table);
    const Inputs in = inputs(spec_, table);
    const std::size_t n = table.rows();
    std::vector<double> alive(n), purchases(n), value(spec_.gamma_gamma ? n : 0);
    // The rows are checked first, in parallel ranges (numbered in the table, so the first
    // bad row is reported whatever the thread count); then the column functions of
    // predict.hpp compute each column over all rows (in parallel, pure per row; customers
    // with the same frequency and T share their series).
    in_clv([&] {
        parallel_for(
            n,
            [&](std::size_t begin, std::size_t end) {
                for (std::size_t i = begin; i < end; ++i) {
                    validate_rfm(i, in.frequency[i], in.recency[i], in.T[i]);
                    if (spend_) validate_spend(i, in.frequency[i], in.monetary_value[i]);
                }
            },
            rows_per_range);
        const RfmColumns rfm{in.frequency, in.recency, in.T};
        std::visit(
            [&](const auto& fitted) {
                p_alive(fitted.params, rfm, alive);
                conditional_expected_purchases(fitted.params, spec_.horizon_periods(), rfm, purchases);
                if (spend_)
                    customer_lifetime_value(fitted.params, spend_->params, rfm, in.monetary_value, spec_.horizon(),
                                            value);
            },
            transactions_);
    });
    ClvColumns out;
    out.emplace_back(p_alive_column, std::move(alive));
    out.emplace_back(expected_purchases_column, std::move(purchases));
    if (spend_) out.emplace_back(clv_column, std::move(value));
    return out;
}

FeatureTable FittedClv::add_columns(const FeatureTable& table, ClvColumns columns) {
    FeatureTable out = table;
    for (auto& [name, values] : columns) out.add_column(name, std::move(values));
    return out;
}

FeatureTable FittedClv::add_columns(const FeatureTable& table) const { return add_columns(table, columns(table)); }

const FitSummary& FittedClv::transaction_summary() const noexcept {
    return std::visit([](const auto& fitted) -> const FitSummary& { return fitted.summary; }, transactions_);
}

std::string FittedClv::spec_json() const { return spec_.to_json().dump(); }

ClvSpec FittedClv::spec_from_archive(const std::string& text) {
    try {
        return ClvSpec::from_json(json_text::parse(text, "clv"), "clv");
    } catch (const json::exception& e) {
        throw FormatError(std::string("load: the archived clv section is not valid JSON: ") + e.what());
    } catch (const PolicyError& e) {
        throw FormatError(std::string("load: the archived clv section is invalid: ") + e.what());
    }
}

FittedClv FittedClv::from_archive(ClvSpec spec, Transactions transactions,
                                  std::optional<Fitted<GammaGammaParams>> spend) {
    try {
        return FittedClv(std::move(spec), std::move(transactions), std::move(spend));
    } catch (const Error& e) {
        throw FormatError(std::string("load: the archived clv models are invalid: ") + e.what());
    }
}

}  // namespace tierkit::clv
