// summarize and synthetic data.
#include <optional>

#include "common.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

namespace {

py::dict table_to_dict(const FeatureTable& t) {
    py::dict columns;
    for (std::size_t j = 0; j < t.cols(); ++j) {
        auto c = t.column(j);
        // No copy: the array keeps the column's owner alive. summarize's table is
        // discarded after this call, so the array is the memory's only user and may
        // be writable.
        auto* keep = new std::shared_ptr<const void>(t.owner(j));
        py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<const void>*>(p); });
        columns[py::str(t.name(j))] =
            py::array_t<double>({static_cast<py::ssize_t>(c.size())}, {static_cast<py::ssize_t>(sizeof(double))},
                                const_cast<double*>(c.data()), base);
    }
    return columns;
}

Transactions transactions(const py::array& customer, const py::array& day, const py::array& amount,
                          const std::optional<py::array>& margin, const std::optional<py::array>& quantity,
                          std::int64_t ticks_per_day) {
    return Transactions{view<std::int64_t>(customer, "customer"),
                        view<std::int64_t>(day, "date"),
                        view<double>(amount, "amount"),
                        margin ? view<double>(*margin, "margin") : std::span<const double>{},
                        quantity ? view<double>(*quantity, "quantity") : std::span<const double>{},
                        ticks_per_day};
}

SummarizeOptions options(std::optional<std::int64_t> as_of, const std::string& freq, double freq_multiplier,
                         int trend_window, std::vector<int> windows, double trend_cap, bool reject_invalid) {
    SummarizeOptions o;
    o.as_of = as_of;
    o.period = parse_period(freq);
    o.freq_multiplier = freq_multiplier;
    o.trend_window_days = trend_window;
    o.windows_days = std::move(windows);
    o.trend_cap = trend_cap;
    o.reject_invalid = reject_invalid;
    return o;
}

py::dict summary_to_dict(Summary&& s) {
    py::dict out;
    out["ids"] = to_numpy(std::vector<std::int64_t>(s.features.ids().begin(), s.features.ids().end()));
    out["names"] = s.features.names();
    out["columns"] = table_to_dict(s.features);
    std::vector<std::int64_t> rows, customers;
    std::vector<std::string> reasons;
    for (auto& r : s.rejects) {
        rows.push_back(r.row);
        customers.push_back(r.customer);
        reasons.push_back(std::move(r.reason));
    }
    py::dict rejects;
    rejects["row"] = to_numpy(std::move(rows));
    rejects["customer"] = to_numpy(std::move(customers));
    rejects["reason"] = reasons;
    out["rejects"] = rejects;
    const auto& rp = s.report;
    py::dict report;
    report["transactions"] = rp.transactions;
    report["used"] = rp.used;
    report["after_as_of"] = rp.after_as_of;
    report["refunds"] = rp.refunds;
    report["rejected_rows"] = rp.rejected_rows;
    report["customers"] = rp.customers;
    report["rejected_customers"] = rp.rejected_customers;
    report["as_of"] = rp.as_of;
    out["report"] = report;
    return out;
}

py::dict summarize_py(const py::array& customer, const py::array& day, const py::array& amount,
                      const std::optional<py::array>& margin, const std::optional<py::array>& quantity,
                      std::optional<std::int64_t> as_of, const std::string& freq, double freq_multiplier,
                      int trend_window, std::vector<int> windows, double trend_cap, bool reject_invalid,
                      std::int64_t ticks_per_day) {
    const Transactions tx = transactions(customer, day, amount, margin, quantity, ticks_per_day);
    const SummarizeOptions o =
        options(as_of, freq, freq_multiplier, trend_window, std::move(windows), trend_cap, reject_invalid);
    Summary s;
    {
        // Safe: tx views numpy buffers kept alive by the caller's references; no Python object is touched.
        py::gil_scoped_release release;
        s = summarize(tx, o);
    }
    return summary_to_dict(std::move(s));
}

py::dict synthetic_py(std::int64_t customers, std::uint64_t seed, std::int64_t start_day, std::int64_t days,
                      double refund_rate, unsigned threads) {
    SyntheticOptions o;
    o.customers = customers;
    o.seed = seed;
    o.start_day = start_day;
    o.days = days;
    o.refund_rate = refund_rate;
    o.threads = threads;
    SyntheticData d;
    {
        py::gil_scoped_release release;  // pure C++ work on C++-owned data
        d = synthetic(o);
    }
    py::dict out;
    out["customer"] = to_numpy(std::move(d.customer));
    out["day"] = to_numpy(std::move(d.day));
    out["amount"] = to_numpy(std::move(d.amount));
    out["margin"] = to_numpy(std::move(d.margin));
    out["quantity"] = to_numpy(std::move(d.quantity));
    out["ids"] = to_numpy(std::move(d.ids));
    out["type"] = to_numpy(std::move(d.type));
    out["alive"] = to_numpy(std::move(d.alive));
    return out;
}

}  // namespace

