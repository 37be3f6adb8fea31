// C++ exceptions -> Python classes: TierkitError(ValueError) and its subclasses;
// ColumnNotFoundError is also a KeyError. The message is the C++ message.
#include <pybind11/pybind11.h>

#include "tierkit/core/error.hpp"

namespace py = pybind11;

namespace {
PyObject* make(py::module_& m, const char* name, PyObject* bases, const char* doc) {
    const std::string qualified = std::string("tierkit.") + name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
    if (!cls) throw py::error_already_set();
    m.add_object(name, py::handle(cls));  // the module keeps a reference for its lifetime
    return cls;
}
// Classes live as long as the interpreter; the translator reads them without the GIL-sensitive refcounting.
PyObject* tierkit_error = nullptr;
PyObject* invalid_input = nullptr;
PyObject* column_not_found = nullptr;
PyObject* policy_error = nullptr;
PyObject* format_error = nullptr;
PyObject* numeric_error = nullptr;
}  // namespace

void register_errors(py::module_& m) {
    tierkit_error = make(m, "TierkitError", PyExc_ValueError, "Base class of every error tierkit raises.");
    py::tuple key_bases = py::make_tuple(py::handle(tierkit_error), py::handle(PyExc_KeyError));
    invalid_input = make(m, "InvalidInputError", tierkit_error,
                         "Input data that cannot be used as given; the message names column and row.");
    column_not_found = make(m, "ColumnNotFoundError", key_bases.ptr(),
                            "A column that the table does not have; the message lists the available ones.");
    // KeyError quotes its message in str(); show it as written, like the other errors.
    py::setattr(py::handle(column_not_found), "__str__",
                py::module_::import("builtins").attr("Exception").attr("__str__"));
    policy_error = make(m, "PolicyError", tierkit_error, "An invalid policy; the message starts with the JSON path.");
    format_error = make(m, "FormatError", tierkit_error, "A model file or byte string that cannot be read.");
    numeric_error =
        make(m, "NumericError", tierkit_error, "A computation that is not defined for the data or did not converge.");
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const tierkit::UnknownColumn& e) {
            PyErr_SetString(column_not_found, e.what());
        } catch (const tierkit::InvalidInput& e) {
            PyErr_SetString(invalid_input, e.what());
        } catch (const tierkit::PolicyError& e) {
            PyErr_SetString(policy_error, e.what());
        } catch (const tierkit::FormatError& e) {
            PyErr_SetString(format_error, e.what());
        } catch (const tierkit::NumericError& e) {
            PyErr_SetString(numeric_error, e.what());
        } catch (const tierkit::Error& e) {
            PyErr_SetString(tierkit_error, e.what());
        }
    });
}
