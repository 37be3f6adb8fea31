#pragma once
// Binding-only helpers (never installed): numpy <-> std::span without copies, and
// std::vector -> numpy by moving the vector into a capsule.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tierkit/error.hpp"

namespace tierkit::bindings {
namespace py = pybind11;

/// A read-only view of a 1-D contiguous numpy array of T. The Python layer hands
/// over arrays that already have the right dtype and are contiguous, so nothing is
/// copied; anything else is an InvalidInput naming the argument.
template <class T>
std::span<const T> view(const py::array& a, const char* name) {
    if (!py::isinstance<py::array_t<T>>(a) || a.ndim() != 1)
        throw InvalidInput(std::string(name) + ": expected a 1-d " +
                           std::string(py::str(py::dtype::of<T>())) + " array, got " +
                           std::string(py::str(a.dtype())) + " with " + std::to_string(a.ndim()) + " dimensions");
    if (a.shape(0) > 1 && a.strides(0) != static_cast<py::ssize_t>(sizeof(T)))
        throw InvalidInput(std::string(name) + ": expected a contiguous array");
    return std::span<const T>(static_cast<const T*>(a.data()), static_cast<std::size_t>(a.shape(0)));
}

/// Move a vector into a numpy array without copying its data.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
    auto* owned = new std::vector<T>(std::move(v));
    py::capsule base(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return py::array_t<T>({static_cast<py::ssize_t>(owned->size())}, {static_cast<py::ssize_t>(sizeof(T))},
                          owned->data(), base);
}

template <class T>
py::array_t<T> to_numpy(const std::vector<T>& v) {
    return to_numpy(std::vector<T>(v));
}

}  // namespace tierkit::bindings
