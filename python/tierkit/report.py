"""``tk.report``: a self-contained HTML report of a tier assignment.

One file a manager opens in any browser: the tier summary (the Pareto view),
charts as embedded PNG images, the tiers with their relationship modes and
service actions, why customers are where they are, and, when given, the fitted
weights and cut points, migration from a previous assignment, value (CLV,
P(alive)) by tier and a backtest's lift. No scripts, no external files.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import plot
from . import progress as _progress
from ._arrow import as_frame
from ._errors import InvalidInputError
from ._repr import STYLE, summary_html, table_html

__all__ = ["report"]

_PAGE_STYLE = """<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
header{background:#2f6f9f;color:#fff;padding:18px 32px}header h1{margin:0 0 4px 0;font-size:26px}
header p{margin:0;opacity:.9}nav{padding:8px 32px;background:#fff;border-bottom:1px solid #d8dee4;font-size:13px}
nav a{margin-right:14px;color:#2f6f9f;text-decoration:none}
main{padding:8px 32px 32px 32px;max-width:1100px}
section{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:12px 20px;margin:16px 0}
section h2{font-size:19px;margin:4px 0 10px 0;color:#1f2328}
figure{margin:8px 0}figure img{max-width:100%;height:auto}figcaption{font-size:12px;color:#636c76}
footer{padding:12px 32px;font-size:12px;color:#636c76}
section table{border-collapse:collapse;font-size:13px;margin:4px 0 8px 0}
section th,section td{border-bottom:1px solid #d8dee4;padding:4px 10px;text-align:left;vertical-align:top}
section th{background:#f3f6f9}section td.num{text-align:right;font-variant-numeric:tabular-nums}
</style>"""


def _png(draw: Callable[[Any], Any], size: tuple[float, float] = (7.2, 3.9)) -> str:
    """Draw on a fresh Figure (not pyplot: nothing global, nothing left open) and
    return it as an <img> with a data URI."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=96, layout="constrained")
    buf = io.BytesIO()
    # A book of one or two customers gives degenerate axes: matplotlib's layout then
    # warns about NaN extents while it still draws the chart.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        draw(fig.add_subplot())
        fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<figure><img alt="chart" src="data:image/png;base64,{data}"></figure>'


def _tiers_table(assignment: pd.DataFrame, model: Any) -> str:
    if model is not None:
        tiers = model.policy.to_dict()["tiers"]
        rows = [
            [t["name"], t.get("mode", ""), "; ".join(t.get("actions", [])), t.get("description", "")] for t in tiers
        ]
    else:
        first = assignment.groupby("tier", observed=True).first()
        rows = [
            [
                t,
                first.loc[t, "mode"] if "mode" in first else "",
                first.loc[t, "actions"] if "actions" in first else "",
                "",
            ]
            for t in first.index
        ]
    return table_html(["tier", "relationship mode", "service actions", "description"], rows, numeric=[False] * 4)


def _reasons_table(assignment: pd.DataFrame) -> str:
    counts = assignment.groupby(["tier", "reason"], observed=True).size().reset_index(name="customers")
    rows = [
        [tier, reason, int(n)]
        for tier, reason, n in zip(counts["tier"], counts["reason"], counts["customers"].to_numpy())
    ]
    return table_html(["tier", "reason", "customers"], rows, numeric=[False, False, True])


def _model_table(model: Any) -> str:
    p = model.params
    rows = [
        [k, ", ".join(f"{x:.4g}" for x in v) if isinstance(v, list) else v]
        for k, v in p["rule"].get("parameters", {}).items()
    ]
    parts = [f"<p>Rule <code>{html.escape(p['rule']['kind'])}</code></p>"]
    if rows:
        parts.append(table_html(["parameter", "fitted value"], rows, numeric=[False, False]))
    for s in p["scores"]:
        cr = s.get("ahp_consistency_ratio")
        if isinstance(cr, float) and not np.isnan(cr):
            parts.append(f"<p>Score {html.escape(s['name'])}: AHP consistency ratio {cr:.4f}</p>")
    return "".join(parts)


def _criteria_table(model: Any, source: pd.DataFrame, revenue: str, backtest: Any) -> str:
    """Each criterion's weight beside its rank correlation with revenue (and, after a
    backtest, the mean over its cut-offs of the correlation with next-period revenue)."""
    table = model.criteria_summary(source, revenue=revenue)
    headers = ["score", "criterion", "direction", "weight", f"rank corr. with {revenue}"]
    nxt = None
    if backtest is not None and getattr(backtest, "criteria", None) is not None:
        nxt = backtest.criteria.groupby(["score", "criterion"], sort=False)["rank_corr_next_revenue"].mean()
        headers.append("rank corr. with next-period revenue (backtest)")

    def fmt(v: float) -> str:
        return "-" if not np.isfinite(v) else f"{v:+.2f}"

    rows = []
    for r in table.itertuples(index=False):
        row = [r.score, r.criterion, r.direction, f"{r.weight:.3f}", fmt(r.rank_corr_revenue)]
        if nxt is not None:
            row.append(fmt(float(nxt.get((r.score, r.criterion), np.nan))))
        rows.append(row)
    note = (
        "<p>A large weight on a criterion with no correlation with value deserves a second look: entropy and "
        "CRITIC weight what varies, not what matters.</p>"
    )
    return note + table_html(headers, rows, numeric=[False, False, False] + [True] * (len(headers) - 3))


def _profile_section(assignment: pd.DataFrame, features: pd.DataFrame) -> str:
    from .profiles import profile

    p = profile(assignment, features)
    if p.standardized.shape[1] == 0:
        return "<p>No numeric column to profile.</p>"
    means = p.numeric.xs("mean", axis=1, level=1)
    cols = list(means.columns)
    rows = [
        [str(g), int(p.sizes.loc[g, "customers"]) if g in p.sizes.index else len(assignment)]
        + [f"{means.loc[g, c]:,.4g}" for c in cols]
        for g in means.index
    ]
    return table_html(
        [p.by, "customers"] + [f"mean {c}" for c in cols], rows, numeric=[False] + [True] * (len(cols) + 1)
    ) + _png(lambda ax: plot.profile_heatmap(p, ax=ax), (min(0.9 * len(cols) + 3.2, 11.0), 0.55 * len(means) + 2.2))


def _distribution_section(assignment: pd.DataFrame, values: Any, name: str) -> Callable[[], str]:
    return lambda: _png(lambda ax: plot.distribution_by_tier(assignment, values, label=name, ax=ax))


def _retention_section(result: Any) -> str:
    cohorts = len(
        result.customers.xs("all", level=0) if isinstance(result.customers.index, pd.MultiIndex) else result.customers
    )
    return _png(lambda ax: plot.retention_curves(result, ax=ax)) + _png(
        lambda ax: plot.retention_heatmap(result, ax=ax), (7.2, min(0.28 * cohorts + 1.8, 9.0))
    )


def report(
    assignment: Any,
    features: Any = None,
    *,
    model: Any = None,
    previous: Any = None,
    values: Mapping[str, Any] | None = None,
    lift: pd.DataFrame | None = None,
    retention: Any = None,
    revenue: str = "revenue",
    title: str = "Customer tiers",
    path: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    backtest: Any = None,
) -> str:
    """A self-contained HTML report (tables and embedded PNG charts) of an assignment.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign`` (or an Arrow table of it).
    features : DataFrame, optional
        Features with the ``revenue`` column, aligned by customer id; without it
        ``assignment`` must hold ``revenue``.
    model : tierkit.Model, optional
        Adds the fitted weights, cut points and the cut lines on the score chart;
        the tiers' modes and actions come from its policy.
    previous : DataFrame or Series, optional
        An earlier assignment: adds the migration heat map.
    values : mapping of str to Series, optional
        Per-customer values to show by tier, e.g. ``{"CLV (12 months)": clv,
        "P(alive)": p_alive}``.
    lift : DataFrame, optional
        A table indexed by tier with a ``lift`` column (a backtest's result).
    retention : Retention, optional
        ``tk.retention(transactions, by=assignment["tier"])``: adds the retention
        curves per tier and the cohort heat map of all customers.
    revenue : str
        Revenue column.
    title : str
        Page title and heading.
    path : str or path, optional
        Also write the page there (UTF-8).
    progress : bool, optional
        Show a progress bar over the sections (see ``tierkit.progress``).
    backtest : tierkit.lifecycle.Backtest, optional
        A backtest of the model's policy: adds its lift by tier (unless ``lift``
        is given) and, beside each criterion's weight, its rank correlation with
        the next period's revenue.

    With ``model``, the weights section shows each criterion's fitted weight beside
    its rank correlation with revenue (:meth:`Model.criteria_summary`). With
    ``features``, a customer-profile section (:func:`tierkit.profile`) shows each
    tier's mean of every numeric feature and the heat map of standardized means.

    Returns
    -------
    str: the HTML page.

    Raises
    ------
    tierkit.InvalidInputError
        When ``assignment`` has no categorical ``tier`` column.
    tierkit.ColumnNotFoundError
        When the revenue column is missing.

    Examples
    --------
    >>> import tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(500, seed=1))
    >>> m = tk.fit(tk.Policy.default(), f)
    >>> page = tk.report(m.assign(f), f, model=m, title="Q4 tiers")
    >>> page.startswith("<!DOCTYPE html>"), "<h2>Tier summary</h2>" in page
    (True, True)
    """
    from .model import summary as tier_summary

    assignment = as_frame(assignment, "assignment")
    if "tier" not in assignment.columns or not isinstance(assignment["tier"].dtype, pd.CategoricalDtype):
        raise InvalidInputError(
            "assignment: expected the DataFrame returned by Model.assign (a categorical 'tier' column)"
        )
    features = None if features is None else as_frame(features, "features")
    summary = tier_summary(assignment, features, revenue=revenue)
    n = len(assignment)

    sections: list[tuple[str, str, Callable[[], str]]] = [
        (
            "summary",
            "Tier summary",
            lambda: (
                summary_html(summary, title="Customers and revenue per tier")
                + _png(lambda ax: plot.tier_sizes(summary, ax=ax))
            ),
        ),
        (
            "pareto",
            "Revenue concentration",
            lambda: _png(lambda ax: plot.pareto_curve(assignment, features, revenue=revenue, ax=ax), (7.2, 4.4)),
        ),
        ("scores", "Scores", lambda: _png(lambda ax: plot.score_histogram(assignment, model, ax=ax))),
    ]
    if model is not None:
        sections.append(
            (
                "model",
                "Weights and cut points",
                lambda: (
                    _model_table(model)
                    + _png(lambda ax: plot.weights(model, ax=ax), (7.2, 0.45 * len(model.weights) + 1.4))
                ),
            )
        )
        source = features if features is not None else assignment
        if revenue in source.columns:
            sections.append(
                ("criteria", "Weights against value", lambda: _criteria_table(model, source, revenue, backtest))
            )
    if features is not None:
        sections.append(("profile", "Customer profiles by tier", lambda: _profile_section(assignment, features)))
    if lift is None and backtest is not None:
        lift = backtest.tiers
    sections.append(("tiers", "Tiers and service", lambda: _tiers_table(assignment, model)))
    if "reason" in assignment.columns:
        sections.append(("reasons", "Why customers are in their tier", lambda: _reasons_table(assignment)))
    if previous is not None:
        sections.append(
            (
                "migration",
                "Migration from the previous assignment",
                lambda: _png(lambda ax: plot.migration_heatmap(previous, assignment, ax=ax), (7.2, 4.6)),
            )
        )
    for k, (name, series) in enumerate((values or {}).items()):
        sections.append((f"value{k}", f"{name} by tier", _distribution_section(assignment, series, str(name))))
    if lift is not None:
        sections.append(("lift", "Backtest lift by tier", lambda: _png(lambda ax: plot.lift_by_tier(lift, ax=ax))))
    if retention is not None:
        sections.append(("retention", "Retention by first-purchase cohort", lambda: _retention_section(retention)))

    body = []
    for anchor, heading, build in _progress.progress(sections, desc="report", unit="section", enabled=progress):
        body.append(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>{build()}</section>')
    policy_name = model.policy.name if model is not None else None
    meta = f"{n:,} customers in {len(summary)} tiers"
    if policy_name:
        meta += f" &middot; policy {html.escape(repr(policy_name))}"
    meta += f" &middot; generated {_dt.date.today().isoformat()}"
    nav = "".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in sections)
    from . import __version__

    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"{_PAGE_STYLE}{STYLE}</head><body><header><h1>{html.escape(title)}</h1><p>{meta}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main>"
        f"<footer>made with tierkit {html.escape(__version__)}</footer></body></html>"
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
