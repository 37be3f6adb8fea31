"""``tk.profile``: who the customers of each tier are (the customer profile, 客户画像).

Per group (tier, lifecycle stage or segment): its size and share of the book; the
mean and median of every numeric feature and attribute, each with its lift against
the whole book (the group's mean over the book's mean); and the top categories of
every categorical attribute with their share in the group and their lift (the
share in the group over the share in the book).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._arrow import as_frame
from ._errors import ColumnNotFoundError, InvalidInputError

__all__ = ["Profile", "profile"]


@dataclass
class Profile:
    """Result of :func:`profile`.

    Attributes
    ----------
    by : str
        What the groups are (``"tier"``, ``"stage"``, ``"segment"`` ...).
    sizes : DataFrame indexed by group
        ``customers`` and ``share`` (of the book).
    numeric : DataFrame indexed by group
        Columns (column, statistic) with statistics ``mean``, ``median`` and
        ``lift`` (the group's mean over the book's mean; NaN when the book's mean
        is 0); a last row ``(all)`` holds the book's own values.
    categorical : DataFrame
        One row per group, categorical column and top category: ``group``,
        ``column``, ``category``, ``rank`` (1 = the most frequent in the group),
        ``customers``, ``share`` (of the group), ``book_share`` and ``lift``
        (share over book_share).
    standardized : DataFrame indexed by group
        Each numeric column's group mean minus the book's mean, over the book's
        standard deviation (0 for a constant column): what the heat map shows.
    """

    by: str
    sizes: pd.DataFrame
    numeric: pd.DataFrame
    categorical: pd.DataFrame
    standardized: pd.DataFrame

    def plot(self, ax: Any = None) -> Any:
        """The heat map of standardized means by group (:func:`tierkit.plot.profile_heatmap`)."""
        from .plot import profile_heatmap

        return profile_heatmap(self, ax=ax)

    def _repr_html_(self) -> str:
        means = self.numeric.xs("mean", axis=1, level=1) if len(self.numeric.columns) else self.numeric
        table = self.sizes.join(means.round(3), how="left")
        return table.to_html()


def _groups(assignment: pd.DataFrame | pd.Series, by: Any) -> pd.Series:
    if isinstance(by, pd.Series):
        group = by
    elif isinstance(assignment, pd.Series):
        group = assignment
    else:
        if by not in assignment.columns:
            raise ColumnNotFoundError(
                f"by: unknown column '{by}' of the assignment; available: {', '.join(map(str, assignment.columns))}"
            )
        group = assignment[by]
    if not isinstance(group.dtype, pd.CategoricalDtype):
        group = group.astype(pd.CategoricalDtype(sorted(group.dropna().unique().tolist())))
    return group


def profile(
    assignment: Any,
    features: Any = None,
    attributes: Any = None,
    *,
    by: Any = "tier",
    top: int = 3,
    columns: list[str] | None = None,
) -> Profile:
    """Customer profiles per tier, stage or segment.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign`` (or ``RFMSegmenter.assign``), or a
        Series of groups, indexed by customer id.
    features : DataFrame, optional
        Per-customer features (e.g. ``tk.summarize``'s), aligned by customer id.
        Numeric columns are profiled by mean and median, others by top categories;
        date columns are left out.
    attributes : DataFrame, optional
        Further per-customer columns (industry, region, credit rating, NPS...),
        aligned by customer id the same way.
    by : str or Series
        The assignment's column to group by: ``"tier"`` (default), ``"stage"``,
        ``"segment"``..., or a Series of groups aligned by customer id.
    top : int
        How many categories to show per group and categorical column.
    columns : list of str, optional
        Only these columns of ``features`` and ``attributes``.

    Returns
    -------
    Profile with ``sizes``, ``numeric``, ``categorical``, ``standardized`` and
    ``plot()``.

    Raises
    ------
    InvalidInputError
        When a customer of the assignment has no row in ``features`` or
        ``attributes``, or a column name is in both.
    ColumnNotFoundError
        For an unknown ``by`` or ``columns`` entry.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> tiers = pd.Series(["A", "A", "B"], index=[1, 2, 3], name="tier")
    >>> f = pd.DataFrame({"revenue": [10.0, 20.0, 60.0], "region": ["n", "s", "s"]}, index=[1, 2, 3])
    >>> p = tk.profile(tiers, f)
    >>> float(p.numeric.loc["A", ("revenue", "mean")]), float(p.numeric.loc["A", ("revenue", "lift")])
    (15.0, 0.5)
    >>> p.categorical.query("group == 'B'")[["category", "share", "lift"]].values.tolist()
    [['s', 1.0, 1.5]]
    """
    if isinstance(assignment, pd.Series):
        index = assignment.index
    else:
        assignment = as_frame(assignment, "assignment")
        index = assignment.index
    group = _groups(assignment, by)
    name = by if isinstance(by, str) else str(group.name or "group")
    group = group.reindex(index) if isinstance(by, pd.Series) else group
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise InvalidInputError(f"top: expected a whole number >= 1, got {top!r}")

    frames = []
    for role, frame in (("features", features), ("attributes", attributes)):
        if frame is None:
            continue
        frame = as_frame(frame, role)
        missing = index.difference(frame.index)
        if len(missing):
            raise InvalidInputError(f"{role}: no row for customer {missing[[0]].tolist()[0]!r} of the assignment")
        frames.append(frame.reindex(index))
    data = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=index)
    if data.columns.has_duplicates:
        dup = data.columns[data.columns.duplicated()][0]
        raise InvalidInputError(f"attributes: column '{dup}' is also a column of features; rename one")
    if columns is not None:
        unknown = [c for c in columns if c not in data.columns]
        if unknown:
            raise ColumnNotFoundError(
                f"columns: unknown column '{unknown[0]}'; available: {', '.join(map(str, data.columns))}"
            )
        data = data[list(columns)]

    numeric_cols = [c for c in data.columns if data[c].dtype.kind in "biuf"]
    category_cols = [c for c in data.columns if data[c].dtype.kind not in "biufmM"]

    counts = group.value_counts(sort=False).reindex(group.cat.categories, fill_value=0)
    sizes = pd.DataFrame({"customers": counts.astype(np.int64), "share": counts / max(len(group), 1)})
    sizes.index.name = name

    numbers = data[numeric_cols].astype(np.float64)
    # Means, medians and spreads of each column divided by a power of two that brings it under
    # 2 in magnitude, then multiplied back: the same bits as without scaling, and
    # finite for values near the largest double (1e308), whose squares overflow.
    largest = numbers.abs().max()
    exponent = np.frexp(largest.where((largest > 0) & np.isfinite(largest), 1.0).to_numpy(dtype=np.float64))[1]
    scale = pd.Series(np.ldexp(1.0, exponent - 1), index=largest.index)
    unit = numbers / scale
    grouped = unit.groupby(group, observed=False)
    book_mean, book_median, book_sd = unit.mean() * scale, unit.median() * scale, unit.std(ddof=0) * scale
    means, medians = grouped.mean() * scale, grouped.median() * scale
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lift = means / book_mean.where(book_mean != 0)
        standardized = (means - book_mean) / book_sd.where(book_sd > 0)
    standardized = standardized.reindex(sizes.index)
    for c in numeric_cols:
        if not book_sd[c] > 0:  # a constant column: every group sits on the book's mean
            standardized[c] = 0.0
    standardized.loc[(sizes["customers"] == 0).to_numpy()] = np.nan
    parts: dict[tuple[str, str], pd.Series] = {}
    for c in numeric_cols:
        parts[(c, "mean")] = pd.concat([means[c], pd.Series({"(all)": book_mean[c]})])
        parts[(c, "median")] = pd.concat([medians[c], pd.Series({"(all)": book_median[c]})])
        parts[(c, "lift")] = pd.concat([lift[c], pd.Series({"(all)": 1.0 if book_mean[c] != 0 else np.nan})])
    numeric = pd.DataFrame(parts, index=list(sizes.index) + ["(all)"])
    numeric.columns = pd.MultiIndex.from_tuples(list(parts), names=["column", "statistic"])
    numeric.index.name = name
    standardized.index.name = name

    rows = []
    for c in category_cols:
        values = data[c].astype(object).where(data[c].notna(), "(missing)")
        book_share = values.value_counts(normalize=True)
        table = pd.crosstab(group, values, dropna=False)
        for g in sizes.index:
            n = int(sizes.loc[g, "customers"])
            if n == 0 or g not in table.index:
                continue
            row = table.loc[g]
            row = row[row > 0]
            # most frequent first; ties by the category's order (its sorted value)
            order = sorted(row.index, key=lambda v: (-int(row[v]), str(v)))[:top]
            for rank, v in enumerate(order, 1):
                share = int(row[v]) / n
                rows.append(
                    {
                        "group": g,
                        "column": c,
                        "category": v,
                        "rank": rank,
                        "customers": int(row[v]),
                        "share": share,
                        "book_share": float(book_share[v]),
                        "lift": share / float(book_share[v]),
                    }
                )
    categorical = pd.DataFrame(
        rows, columns=["group", "column", "category", "rank", "customers", "share", "book_share", "lift"]
    )
    return Profile(name, sizes, numeric, categorical, standardized)
