// tierkit._core.lifecycle: thin bindings over tierkit/lifecycle/migration.hpp.
// The Python layer (python/tierkit/lifecycle.py) joins the two assignments by
// customer id and hands over 1-d contiguous int64/int32/float64 arrays, read in
// place; None stands for an optional column that is not there. Matrices come back
// flat, row-major. The GIL is released around the C++ work: it reads only the numpy
// buffers, which the argument objects keep alive for the call, and builds C++ vectors.
#include <optional>

#include "common.hpp"
#include "tierkit/lifecycle/migration.hpp"

namespace py = pybind11;
using namespace tierkit::lifecycle;
using tierkit::bindings::to_numpy;
using tierkit::bindings::view;

namespace {

template <class T>
std::span<const T> optional_view(const std::optional<py::array>& a, const char* name) {
    return a ? view<T>(*a, name) : std::span<const T>{};
}

Transitions transitions(const py::array& customers, const std::optional<py::array>& tier_before,
                        const py::array& tier_after, const std::optional<py::array>& stage_before,
                        const std::optional<py::array>& stage_after, std::size_t tiers) {
    return Transitions{view<std::int64_t>(customers, "customers"),
                       optional_view<std::int32_t>(tier_before, "tier_before"),
                       view<std::int32_t>(tier_after, "tier_after"),
                       optional_view<std::int32_t>(stage_before, "stage_before"),
                       optional_view<std::int32_t>(stage_after, "stage_after"),
                       tiers};
}

// Runs the core call with the GIL released (see the note at the top of this file).
template <class Fn>
auto without_gil(Fn&& fn) {
    py::gil_scoped_release release;
    return fn();
}

MigrationMatrix matrix(const py::array& counts, std::size_t tiers) {
    auto c = view<std::int64_t>(counts, "counts");
    if (c.size() != (tiers + 1) * (tiers + 1))
        throw tierkit::InvalidInput("counts: expected " + std::to_string((tiers + 1) * (tiers + 1)) +
                                    " cells ((tiers + 1) squared), got " + std::to_string(c.size()));
    MigrationMatrix m;
    m.tiers = tiers;
    m.counts.assign(c.begin(), c.end());
    return m;
}

}  // namespace

