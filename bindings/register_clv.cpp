// tierkit._core.clv: thin bindings over tierkit/clv (models, states, fits, predictions).
// Arrays come in as 1-d contiguous float64 (the Python layer converts once, see
// python/tierkit/clv.py) and are read in place; outputs are allocated while holding the
// GIL and filled with the GIL released. Releasing is safe there: the C++ code touches only
// the numpy buffers, which the argument objects keep alive for the call, and no Python
// object. Errors are tierkit exceptions, translated by register_errors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "tierkit/clv/clv.hpp"

namespace py = pybind11;
using namespace tierkit::clv;
using tierkit::bindings::progress_of;
using tierkit::bindings::to_numpy;
using tierkit::bindings::view;

namespace {

py::array_t<double> empty_like_rows(std::size_t n) { return py::array_t<double>(static_cast<py::ssize_t>(n)); }

std::span<double> writable(py::array_t<double>& a) { return {a.mutable_data(), static_cast<std::size_t>(a.shape(0))}; }

RfmColumns columns(const py::array& frequency, const py::array& recency, const py::array& T) {
    return {view<double>(frequency, "frequency"), view<double>(recency, "recency"), view<double>(T, "T")};
}

FitOptions options(double penalizer, int max_iterations, double gradient_tolerance, const std::string& time_unit,
                   std::optional<std::vector<double>> initial_params) {
    FitOptions o;
    o.penalizer = penalizer;
    o.max_iterations = max_iterations;
    o.gradient_tolerance = gradient_tolerance;
    o.time_unit = parse_time_unit(time_unit);
    if (initial_params) o.initial_params = *initial_params;
    return o;
}

template <class Params>
void bind_transaction_model(py::module_& m, const char* name, const char* doc) {
    py::class_<Params> cls(m, name, doc);
    cls.def(py::init([](double r, double alpha, double c, double d, const std::string& time_unit) {
                Params p;
                p.r = r;
                p.alpha = alpha;
                if constexpr (std::is_same_v<Params, ParetoNbdParams>) {
                    p.s = c;
                    p.beta = d;
                } else {
                    p.a = c;
                    p.b = d;
                }
                p.time_unit = parse_time_unit(time_unit);
                p.validate();
                return p;
            }),
            py::arg(Params::names[0].data()), py::arg(Params::names[1].data()), py::arg(Params::names[2].data()),
            py::arg(Params::names[3].data()), py::arg("time_unit") = "");
    cls.def_property_readonly("values", [](const Params& p) {
        auto v = p.values();
        return std::vector<double>(v.begin(), v.end());
    });
    cls.def_property_readonly(
        "names", [](const Params&) { return std::vector<std::string>(Params::names.begin(), Params::names.end()); });
    cls.def_property_readonly("time_unit", [](const Params& p) { return std::string(to_string(p.time_unit)); });
    cls.def_property_readonly_static("model", [](py::object) { return std::string(Params::model); });
    cls.def("__repr__", [name](const Params& p) {
        const auto v = p.values();
        std::string out = std::string(name) + "(";
        for (std::size_t i = 0; i < 4; ++i)
            out += std::string(Params::names[i]) + "=" + py::repr(py::float_(v[i])).template cast<std::string>() + ", ";
        return out + "time_unit='" + std::string(to_string(p.time_unit)) + "')";
    });
    cls.def(py::pickle(
        [](const Params& p) {
            const auto v = p.values();
            return py::make_tuple(v[0], v[1], v[2], v[3], static_cast<int>(p.time_unit));
        },
        [](const py::tuple& t) {
            Params p;
            p.r = t[0].cast<double>();
            p.alpha = t[1].cast<double>();
            if constexpr (std::is_same_v<Params, ParetoNbdParams>) {
                p.s = t[2].cast<double>();
                p.beta = t[3].cast<double>();
            } else {
                p.a = t[2].cast<double>();
                p.b = t[3].cast<double>();
            }
            p.time_unit = static_cast<TimeUnit>(t[4].cast<int>());
            return p;
        }));

    m.def(
        "log_likelihood",
        [](const Params& p, const RfmPatterns& data) {
            py::gil_scoped_release release;
            return log_likelihood(p, data);
        },
        py::arg("params"), py::arg("patterns"));
    m.def(
        "log_likelihood_gradient",
        [](const Params& p, const RfmPatterns& data) {
            std::vector<double> g(4);
            double ll;
            {
                py::gil_scoped_release release;
                ll = log_likelihood(p, data, g);
            }
            return py::make_tuple(ll, to_numpy(std::move(g)));
        },
        py::arg("params"), py::arg("patterns"));
    m.def(
        "p_alive",
        [](const Params& p, const py::array& frequency, const py::array& recency, const py::array& T) {
            const RfmColumns c = columns(frequency, recency, T);
            auto out = empty_like_rows(c.size());
            auto o = writable(out);
            py::gil_scoped_release release;
            p_alive(p, c, o);
            return out;
        },
        py::arg("params"), py::arg("frequency"), py::arg("recency"), py::arg("T"));
    m.def(
        "conditional_expected_purchases",
        [](const Params& p, double t, const py::array& frequency, const py::array& recency, const py::array& T) {
            const RfmColumns c = columns(frequency, recency, T);
            auto out = empty_like_rows(c.size());
            auto o = writable(out);
            py::gil_scoped_release release;
            conditional_expected_purchases(p, t, c, o);
            return out;
        },
        py::arg("params"), py::arg("t"), py::arg("frequency"), py::arg("recency"), py::arg("T"));
    m.def(
        "expected_purchases",
        [](const Params& p, const py::array& t) {
            const auto tv = view<double>(t, "t");
            auto out = empty_like_rows(tv.size());
            auto o = writable(out);
            py::gil_scoped_release release;
            expected_purchases(p, tv, o);
            return out;
        },
        py::arg("params"), py::arg("t"));
    m.def(
        "probability_of_purchases",
        [](const Params& p, const py::array& t, const py::array& n) {
            const auto tv = view<double>(t, "t");
            const auto nv = view<double>(n, "n");
            auto out = empty_like_rows(tv.size());
            auto o = writable(out);
            py::gil_scoped_release release;
            probability_of_purchases(p, tv, nv, o);
            return out;
        },
        py::arg("params"), py::arg("t"), py::arg("n"));
    m.def(
        "customer_lifetime_value",
        [](const Params& p, const GammaGammaParams& spend, const py::array& frequency, const py::array& recency,
           const py::array& T, const py::array& monetary_value, int months, double monthly_discount_rate,
           const std::string& time_unit, double periods_per_month) {
            const RfmColumns c = columns(frequency, recency, T);
            const auto mv = view<double>(monetary_value, "monetary_value");
            const ClvHorizon horizon{months, monthly_discount_rate, parse_time_unit(time_unit), periods_per_month};
            auto out = empty_like_rows(c.size());
            auto o = writable(out);
            py::gil_scoped_release release;
            customer_lifetime_value(p, spend, c, mv, horizon, o);
            return out;
        },
        py::arg("params"), py::arg("spend"), py::arg("frequency"), py::arg("recency"), py::arg("T"),
        py::arg("monetary_value"), py::arg("months") = 12, py::arg("monthly_discount_rate") = 0.01,
        py::arg("time_unit") = "", py::arg("periods_per_month") = 0.0);
}

template <class Params, class Fit>
void bind_fit(py::module_& m, const char* name, Fit fit) {
    m.def(
        name,
        [fit](const RfmPatterns& data, double penalizer, int max_iterations, double gradient_tolerance,
              const std::string& time_unit, std::optional<std::vector<double>> initial_params,
              const py::object& progress) {
            const tierkit::Progress report = progress_of(progress);  // outlives the release below
            FitOptions o = options(penalizer, max_iterations, gradient_tolerance, time_unit, initial_params);
            o.progress = report ? &report : nullptr;
            py::gil_scoped_release release;  // the callable takes the GIL for each report
            Fitted<Params> f = fit(data, o);
            return std::make_pair(f.params, f.summary);
        },
        py::arg("patterns"), py::arg("penalizer") = 0.0, py::arg("max_iterations") = 2000,
        py::arg("gradient_tolerance") = 1e-6, py::arg("time_unit") = "", py::arg("initial_params") = py::none(),
        py::arg("progress") = py::none(),
        "Maximum-likelihood fit; returns (params, FitSummary). Releases the GIL; progress(stage, done, total, "
        "values) is called after every optimizer iteration.");
}

}  // namespace

