"""Movement between assignments: migration matrix, Markov projection, events,
revenue at risk, the win-back list, and backtesting a policy over history.

Inputs are DataFrames as returned by :meth:`tierkit.Model.assign`: indexed by
customer id, with an ordered categorical ``tier`` (best first) and, when the
policy has lifecycle stages, a categorical ``stage`` with the categories
:data:`tierkit.STAGES` (``prospect, first_time, repeat, loyal, growing, mature,
at_risk, declining, lost, won_back``). Two assignments
must have the same tiers. The work is done by the C++ core
(``tierkit/lifecycle/migration.hpp``); this module joins the assignments by
customer id and builds the tables.

Examples
--------
>>> import pandas as pd, tierkit as tk
>>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
>>> before = pd.DataFrame({"tier": pd.Categorical(["A", "A", "B"], dtype=t)}, index=[1, 2, 3])
>>> after = pd.DataFrame({"tier": pd.Categorical(["A", "B", "B"], dtype=t)}, index=[1, 2, 4])
>>> tk.migration(before, after).counts  # doctest: +NORMALIZE_WHITESPACE
after   A  B  (gone)
before
A       1  1       0
B       0  0       1
(new)   0  1       0
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import _core
from ._convert import MISSING_DAY, column, day_number, day_numbers
from ._errors import ColumnNotFoundError, InvalidInputError, NumericError
from .model import STAGES
from .progress import progress as _progress

__all__ = [
    "EVENT_KINDS",
    "STAGES",
    "Backtest",
    "Migration",
    "backtest",
    "events",
    "migration",
    "project",
    "revenue_at_risk",
    "win_back",
]

EVENT_KINDS = list(_core.lifecycle.event_kinds)
RISK_KINDS = list(_core.lifecycle.risk_kinds)
NEW, GONE = "(new)", "(gone)"


# --- joining two assignments -------------------------------------------------------------------------------------


def _show(value: Any) -> Any:
    """A customer id as it reads in a message (numpy scalars as Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _tier(assignment: Any, role: str) -> pd.Series:
    if not isinstance(assignment, pd.DataFrame):
        raise InvalidInputError(
            f"{role}: expected the DataFrame returned by Model.assign, got {type(assignment).__name__}"
        )
    if "tier" not in assignment.columns:
        raise ColumnNotFoundError(f"{role}: no column 'tier'; available: {', '.join(map(str, assignment.columns))}")
    tier = assignment["tier"]
    if not isinstance(tier.dtype, pd.CategoricalDtype) or not tier.dtype.ordered:
        raise InvalidInputError(f"{role}.tier: expected an ordered categorical (best tier first), got {tier.dtype}")
    if assignment.index.has_duplicates:
        dup = assignment.index[assignment.index.duplicated()][0]
        raise InvalidInputError(f"{role}: customer {_show(dup)!r} appears more than once")
    if tier.isna().any():
        raise InvalidInputError(f"{role}.tier: no tier for customer {_show(tier.index[tier.isna().to_numpy()][0])!r}")
    return tier


def _stage_codes(assignment: pd.DataFrame, role: str) -> npt.NDArray[np.int32] | None:
    if "stage" not in assignment.columns:
        return None
    stage = assignment["stage"]
    if not isinstance(stage.dtype, pd.CategoricalDtype) or list(stage.dtype.categories) != STAGES:
        raise InvalidInputError(f"{role}.stage: expected a categorical with categories {STAGES}, got {stage.dtype}")
    return stage.cat.codes.to_numpy().astype(np.int32)


def _same_tiers(before: pd.Series, after: pd.Series, names: tuple[str, str] = ("before", "after")) -> list[str]:
    b, a = list(before.cat.categories), list(after.cat.categories)
    if b != a:
        raise InvalidInputError(f"{names[0]}, {names[1]}: the tiers differ: {names[0]} has {b}, {names[1]} has {a}")
    return [str(t) for t in a]


@dataclass
class _Join:
    """Two assignments joined on customer id (sorted): arrays for the core."""

    index: pd.Index
    tiers: list[str]
    customers: npt.NDArray[np.int64]
    tier_before: npt.NDArray[np.int32] | None
    tier_after: npt.NDArray[np.int32]
    stage_before: npt.NDArray[np.int32] | None
    stage_after: npt.NDArray[np.int32] | None


@overload
def _scatter(n: int, at: npt.NDArray[np.intp], codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]: ...
@overload
def _scatter(n: int, at: npt.NDArray[np.intp], codes: npt.NDArray[np.int32] | None) -> npt.NDArray[np.int32] | None: ...
def _scatter(n: int, at: npt.NDArray[np.intp], codes: npt.NDArray[np.int32] | None) -> npt.NDArray[np.int32] | None:
    if codes is None:
        return None
    out = np.full(n, -1, dtype=np.int32)
    out[at] = codes
    return out


def _union(first: pd.Index, second: pd.Index) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The sorted union of two indexes of customer ids, and where each one's rows sit in it."""
    try:
        index = first.union(second)
    except TypeError:  # ids of mixed types that do not sort: keep first-seen order
        index = first.append(second).unique()
    return index, index.get_indexer(first), index.get_indexer(second)


def crosstab_codes(first: pd.Series, second: pd.Series, names: tuple[str, str] = ("before", "after")) -> np.ndarray:
    """Counts of customers per (category of ``first``, category of ``second``), from
    the core's crosstab over the union of both indexes: a (A+1) x (B+1) int64 table
    whose last row counts customers only in ``second`` and last column those only in
    ``first``. Both are categorical Series indexed by customer id without duplicates."""
    index, at_a, at_b = _union(first.index, second.index)
    n = len(index)
    a = _scatter(n, at_a, first.cat.codes.to_numpy().astype(np.int32))
    b = _scatter(n, at_b, second.cat.codes.to_numpy().astype(np.int32))
    ka, kb = len(first.cat.categories), len(second.cat.categories)
    out = _core.lifecycle.crosstab(a, ka, b, kb, None, names[0], names[1])
    return np.asarray(out["counts"]).reshape(ka + 1, kb + 1)


def _join(before: pd.DataFrame | None, after: pd.DataFrame, names: tuple[str, str] = ("before", "after")) -> _Join:
    tier_after = _tier(after, names[1])
    if before is None:
        tiers = [str(t) for t in tier_after.cat.categories]
        index = after.index
        return _Join(
            index,
            tiers,
            np.arange(len(index), dtype=np.int64),
            None,
            tier_after.cat.codes.to_numpy().astype(np.int32),
            None,
            _stage_codes(after, names[1]),
        )
    tier_before = _tier(before, names[0])
    tiers = _same_tiers(tier_before, tier_after, names)
    index, at_b, at_a = _union(before.index, after.index)
    n = len(index)
    # Positions in the sorted union stand for the ids (the core orders ties by them).
    return _Join(
        index,
        tiers,
        np.arange(n, dtype=np.int64),
        _scatter(n, at_b, tier_before.cat.codes.to_numpy().astype(np.int32)),
        _scatter(n, at_a, tier_after.cat.codes.to_numpy().astype(np.int32)),
        _scatter(n, at_b, _stage_codes(before, names[0])),
        _scatter(n, at_a, _stage_codes(after, names[1])),
    )


def _values(values: Any, join: _Join, frames: Sequence[pd.DataFrame | None], role: str) -> np.ndarray:
    """One float per joined customer: a Series by customer id, or a column name taken
    from the later assignment, else the earlier one (for customers only there)."""
    if isinstance(values, str):
        found = [f for f in frames if f is not None and values in f.columns]
        if not found:
            raise ColumnNotFoundError(f"{role}: unknown column '{values}' in the assignments")
        series = found[0][values].astype(np.float64)
        for f in found[1:]:
            series = series.combine_first(f[values].astype(np.float64))
        values = series
    if not isinstance(values, pd.Series):
        raise InvalidInputError(
            f"{role}: expected a Series indexed by customer id or a column name, got {type(values).__name__}"
        )
    out = values.reindex(join.index)
    try:
        arr = out.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{role}: expected numbers ({exc})") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"{role}: no finite value for customer {_show(join.index[i])!r}, got {out.iloc[i]!r}")
    return np.ascontiguousarray(arr)


def _tier_column(codes: npt.NDArray[np.int32], tiers: list[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(tiers), ordered=True)


# --- migration -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """Customers moving between two assignments.

    Every table has the tiers before as rows (plus ``(new)``: customers only in
    the later assignment) and the tiers after as columns (plus ``(gone)``:
    customers only in the earlier one).

    Attributes
    ----------
    counts : DataFrame of int
    row_shares : DataFrame of float
        Each row's counts over its total (where the tier's customers went); 0 for an empty row.
    revenue_moved : DataFrame of float or None
        Sum of the given revenue (or CLV) of the customers in each cell.
    """

    counts: pd.DataFrame
    row_shares: pd.DataFrame
    revenue_moved: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"Migration(counts=\n{self.counts!r})"


def _square(flat: np.ndarray, tiers: list[str]) -> pd.DataFrame:
    k = len(tiers) + 1
    return pd.DataFrame(
        np.asarray(flat).reshape(k, k),
        index=pd.Index(tiers + [NEW], name="before"),
        columns=pd.Index(tiers + [GONE], name="after"),
    )


def migration(before: pd.DataFrame, after: pd.DataFrame, revenue: Any = None) -> Migration:
    """Migration matrix between two assignments: counts, row shares, revenue moved.

    Parameters
    ----------
    before, after : DataFrame from ``Model.assign`` (same tiers), indexed by customer id.
    revenue : Series indexed by customer id, or a column name, optional
        Value summed per cell (revenue, CLV...). A column is read from ``after``,
        and from ``before`` for customers only there. Every customer needs a
        finite value.

    Returns
    -------
    Migration with ``counts``, ``row_shares`` and ``revenue_moved`` tables.

    Raises
    ------
    InvalidInputError
        Different tier sets (naming both), a duplicated customer, a missing value.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> before = pd.DataFrame({"tier": pd.Categorical(["A", "A", "B"], dtype=t)}, index=[1, 2, 3])
    >>> after = pd.DataFrame({"tier": pd.Categorical(["A", "B", "B"], dtype=t)}, index=[1, 2, 3])
    >>> m = tk.migration(before, after, revenue=pd.Series([10.0, 4.0, 1.0], index=[1, 2, 3]))
    >>> m.row_shares.loc["A"].tolist()
    [0.5, 0.5, 0.0]
    >>> float(m.revenue_moved.loc["A", "B"])
    4.0
    """
    j = _join(before, after)
    assert j.tier_before is not None  # joined with an earlier assignment
    values = None if revenue is None else _values(revenue, j, (after, before), "revenue")
    out = _core.lifecycle.migration(j.customers, j.tier_before, j.tier_after, len(j.tiers), values)
    return Migration(
        _square(out["counts"], j.tiers),
        _square(out["row_shares"], j.tiers),
        None if out["revenue_moved"] is None else _square(out["revenue_moved"], j.tiers),
    )


# --- Markov projection ---------------------------------------------------------------------------------------------


def project(
    before: pd.DataFrame,
    after: pd.DataFrame,
    periods: int = 4,
    values: Any = None,
    *,
    entries: bool = True,
    exits: bool = True,
) -> pd.DataFrame:
    """Project tier sizes (and value) ``periods`` steps ahead with the observed transition shares.

    The chain is estimated from the migration between ``before`` and ``after``:
    P[i, j] is the share of tier i's customers found in tier j, P[i, gone] the share
    that left. Starting from the tier sizes of ``after``, each period
    ``size[j] <- sum_i size[i] * P[i, j] + entered[j]``.

    Parameters
    ----------
    before, after : DataFrame from ``Model.assign`` (same tiers), one period apart.
    periods : int
        Steps to project.
    values : Series indexed by customer id, or a column name of ``after``, optional
        Revenue or CLV per customer; a tier's value per period is its projected size
        times the mean value of its customers in ``after`` (0 for an empty tier).
    entries : bool
        Each period as many new customers enter each tier as entered it between the
        two assignments (the ``(new)`` row). False: nobody enters.
    exits : bool
        Customers leave with each tier's observed share. False: the ``(gone)``
        column is dropped and every row renormalised over the tiers. With
        ``entries=False, exits=False`` the total is conserved and the sizes tend to
        the stationary distribution.
        A tier with no customers in ``before`` keeps its customers.

    Returns
    -------
    DataFrame indexed by ``period`` (0 = ``after``), columns
    ``("customers", tier)``, ``("flow", "entered")``, ``("flow", "exited")`` and,
    with ``values``, ``("value", tier)``. ``attrs``: ``transition`` (the
    matrix P), ``entries`` (per tier and period) and ``steady_state`` (the sizes
    the chain settles at, or None when not unique).

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> ids = range(20)
    >>> before = pd.DataFrame({"tier": pd.Series(["A"] * 10 + ["B"] * 10, index=ids, dtype=t)})
    >>> after = pd.DataFrame({"tier": pd.Series(["A"] * 8 + ["B"] * 2 + ["A"] + ["B"] * 9, index=ids, dtype=t)})
    >>> p = tk.project(before, after, periods=2)
    >>> p["customers"].round(2).to_dict("list")
    {'A': [9.0, 8.3, 7.81], 'B': [11.0, 11.7, 12.19]}
    >>> p.attrs["steady_state"].round(3).tolist()
    [6.667, 13.333]
    """
    if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 0:
        raise InvalidInputError(f"periods: expected an integer >= 0, got {periods!r}")
    m = migration(before, after)
    tiers = [str(t) for t in m.counts.index[:-1]]
    counts = np.ascontiguousarray(m.counts.to_numpy(dtype=np.int64).ravel())
    per_customer = None
    if values is not None:
        v = pd.Series(_values(values, _join(None, after), (after,), "values"), index=after.index)
        means = v.groupby(_tier(after, "after"), observed=False).mean()
        per_customer = np.ascontiguousarray(means.fillna(0.0).to_numpy(dtype=np.float64))
    out = _core.lifecycle.project(counts, len(tiers), int(periods), per_customer, bool(entries), bool(exits))
    k = len(tiers)
    parts = {("customers", t): out["sizes"].reshape(-1, k)[:, j] for j, t in enumerate(tiers)}
    parts[("flow", "entered")] = out["entered"]
    parts[("flow", "exited")] = out["exited"]
    if out["value"] is not None:
        parts.update({("value", t): out["value"].reshape(-1, k)[:, j] for j, t in enumerate(tiers)})
    frame = pd.DataFrame(parts, index=pd.RangeIndex(int(periods) + 1, name="period"))
    frame.attrs["transition"] = pd.DataFrame(
        out["transition"].reshape(k, k + 1),
        index=pd.Index(tiers, name="from"),
        columns=pd.Index(tiers + [GONE], name="to"),
    )
    frame.attrs["entries"] = pd.Series(out["entries"], index=pd.Index(tiers, name="tier"))
    try:
        total = float(out["sizes"][:k].sum())
        state = _core.lifecycle.steady_state(counts, k, total, bool(entries), bool(exits))
        frame.attrs["steady_state"] = pd.Series(state, index=pd.Index(tiers, name="tier"))
    except NumericError:
        frame.attrs["steady_state"] = None
    return frame


# --- events --------------------------------------------------------------------------------------------------------


def events(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """What happened to each customer between two assignments: one row per customer
    with an event, none for customers whose tier and stage stayed the same.

    Kinds, by precedence (a customer gets the first that applies):

    1. ``new``: only in ``after``;
    2. ``lost``: only in ``before``, or its stage became ``lost``;
    3. ``won_back``: its stage became ``won_back``;
    4. ``upgrade`` / ``downgrade``: a better / worse tier;
    5. ``stage_change``: same tier, another stage.

    The stage rules apply when both assignments have a ``stage`` column
    (``result.attrs["stages"]`` says whether they did); without it there are no
    stage rows and ``lost`` means absent from ``after``. Every row carries both
    tiers (and stages), so a downgrade that was also a stage change shows both.

    Returns
    -------
    DataFrame with columns customer, from_tier, to_tier (tier categoricals, NaN when
    absent), kind (categorical), and with stages from_stage, to_stage; sorted by
    customer.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> before = pd.DataFrame({"tier": pd.Categorical(["A", "A", "B"], dtype=t)}, index=[1, 2, 3])
    >>> after = pd.DataFrame({"tier": pd.Categorical(["A", "B", "A"], dtype=t)}, index=[1, 2, 4])
    >>> tk.events(before, after)
       customer from_tier to_tier       kind
    0         2         A       B  downgrade
    1         3         B     NaN       lost
    2         4       NaN       A        new
    """
    j = _join(before, after)
    assert j.tier_before is not None  # joined with an earlier assignment
    stages = (j.stage_before, j.stage_after) if j.stage_before is not None and j.stage_after is not None else None
    rows, kinds = _core.lifecycle.events(
        j.customers,
        j.tier_before,
        j.tier_after,
        None if stages is None else stages[0],
        None if stages is None else stages[1],
        len(j.tiers),
    )
    data: dict[str, Any] = {
        "customer": j.index[rows],
        "from_tier": _tier_column(j.tier_before[rows], j.tiers),
        "to_tier": _tier_column(j.tier_after[rows], j.tiers),
        "kind": pd.Categorical.from_codes(kinds.astype(np.int64), categories=pd.Index(EVENT_KINDS)),
    }
    if stages is not None:
        data["from_stage"] = pd.Categorical.from_codes(stages[0][rows], categories=pd.Index(STAGES))
        data["to_stage"] = pd.Categorical.from_codes(stages[1][rows], categories=pd.Index(STAGES))
    out = pd.DataFrame(data)
    out.attrs["stages"] = stages is not None
    return out


# --- revenue at risk and win-back ----------------------------------------------------------------------------------


def _basis(j: _Join) -> str:
    if j.tier_before is None:
        return "stages only (no previous assignment): stage lost, at_risk or declining"
    if j.stage_after is None:
        return "tier moves only (no 'stage' column): downgrades and customers gone since the previous assignment"
    return "stages and tier moves: gone or stage lost, downgraded, stage at_risk or declining"


def _risk_join(assignment: pd.DataFrame, previous: pd.DataFrame | None) -> _Join:
    j = _join(previous, assignment, ("previous", "assignment"))
    if j.tier_before is None and j.stage_after is None:
        raise InvalidInputError(
            "assignment: no 'stage' column and no previous assignment: "
            "cannot tell lost, declining or downgraded customers"
        )
    return j


def revenue_at_risk(assignment: pd.DataFrame, values: Any, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """Value (CLV, or last-period revenue) of customers that are lost, downgraded or declining, by tier.

    A customer at risk counts once, under the first reason that applies: ``lost``
    (in ``previous`` but not in ``assignment``, or stage ``lost``), ``downgraded``
    (a worse tier than in ``previous``), ``declining`` (stage ``at_risk`` or ``declining``).
    Customers are reported under the tier they had in ``previous`` (their tier in
    ``assignment`` when they are new, or without ``previous``). Without a
    ``stage`` column only downgrades and departures are seen; without
    ``previous`` only stages. ``result.attrs["basis"]`` says which.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign``.
    values : Series indexed by customer id, or a column name (read from
        ``assignment``, and from ``previous`` for customers gone since).
    previous : DataFrame from ``Model.assign``, optional
        The earlier assignment of the same policy.

    Returns
    -------
    DataFrame indexed by tier: customers, value (all customers reported under the
    tier), at_risk_customers, value_at_risk, share_at_risk (of the tier's value),
    and per reason <reason>_customers, <reason>_value.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> before = pd.DataFrame({"tier": pd.Categorical(["A", "A", "B"], dtype=t)}, index=[1, 2, 3])
    >>> after = pd.DataFrame({"tier": pd.Categorical(["A", "B"], dtype=t)}, index=[1, 2])
    >>> clv = pd.Series([100.0, 60.0, 5.0], index=[1, 2, 3])
    >>> r = tk.revenue_at_risk(after, clv, previous=before)
    >>> r[["value", "value_at_risk", "downgraded_value", "lost_value"]].to_dict("index")
    {'A': {'value': 160.0, 'value_at_risk': 60.0, 'downgraded_value': 60.0, 'lost_value': 0.0}, \
'B': {'value': 5.0, 'value_at_risk': 5.0, 'downgraded_value': 0.0, 'lost_value': 5.0}}
    """
    j = _risk_join(assignment, previous)
    v = _values(values, j, (assignment, previous), "values")
    out = _core.lifecycle.revenue_at_risk(j.customers, j.tier_before, j.tier_after, j.stage_after, len(j.tiers), v)
    k, r = len(j.tiers), len(RISK_KINDS)
    counts, value = out["customers"].reshape(k, r), out["value"].reshape(k, r)
    tier_value = out["tier_value"]
    at_risk = value.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(tier_value != 0, at_risk / np.where(tier_value != 0, tier_value, 1.0), 0.0)
    data: dict[str, Any] = {
        "customers": out["tier_customers"],
        "value": tier_value,
        "at_risk_customers": counts.sum(axis=1),
        "value_at_risk": at_risk,
        "share_at_risk": share,
    }
    for i, name in enumerate(RISK_KINDS):
        data[f"{name}_customers"] = counts[:, i]
        data[f"{name}_value"] = value[:, i]
    frame = pd.DataFrame(data, index=pd.CategoricalIndex(j.tiers, categories=j.tiers, ordered=True, name="tier"))
    frame.attrs["basis"] = _basis(j)
    return frame


def win_back(
    assignment: pd.DataFrame, values: Any, n: int | None = None, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Lost and declining customers, highest value first: whom to win back.

    With a ``stage`` column: customers in stage ``lost``, ``at_risk`` or ``declining`` (and,
    with ``previous``, customers gone since). Without it, ``previous`` is needed:
    customers gone since, and downgraded ones (the decline that can be seen).
    Ties are broken by customer id.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign``.
    values : Series indexed by customer id, or a column name: past value or CLV.
    n : int, optional
        Keep the first n.
    previous : DataFrame from ``Model.assign``, optional

    Returns
    -------
    DataFrame indexed by customer, in win-back order: tier (the previous one when
    known), [stage], reason (lost, downgraded, declining), value.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> stages = pd.CategoricalDtype(tk.lifecycle.STAGES)
    >>> a = pd.DataFrame({"tier": pd.Categorical(["A", "B", "B", "A"], dtype=t),
    ...                   "stage": pd.Categorical(["mature", "lost", "declining", "declining"], dtype=stages)},
    ...                  index=[11, 12, 13, 14])
    >>> tk.win_back(a, pd.Series([500.0, 80.0, 20.0, 300.0], index=a.index))  # doctest: +NORMALIZE_WHITESPACE
             tier      stage     reason  value
    customer
    14          A  declining  declining  300.0
    12          B       lost       lost   80.0
    13          B  declining  declining   20.0
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0):
        raise InvalidInputError(f"n: expected an integer >= 0, got {n!r}")
    j = _risk_join(assignment, previous)
    v = _values(values, j, (assignment, previous), "values")
    rows = _core.lifecycle.win_back(
        j.customers, j.tier_before, j.tier_after, j.stage_after, len(j.tiers), v, None if n is None else int(n)
    )
    kinds = _core.lifecycle.risks(j.customers, j.tier_before, j.tier_after, j.stage_after, len(j.tiers))[rows]
    tier_codes = j.tier_after[rows].copy()
    if j.tier_before is not None:
        known = j.tier_before[rows] >= 0
        tier_codes[known] = j.tier_before[rows][known]
    index = j.index[rows]
    data: dict[str, Any] = {"tier": _tier_column(tier_codes, j.tiers)}
    if j.stage_after is not None:
        data["stage"] = pd.Categorical.from_codes(j.stage_after[rows], categories=pd.Index(STAGES))
    # A downgraded customer in stage at_risk or declining is on the list for its stage.
    data["reason"] = pd.Categorical.from_codes(kinds.astype(np.int64), categories=pd.Index(RISK_KINDS))
    if j.stage_after is not None:
        fading = np.isin(j.stage_after[rows], [STAGES.index("at_risk"), STAGES.index("declining")])
        declining = fading & (kinds == RISK_KINDS.index("downgraded"))
        data["reason"][declining] = "declining"
    data["value"] = v[rows]
    out = pd.DataFrame(data, index=pd.Index(index, name=assignment.index.name or "customer"))
    out.attrs["basis"] = _basis(j)
    return out


# --- backtest ------------------------------------------------------------------------------------------------------

_MONTHS = re.compile(r"^\s*(\d+)\s*(?:M|MS|ME|months?)\s*$", re.IGNORECASE)


def _step(period: Any) -> pd.DateOffset | pd.Timedelta:
    if isinstance(period, (int, np.integer)) and not isinstance(period, bool):
        if period <= 0:
            raise InvalidInputError(f"period: expected a positive length, got {period!r}")
        return pd.Timedelta(days=int(period))
    if isinstance(period, pd.Timedelta):
        step: pd.Timedelta = period
    elif isinstance(period, str) and (matched := _MONTHS.match(period)):
        months = int(matched.group(1))
        if months <= 0:
            raise InvalidInputError(f"period: expected a positive length, got {period!r}")
        return pd.DateOffset(months=months)
    else:
        try:
            step = pd.Timedelta(period)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"period: expected days (an int), a length like '90D' or '3M', got {period!r}"
            ) from None
    if step <= pd.Timedelta(0) or step % pd.Timedelta(days=1) != pd.Timedelta(0):
        raise InvalidInputError(f"period: expected a positive whole number of days, got {period!r}")
    return step


@dataclass
class Backtest:
    """Result of :func:`backtest`.

    Attributes
    ----------
    tiers : DataFrame indexed by (cutoff, tier)
        customers; next_revenue (their revenue in the following period);
        revenue_share (of all next-period revenue of the evaluated customers);
        mean_next_revenue; lift (the tier's mean over the mean of all customers);
        stability (share of the customers the tier had at the previous cut-off that
        are in it again; NaN at the first); churn_rate (share with no purchase
        in the following period).
    stages : DataFrame indexed by (cutoff, stage), or None
        customers and churn_rate per lifecycle stage, when assignments have stages.
    windows : DataFrame
        One row per cut-off: cutoff, end (of the following period), customers
        evaluated, next-period customers not evaluated (first purchase after the cut-off).
    criteria : DataFrame, or None
        Per cut-off and criterion: the fitted weight beside its rank correlation
        with revenue and with the following period's revenue (see
        ``Model.criteria_summary``).
    """

    tiers: pd.DataFrame
    stages: pd.DataFrame | None
    windows: pd.DataFrame
    assignments: dict[Any, pd.DataFrame] = field(default_factory=dict, repr=False)
    #: Per cut-off and criterion: weight, rank correlation with revenue and with the
    #: following period's revenue (Model.criteria_summary).
    criteria: pd.DataFrame | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """Per tier, the mean over cut-offs of customers, revenue_share, lift, stability and churn_rate."""
        cols = ["customers", "revenue_share", "lift", "stability", "churn_rate"]
        return self.tiers[cols].groupby(level="tier", observed=True, sort=False).mean()

    def plot(self, ax: Any = None) -> Any:
        """Lift per tier (mean over cut-offs) with :func:`tierkit.plot.lift_by_tier`; returns the Axes."""
        from .plot import lift_by_tier

        return lift_by_tier(self.tiers, ax=ax)


def backtest(
    policy: Any,
    transactions: pd.DataFrame,
    periods: Any = 4,
    *,
    period: Any = "90D",
    customer: str = "customer",
    date: str = "date",
    amount: str = "amount",
    end: Any = None,
    progress: bool | None = None,
    retier: bool = True,
    keep_assignments: bool = False,
    **summarize_options: Any,
) -> Backtest:
    """Rolling evaluation of a policy over history: does it separate customers that really differ?

    For each cut-off: features from the transactions up to it
    (``tk.summarize(..., as_of=cutoff)``), ``tk.fit(policy, features).assign(features)``,
    then what each tier bought in the following period (after the cut-off, up to
    and including the next one).

    Parameters
    ----------
    policy : Policy, dict or path
    transactions : DataFrame with the customer, date and amount columns.
    periods : int or sequence of dates
        An int n: n evaluations of ``period`` each, the last one ending at ``end``.
        A sequence of dates: consecutive pairs are the evaluations (fit up to d[k],
        measure over (d[k], d[k+1]]), so n + 1 dates give n evaluations.
    period : int (days), or str like "90D", "13W", "3M" (calendar months)
        Length of a period when ``periods`` is an int.
    customer, date, amount : str
        Column names, as for :func:`tierkit.summarize`.
    end : date, optional
        End of the last evaluation; defaults to the last transaction date.
    progress : bool, optional
        Progress bar over cut-offs (default: only in interactive sessions).
    retier : bool
        Pass each cut-off's assignment as ``previous`` to the next one's
        ``Model.assign``, so the policy's re-tiering (hysteresis) and won_back
        stages act as they would in use; False: every cut-off is assigned afresh.
    keep_assignments : bool
        Keep each cut-off's assignment in ``result.assignments``.
    **summarize_options
        Passed to :func:`tierkit.summarize` (margin, freq, unit, ...).

    Returns
    -------
    Backtest with ``tiers`` (per cut-off and tier), ``stages`` (churn per stage,
    when assignments have stages), ``windows``, ``summary`` and ``plot()``.

    Examples
    --------
    >>> import tierkit as tk
    >>> tx = tk.datasets.synthetic(2000, seed=3)
    >>> bt = tk.backtest(tk.Policy.default(), tx, periods=2, period="90D")
    >>> bt.tiers.index.names
    FrozenList(['cutoff', 'tier'])
    >>> bool(bt.summary.loc["key", "lift"] > 1)
    True
    """
    from .features import summarize
    from .model import fit

    if not isinstance(transactions, pd.DataFrame):
        raise InvalidInputError(f"transactions: expected a pandas DataFrame, got {type(transactions).__name__}")
    ids = column(transactions, customer, "customer")
    days, is_date = day_numbers(column(transactions, date, "date"), date)
    if not is_date:
        raise InvalidInputError(f"column '{date}': backtest needs dates, got {transactions[date].dtype}")
    spend = column(transactions, amount, "amount")
    dated = days[days != MISSING_DAY]
    if len(dated) == 0:
        raise InvalidInputError("transactions: no dated rows")

    def as_day(value: Any, name: str) -> int:
        return day_number(value, name)

    if isinstance(periods, (int, np.integer)) and not isinstance(periods, bool):
        if periods < 1:
            raise InvalidInputError(f"periods: expected at least 1 evaluation, got {periods!r}")
        stop = pd.Timestamp(np.datetime64(int(dated.max()), "D")) if end is None else pd.Timestamp(end)
        step = _step(period)
        bounds = (
            [stop - step * k for k in range(int(periods), -1, -1)]
            if isinstance(step, pd.DateOffset)
            else [stop - k * step for k in range(int(periods), -1, -1)]
        )
        cut_days = [as_day(b, "periods") for b in bounds]
    else:
        try:
            cut_days = [as_day(d, f"periods[{i}]") for i, d in enumerate(periods)]
        except TypeError:
            raise InvalidInputError(f"periods: expected an int or a sequence of dates, got {periods!r}") from None
        if len(cut_days) < 2:
            raise InvalidInputError(f"periods: expected at least 2 dates (one evaluation), got {len(cut_days)}")
    for i in range(1, len(cut_days)):
        if cut_days[i] <= cut_days[i - 1]:
            raise InvalidInputError(
                f"periods[{i}]: cut-offs must increase, got {np.datetime64(cut_days[i], 'D')} "
                f"after {np.datetime64(cut_days[i - 1], 'D')}"
            )
    if cut_days[0] < int(dated.min()):
        raise InvalidInputError(
            f"periods[0]: the first cut-off {np.datetime64(cut_days[0], 'D')} is before the "
            f"first transaction {np.datetime64(int(dated.min()), 'D')}"
        )

    tier_rows: list[pd.DataFrame] = []
    criteria_rows: list[pd.DataFrame] = []
    stage_rows: list[pd.DataFrame] = []
    windows: list[dict[str, Any]] = []
    kept: dict[Any, pd.DataFrame] = {}
    previous: pd.Series | None = None
    prior: pd.DataFrame | None = None
    pairs = list(zip(cut_days[:-1], cut_days[1:]))
    for cut, stop_day in _progress(pairs, desc="backtest", unit="cut-off", enabled=progress):
        cutoff = pd.Timestamp(np.datetime64(cut, "D"))
        history = transactions.loc[days <= cut]
        features = summarize(history, customer, date, amount, as_of=cutoff, **summarize_options)
        model = fit(policy, features, progress=False)  # one bar: the cut-offs
        if retier and prior is not None:
            assigned = model.assign(features, contributions=False, previous=prior)
        else:
            assigned = model.assign(features, contributions=False)
        window = (days > cut) & (days <= stop_day)
        grouped = spend[window].groupby(ids[window].to_numpy())
        next_revenue = grouped.sum().reindex(assigned.index, fill_value=0.0).astype(np.float64)
        bought = grouped.size().reindex(assigned.index, fill_value=0) > 0
        not_evaluated = int((~grouped.size().index.isin(assigned.index)).sum())
        tier = assigned["tier"]
        if "revenue" in features.columns:
            criteria_rows.append(model.criteria_summary(features, next_revenue=next_revenue).assign(cutoff=cutoff))
        total, overall = float(next_revenue.sum()), float(next_revenue.mean())
        # The core's tier summary: next-period revenue per tier, and churn as the tier's mean of 0/1.
        per_tier = _core.model.tier_summary(
            np.ascontiguousarray(tier.cat.codes.to_numpy(), dtype=np.int32),
            list(tier.cat.categories),
            np.asarray(~bought, dtype=np.float64),
            np.asarray(next_revenue, dtype=np.float64),
        )
        customers = np.asarray(per_tier["customers"], dtype=np.int64)
        revenue = np.asarray(per_tier["revenue"], dtype=np.float64)
        table = pd.DataFrame(
            {
                "customers": customers,
                "next_revenue": revenue,
                "mean_next_revenue": np.divide(
                    revenue, customers, out=np.full(len(revenue), np.nan), where=customers > 0
                ),
                "churn_rate": per_tier["mean_score"],
            },
            index=pd.CategoricalIndex(tier.cat.categories, dtype=tier.dtype),
        )
        table["revenue_share"] = per_tier["revenue_share"] if total != 0 else np.nan
        table["lift"] = table["mean_next_revenue"] / overall if overall != 0 else np.nan
        if previous is None:
            table["stability"] = np.nan
        else:
            prev = previous.reindex(assigned.index)
            seen = prev.notna().to_numpy()
            kept_tier = pd.Series(prev.to_numpy()[seen] == tier.to_numpy()[seen], index=prev.index[seen])
            table["stability"] = kept_tier.groupby(prev[seen].astype(tier.dtype), observed=False).mean()
        table.index.name = "tier"
        table = table[
            ["customers", "next_revenue", "revenue_share", "mean_next_revenue", "lift", "stability", "churn_rate"]
        ]
        tier_rows.append(pd.concat({cutoff: table}, names=["cutoff"]))
        if "stage" in assigned.columns:
            st = pd.DataFrame({"churned": ~bought}).groupby(assigned["stage"], observed=False)["churned"]
            stage_table = pd.DataFrame({"customers": st.size().astype(np.int64), "churn_rate": st.mean()})
            stage_table.index.name = "stage"
            stage_rows.append(pd.concat({cutoff: stage_table}, names=["cutoff"]))
        windows.append(
            {
                "cutoff": cutoff,
                "end": pd.Timestamp(np.datetime64(stop_day, "D")),
                "customers": len(assigned),
                "not_evaluated": not_evaluated,
            }
        )
        if keep_assignments:
            kept[cutoff] = assigned
        previous = tier.astype(object)
        prior = assigned
    return Backtest(
        pd.concat(tier_rows),
        pd.concat(stage_rows) if stage_rows else None,
        pd.DataFrame(windows),
        kept,
        pd.concat(criteria_rows, ignore_index=True) if criteria_rows else None,
    )
