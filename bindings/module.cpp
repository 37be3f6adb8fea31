// tierkit._core: wires one register_<area> per core area; no logic here.
#include <pybind11/pybind11.h>

#include "tierkit/core/version.hpp"

namespace py = pybind11;

void register_errors(py::module_& m);
void register_features(py::module_ m);
void register_scoring(py::module_ m);
void register_model(py::module_ m);
void register_scorer(py::module_ m);
void register_rules(py::module_ m);
void register_clv(py::module_ m);
void register_fitting(py::module_ m);
void register_lifecycle_migration(py::module_ m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "tierkit's C++ core (use the tierkit package, not this module)";
    m.attr("__version__") = tierkit::version;
    register_errors(m);
    register_features(m.def_submodule("features"));
    register_scoring(m.def_submodule("scoring"));
    py::module_ model = m.def_submodule("model");
    register_model(model);
    register_scorer(model);
    register_rules(m.def_submodule("rules"));
    register_clv(m.def_submodule("clv"));
    register_fitting(m.def_submodule("fitting"));
    register_lifecycle_migration(m.def_submodule("lifecycle"));
}
