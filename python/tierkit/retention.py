"""``tk.retention``: cohort retention from a transaction log, overall and per tier.

Customers are grouped by the period of their first purchase (their cohort); a
cohort's retention at age k is the share of its customers with a purchase in the
k-th period after the first (k = 0 is the first period itself, always 1). Read down
a column to compare cohorts at the same age, along a row to follow one cohort.

Examples
--------
>>> import pandas as pd, tierkit as tk
>>> tx = pd.DataFrame({"customer": [1, 1, 2, 3, 3],
...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-01-20",
...                                            "2024-02-03", "2024-03-09"]),
...                    "amount": [10.0, 5.0, 8.0, 4.0, 6.0]})
>>> r = tk.retention(tx, cohort="M")
>>> r.table  # doctest: +NORMALIZE_WHITESPACE
age        0    1    2
cohort
2024-01  1.0  0.5  0.0
2024-02  1.0  1.0  NaN
>>> r.curve["all"].tolist()
[1.0, 0.6666666666666666, 0.0]
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._convert import MISSING_DAY, column, day_numbers
from ._errors import InvalidInputError

__all__ = ["Retention", "retention"]

_FREQS = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}
ALL = "all"


@dataclass
class Retention:
    """Result of :func:`retention`.

    Attributes
    ----------
    table : DataFrame
        Share of each cohort active at each age: index ``cohort`` (a Period), or
        with ``by`` ``(group, cohort)``, group ``all`` (every customer) first, then
        each group; columns ``age`` 0, 1, ... NaN where the cohort had not reached
        that age by the last period of the log.
    customers : DataFrame
        The counts behind ``table`` (customers active), with the cohort sizes in
        column 0.
    curve : DataFrame
        Retention by age over all cohorts that reached it (active customers over
        the cohort sizes): column ``all``, then one column per group.
    attrs : dict
        ``cohort`` (the period code), ``last_period``, ``not_in_by`` (customers
        without a group, only in the ``all`` curve and the overall table).
    """

    table: pd.DataFrame
    customers: pd.DataFrame
    curve: pd.DataFrame
    attrs: dict[str, Any]

    def plot(self, kind: str = "heatmap", group: Any = None, ax: Any = None) -> Any:
        """``"heatmap"``: :func:`tierkit.plot.retention_heatmap` (of one ``group``);
        ``"curves"``: :func:`tierkit.plot.retention_curves`. Returns the Axes."""
        from . import plot

        if kind == "heatmap":
            return plot.retention_heatmap(self, group=group, ax=ax)
        if kind == "curves":
            return plot.retention_curves(self, ax=ax)
        raise InvalidInputError(f"kind: expected 'heatmap' or 'curves', got {kind!r}")


def _counts(cohort: np.ndarray, age: np.ndarray, first: np.ndarray, last: int) -> pd.DataFrame:
    """Distinct customers active per (cohort, age), from one row per active (customer, age)."""
    sizes = pd.Series(first).value_counts().sort_index()
    active = pd.crosstab(cohort, age)
    active = active.reindex(index=sizes.index, columns=range(int(last - sizes.index.min()) + 1), fill_value=0)
    active[0] = sizes.to_numpy()
    return active


def _shares(active: pd.DataFrame, last: int) -> pd.DataFrame:
    ages = np.asarray(active.columns, dtype=np.int64)
    cohorts = np.asarray(active.index, dtype=np.int64)
    observed = cohorts[:, None] + ages[None, :] <= last
    share = active.to_numpy(dtype=np.float64) / active[0].to_numpy(dtype=np.float64)[:, None]
    return pd.DataFrame(np.where(observed, share, np.nan), index=active.index, columns=active.columns)


def _curve(active: pd.DataFrame, last: int) -> pd.Series:
    ages = np.asarray(active.columns, dtype=np.int64)
    cohorts = np.asarray(active.index, dtype=np.int64)
    observed = cohorts[:, None] + ages[None, :] <= last
    counts = np.where(observed, active.to_numpy(dtype=np.float64), 0.0).sum(axis=0)
    sizes = (observed * active[0].to_numpy(dtype=np.float64)[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(np.where(sizes > 0, counts / np.where(sizes > 0, sizes, 1.0), np.nan), index=active.columns)


def retention(
    transactions: pd.DataFrame,
    cohort: str = "M",
    by: Any = None,
    *,
    customer: str = "customer",
    date: str = "date",
    amount: str | None = "amount",
    end: Any = None,
) -> Retention:
    """Cohort retention: the share of each first-purchase cohort active k periods later.

    Parameters
    ----------
    transactions : DataFrame with the customer and date columns (and amount).
    cohort : {"D", "W", "M", "Q", "Y"}
        The period of cohorts and ages: day, week, calendar month, quarter, year.
    by : Series indexed by customer id, optional
        A group per customer, e.g. ``assignment["tier"]`` or ``assignment["stage"]``:
        adds one table and one curve per group (in the categories' order for a
        categorical). Customers missing from it count only in the overall table.
    customer, date : str
        Column names.
    amount : str or None
        Amount column: rows with an amount <= 0 (refunds) are not purchases. None:
        every row is a purchase.
    end : date or day number, optional
        Last day of the log (default: the last transaction). Ages a cohort had not
        reached by the period of ``end`` are NaN (the last period may be partial).

    Returns
    -------
    Retention with ``table``, ``customers``, ``curve`` and ``plot()``.

    Raises
    ------
    ColumnNotFoundError
        A missing column.
    InvalidInputError
        Not a DataFrame, an unknown cohort code, a missing date or customer id, no
        purchase, ``by`` not a Series or with duplicate ids.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise InvalidInputError(f"transactions: expected a pandas DataFrame, got {type(transactions).__name__}")
    freq = _FREQS.get(str(cohort).upper())
    if freq is None:
        raise InvalidInputError(f"cohort: expected one of {', '.join(_FREQS)}, got {cohort!r}")
    ids = column(transactions, customer, "customer")
    days, _ = day_numbers(column(transactions, date, "date"), date)
    missing = days == MISSING_DAY
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InvalidInputError(f"column '{date}', row {row}: date is missing")
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InvalidInputError(f"column '{customer}', row {row}: id is missing")
    keep = np.ones(len(transactions), dtype=bool)
    if amount is not None:
        values = pd.to_numeric(column(transactions, amount, "amount"), errors="coerce").to_numpy(dtype=np.float64)
        keep = values > 0
    if not keep.any():
        raise InvalidInputError("transactions: no purchase (every amount <= 0)")
    stamps = pd.DatetimeIndex(days.astype("datetime64[D]"))
    period = stamps.to_period(freq).asi8
    if isinstance(end, (int, np.integer)) and not isinstance(end, bool):
        end = pd.Timestamp(int(end), unit="D")  # a day number, as summarize's dates may be
    last = int(pd.Timestamp(end).to_period(freq).ordinal) if end is not None else int(period.max())
    if end is not None:
        keep &= period <= last
        if not keep.any():
            raise InvalidInputError(f"end: no purchase on or before {pd.Timestamp(end).date()}")
    frame = pd.DataFrame({"customer": ids.to_numpy()[keep], "period": period[keep]})
    first = frame.groupby("customer", sort=True)["period"].min()
    frame = frame.drop_duplicates()
    frame["cohort"] = first.reindex(frame["customer"]).to_numpy()
    frame["age"] = frame["period"] - frame["cohort"]

    def as_periods(index: pd.Index) -> pd.PeriodIndex:
        # pandas-stubs leave out PeriodIndex.from_ordinals (pandas >= 2.2)
        periods: pd.PeriodIndex = pd.PeriodIndex.from_ordinals(  # type: ignore[attr-defined]
            np.asarray(index, dtype=np.int64), freq=freq
        )
        return periods

    def finish(active: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        share = _shares(active, last)
        for t in (active, share):
            t.index = as_periods(t.index).rename("cohort")
            t.columns = pd.RangeIndex(len(t.columns), name="age")
        return share, active

    active = _counts(frame["cohort"].to_numpy(), frame["age"].to_numpy(), first.to_numpy(), last)
    curves = {ALL: _curve(active, last)}
    table, customers = finish(active)
    not_in_by = 0
    if by is not None:
        if not isinstance(by, pd.Series):
            raise InvalidInputError(f"by: expected a Series indexed by customer id, got {type(by).__name__}")
        if by.index.has_duplicates:
            raise InvalidInputError(f"by: customer {by.index[by.index.duplicated()][0]!r} appears more than once")
        group = by.reindex(first.index)
        not_in_by = int(group.isna().sum())
        names = list(by.cat.categories) if isinstance(by.dtype, pd.CategoricalDtype) else sorted(by.dropna().unique())
        if ALL in names:
            raise InvalidInputError(f"by: a group may not be named {ALL!r} (the name of all customers)")
        tables, counts = {ALL: table}, {ALL: customers}
        for name in names:
            members = group.index[(group == name).to_numpy()]
            rows = frame["customer"].isin(members).to_numpy()
            if not rows.any():
                continue
            sub = _counts(
                frame["cohort"].to_numpy()[rows], frame["age"].to_numpy()[rows], first.loc[members].to_numpy(), last
            )
            curves[name] = _curve(sub, last).reindex(active.columns)
            tables[name], counts[name] = finish(sub)
        level: list[Hashable] = [by.name or "group"]
        table = pd.concat(tables, names=level)
        customers = pd.concat(counts, names=level)
    curve = pd.DataFrame(curves)
    curve.index = pd.RangeIndex(len(curve), name="age")
    attrs = {"cohort": freq, "last_period": as_periods(pd.Index([last]))[0], "not_in_by": not_in_by}
    return Retention(table, customers, curve, attrs)
