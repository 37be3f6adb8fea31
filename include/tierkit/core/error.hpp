#pragma once
/// @file error.hpp
/// The tierkit exception hierarchy. Every error the core throws derives from
/// tierkit::Error (itself a std::runtime_error), so a C++ host can catch one type,
/// and the Python bindings map each class to a tierkit.TierkitError subclass of
/// ValueError (or KeyError for UnknownColumn).
///
/// Messages are short, lower-case, say what was required, what was found and where:
/// `criteria[2].weight: must be >= 0, got -1`.
#include <stdexcept>
#include <string>

namespace tierkit {

/// Root of all tierkit errors.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Input data that cannot be used as given (NaN amount, missing id, wrong length...).
/// The message names the column and row.
class InvalidInput : public Error {
public:
    using Error::Error;
};

/// A column was asked for that the table does not have. The message lists the
/// columns that are available.
class UnknownColumn : public Error {
public:
    using Error::Error;
};

/// A policy (JSON or built in code) that is not valid. The message starts with the
/// JSON path of the offending value.
class PolicyError : public Error {
public:
    using Error::Error;
};

/// A model file or byte string that cannot be read.
class FormatError : public Error {
public:
    using Error::Error;
};

/// A computation that did not converge or is not defined for the data (e.g. an AHP
/// matrix whose consistency ratio is above the accepted limit).
class NumericError : public Error {
public:
    using Error::Error;
};

}  // namespace tierkit
