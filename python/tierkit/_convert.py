"""Conversions between pandas/numpy and the arrays the C++ core takes.

Contiguous float64 and int64 columns are passed through without a copy
(``np.ascontiguousarray`` returns the same buffer); everything else is converted
once here, with errors that name the column.
"""
from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._errors import ColumnNotFoundError, InvalidInputError

MISSING_ID = int(_core.features.missing_id)
MISSING_DAY = int(_core.features.missing_day)


def column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The column ``name`` of ``df``, or a ColumnNotFoundError listing the columns."""
    if name not in df.columns:
        raise ColumnNotFoundError(
            f"{role}: unknown column '{name}'; available: {', '.join(map(str, df.columns))}"
        )
    return df[name]


def float_array(values: Any, name: str) -> np.ndarray:
    """A contiguous float64 view (no copy when the input already is one)."""
    if isinstance(values, pd.Series):
        if values.dtype == object or isinstance(values.dtype, pd.CategoricalDtype):
            try:
                values = pd.to_numeric(values)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"column '{name}': expected numbers ({exc})") from None
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(values)
    if arr.dtype != np.float64:
        if arr.dtype.kind not in "biuf":
            raise InvalidInputError(f"column '{name}': expected numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


class IdCodec:
    """Maps customer ids (int, string, categorical) to int64 codes and back.

    Integer ids pass through unchanged; any other ids are factorized in sorted
    order, so sorting by code is sorting by id.
    """

    def __init__(self, ids: pd.Series | pd.Index | np.ndarray, name: str = "customer") -> None:
        values = pd.Series(np.asarray(ids), copy=False) if not isinstance(ids, pd.Series) else ids
        self.name = name
        self.uniques: pd.Index | None = None
        if values.dtype.kind in "iu":
            self.codes = np.ascontiguousarray(values.to_numpy(dtype=np.int64))
            return
        if values.dtype.kind == "f":
            arr = values.to_numpy()
            if np.all(np.isnan(arr) | (arr == np.round(arr))):
                codes = np.where(np.isnan(arr), MISSING_ID, np.nan_to_num(arr)).astype(np.int64)
                self.codes = np.ascontiguousarray(codes)
                return
        codes, uniques = pd.factorize(values, sort=True)
        self.uniques = pd.Index(uniques)
        self.codes = np.where(codes < 0, MISSING_ID, codes).astype(np.int64)

    def decode(self, codes: np.ndarray) -> pd.Index:
        if self.uniques is None:
            return pd.Index(codes, name=self.name)
        return pd.Index(self.uniques.take(codes), name=self.name)

    def decode_one(self, code: int) -> Any:
        if code == MISSING_ID:
            return None
        return code if self.uniques is None else self.uniques[code]


def day_numbers(values: Any, name: str) -> tuple[np.ndarray, bool]:
    """Whole days since 1970-01-01 as int64 (missing -> MISSING_DAY), and whether
    the input was a date type (so outputs can be turned back into dates)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype.kind in "iu":
        return np.ascontiguousarray(s.to_numpy(dtype=np.int64)), False
    if s.dtype.kind == "f":
        arr = s.to_numpy()
        if not np.all(np.isnan(arr) | (arr == np.floor(arr))):
            raise InvalidInputError(f"column '{name}': integer day numbers or dates expected, got fractions")
        return np.where(np.isnan(arr), MISSING_DAY, np.nan_to_num(arr)).astype(np.int64), False
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if s.dtype.kind != "M":
        try:
            s = pd.to_datetime(s)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"column '{name}': expected dates ({exc})") from None
    days = s.to_numpy().astype("datetime64[D]").astype(np.int64)
    return np.ascontiguousarray(days), True


def day_number(value: Any, name: str) -> int:
    """One date (str, datetime, Timestamp, datetime64 or int day) as a day number."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected a date, got {value!r} ({exc})") from None
    if ts is pd.NaT:
        raise InvalidInputError(f"{name}: expected a date, got NaT")
    return int(np.datetime64(ts.tz_localize(None) if ts.tzinfo else ts, "D").astype(np.int64))


def to_dates(days: np.ndarray) -> np.ndarray:
    return days.astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def as_date(day: int) -> _dt.date:
    return (np.datetime64(0, "D") + np.timedelta64(int(day), "D")).astype(_dt.date)
