#pragma once
// Binding-only helpers (never installed): numpy <-> std::span without copies,
// std::vector -> numpy by moving the vector into a capsule, a FeatureTable over numpy
// columns, and a Python callable as a tierkit::Progress.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "tierkit/core/day_ticks.hpp"
#include "tierkit/core/error.hpp"
#include "tierkit/core/progress.hpp"
#include "tierkit/core/table.hpp"

namespace tierkit::bindings {
namespace py = pybind11;

/// A read-only view of a 1-D contiguous numpy array of T. The Python layer hands
/// over arrays that already have the right dtype and are contiguous, so nothing is
/// copied; anything else is an InvalidInput naming the argument.
template <class T>
std::span<const T> view(const py::array& a, const char* name) {
    if (!py::isinstance<py::array_t<T>>(a) || a.ndim() != 1)
        throw InvalidInput(std::string(name) + ": expected a 1-d " + std::string(py::str(py::dtype::of<T>())) +
                           " array, got " + std::string(py::str(a.dtype())) + " with " + std::to_string(a.ndim()) +
                           " dimensions");
    if (a.shape(0) > 1 && a.strides(0) != static_cast<py::ssize_t>(sizeof(T)))
        throw InvalidInput(std::string(name) + ": expected a contiguous array");
    return std::span<const T>(static_cast<const T*>(a.data()), static_cast<std::size_t>(a.shape(0)));
}

/// Move a vector (std::vector or Column) into a numpy array without copying its data.
template <class T, class A>
py::array_t<T> to_numpy(std::vector<T, A>&& v) {
    auto* owned = new std::vector<T, A>(std::move(v));
    py::capsule base(owned, [](void* p) { delete static_cast<std::vector<T, A>*>(p); });
    return py::array_t<T>({static_cast<py::ssize_t>(owned->size())}, {static_cast<py::ssize_t>(sizeof(T))},
                          owned->data(), base);
}

template <class T, class A>
py::array_t<T> to_numpy(const std::vector<T, A>& v) {
    return to_numpy(std::vector<T, A>(v));
}

/// Categorical columns: name -> (int32 codes, labels).
using Categories = std::vector<std::tuple<std::string, py::array, std::vector<std::string>>>;

/// Date columns: name -> (int64 ticks since 1970-01-01 with INT64_MIN for NaT, ticks per day).
using DateColumns = std::vector<std::tuple<std::string, py::array, std::int64_t>>;

/// A FeatureTable over numpy buffers that the arguments keep alive for the call; date
/// columns become owned columns of day numbers (day_ticks.hpp).
inline FeatureTable table_of(const py::array& ids, const std::vector<std::string>& names,
                             const std::vector<py::array>& columns, const Categories& categories,
                             const DateColumns& dates = {}) {
    if (names.size() != columns.size())
        throw InvalidInput("columns: " + std::to_string(names.size()) + " names for " + std::to_string(columns.size()) +
                           " arrays");
    FeatureTable t(view<std::int64_t>(ids, "ids"), nullptr);
    for (std::size_t k = 0; k < names.size(); ++k)
        t.add_column_view(names[k], view<double>(columns[k], names[k].c_str()), nullptr);
    for (const auto& [name, codes, labels] : categories)
        t.add_category_view(name, view<std::int32_t>(codes, name.c_str()), labels, nullptr);
    for (const auto& [name, ticks, per_day] : dates) {
        const auto in = view<std::int64_t>(ticks, name.c_str());
        std::vector<double> days(in.size());
        {
            py::gil_scoped_release release;  // reads the numpy buffer the argument holds
            day_numbers_from_ticks(in, per_day, std::numeric_limits<std::int64_t>::min(), days, name);
        }
        t.add_column(name, std::move(days));
    }
    return t;
}

/// `callback(stage, done, total, values)` (values: a dict name -> float) as a
/// Progress; an empty Progress for None. Build it while holding the GIL and let it
/// outlive the gil_scoped_release around the fit (declare it first): it holds a
/// reference to the callable. Each call takes the GIL (reports come only from the
/// thread that runs the fit) and first runs pending signal handlers, so Ctrl-C
/// stops the fit; a Python exception leaves as error_already_set, which stops the
/// fit and reaches Python unchanged.
inline Progress progress_of(const py::object& callback) {
    if (callback.is_none()) return {};
    if (!PyCallable_Check(callback.ptr()))
        throw InvalidInput("progress: expected a callable or None, got " +
                           std::string(py::str(py::type::of(callback).attr("__name__"))));
    return [callback](const ProgressStep& step) {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        py::dict values;
        for (const auto& v : step.values) values[py::str(v.name.data(), v.name.size())] = v.value;
        callback(py::str(step.stage.data(), step.stage.size()), step.done, step.total, values);
    };
}

}  // namespace tierkit::bindings
