"""Plots of tiers, scores, weights, RFM cells, migration and value by tier.

Every function draws on ``ax`` when given (so it composes into your own figure
and into ``tk.report``), else on a new pyplot figure, and returns the Axes. Tiers
keep their policy order (best first) and one colour each throughout. The inputs
are plain pandas objects, so plots of results that other parts of tierkit compute
(a CLV column, a backtest's lift table, two assignments of different periods)
work on any source of the same shape.

Examples
--------
>>> import matplotlib.pyplot as plt
>>> import tierkit as tk
>>> f = tk.summarize(tk.datasets.synthetic(500, seed=1))
>>> a = tk.fit(tk.Policy.default(), f).assign(f)
>>> ax = tk.plot.pareto_curve(a, f)
>>> ax.get_xlabel()
'share of customers (best score first)'
>>> plt.close("all")
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._errors import ColumnNotFoundError, InvalidInputError

__all__ = [
    "compare_heatmap",
    "distribution_by_tier",
    "lift_by_tier",
    "migration_heatmap",
    "pareto_curve",
    "profile_heatmap",
    "retention_curves",
    "retention_heatmap",
    "rfm_heatmap",
    "score_histogram",
    "tier_colors",
    "tier_sizes",
    "weights",
]


def _axes(ax: Any, size: tuple[float, float] = (6.4, 4.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def tier_colors(n: int) -> list[tuple[float, float, float, float]]:
    """One colour per tier, best tier darkest (a slice of matplotlib's viridis).

    Examples
    --------
    >>> from tierkit.plot import tier_colors
    >>> len(tier_colors(4))
    4
    """
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [tuple(cmap(x)) for x in np.linspace(0.15, 0.85, max(n, 1))][:n]


def _names(frame: pd.DataFrame) -> str:
    return ", ".join(map(str, frame.columns))


def _tiers(assignment: pd.DataFrame | pd.Series, role: str = "assignment") -> pd.Series:
    """The tier column as an ordered categorical Series."""
    if isinstance(assignment, pd.DataFrame):
        if "tier" not in assignment.columns:
            raise ColumnNotFoundError(f"{role}: no column 'tier'; available: {_names(assignment)}")
        tier = assignment["tier"]
    elif isinstance(assignment, pd.Series):
        tier = assignment
    else:
        raise InvalidInputError(
            f"{role}: expected a DataFrame with a 'tier' column or a Series of tiers, got {type(assignment).__name__}"
        )
    if not isinstance(tier.dtype, pd.CategoricalDtype):
        tier = tier.astype(pd.CategoricalDtype(sorted(tier.dropna().unique().tolist()), ordered=True))
    return tier


def _aligned(values: Any, index: pd.Index, role: str) -> pd.Series:
    if isinstance(values, pd.Series):
        out = values.reindex(index)
        if out.isna().any():
            missing = index[out.isna().to_numpy()].tolist()[0]
            raise InvalidInputError(f"{role}: no value for customer {missing!r}")
        return out.astype(np.float64)
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (len(index),):
        raise InvalidInputError(f"{role}: expected {len(index)} values (one per customer), got shape {arr.shape}")
    return pd.Series(arr, index=index)


def _revenue(assignment: pd.DataFrame, features: pd.DataFrame | None, revenue: str) -> pd.Series:
    source = assignment if features is None else features
    if revenue not in source.columns:
        hint = (
            "; the assignment has no revenue column: pass the features too, e.g. tk.plot.pareto_curve(tiers, features)"
            if features is None
            else ""
        )
        raise ColumnNotFoundError(f"revenue: unknown column '{revenue}'{hint}; available: {_names(source)}")
    return _aligned(source[revenue], assignment.index, "revenue")


def tier_sizes(
    summary: pd.DataFrame, features: pd.DataFrame | None = None, *, revenue: str = "revenue", ax: Any = None
) -> Any:
    """Share of customers next to share of revenue per tier: the Pareto view.

    Parameters
    ----------
    summary : DataFrame
        ``tk.summary(...)`` output, or an assignment (then ``features`` supplies
        the revenue column and the summary is computed).
    features : DataFrame, optional
        Features with ``revenue`` when ``summary`` is an assignment.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes; bar heights are percentages.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> s = pd.DataFrame({"customers": [1, 3], "customer_share": [0.25, 0.75], "revenue": [90.0, 10.0],
    ...                   "revenue_share": [0.9, 0.1], "mean_score": [80.0, 20.0]},
    ...                  index=pd.Index(["key", "ordinary"], name="tier"))
    >>> ax = tk.plot.tier_sizes(s)
    >>> [round(float(p.get_height()), 1) for p in ax.containers[1]]
    [90.0, 10.0]
    >>> plt.close("all")
    """
    if "customer_share" not in summary.columns:
        from .model import summary as tier_summary

        summary = tier_summary(summary, features, revenue=revenue)
    ax = _axes(ax)
    names = [str(t) for t in summary.index]
    x = np.arange(len(names))
    width = 0.38
    cust = 100 * summary["customer_share"].to_numpy(dtype=np.float64)
    rev = 100 * summary["revenue_share"].to_numpy(dtype=np.float64)
    b1 = ax.bar(x - width / 2, cust, width, label="% of customers", color="#8fb3d0")
    b2 = ax.bar(x + width / 2, rev, width, label="% of revenue", color="#d08a2e")
    ax.bar_label(b1, fmt="%.1f", fontsize=8, padding=2)
    ax.bar_label(b2, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xticks(x, names)
    ax.set_ylabel("percent")
    ax.set_ylim(0, max(float(np.nanmax(np.r_[cust, rev, 1.0])) * 1.15, 1.0))
    ax.set_title("Customers and revenue by tier")
    ax.legend(frameon=False)
    return ax


def _gini(values: np.ndarray) -> float:
    v = np.sort(values)
    n = len(v)
    total = v.sum()
    if n == 0 or total == 0:
        return float("nan")
    # Mean absolute difference over twice the mean: sum_i (2i - n - 1) v_i / (n * total), i = 1..n ascending.
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * v).sum() / (n * total))


def pareto_curve(
    assignment: pd.DataFrame,
    features: pd.DataFrame | None = None,
    *,
    revenue: str = "revenue",
    score: str | None = None,
    ax: Any = None,
) -> Any:
    """Cumulative share of revenue against cumulative share of customers.

    Two curves: customers in tier order (best score first), with a vertical line
    where each tier ends; and the Lorenz curve (richest customer first), the most
    revenue any ranking could put in the top x% (its Gini coefficient is in the
    legend). The gap between them is what the score misses.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign``.
    features : DataFrame with ``revenue`` (aligned by customer id); when omitted
        ``assignment`` must hold it.
    score : str, optional
        Score to order customers within a tier; the first column by default.

    Returns
    -------
    matplotlib Axes. ``ax.lines[0]`` is the tier-ordered curve, ``ax.lines[1]`` the
    Lorenz curve.

    Raises
    ------
    tierkit.InvalidInputError
        When total revenue is not positive, or revenue is missing for a customer.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> a = pd.DataFrame({"value": [90.0, 50, 10, 5],
    ...                   "tier": pd.Categorical(["A", "B", "B", "B"], categories=["A", "B"], ordered=True),
    ...                   "revenue": [0.0, 0, 0, 10]})
    >>> ax = tk.plot.pareto_curve(a)
    >>> ax.lines[1].get_label()
    'by revenue (Lorenz, Gini 0.75)'
    >>> plt.close("all")
    """
    tier = _tiers(assignment)
    rev = _revenue(assignment, features, revenue).to_numpy()
    total = rev.sum()
    if not total > 0:
        raise InvalidInputError(f"revenue: total must be positive for a Pareto curve, got {total}")
    score = score or str(assignment.columns[0])
    numeric = score in assignment.columns and assignment[score].dtype.kind in "biuf"
    s = assignment[score].to_numpy(dtype=np.float64) if numeric else np.zeros(len(rev))
    order = np.lexsort((-s, tier.cat.codes.to_numpy()))
    n = len(rev)
    x = np.r_[0.0, np.arange(1, n + 1) / n]
    y_tier = np.r_[0.0, np.cumsum(rev[order]) / total]
    y_best = np.r_[0.0, np.cumsum(np.sort(rev)[::-1]) / total]
    ax = _axes(ax)
    ax.plot(x, y_tier, color="#2f6f9f", lw=2, label="customers in tier order")
    ax.plot(x, y_best, color="#d08a2e", lw=1.5, ls="--", label=f"by revenue (Lorenz, Gini {_gini(rev):.2f})")
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls=":", label="equal shares")
    counts = tier.value_counts(sort=False).to_numpy()
    ends = np.cumsum(counts)[:-1]
    names = [str(c) for c in tier.cat.categories]
    for k, end in enumerate(ends):
        if counts[k] == 0:
            continue
        xe = end / n
        ax.axvline(xe, color="0.35", lw=0.8, ls="-")
        ax.annotate(
            f"{names[k]} | {100 * y_tier[end]:.0f}%",
            (xe, y_tier[end]),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(min(0.0, float(y_tier.min())), max(1.02, float(y_tier.max()) * 1.02))
    ax.set_xlabel("share of customers (best score first)")
    ax.set_ylabel("share of revenue")
    ax.set_title("Revenue concentration (Pareto curve)")
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    return ax


def _rule_cuts(model: Any, score: str) -> list[float]:
    """Score cut points of a score-based rule (thresholds, quantiles) on ``score``."""
    rule = model.policy.to_dict()["rule"]
    params = model.params["rule"].get("parameters", {})
    rule_score = rule.get("score", model.policy.score_names[0])
    if "score" not in rule and rule.get("kind") not in ("thresholds", "quantiles"):
        return []
    if "column" in rule:  # cuts of a feature column, not of a score
        return []
    if rule_score != score:
        return []
    return [float(c) for c in params.get("cuts", [])]


def score_histogram(
    assignment: pd.DataFrame, model: Any = None, *, score: str | None = None, bins: int = 40, ax: Any = None
) -> Any:
    """Histogram of a score, stacked by tier, with the rule's cut points.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign``.
    model : tierkit.Model, optional
        When given and its rule cuts this score (thresholds, quantiles), the cut
        points are drawn as vertical lines (``ax.tierkit_cuts`` lists them).
    score : str, optional
        The score column; by default the one the rule uses, else the first.
    bins : int
        Histogram bins over 0..100.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(500, seed=1))
    >>> m = tk.fit({"criteria": ["revenue"], "rule": {"kind": "thresholds", "cuts": [70, 40]},
    ...             "tiers": ["A", "B", "C"]}, f)
    >>> tk.plot.score_histogram(m.assign(f), m).tierkit_cuts
    [70.0, 40.0]
    >>> plt.close("all")
    """
    tier = _tiers(assignment)
    if score is None:
        rule = model.policy.to_dict()["rule"] if model is not None else {}
        score = rule.get("score") or str(assignment.columns[0])
    if score not in assignment.columns:
        raise ColumnNotFoundError(f"score: unknown column '{score}'; available: {_names(assignment)}")
    values = assignment[score].to_numpy(dtype=np.float64)
    names = [str(c) for c in tier.cat.categories]
    codes = tier.cat.codes.to_numpy()
    data = [values[codes == k] for k in range(len(names))]
    ax = _axes(ax)
    ax.hist(data, bins=np.linspace(0, 100, bins + 1), stacked=True, color=tier_colors(len(names)), label=names)
    cuts = _rule_cuts(model, score) if model is not None else []
    for c in cuts:
        ax.axvline(c, color="#c0392b", lw=1.2, ls="--")
        ax.annotate(
            f"{c:.1f}",
            (c, 1),
            xycoords=("data", "axes fraction"),
            xytext=(2, -10),
            textcoords="offset points",
            fontsize=8,
            color="#c0392b",
        )
    ax.tierkit_cuts = cuts
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"{score} score")
    ax.set_ylabel("customers")
    ax.set_title(f"Distribution of the {score} score by tier")
    ax.legend(frameon=False, fontsize=8)
    return ax


def weights(model: Any, *, ax: Any = None) -> Any:
    """Criterion weights of every score, as horizontal bars.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import tierkit as tk
    >>> m = tk.fit(tk.Policy.default(), tk.summarize(tk.datasets.synthetic(300, seed=1)))
    >>> [round(float(p.get_width()), 2) for p in tk.plot.weights(m).patches]
    [0.4, 0.25, 0.2, 0.15]
    >>> plt.close("all")
    """
    w = model.weights
    several = w["score"].nunique() > 1
    labels = [f"{s}: {c}" if several else str(c) for s, c in zip(w["score"], w["criterion"])]
    ax = _axes(ax, (6.4, 0.45 * len(labels) + 1.2))
    y = np.arange(len(labels))
    bars = ax.barh(y, w["weight"].to_numpy(), color="#2f6f9f")
    ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, max(1e-9, float(w["weight"].max())) * 1.2)
    ax.set_xlabel("weight")
    ax.set_title("Criterion weights")
    return ax


def rfm_heatmap(rfm: pd.DataFrame, monetary: Any = None, *, ax: Any = None) -> Any:
    """R x F grid: colour = mean monetary value per cell, text = customers.

    Parameters
    ----------
    rfm : DataFrame with integer columns ``R`` and ``F`` (and ``M``), e.g.
        ``tierkit.sklearn.RFMSegmenter().fit(f).assign(f)``.
    monetary : Series (aligned by customer id), array, or column name, optional
        Value averaged per cell; the ``M`` score by default.

    Returns
    -------
    matplotlib Axes; ``ax.images[0].get_array()`` is the grid of means (row 0 =
    highest R) and ``ax.tierkit_counts`` the customers per cell.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> rfm = pd.DataFrame({"R": [2, 2, 1], "F": [1, 1, 2], "M": [2, 1, 1]})
    >>> ax = tk.plot.rfm_heatmap(rfm)
    >>> ax.tierkit_counts.tolist()
    [[2, 0], [0, 1]]
    >>> plt.close("all")
    """
    for c in ("R", "F"):
        if c not in rfm.columns:
            raise ColumnNotFoundError(f"rfm: no column '{c}'; available: {_names(rfm)}")
    if monetary is None:
        if "M" not in rfm.columns:
            raise ColumnNotFoundError("rfm: no column 'M'; pass monetary= to colour the cells")
        m = rfm["M"].astype(np.float64)
        label = "mean M score"
    elif isinstance(monetary, str):
        if monetary not in rfm.columns:
            raise ColumnNotFoundError(f"monetary: unknown column '{monetary}'; available: {_names(rfm)}")
        m, label = rfm[monetary].astype(np.float64), f"mean {monetary}"
    else:
        m = _aligned(monetary, rfm.index, "monetary")
        label = f"mean {m.name}" if m.name is not None else "mean monetary value"
    r = rfm["R"].to_numpy().astype(np.int64)
    f = rfm["F"].to_numpy().astype(np.int64)
    k = int(max(r.max(), f.max())) if len(r) else 1
    counts = np.zeros((k, k), dtype=np.int64)
    sums = np.zeros((k, k))
    np.add.at(counts, (k - r, f - 1), 1)
    np.add.at(sums, (k - r, f - 1), m.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    ax = _axes(ax, (5.6, 4.6))
    image = ax.imshow(np.ma.masked_invalid(means), cmap="YlGnBu", aspect="auto")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    f"{counts[i, j]:,}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if means[i, j] > np.nanmean(means) else "black",
                )
    ax.set_xticks(range(k), [str(j + 1) for j in range(k)])
    ax.set_yticks(range(k), [str(k - i) for i in range(k)])
    ax.set_xlabel("F score (frequency)")
    ax.set_ylabel("R score (recency)")
    ax.set_title("RFM grid: customers per cell")
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.tierkit_counts = counts
    return ax


def _migration_counts(before: Any, after: Any) -> tuple[np.ndarray, list[str], list[str]]:
    b, a = _tiers(before, "before"), _tiers(after, "after")
    for s, role in ((b, "before"), (a, "after")):
        if s.index.has_duplicates:
            duplicate = s.index[s.index.duplicated()].tolist()[0]
            raise InvalidInputError(f"{role}: customer id {duplicate!r} appears more than once")
    from .lifecycle import crosstab_codes

    rows = [str(c) for c in b.cat.categories]
    cols = [str(c) for c in a.cat.categories]
    table = crosstab_codes(b, a)  # the last row: new customers, the last column: gone
    if not table[:, -1].any():
        table = table[:, :-1]
    else:
        cols = cols + ["(gone)"]
    if not table[-1].any():
        table = table[:-1]
    else:
        rows = rows + ["(new)"]
    return table.astype(np.int64), rows, cols


def migration_heatmap(before: Any, after: Any, *, normalize: bool = True, ax: Any = None) -> Any:
    """Customers moving between tiers from one assignment to the next.

    Parameters
    ----------
    before, after : DataFrame with a ``tier`` column, or Series of tiers, indexed
        by customer id. Customers only in ``after`` form a ``(new)`` row, those only
        in ``before`` a ``(gone)`` column.
    normalize : bool
        Colour by row share (where each tier's customers went) instead of count.

    Returns
    -------
    matplotlib Axes; ``ax.tierkit_counts`` is the count table (rows = before,
    columns = after) and ``ax.tierkit_labels`` its (row, column) labels.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> t = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> before = pd.Series(["A", "A", "B"], index=[1, 2, 3], dtype=t)
    >>> after = pd.Series(["A", "B", "B"], index=[1, 2, 3], dtype=t)
    >>> tk.plot.migration_heatmap(before, after).tierkit_counts.tolist()
    [[1, 1], [0, 1]]
    >>> plt.close("all")
    """
    table, rows, cols = _migration_counts(before, after)
    totals = table.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, table / np.maximum(totals, 1), 0.0)
    shown = shares if normalize else table
    ax = _axes(ax, (1.1 * len(cols) + 2.5, 0.8 * len(rows) + 1.8))
    image = ax.imshow(shown, cmap="Blues", aspect="auto", vmin=0)
    top = shown.max() if shown.size else 1
    for i in range(len(rows)):
        for j in range(len(cols)):
            text = f"{table[i, j]:,}" + (f"\n{100 * shares[i, j]:.0f}%" if normalize and totals[i, 0] else "")
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8, color="white" if shown[i, j] > 0.6 * top else "black"
            )
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("tier after")
    ax.set_ylabel("tier before")
    ax.set_title("Tier migration")
    ax.figure.colorbar(image, ax=ax, label="share of the row" if normalize else "customers")
    ax.tierkit_counts = table
    ax.tierkit_labels = (rows, cols)
    return ax


def distribution_by_tier(
    assignment: Any, values: Any, *, label: str | None = None, log: bool = False, ax: Any = None
) -> Any:
    """Box plots of a per-customer value by tier: CLV, P(alive), next-period spend...

    Parameters
    ----------
    assignment : DataFrame with ``tier`` or a Series of tiers.
    values : Series aligned by customer id, or an array in the assignment's order.
    label : str, optional
        Axis label; the Series name by default.
    log : bool
        Log scale for the values (for CLV and spend).

    Returns
    -------
    matplotlib Axes; ``ax.tierkit_medians`` maps tier -> median.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> a = pd.Series(pd.Categorical(["A", "A", "B"], categories=["A", "B"], ordered=True))
    >>> tk.plot.distribution_by_tier(a, [0.9, 0.7, 0.2], label="P(alive)").tierkit_medians
    {'A': 0.8, 'B': 0.2}
    >>> plt.close("all")
    """
    tier = _tiers(assignment)
    v = _aligned(values, tier.index, "values")
    names = [str(c) for c in tier.cat.categories]
    codes = tier.cat.codes.to_numpy()
    groups = [v.to_numpy()[codes == k] for k in range(len(names))]
    present = [k for k, g in enumerate(groups) if len(g)]
    ax = _axes(ax)
    parts = ax.boxplot(
        [groups[k] for k in present],
        tick_labels=[names[k] for k in present],
        patch_artist=True,
        showfliers=False,
        medianprops={"color": "black"},
    )
    colors = tier_colors(len(names))
    for patch, k in zip(parts["boxes"], present):
        patch.set_facecolor(colors[k])
        patch.set_alpha(0.8)
    if log:
        ax.set_yscale("symlog" if np.nanmin(v.to_numpy()) <= 0 else "log")
    name = label or (str(v.name) if v.name is not None else "value")
    ax.set_ylabel(name)
    ax.set_xlabel("tier")
    ax.set_title(f"{name} by tier")
    ax.tierkit_medians = {names[k]: float(np.median(groups[k])) for k in present}
    return ax


def lift_by_tier(data: Any, outcome: Any = None, *, ax: Any = None) -> Any:
    """Lift per tier: mean outcome of the tier over the mean of all customers.

    Parameters
    ----------
    data : DataFrame
        An assignment (with ``outcome``: what each customer did next, e.g. the
        following period's revenue in a backtest), or, without ``outcome``, a
        table indexed by tier with a ``lift`` column, or indexed by (cutoff, tier)
        as ``tk.backtest(...).tiers`` (bars are then the mean lift over cut-offs).
    outcome : Series aligned by customer id or array, optional

    Returns
    -------
    matplotlib Axes; bar heights are the lifts, the dashed line is 1.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> a = pd.DataFrame({"tier": pd.Categorical(["A", "B", "B", "B"], categories=["A", "B"], ordered=True)})
    >>> [float(p.get_height()) for p in tk.plot.lift_by_tier(a, [8.0, 0, 0, 0]).patches]
    [4.0, 0.0]
    >>> plt.close("all")
    """
    if outcome is None:
        if not isinstance(data, pd.DataFrame) or "lift" not in data.columns:
            raise InvalidInputError("data: without outcome, expected a table indexed by tier with a 'lift' column")
        if isinstance(data.index, pd.MultiIndex) and "tier" in data.index.names:
            data = data.groupby(level="tier", observed=True, sort=False)[["lift"]].mean()
        names = [str(t) for t in data.index]
        lift = data["lift"].to_numpy(dtype=np.float64)
    else:
        tier = _tiers(data, "data")
        v = _aligned(outcome, tier.index, "outcome")
        overall = float(v.mean())
        if overall == 0:
            raise InvalidInputError("outcome: mean over all customers is 0, lift is undefined")
        means = v.groupby(tier, observed=False).mean()
        names = [str(t) for t in means.index]
        lift = means.to_numpy(dtype=np.float64) / overall
    ax = _axes(ax)
    bars = ax.bar(names, np.nan_to_num(lift), color=tier_colors(len(names)))
    ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    ax.axhline(1.0, color="0.3", ls="--", lw=1)
    ax.set_ylabel("lift (tier mean / overall mean)")
    ax.set_xlabel("tier")
    ax.set_title("Lift by tier")
    return ax


def _retention(result: Any) -> Any:
    from .retention import Retention

    if not isinstance(result, Retention):
        raise InvalidInputError(f"expected the result of tk.retention, got {type(result).__name__}")
    return result


def retention_heatmap(result: Any, *, group: Any = None, ax: Any = None) -> Any:
    """Cohort heat map of :func:`tierkit.retention`: one row per first-purchase
    cohort, one column per age, coloured by the share still active.

    Parameters
    ----------
    result : Retention
    group : optional
        With ``by``, the group (e.g. a tier) to show; default ``"all"``: every customer.

    Returns
    -------
    matplotlib Axes; ``ax.tierkit_table`` is the table shown.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import tierkit as tk
    >>> r = tk.retention(tk.datasets.synthetic(300, seed=1), cohort="Q")
    >>> tk.plot.retention_heatmap(r).tierkit_table.shape
    (8, 8)
    >>> plt.close("all")
    """
    table = _retention(result).table
    title = "Retention by first-purchase cohort"
    if isinstance(table.index, pd.MultiIndex):
        groups = list(table.index.get_level_values(0).unique())
        group = "all" if group is None else group
        if group not in groups:
            raise InvalidInputError(f"group: unknown group {group!r}; available: {', '.join(map(str, groups))}")
        table = table.xs(group, level=0)
        title += f": {group}"
    elif group is not None:
        raise InvalidInputError("group: the retention table has no groups (tk.retention without by=)")
    values = table.to_numpy(dtype=np.float64)
    ax = _axes(ax, (0.45 * table.shape[1] + 2.8, 0.28 * table.shape[0] + 1.8))
    image = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", aspect="auto", vmin=0, vmax=1)
    if values.size <= 400:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                if np.isfinite(values[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{100 * values[i, j]:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if values[i, j] > 0.6 else "black",
                    )
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(table.shape[0]), [str(c) for c in table.index])
    ax.set_xlabel("periods since the first purchase")
    ax.set_ylabel("cohort")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label="share active")
    ax.tierkit_table = table
    return ax


def retention_curves(result: Any, *, ax: Any = None) -> Any:
    """Retention curves of :func:`tierkit.retention`: the share active by periods
    since the first purchase, for all customers and for each group (tier).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import tierkit as tk
    >>> r = tk.retention(tk.datasets.synthetic(300, seed=1), cohort="Q")
    >>> [line.get_label() for line in tk.plot.retention_curves(r).get_lines()]
    ['all']
    >>> plt.close("all")
    """
    curve = _retention(result).curve
    ax = _axes(ax)
    groups = [c for c in curve.columns if c != "all"]
    colors = tier_colors(len(groups))
    ax.plot(curve.index, curve["all"], color="black", lw=2, marker="o", ms=3, label="all")
    for k, name in enumerate(groups):
        ax.plot(curve.index, curve[name], color=colors[k], lw=1.5, marker="o", ms=3, label=str(name))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("periods since the first purchase")
    ax.set_ylabel("share of the cohort active")
    ax.set_title("Retention curves")
    ax.legend(frameon=False, fontsize=8)
    return ax


def profile_heatmap(profile: Any, *, ax: Any = None) -> Any:
    """Standardized feature means by tier (or stage, segment): a customer profile
    at a glance. Each cell is the group's mean minus the book's mean, in the
    book's standard deviations; red above the book, blue below.

    Parameters
    ----------
    profile : the :class:`tierkit.profiles.Profile` from :func:`tierkit.profile`.

    Returns
    -------
    matplotlib Axes; ``ax.tierkit_values`` is the plotted table (groups x columns).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> tiers = pd.Series(["A", "B"], index=[1, 2], name="tier")
    >>> p = tk.profile(tiers, pd.DataFrame({"revenue": [30.0, 10.0]}, index=[1, 2]))
    >>> tk.plot.profile_heatmap(p).tierkit_values.values.ravel().tolist()
    [1.0, -1.0]
    >>> plt.close("all")
    """
    table = getattr(profile, "standardized", None)
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError(f"profile: expected the result of tk.profile, got {type(profile).__name__}")
    if table.shape[1] == 0:
        raise InvalidInputError("profile: no numeric column to show; pass features or attributes to tk.profile")
    values = table.to_numpy(dtype=np.float64)
    ax = _axes(ax, (0.9 * table.shape[1] + 2.8, 0.55 * table.shape[0] + 1.8))
    finite = values[np.isfinite(values)]
    limit = max(float(np.abs(finite).max()) if finite.size else 1.0, 1e-9)
    image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                ax.text(
                    j,
                    i,
                    f"{values[i, j]:+.2f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if abs(values[i, j]) > 0.6 * limit else "black",
                )
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=35, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(r) for r in table.index])
    ax.set_ylabel(str(table.index.name or "group"))
    ax.set_title(f"Profile: mean by {table.index.name or 'group'} (standard deviations from the book)")
    ax.figure.colorbar(image, ax=ax, label="standardized mean")
    ax.tierkit_values = table
    return ax


def compare_heatmap(comparison: Any, *, normalize: bool = True, ax: Any = None) -> Any:
    """Where the customers of each tier under one policy land under another.

    Parameters
    ----------
    comparison : the :class:`tierkit.comparison.Comparison` from :func:`tierkit.compare`.
    normalize : bool
        Colour by row share instead of count.

    Returns
    -------
    matplotlib Axes; ``ax.tierkit_counts`` is the crosstab.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd, tierkit as tk
    >>> f = pd.DataFrame({"revenue": [1.0, 2.0, 3.0, 4.0]}, index=[1, 2, 3, 4])
    >>> p = {"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["top", "rest"]}
    >>> ax = tk.plot.compare_heatmap(tk.compare(p, p, f))
    >>> ax.tierkit_counts.values.tolist()
    [[2, 0], [0, 2]]
    >>> plt.close("all")
    """
    table = getattr(comparison, "crosstab", None)
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError(f"comparison: expected the result of tk.compare, got {type(comparison).__name__}")
    counts = table.to_numpy(dtype=np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.where(totals > 0, counts / np.maximum(totals, 1), 0.0)
    shown = shares if normalize else counts
    ax = _axes(ax, (1.1 * counts.shape[1] + 2.5, 0.8 * counts.shape[0] + 1.8))
    image = ax.imshow(shown, cmap="Blues", aspect="auto", vmin=0)
    top = shown.max() if shown.size else 1
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            text = f"{counts[i, j]:,}" + (f"\n{100 * shares[i, j]:.0f}%" if normalize and totals[i, 0] else "")
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8, color="white" if shown[i, j] > 0.6 * top else "black"
            )
    ax.set_xticks(range(counts.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(counts.shape[0]), [str(r) for r in table.index])
    ax.set_xlabel(str(table.columns.name))
    ax.set_ylabel(str(table.index.name))
    moved = getattr(comparison, "moved", float("nan"))
    ax.set_title("Policies compared" + (f": {100 * moved:.1f}% of customers move" if np.isfinite(moved) else ""))
    ax.figure.colorbar(image, ax=ax, label="share of the row" if normalize else "customers")
    ax.tierkit_counts = table
    return ax
