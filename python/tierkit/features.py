"""Per-customer features from transactions, and joining attribute tables."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import _core
from ._arrow import as_frame, convert_output
from ._convert import IdCodec, column, day_number, day_numbers, float_array, to_dates
from ._errors import InvalidInputError

__all__ = ["summarize", "join"]

_FREQ_DAYS = {"D": 1, "W": 7, "M": None}


def summarize(
    transactions: pd.DataFrame,
    customer: str = "customer",
    date: str = "date",
    amount: str = "amount",
    *,
    margin: str | None = None,
    quantity: str | None = None,
    as_of: Any = None,
    freq: str = "D",
    freq_multiplier: float = 1.0,
    unit: str | None = None,
    trend_window: int = 90,
    windows: Sequence[int] = (30, 90, 365),
    trend_cap: float = 10.0,
    errors: str = "raise",
    return_rejects: bool = False,
    output: str | None = None,
) -> Any:
    """One row per customer: RFM with lifetimes' conventions plus business measures.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction: a pandas DataFrame, or any Arrow table (pyarrow
        Table, polars DataFrame, DuckDB result; numeric columns are read without
        a copy), a numpy structured array or a dict of columns.
    customer, date, amount : str
        Column names. Ids may be integers or strings; dates may be datetimes,
        strings or integer day numbers; negative amounts are refunds.
    margin, quantity : str, optional
        Columns summed into ``margin`` and ``quantity`` when given.
    as_of : date-like, optional
        End of observation; transactions after it are excluded (and counted in
        ``result.attrs["report"]``). Defaults to the last transaction's date.
    freq : {"D", "W", "M"}
        Period within which purchases are merged (weeks end on Sunday).
    freq_multiplier : float
        Divides recency and T, like lifetimes' ``freq_multiplier``.
    unit : {"D", "W"}, optional
        Shortcut for daily periods measured in days or weeks: ``unit="W"`` with
        ``freq="D"`` sets ``freq_multiplier=7``.
    trend_window : int
        Days per window of ``trend`` (latest window's revenue over the one before).
    windows : sequence of int
        Day windows for ``revenue_<W>d`` and ``orders_<W>d``.
    errors : {"raise", "reject"}
        A bad row (missing id or date, NaN/inf amount) raises InvalidInputError
        naming the row, or with "reject" goes to the rejects.
    return_rejects : bool
        Also return the rejects table (row, customer, reason): bad rows and
        customers with no purchase on or before ``as_of``.
    output : {"pandas", "polars", "pyarrow"}, optional
        Result type; polars and pyarrow get the customer id as the first column.

    Returns
    -------
    DataFrame indexed by customer id, sorted by id, with columns frequency,
    recency, T, monetary_value, days_since_last, orders, revenue, aov, [margin],
    [quantity], first_purchase, last_purchase, active_periods, trend and the
    windowed aggregates. ``attrs["report"]`` counts what happened to the rows.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> tx = pd.DataFrame({"customer": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-05"]),
    ...                    "amount": [10.0, 20.0, 5.0]})
    >>> f = tk.summarize(tx, as_of="2024-01-15", unit="W")
    >>> f.loc["a", ["frequency", "recency", "T", "monetary_value"]].tolist()
    [1.0, 1.0, 2.0, 20.0]
    """
    if errors not in ("raise", "reject"):
        raise InvalidInputError(f"errors: must be 'raise' or 'reject', got {errors!r}")
    if freq not in ("D", "W", "M"):
        raise InvalidInputError(f"freq: expected one of D, W, M (day, week, month), got {freq!r}")
    if unit is not None:
        if freq != "D" or unit not in ("D", "W"):
            raise InvalidInputError(f"unit: with freq='D' use unit 'D' or 'W', got freq={freq!r}, unit={unit!r}")
        freq_multiplier = float(_FREQ_DAYS[unit])
    transactions = as_frame(transactions, "transactions", index=None)
    ids = IdCodec(column(transactions, customer, "customer"), name=customer)
    days, dated = day_numbers(column(transactions, date, "date"), date)
    amounts = float_array(column(transactions, amount, "amount"), amount)
    margins = float_array(column(transactions, margin, "margin"), margin) if margin else None
    quantities = float_array(column(transactions, quantity, "quantity"), quantity) if quantity else None
    as_of_day = None if as_of is None else day_number(as_of, "as_of")
    try:
        out = _core.features.summarize(
            ids.codes, days, amounts, margins, quantities, as_of_day, freq, float(freq_multiplier),
            int(trend_window), [int(w) for w in windows], float(trend_cap), errors == "reject",
        )
    except InvalidInputError as exc:
        raise InvalidInputError(_name_columns(str(exc), customer, date, amount, margin, quantity)) from None
    cols = out["columns"]
    features = pd.DataFrame({name: cols[name] for name in out["names"]}, index=ids.decode(out["ids"]), copy=False)
    if dated:
        features["first_purchase"] = to_dates(features["first_purchase"].to_numpy())
        features["last_purchase"] = to_dates(features["last_purchase"].to_numpy())
    report = dict(out["report"])
    report["as_of"] = str(np.datetime64(report["as_of"], "D")) if dated else report["as_of"]
    features.attrs["report"] = report
    if not return_rejects:
        return convert_output(features, output)
    rj = out["rejects"]
    rejects = pd.DataFrame(
        {
            "row": rj["row"],
            "customer": [ids.decode_one(int(c)) for c in rj["customer"]],
            "reason": _name_columns_all(rj["reason"], customer, date, amount, margin, quantity),
        }
    )
    return convert_output(features, output), convert_output(rejects, output)


def _name_columns(message: str, customer: str, date: str, amount: str, margin: str | None, quantity: str | None) -> str:
    """The core names its canonical columns; say the caller's names instead."""
    for canonical, actual in (("customer", customer), ("date", date), ("amount", amount), ("margin", margin),
                              ("quantity", quantity)):
        if actual and actual != canonical:
            message = message.replace(f"column '{canonical}'", f"column '{actual}'")
    return message


def _name_columns_all(reasons: list[str], *names: Any) -> list[str]:
    return [_name_columns(r, *names) for r in reasons]


def join(features: pd.DataFrame, attributes: pd.DataFrame, *, on: str | None = None, how: str = "left") -> pd.DataFrame:
    """Join attribute tables (credit rating, NPS, renewal rate...) to features by customer id.

    Parameters
    ----------
    features : DataFrame indexed by customer id (as ``summarize`` returns).
    attributes : DataFrame indexed by customer id, or with the id in column ``on``.
    how : {"left", "inner", "outer"}
        "left" keeps every customer of ``features``.

    Returns
    -------
    The joined DataFrame. ``attrs["join"]`` reports the ids found on one side only:
    ``only_in_features`` and ``only_in_attributes`` (lists) and their counts, so
    nothing is lost silently.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> f = pd.DataFrame({"revenue": [10.0, 20.0]}, index=pd.Index([1, 2], name="customer"))
    >>> a = pd.DataFrame({"nps": [9.0, 7.0]}, index=pd.Index([2, 3], name="customer"))
    >>> j = tk.join(f, a)
    >>> j.attrs["join"]["only_in_attributes"]
    [3]
    """
    if how not in ("left", "inner", "outer"):
        raise InvalidInputError(f"how: must be 'left', 'inner' or 'outer', got {how!r}")
    if on is not None:
        column(attributes, on, "on")
        attributes = attributes.set_index(on)
    if attributes.index.has_duplicates:
        dup = attributes.index[attributes.index.duplicated()].tolist()[0]
        raise InvalidInputError(f"attributes: customer id {dup!r} appears more than once")
    clash = [c for c in attributes.columns if c in features.columns]
    if clash:
        raise InvalidInputError(f"attributes: columns already in the features: {', '.join(map(str, clash))}")
    only_f = features.index.difference(attributes.index)
    only_a = attributes.index.difference(features.index)
    joined = features.join(attributes, how=how)
    joined.attrs["join"] = {
        "only_in_features": only_f.tolist(),
        "only_in_attributes": only_a.tolist(),
        "n_only_in_features": int(len(only_f)),
        "n_only_in_attributes": int(len(only_a)),
    }
    return joined
