"""The exception classes (defined by the C++ extension, re-exported here).

Every error is a :class:`TierkitError`, itself a :class:`ValueError`;
:class:`ColumnNotFoundError` is also a :class:`KeyError`.
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
]