void register_clv(py::module_ m) {
    m.doc() = "CLV models (BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma); use tierkit.clv";

    py::class_<RfmPatterns>(m, "RfmPatterns", "Distinct (frequency, recency, T) patterns with counts, sorted.")
        .def(py::init([](const py::array& f, const py::array& r, const py::array& T, const py::array& c) {
                 RfmPatterns p;
                 const auto fv = view<double>(f, "frequency"), rv = view<double>(r, "recency"),
                            tv = view<double>(T, "T"), cv = view<double>(c, "count");
                 p.frequency.assign(fv.begin(), fv.end());
                 p.recency.assign(rv.begin(), rv.end());
                 p.T.assign(tv.begin(), tv.end());
                 p.count.assign(cv.begin(), cv.end());
                 RfmHistogram h;  // validates, merges duplicates, sorts
                 h.update(p.frequency, p.recency, p.T, p.count);
                 return h.finalize();
             }),
             py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("count"))
        .def_property_readonly("frequency", [](const RfmPatterns& p) { return to_numpy(p.frequency); })
        .def_property_readonly("recency", [](const RfmPatterns& p) { return to_numpy(p.recency); })
        .def_property_readonly("T", [](const RfmPatterns& p) { return to_numpy(p.T); })
        .def_property_readonly("count", [](const RfmPatterns& p) { return to_numpy(p.count); })
        .def_property_readonly("customers", &RfmPatterns::customers)
        .def("__len__", &RfmPatterns::size)
        .def(py::pickle(
            [](const RfmPatterns& p) {
                return py::make_tuple(to_numpy(p.frequency), to_numpy(p.recency), to_numpy(p.T), to_numpy(p.count));
            },
            [](const py::tuple& t) {
                RfmPatterns p;
                p.frequency = t[0].cast<std::vector<double>>();
                p.recency = t[1].cast<std::vector<double>>();
                p.T = t[2].cast<std::vector<double>>();
                p.count = t[3].cast<std::vector<double>>();
                return p;
            }));

    py::class_<RfmHistogram>(m, "RfmHistogram", "Mergeable State: update(chunk) -> merge(other) -> finalize().")
        .def(py::init<>())
        .def(
            "update",
            [](RfmHistogram& h, const py::array& f, const py::array& r, const py::array& T,
               std::optional<py::array> weights, std::size_t first_row) {
                const RfmColumns c = columns(f, r, T);
                const std::span<const double> w =
                    weights ? view<double>(*weights, "weights") : std::span<const double>{};
                py::gil_scoped_release release;
                h.update(c.frequency, c.recency, c.T, w, first_row);
            },
            py::arg("frequency"), py::arg("recency"), py::arg("T"), py::arg("weights") = py::none(),
            py::arg("first_row") = 0)
        .def("merge", &RfmHistogram::merge, py::arg("other"))
        .def("finalize", &RfmHistogram::finalize)
        .def_property_readonly("distinct", &RfmHistogram::distinct);

    py::class_<SpendPatterns>(m, "SpendPatterns",
                              "Distinct (frequency, monetary_value) of repeat customers, with counts.")
        .def_property_readonly("frequency", [](const SpendPatterns& p) { return to_numpy(p.frequency); })
        .def_property_readonly("monetary_value", [](const SpendPatterns& p) { return to_numpy(p.monetary_value); })
        .def_property_readonly("count", [](const SpendPatterns& p) { return to_numpy(p.count); })
        .def_readonly("zero_repeat_customers", &SpendPatterns::zero_repeat_customers)
        .def_property_readonly("customers", &SpendPatterns::customers)
        .def("__len__", &SpendPatterns::size);

    py::class_<SpendHistogram>(m, "SpendHistogram", "Mergeable State for Gamma-Gamma.")
        .def(py::init<>())
        .def(
            "update",
            [](SpendHistogram& h, const py::array& f, const py::array& mv, std::optional<py::array> weights,
               std::size_t first_row) {
                const auto fv = view<double>(f, "frequency"), mvv = view<double>(mv, "monetary_value");
                const std::span<const double> w =
                    weights ? view<double>(*weights, "weights") : std::span<const double>{};
                py::gil_scoped_release release;
                h.update(fv, mvv, w, first_row);
            },
            py::arg("frequency"), py::arg("monetary_value"), py::arg("weights") = py::none(), py::arg("first_row") = 0)
        .def("merge", &SpendHistogram::merge, py::arg("other"))
        .def("finalize", &SpendHistogram::finalize)
        .def_property_readonly("distinct", &SpendHistogram::distinct);

    m.def("frequency_spend_correlation", &frequency_spend_correlation, py::arg("patterns"));

    py::class_<FitSummary>(m, "FitSummary", "What a fit reports besides the parameters.")
        .def_readonly("model", &FitSummary::model)
        .def_readonly("names", &FitSummary::names)
        .def_property_readonly("coef", [](const FitSummary& s) { return to_numpy(s.coef); })
        .def_property_readonly("se", [](const FitSummary& s) { return to_numpy(s.se); })
        .def_property_readonly("lower", [](const FitSummary& s) { return to_numpy(s.lower); })
        .def_property_readonly("upper", [](const FitSummary& s) { return to_numpy(s.upper); })
        .def_property_readonly("covariance",
                               [](const FitSummary& s) {
                                   auto a = to_numpy(s.covariance);
                                   const auto n = static_cast<py::ssize_t>(s.names.size());
                                   return a.reshape({n, n});
                               })
        .def_readonly("log_likelihood", &FitSummary::log_likelihood)
        .def_readonly("customers", &FitSummary::customers)
        .def_readonly("patterns", &FitSummary::patterns)
        .def_readonly("iterations", &FitSummary::iterations)
        .def_readonly("gradient_norm", &FitSummary::gradient_norm)
        .def_readonly("penalizer", &FitSummary::penalizer);

    bind_transaction_model<BgNbdParams>(m, "BgNbdParams", "BG/NBD parameters (r, alpha, a, b).");
    bind_transaction_model<MbgNbdParams>(m, "MbgNbdParams", "MBG/NBD parameters (r, alpha, a, b).");
    bind_transaction_model<ParetoNbdParams>(m, "ParetoNbdParams", "Pareto/NBD parameters (r, alpha, s, beta).");
    bind_fit<BgNbdParams>(m, "fit_bg_nbd", [](const RfmPatterns& d, const FitOptions& o) { return fit_bg_nbd(d, o); });
    bind_fit<MbgNbdParams>(m, "fit_mbg_nbd",
                           [](const RfmPatterns& d, const FitOptions& o) { return fit_mbg_nbd(d, o); });
    bind_fit<ParetoNbdParams>(m, "fit_pareto_nbd",
                              [](const RfmPatterns& d, const FitOptions& o) { return fit_pareto_nbd(d, o); });

    py::class_<GammaGammaParams>(m, "GammaGammaParams", "Gamma-Gamma parameters (p, q, v).")
        .def(py::init([](double p, double q, double v) {
                 GammaGammaParams g{p, q, v};
                 g.validate();
                 return g;
             }),
             py::arg("p"), py::arg("q"), py::arg("v"))
        .def_property_readonly("values",
                               [](const GammaGammaParams& g) {
                                   return std::vector<double>{g.p, g.q, g.v};
                               })
        .def_property_readonly("names",
                               [](const GammaGammaParams&) {
                                   return std::vector<std::string>{"p", "q", "v"};
                               })
        .def("__repr__",
             [](const GammaGammaParams& g) {
                 return "GammaGammaParams(p=" + py::repr(py::float_(g.p)).cast<std::string>() +
                        ", q=" + py::repr(py::float_(g.q)).cast<std::string>() +
                        ", v=" + py::repr(py::float_(g.v)).cast<std::string>() + ")";
             })
        .def(py::pickle([](const GammaGammaParams& g) { return py::make_tuple(g.p, g.q, g.v); },
                        [](const py::tuple& t) {
                            return GammaGammaParams{t[0].cast<double>(), t[1].cast<double>(), t[2].cast<double>()};
                        }));
    m.def(
        "fit_gamma_gamma",
        [](const SpendPatterns& data, double penalizer, int max_iterations, double gradient_tolerance,
           std::optional<std::vector<double>> initial_params, const py::object& progress) {
            const tierkit::Progress report = progress_of(progress);  // outlives the release below
            FitOptions o = options(penalizer, max_iterations, gradient_tolerance, "", initial_params);
            o.progress = report ? &report : nullptr;
            py::gil_scoped_release release;  // the callable takes the GIL for each report
            Fitted<GammaGammaParams> f = fit_gamma_gamma(data, o);
            return std::make_pair(f.params, f.summary);
        },
        py::arg("patterns"), py::arg("penalizer") = 0.0, py::arg("max_iterations") = 2000,
        py::arg("gradient_tolerance") = 1e-6, py::arg("initial_params") = py::none(), py::arg("progress") = py::none());
    m.def(
        "log_likelihood",
        [](const GammaGammaParams& p, const SpendPatterns& data) {
            py::gil_scoped_release release;
            return log_likelihood(p, data);
        },
        py::arg("params"), py::arg("patterns"));
    m.def("mean_spend", &mean_spend, py::arg("params"));
    m.def(
        "conditional_expected_average_spend",
        [](const GammaGammaParams& p, const py::array& frequency, const py::array& monetary_value) {
            const auto fv = view<double>(frequency, "frequency"), mv = view<double>(monetary_value, "monetary_value");
            auto out = empty_like_rows(fv.size());
            auto o = writable(out);
            py::gil_scoped_release release;
            conditional_expected_average_spend(p, fv, mv, o);
            return out;
        },
        py::arg("params"), py::arg("frequency"), py::arg("monetary_value"));
}
