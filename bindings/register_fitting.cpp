// The out-of-core Fitter, its PartialState and the process-wide thread count.
#include <sstream>

#include "common.hpp"
#include "tierkit/core/parallel.hpp"
#include "tierkit/fit_state.hpp"

using namespace tierkit;
using namespace tierkit::bindings;

namespace {

FitMode parse_mode(const std::string& mode) {
    if (mode == "exact") return FitMode::exact;
    if (mode == "sketch") return FitMode::sketch;
    if (mode == "refine") return FitMode::refine;
    throw InvalidInput("mode: expected 'exact', 'sketch' or 'refine', got '" + mode + "'");
}

}  // namespace

void register_fitting(py::module_ m) {
    m.def(
        "set_num_threads",
        [](long n) {
            if (n < 0)
                throw InvalidInput("set_num_threads: n must be >= 0 (0 removes the override), got " +
                                   std::to_string(n));
            set_num_threads(static_cast<unsigned>(std::min<long>(n, 256)));
        },
        py::arg("n"));
    m.def("get_num_threads", &get_num_threads);

    py::class_<PartialState>(m, "PartialState")
        .def(py::init<>())
        .def_property_readonly("stage", [](const PartialState& s) { return s.stage; })
        .def("to_bytes",
             [](const PartialState& s) {
                 std::string b;
                 {
                     py::gil_scoped_release release;
                     b = s.to_bytes();
                 }
                 return py::bytes(b);
             })
        .def_static("from_bytes", [](const py::bytes& data) {
            std::string b = data;
            py::gil_scoped_release release;  // parses C++-owned bytes only
            return PartialState::from_bytes(b);
        });

    py::class_<Fitter>(m, "Fitter")
        .def(py::init([](const Policy& policy, const std::string& mode, std::uint32_t sketch_k,
                         std::uint32_t kmeans_sample, std::uint32_t refine_buckets) {
                 return Fitter(policy, FitOptions{parse_mode(mode), sketch_k, kmeans_sample, refine_buckets});
             }),
             py::arg("policy"), py::arg("mode") = "exact", py::arg("sketch_k") = QuantileSketch::default_k,
             py::arg("kmeans_sample") = 4096, py::arg("refine_buckets") = FitOptions{}.refine_buckets)
        .def_property_readonly("done", &Fitter::done)
        .def_property_readonly("stage", &Fitter::stage)
        .def_property_readonly("passes", &Fitter::passes)
        .def_property_readonly("policy", &Fitter::policy)
        .def_property_readonly("mode",
                               [](const Fitter& f) {
                                   const FitMode m = f.options().mode;
                                   return m == FitMode::exact ? "exact" : m == FitMode::sketch ? "sketch" : "refine";
                               })
        .def_property_readonly("collected_rows", &Fitter::collected_rows)
        .def(
            "update",
            [](const Fitter& f, const py::array& ids, const std::vector<std::string>& names,
               const std::vector<py::array>& columns, const Categories& categories, const DateColumns& dates) {
                FeatureTable t = table_of(ids, names, columns, categories, dates);
                py::gil_scoped_release release;  // the table views numpy buffers referenced by the arguments
                return f.update(t);
            },
            py::arg("ids"), py::arg("names"), py::arg("columns"), py::arg("categories"),
            py::arg("dates") = DateColumns{})
        .def_static("merge",
                    [](const PartialState& a, const PartialState& b) {
                        py::gil_scoped_release release;
                        return Fitter::merge(a, b);
                    })
        .def("advance",
             [](Fitter& f, const PartialState& total) {
                 py::gil_scoped_release release;
                 f.advance(total);
             })
        .def("model",
             [](const Fitter& f) {
                 py::gil_scoped_release release;
                 return f.model();
             })
        .def("to_bytes", [](const Fitter& f) { return py::bytes(f.to_bytes()); })
        .def_static("from_bytes", [](const py::bytes& data) {
            std::string b = data;
            py::gil_scoped_release release;
            return Fitter::from_bytes(b);
        });
}