void register_lifecycle_migration(py::module_ m) {
    m.def(
        "crosstab",
        [](const py::array& a, std::size_t categories_a, const py::array& b, std::size_t categories_b,
           const std::optional<py::array>& values, const std::string& name_a, const std::string& name_b) {
            const Codes ca{view<std::int32_t>(a, name_a.c_str()), categories_a, name_a};
            const Codes cb{view<std::int32_t>(b, name_b.c_str()), categories_b, name_b};
            const auto v = optional_view<double>(values, "values");
            auto r = without_gil([&] { return crosstab(ca, cb, v); });
            py::dict out;
            out["counts"] = to_numpy(std::move(r.counts));
            out["sums"] = values ? py::object(to_numpy(std::move(r.sums))) : py::none();
            return out;
        },
        py::arg("a"), py::arg("categories_a"), py::arg("b"), py::arg("categories_b"),
        py::arg("values").none(true) = py::none(), py::arg("name_a") = "a", py::arg("name_b") = "b",
        "Crosstab of two code columns (flat, (categories_a+1) x (categories_b+1) cells; the last row and "
        "column hold codes that are absent (-1)).");

    m.def(
        "migration",
        [](const py::array& customers, const py::array& tier_before, const py::array& tier_after, std::size_t tiers,
           const std::optional<py::array>& values) {
            const auto t = transitions(customers, tier_before, tier_after, std::nullopt, std::nullopt, tiers);
            const auto v = optional_view<double>(values, "values");
            auto r = without_gil([&] { return migration(t, v); });
            py::dict out;
            out["counts"] = to_numpy(std::move(r.counts));
            out["row_shares"] = to_numpy(std::move(r.row_shares));
            out["revenue_moved"] = values ? py::object(to_numpy(std::move(r.revenue_moved))) : py::none();
            return out;
        },
        py::arg("customers"), py::arg("tier_before"), py::arg("tier_after"), py::arg("tiers"),
        py::arg("values").none(true) = py::none(), "Migration matrix (flat, (tiers+1)^2 cells).");

    m.def(
        "project",
        [](const py::array& counts, std::size_t tiers, std::size_t periods,
           const std::optional<py::array>& value_per_customer, bool entries, bool exits) {
            const MigrationMatrix mm = matrix(counts, tiers);
            const ProjectionOptions options{entries, exits};
            const auto v = optional_view<double>(value_per_customer, "value_per_customer");
            const TransitionModel model = transition_model(mm, options);
            Projection p = project(mm, periods, v, options);
            py::dict out;
            out["sizes"] = to_numpy(std::move(p.sizes));
            out["entered"] = to_numpy(std::move(p.entered));
            out["exited"] = to_numpy(std::move(p.exited));
            out["value"] = value_per_customer ? py::object(to_numpy(std::move(p.value))) : py::none();
            out["transition"] = to_numpy(model.matrix);
            out["entries"] = to_numpy(model.entries);
            return out;
        },
        py::arg("counts"), py::arg("tiers"), py::arg("periods"), py::arg("value_per_customer").none(true) = py::none(),
        py::arg("entries") = true, py::arg("exits") = true, "Markov projection of tier sizes.");

    m.def(
        "steady_state",
        [](const py::array& counts, std::size_t tiers, double total, bool entries, bool exits) {
            return to_numpy(
                steady_state(transition_model(matrix(counts, tiers), ProjectionOptions{entries, exits}), total));
        },
        py::arg("counts"), py::arg("tiers"), py::arg("total"), py::arg("entries") = true, py::arg("exits") = true,
        "Fixed point of the chain (raises NumericError when it is not unique).");

    m.def(
        "events",
        [](const py::array& customers, const py::array& tier_before, const py::array& tier_after,
           const std::optional<py::array>& stage_before, const std::optional<py::array>& stage_after,
           std::size_t tiers) {
            const auto t = transitions(customers, tier_before, tier_after, stage_before, stage_after, tiers);
            auto e = without_gil([&] { return events(t); });
            return py::make_tuple(to_numpy(std::move(e.rows)), to_numpy(std::move(e.kinds)));
        },
        py::arg("customers"), py::arg("tier_before"), py::arg("tier_after"), py::arg("stage_before").none(true),
        py::arg("stage_after").none(true), py::arg("tiers"), "Rows with an event and their kinds.");

    m.def(
        "revenue_at_risk",
        [](const py::array& customers, const std::optional<py::array>& tier_before, const py::array& tier_after,
           const std::optional<py::array>& stage_after, std::size_t tiers, const py::array& values) {
            const auto t = transitions(customers, tier_before, tier_after, std::nullopt, stage_after, tiers);
            const auto v = view<double>(values, "values");
            auto r = without_gil([&] { return revenue_at_risk(t, v); });
            py::dict out;
            out["customers"] = to_numpy(std::move(r.customers));
            out["value"] = to_numpy(std::move(r.value));
            out["tier_customers"] = to_numpy(std::move(r.tier_customers));
            out["tier_value"] = to_numpy(std::move(r.tier_value));
            return out;
        },
        py::arg("customers"), py::arg("tier_before").none(true), py::arg("tier_after"),
        py::arg("stage_after").none(true), py::arg("tiers"), py::arg("values"),
        "Value at risk per tier and reason (lost, downgraded, declining).");

    m.def(
        "risks",
        [](const py::array& customers, const std::optional<py::array>& tier_before, const py::array& tier_after,
           const std::optional<py::array>& stage_after, std::size_t tiers) {
            return to_numpy(risks(transitions(customers, tier_before, tier_after, std::nullopt, stage_after, tiers)));
        },
        py::arg("customers"), py::arg("tier_before").none(true), py::arg("tier_after"),
        py::arg("stage_after").none(true), py::arg("tiers"), "Risk kind per row (-1: none).");

    m.def(
        "win_back",
        [](const py::array& customers, const std::optional<py::array>& tier_before, const py::array& tier_after,
           const std::optional<py::array>& stage_after, std::size_t tiers, const py::array& values,
           std::optional<std::size_t> n) {
            const auto t = transitions(customers, tier_before, tier_after, std::nullopt, stage_after, tiers);
            const auto v = view<double>(values, "values");
            auto rows = without_gil([&] { return win_back(t, v, n.value_or(static_cast<std::size_t>(-1))); });
            return to_numpy(std::move(rows));
        },
        py::arg("customers"), py::arg("tier_before").none(true), py::arg("tier_after"),
        py::arg("stage_after").none(true), py::arg("tiers"), py::arg("values"), py::arg("n").none(true) = py::none(),
        "Rows of the win-back list, highest value first.");

    py::list event_names, risk_names;
    for (int k = 0; k <= static_cast<int>(EventKind::stage_change); ++k)
        event_names.append(std::string(to_string(static_cast<EventKind>(k))));
    for (std::size_t k = 0; k < risk_kinds; ++k) risk_names.append(std::string(to_string(static_cast<RiskKind>(k))));
    m.attr("event_kinds") = py::tuple(event_names);
    m.attr("risk_kinds") = py::tuple(risk_names);
}