void register_features(py::module_ m) {
    m.attr("missing_id") = missing_id;
    m.attr("missing_day") = missing_day;
    m.def("summarize", &summarize_py, py::arg("customer"), py::arg("day"), py::arg("amount"),
          py::arg("margin") = py::none(), py::arg("quantity") = py::none(), py::arg("as_of") = py::none(),
          py::arg("freq") = "D", py::arg("freq_multiplier") = 1.0, py::arg("trend_window") = 90,
          py::arg("windows") = std::vector<int>{30, 90, 365}, py::arg("trend_cap") = 10.0,
          py::arg("reject_invalid") = false, py::arg("ticks_per_day") = 1);
    m.def("synthetic", &synthetic_py, py::arg("customers"), py::arg("seed"), py::arg("start_day"), py::arg("days"),
          py::arg("refund_rate"), py::arg("threads") = 0);
    m.def("days_from_civil", &days_from_civil);
    m.def(
        "days_from_ticks",
        [](const py::array& ticks, std::int64_t ticks_per_day) {
            const auto in = view<std::int64_t>(ticks, "date");
            std::vector<std::int64_t> days(in.size());
            {
                py::gil_scoped_release release;  // reads the numpy buffer the argument holds
                day_numbers_from_ticks(in, ticks_per_day, missing_day, std::span<std::int64_t>(days), "date");
            }
            return to_numpy(std::move(days));
        },
        py::arg("ticks"), py::arg("ticks_per_day"));
    py::class_<Summarizer>(m, "Summarizer")
        .def(py::init([](std::optional<std::int64_t> as_of, const std::string& freq, double freq_multiplier,
                         int trend_window, std::vector<int> windows, double trend_cap, bool reject_invalid) {
                 return Summarizer(options(as_of, freq, freq_multiplier, trend_window, std::move(windows), trend_cap,
                                           reject_invalid));
             }),
             py::arg("as_of") = py::none(), py::arg("freq") = "D", py::arg("freq_multiplier") = 1.0,
             py::arg("trend_window") = 90, py::arg("windows") = std::vector<int>{30, 90, 365},
             py::arg("trend_cap") = 10.0, py::arg("reject_invalid") = false)
        .def(
            "update",
            [](Summarizer& self, const py::array& customer, const py::array& day, const py::array& amount,
               const std::optional<py::array>& margin, const std::optional<py::array>& quantity,
               std::int64_t ticks_per_day) {
                const Transactions tx = transactions(customer, day, amount, margin, quantity, ticks_per_day);
                py::gil_scoped_release release;  // tx views numpy buffers the caller holds
                self.update(tx);
            },
            py::arg("customer"), py::arg("day"), py::arg("amount"), py::arg("margin") = py::none(),
            py::arg("quantity") = py::none(), py::arg("ticks_per_day") = 1)
        .def(
            "merge",
            [](Summarizer& self, const Summarizer& other) {
                py::gil_scoped_release release;
                self.merge(other);
            },
            py::arg("other"))
        .def("finalize",
             [](const Summarizer& self) {
                 Summary s;
                 {
                     py::gil_scoped_release release;
                     s = self.finalize();
                 }
                 return summary_to_dict(std::move(s));
             })
        .def("to_bytes",
             [](const Summarizer& self) {
                 std::string bytes;
                 {
                     py::gil_scoped_release release;
                     bytes = self.to_bytes();
                 }
                 return py::bytes(bytes);
             })
        .def_static(
            "from_bytes", [](const py::bytes& data) { return Summarizer::from_bytes(std::string_view(data)); },
            py::arg("data"))
        .def("copy", [](const Summarizer& self) { return Summarizer(self); })
        .def(
            "map_ids", [](Summarizer& self, const py::array& to) { self.map_ids(view<std::int64_t>(to, "to")); },
            py::arg("to"))
        .def_property_readonly("transactions", &Summarizer::transactions)
        .def_property_readonly("customers", &Summarizer::customers)
        .def_property_readonly("cells", &Summarizer::cells)
        .def_property_readonly("state_bytes", &Summarizer::state_bytes);
}
