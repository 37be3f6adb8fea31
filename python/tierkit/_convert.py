"""Conversions between pandas/numpy and the arrays the C++ core takes.

Contiguous float64 and int64 columns are passed through without a copy
(``np.ascontiguousarray`` returns the same buffer); everything else is converted
once here, with errors that name the column.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Hashable
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
        raise ColumnNotFoundError(f"{role}: unknown column '{name}'; available: {', '.join(map(str, df.columns))}")
    return df[name]


def _first_bad(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def float_array(values: Any, name: str) -> np.ndarray:
    """A contiguous float64 view (no copy when the input already is one). Missing
    values (None, NA, NaT) become NaN; a value that is not a number is an
    InvalidInputError naming the column and row."""
    if isinstance(values, pd.Series):
        if values.dtype.kind not in "biuf":
            if values.dtype.kind in "mM" or isinstance(values.dtype, pd.DatetimeTZDtype):
                raise InvalidInputError(f"column '{name}': expected numbers, got dtype {values.dtype}")
            plain = values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values
            try:
                converted = pd.to_numeric(plain, errors="coerce")
            except (TypeError, ValueError) as exc:  # e.g. lists or dicts in an object column
                raise InvalidInputError(f"column '{name}': expected numbers ({exc})") from None
            bad = (converted.isna() & values.notna()).to_numpy(dtype=bool)
            if bad.any():
                row = _first_bad(bad)
                raise InvalidInputError(f"column '{name}', row {row}: expected a number, got {values.iloc[row]!r}")
            values = converted
        values = values.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(values)
    if arr.dtype != np.float64:
        if arr.dtype.kind not in "biuf":
            raise InvalidInputError(f"column '{name}': expected numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


#: Floats that are whole numbers up to this magnitude are integer ids; beyond it
#: not every integer is a double, so larger float ids are kept as given (labels).
EXACT_FLOAT_INT = 2.0**53


def _integer_id(value: Any) -> int:
    """An id an int64 carries unchanged, else MISSING_ID."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and abs(float(value)) <= EXACT_FLOAT_INT:
        value = int(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and MISSING_ID < value < 2**63:
        return int(value)
    return MISSING_ID


class IdCodec:
    """Maps customer ids (int, string, categorical) to int64 codes and back.

    Integer ids pass through unchanged; any other ids are factorized in sorted
    order, so sorting by code is sorting by id. Ids an int64 cannot carry
    unchanged (uint64 >= 2^63, -2^63, which the core reserves for "missing",
    floats above 2^53 or with fractions) are factorized too, so every id comes back
    exactly as given. Missing ids (None, NaN, NA) get the code MISSING_ID.
    """

    def __init__(self, ids: pd.Series | pd.Index | np.ndarray, name: Hashable = "customer") -> None:
        values = pd.Series(np.asarray(ids), copy=False) if not isinstance(ids, pd.Series) else ids
        if isinstance(ids, pd.Index):
            values = pd.Series(ids, copy=False)
        self.name = name
        self.uniques: pd.Index | None = None
        kind = values.dtype.kind
        if kind in "iu" and not isinstance(values.dtype, pd.CategoricalDtype):
            missing = values.isna().to_numpy(dtype=bool) if values.hasnans else None
            if len(values) and (missing is None or not missing.all()):
                present = values[~missing] if missing is not None else values
                lo, hi = present.min(), present.max()
                if (kind == "u" and int(hi) >= 2**63) or (kind == "i" and int(lo) == MISSING_ID):
                    self._factorize(values)
                    return
            codes = (
                values.to_numpy(dtype=np.int64, na_value=MISSING_ID)
                if missing is not None
                else values.to_numpy(dtype=np.int64)
            )
            self.codes = np.ascontiguousarray(codes)
            return
        if kind == "f":
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
            nan = np.isnan(arr)
            whole = nan | ((arr == np.round(arr)) & (np.abs(arr) <= EXACT_FLOAT_INT))
            if np.all(whole):
                codes = np.where(nan, MISSING_ID, np.where(nan, 0, arr)).astype(np.int64)
                self.codes = np.ascontiguousarray(codes)
                return
        self._factorize(values)

    def _factorize(self, values: pd.Series) -> None:
        try:
            codes, uniques = pd.factorize(values, sort=True)
        except TypeError:  # ids of mixed types (ints and strings) do not sort: first-seen order
            codes, uniques = pd.factorize(values, sort=False)
        self.uniques = pd.Index(uniques)
        self.codes = np.where(codes < 0, MISSING_ID, codes).astype(np.int64)

    def require_present(self, role: str) -> None:
        """InvalidInputError naming the first row whose id is missing."""
        missing = self.codes == MISSING_ID
        if missing.any():
            raise InvalidInputError(f"{role}: row {_first_bad(missing)}: customer id is missing (None, NaN or NA)")

    def encode(self, ids: Any) -> np.ndarray:
        """Codes of other ids (an override's, a previous assignment's) in this encoding:
        an id not among the encoded ones gets a code of its own that no encoded id
        has, so it matches nothing."""
        values = pd.Index(ids)
        if self.uniques is not None:
            codes = self.uniques.get_indexer(values)
            unknown = codes < 0
        else:
            other = IdCodec(values)
            codes = other.codes
            if other.uniques is not None:  # ids of mixed types: the integers among them are ids
                as_id = np.array([_integer_id(u) for u in other.uniques], dtype=np.int64)
                codes = np.where(codes == MISSING_ID, MISSING_ID, as_id[np.maximum(codes, 0)])
            unknown = codes == MISSING_ID
        if unknown.any():
            codes = np.where(unknown, MISSING_ID + 1 + np.arange(len(codes)), codes)
        return np.ascontiguousarray(codes, dtype=np.int64)

    def decode(self, codes: np.ndarray) -> pd.Index:
        index: pd.Index = pd.Index(codes if self.uniques is None else self.uniques.take(codes), name=self.name)
        return index

    def decode_one(self, code: int) -> Any:
        if code == MISSING_ID:
            return None
        return code if self.uniques is None else self.uniques[code]


def _bad_dates(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The column read as dates (each value on its own when the column as a whole
    does not parse), with NaT where a value is not a date, and where those were."""
    if s.dtype == object:
        numbers = s.map(
            lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and v == v
        ).to_numpy(dtype=bool)
    else:
        numbers = np.zeros(len(s), dtype=bool)
    values = s.astype(object).to_numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            conv = pd.to_datetime(s.where(~numbers, None) if numbers.any() else s, errors="coerce", format="mixed")
        if isinstance(conv.dtype, pd.DatetimeTZDtype):
            conv = conv.dt.tz_localize(None)
        out = conv.to_numpy(dtype="datetime64[us]")
    except (TypeError, ValueError, OverflowError):
        out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]")
    present = s.notna().to_numpy(dtype=bool) & ~numbers
    for i in np.flatnonzero(np.isnat(out) & present):
        ts = _one_date(values[i])
        if ts is not pd.NaT:
            out[i] = np.datetime64(ts.tz_localize(None) if ts.tzinfo else ts, "us")
    bad = (np.isnat(out) & present) | numbers
    return pd.Series(out, index=s.index), bad


def _one_date(value: Any) -> Any:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return pd.NaT
    return ts if isinstance(ts, pd.Timestamp) else pd.NaT


def day_numbers(values: Any, name: str) -> tuple[np.ndarray, bool]:
    """Whole days since 1970-01-01 as int64 (missing -> MISSING_DAY), and whether
    the input was a date type (so outputs can be turned back into dates)."""
    days, dated, _ = read_days(values, name)
    return days, dated


#: Ticks a day of each numpy datetime64 unit a date column may come in.
_TICKS_PER_DAY = {
    "D": 1,
    "h": 24,
    "m": 1_440,
    "s": 86_400,
    "ms": 86_400_000,
    "us": 86_400_000_000,
    "ns": 86_400_000_000_000,
}


def read_days(values: Any, name: str, errors: str = "raise") -> tuple[np.ndarray, bool, dict[int, str]]:
    """Whole days since 1970-01-01 as int64 (missing -> MISSING_DAY), whether the
    input was a date type (so outputs can be turned back into dates), and the rows
    whose value is not a date with the reason (only with errors="reject"; those
    rows get MISSING_DAY). A value that is not a date raises InvalidInputError
    naming the column and row otherwise; so does a number in a column of dates
    (which pandas would read as nanoseconds since 1970)."""
    ticks, per_day, dated, rejected = read_day_ticks(values, name, errors)
    if per_day != 1:
        ticks = _core.features.days_from_ticks(ticks, per_day)
    return ticks, dated, rejected


def read_day_ticks(values: Any, name: str, errors: str = "raise") -> tuple[np.ndarray, int, bool, dict[int, str]]:
    """read_days without the division: int64 ticks since 1970-01-01 and the ticks a
    day. A datetime column comes as it is, without a copy (datetime64[ns]: 86.4e12
    ticks a day, NaT as MISSING_DAY); day numbers come with 1. The core reads
    floor(tick / ticks per day) where it reads the column."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype.kind in "iu" and not isinstance(s.dtype, pd.CategoricalDtype):
        if s.dtype.kind == "u" and len(s) and s.max() >= 2**63:
            row = _first_bad((s >= 2**63).to_numpy(dtype=bool))
            raise InvalidInputError(f"column '{name}', row {row}: day number {s.iloc[row]} is out of range")
        return np.ascontiguousarray(s.to_numpy(dtype=np.int64, na_value=MISSING_DAY)), 1, False, {}
    if s.dtype.kind == "f":
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
        nan = np.isnan(arr)
        whole = nan | ((arr == np.floor(arr)) & (np.abs(arr) < 2.0**62))
        if not np.all(whole):
            row = _first_bad(~whole)
            raise InvalidInputError(
                f"column '{name}', row {row}: integer day numbers or dates expected, got {arr[row]!r}"
            )
        return np.where(nan, MISSING_DAY, np.where(nan, 0, arr)).astype(np.int64), 1, False, {}
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    rejected: dict[int, str] = {}
    if s.dtype.kind != "M":
        try:
            if (
                s.dtype == object
                and s.map(
                    lambda v: (
                        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and v == v
                    )
                ).any()
            ):
                raise ValueError("numbers among dates")
            with warnings.catch_warnings():  # "could not infer format": then parsed one by one
                warnings.simplefilter("ignore", UserWarning)
                conv = pd.to_datetime(s)
        except (TypeError, ValueError, OverflowError):
            conv, bad = _bad_dates(s)
            rows = np.flatnonzero(bad)
            if len(rows):
                reasons = {int(r): f"column '{name}': cannot read {s.iloc[r]!r} as a date" for r in rows}
                if errors != "reject":
                    row = int(rows[0])
                    raise InvalidInputError(f"row {row}: {reasons[row]}") from None
                rejected = reasons
        s = conv
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
        if s.dtype.kind != "M":
            raise InvalidInputError(f"column '{name}': expected dates, got values of dtype {s.dtype}")
    stamps = s.to_numpy()  # the column's own datetime64 buffer: no copy
    unit, count = np.datetime_data(stamps.dtype)
    if unit not in _TICKS_PER_DAY or count != 1:
        stamps, unit = stamps.astype("datetime64[D]"), "D"
    # NaT is INT64_MIN, which is MISSING_DAY.
    return np.ascontiguousarray(stamps.view(np.int64)), _TICKS_PER_DAY[unit], True, rejected


def day_number(value: Any, name: str) -> int:
    """One date (str, datetime, Timestamp, datetime64 or int day) as a day number."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: expected a date, got {value!r} ({exc})") from None
    if pd.isna(ts):
        raise InvalidInputError(f"{name}: expected a date, got NaT")
    return int(np.datetime64(ts.tz_localize(None) if ts.tzinfo else ts, "D").astype(np.int64))


#: Day numbers nanosecond timestamps hold (1677-09-22 .. 2262-04-11).
_NS_DAYS = (-106751, 106750)


def to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers as datetime64[ns], or datetime64[s] when a day is outside the
    nanosecond range (years before 1678 or after 2261), so no date wraps around;
    NaN -> NaT. The display of the core's day numbers: in range, one integer
    multiplication (no datetime unit casts)."""
    if len(days) == 0:
        return np.empty(0, dtype="datetime64[ns]")
    lo, hi = days.min(), days.max()
    if lo != lo or hi != hi:  # NaN (a float column): NaT there
        missing = np.isnan(days)
        out = to_dates(np.where(missing, 0, days))
        out[missing] = np.datetime64("NaT")
        return out
    ticks = days.astype(np.int64)  # a copy: the multiplication below is in place
    if lo < _NS_DAYS[0] or hi > _NS_DAYS[1]:
        return ticks.astype("datetime64[D]").astype("datetime64[s]")
    ticks *= 86_400_000_000_000
    return ticks.view("datetime64[ns]")


def as_date(day: int) -> _dt.date:
    date: _dt.date = (np.datetime64(0, "D") + np.timedelta64(int(day), "D")).astype(_dt.date)
    return date
