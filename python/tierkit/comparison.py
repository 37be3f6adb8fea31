"""``tk.compare``: two policies side by side on the same customers.

How an analyst chooses between AHP and entropy weights, or between quotas and
thresholds: where each customer lands under each policy (a crosstab that allows
different tier names), how many move, how revenue spreads over the tiers, and,
with transactions, how well each policy's tiers predict the next period (the
backtest lift of each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._arrow import as_frame
from ._errors import InvalidInputError

__all__ = ["Comparison", "compare"]


@dataclass
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    names : (str, str)
        The two policies' labels.
    crosstab : DataFrame
        Customers per (tier under the first policy) x (tier under the second),
        every tier of each policy in its order, zeros included.
    moved : float
        Share of the customers whose tier differs: by name when both policies
        have the same tier names, else by position (tier index, 0 = best) when
        they have as many tiers; NaN when neither holds (see ``basis``).
    up, down : float
        Shares that are in a better / worse tier under the second policy (same
        basis as ``moved``).
    basis : str
        How tiers were matched: ``"name"``, ``"position"`` or ``"none"``.
    revenue : DataFrame indexed by (policy, tier)
        ``tk.summary`` under each policy: customers, customer_share, revenue,
        revenue_share, mean_score.
    lift : DataFrame indexed by tier position, or None
        With transactions: each policy's backtest summary per tier (customers,
        revenue_share, lift, stability, churn_rate), side by side under the two
        names.
    assignments : dict
        The two assignments (``Model.assign`` frames), by name.
    """

    names: tuple[str, str]
    crosstab: pd.DataFrame
    moved: float
    up: float
    down: float
    basis: str
    revenue: pd.DataFrame
    lift: pd.DataFrame | None
    assignments: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def plot(self, ax: Any = None) -> Any:
        """The crosstab as a heat map (:func:`tierkit.plot.compare_heatmap`)."""
        from .plot import compare_heatmap

        return compare_heatmap(self, ax=ax)


def compare(
    policy_a: Any,
    policy_b: Any,
    features: Any,
    transactions: pd.DataFrame | None = None,
    *,
    names: tuple[str, str] = ("a", "b"),
    revenue: str = "revenue",
    progress: bool | None = None,
    **backtest_options: Any,
) -> Comparison:
    """Fit two policies on the same features and compare their tiers.

    Parameters
    ----------
    policy_a, policy_b : Policy, dict, JSON text or path
        The two policies; their tier names may differ.
    features : DataFrame indexed by customer id, with both policies' columns and
        ``revenue``.
    transactions : DataFrame, optional
        Adds each policy's :func:`tierkit.backtest` (lift, stability and churn per
        tier over the following periods); ``backtest_options`` (``periods``,
        ``period``, ``customer``, ``date``, ``amount``, ...) go to it.
    names : (str, str)
        Labels for the two policies (default ``("a", "b")``).
    revenue : str
        The value column for the revenue shares.
    progress : bool, optional
        Progress bars of the fits and backtests (see ``tierkit.progress``).

    Returns
    -------
    Comparison with ``crosstab``, ``moved``, ``up``, ``down``, ``revenue``,
    ``lift`` and ``plot()``.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> f = pd.DataFrame({"revenue": [10.0, 20.0, 30.0, 40.0], "orders": [4.0, 3.0, 2.0, 1.0]},
    ...                  index=pd.Index([1, 2, 3, 4], name="customer"))
    >>> by_revenue = {"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["top", "rest"]}
    >>> by_orders = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.25]}, "tiers": ["A", "B"]}
    >>> c = tk.compare(by_revenue, by_orders, f, names=("revenue", "orders"))
    >>> c.crosstab.values.tolist(), c.moved, c.basis
    ([[0, 2], [1, 1]], 0.75, 'position')
    """
    from .lifecycle import backtest, crosstab_codes
    from .model import fit, summary
    from .policy import Policy

    if len(names) != 2 or names[0] == names[1]:
        raise InvalidInputError(f"names: expected two different labels, got {names!r}")
    features = as_frame(features, "features")
    policies = (Policy(policy_a), Policy(policy_b))
    assigned = []
    for policy in policies:
        model = fit(policy, features, progress=progress)
        assigned.append(model.assign(features, contributions=False))
    ta, tb = (a["tier"] for a in assigned)
    counts = crosstab_codes(ta, tb, names)[:-1, :-1]  # every customer has a tier under both policies
    crosstab = pd.DataFrame(counts, index=ta.cat.categories, columns=tb.cat.categories)
    crosstab.index.name = f"{names[0]} tier"
    crosstab.columns.name = f"{names[1]} tier"

    names_a, names_b = list(ta.cat.categories), list(tb.cat.categories)
    if names_a == names_b:
        basis = "name"
    elif len(names_a) == len(names_b):
        basis = "position"
    else:
        basis = "none"
    if basis == "none" or len(ta) == 0:
        moved = up = down = float("nan")
    else:
        ia, ib = ta.cat.codes.to_numpy(), tb.cat.codes.to_numpy()
        moved = float(np.mean(ia != ib))
        up, down = float(np.mean(ib < ia)), float(np.mean(ib > ia))

    revenue_table = pd.concat(
        {names[k]: summary(assigned[k], features, revenue=revenue) for k in range(2)}, names=["policy", "tier"]
    )

    lift = None
    if transactions is not None:
        per = []
        for policy in policies:
            s = backtest(policy, transactions, progress=progress, **backtest_options).summary
            s = s.assign(tier=s.index.astype(str)).reset_index(drop=True)
            s.index.name = "position"
            per.append(s[["tier", "customers", "revenue_share", "lift", "stability", "churn_rate"]])
        lift = pd.concat({names[0]: per[0], names[1]: per[1]}, axis=1)
    return Comparison(
        (names[0], names[1]),
        crosstab,
        moved,
        up,
        down,
        basis,
        revenue_table,
        lift,
        {names[0]: assigned[0], names[1]: assigned[1]},
    )
