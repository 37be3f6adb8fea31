"""The exception classes (defined by the C++ extension, re-exported here) and
the warning class.

Every error is a :class:`TierkitError`, itself a :class:`ValueError`;
:class:`ColumnNotFoundError` is also a :class:`KeyError`. What a fit found that a
user should look at (an empty tier, a segment that wins no cell) is a
:class:`TierkitWarning`.
"""

from __future__ import annotations

from ._core import (
    ColumnNotFoundError,
    FormatError,
    InvalidInputError,
    NumericError,
    PolicyError,
    TierkitError,
)

__all__ = [
    "ColumnNotFoundError",
    "FormatError",
    "InvalidInputError",
    "NumericError",
    "PolicyError",
    "TierkitError",
    "TierkitWarning",
]


class TierkitWarning(UserWarning):
    """A fit that worked but deserves a look: a tier with no customer, a tier far
    under its quota, a segment hidden by an earlier one (``Model.fit_report``)."""
