"""HTML views for Jupyter (``_repr_html_``) and for ``tk.report``.

Every builder returns one self-contained ``<div class="tk">`` fragment with its
own scoped style, so it renders the same in a notebook, in JupyterLab's dark
theme (it sets its own colours) and inside the HTML report.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STYLE", "TierSummary", "model_html", "policy_html", "summary_html", "table_html"]

STYLE = """<style>
.tk{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;color:#1f2328;background:#fff;
    padding:8px 12px;border-left:3px solid #2f6f9f;max-width:980px}
.tk h3{font-size:15px;margin:4px 0 6px 0}.tk h4{font-size:13px;margin:10px 0 4px 0;color:#2f6f9f}
.tk table{border-collapse:collapse;margin:2px 0 6px 0}
.tk th,.tk td{border-bottom:1px solid #d8dee4;padding:3px 8px;text-align:left;vertical-align:top}
.tk th{background:#f3f6f9;font-weight:600}.tk td.num{text-align:right;font-variant-numeric:tabular-nums}
.tk .muted{color:#636c76}
.tk .bar{display:inline-block;height:9px;background:#2f6f9f;margin-right:6px;vertical-align:middle}
.tk .bar.rev{background:#d08a2e}.tk code{background:#f3f6f9;padding:0 3px}
</style>"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _e(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "-" if math.isnan(value) else _e(value)
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    return f"{value:.{digits}g}"


def table_html(header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool] | None = None) -> str:
    """An HTML table; cells are escaped, numbers right-aligned and formatted.

    Examples
    --------
    >>> from tierkit._repr import table_html
    >>> table_html(["tier", "customers"], [["key", 5]])
    '<table><tr><th>tier</th><th>customers</th></tr><tr><td>key</td><td class="num">5</td></tr></table>'
    """
    out = ["<table><tr>", "".join(f"<th>{_e(h)}</th>" for h in header), "</tr>"]
    for row in rows:
        cells = []
        for k, v in enumerate(row):
            is_num = numeric[k] if numeric is not None else isinstance(v, (int, float)) and not isinstance(v, bool)
            text = _num(v) if is_num else (v.html if isinstance(v, _Raw) else _e(v))
            cells.append(f'<td class="num">{text}</td>' if is_num else f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


class _Raw:
    """Already-escaped HTML for a table cell."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text


def _wrap(title: str, body: str) -> str:
    return f'{STYLE}<div class="tk"><h3>{_e(title)}</h3>{body}</div>'


def _tiers_html(tiers: list[dict[str, Any]]) -> str:
    rows = [[t["name"], t.get("mode", ""), "; ".join(t.get("actions", [])), t.get("description", "")] for t in tiers]
    return table_html(
        ["tier", "relationship mode", "service actions", "description"], rows, numeric=[False, False, False, False]
    )


def _rule_text(rule: dict[str, Any]) -> str:
    params = ", ".join(f"{k}={_json(v)}" for k, v in rule.items() if k != "kind")
    return f"<code>{_e(rule['kind'])}</code>" + (f" <span class='muted'>{_e(params)}</span>" if params else "")


def _json(value: Any) -> str:
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    return str(value)


def policy_html(policy: Any) -> str:
    """The policy as HTML: its scores with their criteria and weighting, the rule
    and the tiers with relationship modes and service actions.

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit._repr import policy_html
    >>> "<h4>Tiers</h4>" in policy_html(tk.Policy.default())
    True
    """
    d = policy.to_dict()
    parts = []
    if d.get("description"):
        parts.append(f"<p class='muted'>{_e(d['description'])}</p>")
    for score in d["scores"]:
        w = score["weights"]
        wtext = ", ".join(f"{k}={_json(v)}" for k, v in w.items() if k != "method")
        parts.append(
            f"<h4>Score <code>{_e(score['name'])}</code>: {_e(score['method'])}, weights "
            f"{_e(w['method'])}{(' (' + _e(wtext) + ')') if wtext else ''}</h4>"
        )
        rows = []
        for c in score["criteria"]:
            clip = c.get("clip")
            normalizer = c["normalizer"] + (f" ({c['bins']} bins)" if c.get("bins") else "")
            rows.append(
                [
                    c["column"],
                    c["direction"],
                    c["transform"],
                    "" if clip is None else _json(clip),
                    normalizer,
                    c.get("weight", ""),
                ]
            )
        parts.append(
            table_html(
                ["criterion", "direction", "transform", "clip", "normalizer", "weight"],
                rows,
                numeric=[False, False, False, False, False, True],
            )
        )
    parts.append(f"<h4>Rule</h4><p>{_rule_text(d['rule'])}</p>")
    parts.append("<h4>Tiers</h4>" + _tiers_html(d["tiers"]))
    return _wrap(f"Policy {d['name']!r}", "".join(parts))


def model_html(model: Any) -> str:
    """The fitted model as HTML: per score the criteria with their fitted weights
    and statistics and the AHP consistency ratio; the rule with its fitted cut
    points and reasons; the tiers. Any further fitted section (e.g. a CLV model)
    is shown as a parameter table.

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit._repr import model_html
    >>> f = tk.summarize(tk.datasets.synthetic(300, seed=1))
    >>> "cuts" in model_html(tk.fit(tk.Policy.default(), f))
    True
    """
    p = model.params
    policy = model.policy.to_dict()
    parts = []
    for score in p["scores"]:
        head = f"<h4>Score <code>{_e(score['name'])}</code>: {_e(score['method'])}"
        cr = score.get("ahp_consistency_ratio")
        if isinstance(cr, float) and not math.isnan(cr):
            head += f", AHP consistency ratio {cr:.4f} (lambda_max {score['ahp_lambda_max']:.4f})"
        parts.append(head + "</h4>")
        rows = []
        for c, w in zip(score["criteria"], score["weights"]):
            rows.append([c["column"], c["direction"], c["normalizer"], w, c.get("min"), c.get("median"), c.get("max")])
        parts.append(
            table_html(
                ["criterion", "direction", "normalizer", "weight", "min", "median", "max"],
                rows,
                numeric=[False, False, False, True, True, True, True],
            )
        )
    rule = p["rule"]
    rows = [[k, _json(v)] for k, v in rule.get("parameters", {}).items()]
    parts.append(f"<h4>Rule <code>{_e(rule['kind'])}</code></h4>")
    if rows:
        parts.append(table_html(["parameter", "fitted value"], rows, numeric=[False, False]))
    reasons = rule.get("reasons", [])
    if reasons:
        parts.append(
            "<table><tr><th>tier</th><th>reason</th></tr>"
            + "".join(f"<tr><td>{_e(t['name'])}</td><td>{_e(r)}</td></tr>" for t, r in zip(policy["tiers"], reasons))
            + "</table>"
        )
    for key, value in p.items():
        if key in ("scores", "rule"):
            continue
        parts.append(f"<h4>{_e(key)}</h4>" + _mapping_html(value))
    parts.append("<h4>Tiers</h4>" + _tiers_html(policy["tiers"]))
    return _wrap(f"Model {policy['name']!r}", "".join(parts))


def _mapping_html(value: Any) -> str:
    if isinstance(value, dict):
        return table_html(["name", "value"], [[k, _json(v)] for k, v in value.items()], numeric=[False, False])
    if isinstance(value, pd.DataFrame):
        return value.to_html()
    return f"<p>{_e(value)}</p>"


def summary_html(summary: pd.DataFrame, title: str = "Tier summary") -> str:
    """The tier summary (``tk.summary``) as HTML with share bars.

    Examples
    --------
    >>> import pandas as pd
    >>> from tierkit._repr import summary_html
    >>> s = pd.DataFrame({"customers": [1, 3], "customer_share": [0.25, 0.75], "revenue": [90.0, 10.0],
    ...                   "revenue_share": [0.9, 0.1], "mean_score": [80.0, 20.0]},
    ...                  index=pd.Index(["key", "ordinary"], name="tier"))
    >>> "90.0%" in summary_html(s)
    True
    """
    rows = []
    for tier, r in summary.iterrows():
        cs, rs = float(r["customer_share"]), float(r["revenue_share"])
        rows.append(
            [
                tier,
                int(r["customers"]),
                _Raw(f"<span class='bar' style='width:{max(0.0, 100 * cs):.1f}px'></span>{100 * cs:.1f}%"),
                float(r["revenue"]),
                _Raw(f"<span class='bar rev' style='width:{max(0.0, 100 * rs):.1f}px'></span>{100 * rs:.1f}%"),
                float(r["mean_score"]),
            ]
        )
    body = table_html(
        ["tier", "customers", "% customers", "revenue", "% revenue", "mean score"],
        rows,
        numeric=[False, True, False, True, False, True],
    )
    total = int(summary["customers"].sum())
    with np.errstate(over="ignore"):  # tiers' revenues near the largest double add up to inf
        revenue = float(summary["revenue"].sum())
    body += f"<p class='muted'>{total:,} customers, revenue {revenue:,.2f}</p>"
    return _wrap(title, body)


class TierSummary(pd.DataFrame):
    """The DataFrame ``tk.summary`` returns; in Jupyter it renders with share bars.

    Anything derived from it (a slice, a sum) is a plain DataFrame again.
    """

    _COLUMNS = ("customers", "customer_share", "revenue", "revenue_share", "mean_score")

    def _repr_html_(self) -> str | None:
        if not all(c in self.columns for c in self._COLUMNS):
            # pandas-stubs leave out DataFrame._repr_html_ (pandas' notebook hook)
            html: str | None = super()._repr_html_()  # type: ignore[misc]
            return html
        return summary_html(self)
