"""fit, Model.assign and the tier summary."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._convert import IdCodec, float_array
from ._errors import ColumnNotFoundError, InvalidInputError
from .policy import Policy

__all__ = ["Model", "fit", "summary"]


def _numeric_columns(features: pd.DataFrame) -> tuple[list[str], list[np.ndarray]]:
    names, arrays = [], []
    for name in features.columns:
        s = features[name]
        if s.dtype.kind in "biuf":
            names.append(str(name))
            arrays.append(float_array(s, str(name)))
    return names, arrays


def _table(features: pd.DataFrame, needed: list[str]) -> tuple[np.ndarray, list[str], list[np.ndarray], IdCodec]:
    if not isinstance(features, pd.DataFrame):
        raise InvalidInputError(f"features: expected a pandas DataFrame, got {type(features).__name__}")
    if features.index.has_duplicates:
        dup = features.index[features.index.duplicated()][0]
        raise InvalidInputError(f"features: customer id {dup!r} appears more than once in the index")
    codec = IdCodec(features.index, name=features.index.name or "customer")
    names, arrays = [], []
    for name in needed:
        if name in features.columns:
            names.append(name)
            arrays.append(float_array(features[name], name))
    # Every other numeric column too, so rules may read any of them.
    for name, arr in zip(*_numeric_columns(features)):
        if name not in names:
            names.append(name)
            arrays.append(arr)
    return codec.codes, names, arrays, codec


class Model:
    """A fitted policy: normalizer statistics, weights and cut points.

    Immutable; ``assign`` may be called from many threads at once. Holds
    parameters and aggregates only, never customer rows.
    """

    def __init__(self, core: Any) -> None:
        self._core = core

    @property
    def policy(self) -> Policy:
        return Policy(self._core.policy)

    @property
    def weights(self) -> pd.DataFrame:
        """Criterion weights per score: columns score, criterion, weight."""
        rows = []
        for s in self._core.fitted()["scores"]:
            for c, w in zip(s["criteria"], s["weights"]):
                rows.append({"score": s["name"], "criterion": c["column"], "weight": w})
        return pd.DataFrame(rows)

    @property
    def params(self) -> dict[str, Any]:
        """Everything learned: per score the criteria statistics, weights and AHP
        consistency; the rule's kind, parameters (e.g. cut points) and reasons."""
        return self._core.fitted()

    def assign(self, features: pd.DataFrame, *, contributions: bool = True) -> pd.DataFrame:
        """Score and tier customers.

        Parameters
        ----------
        features : DataFrame indexed by customer id with the policy's columns.
        contributions : bool
            Include ``contrib_<criterion>`` columns: each criterion's share of the
            default score (they sum to it). Other scores' are ``contrib_<score>_<criterion>``.

        Returns
        -------
        DataFrame with the same index: one column per score (0..100), ``tier``
        (ordered categorical, best first), ``tier_index`` (0 = best), ``mode``
        (relationship mode), ``actions`` (service actions), ``reason`` (the rule
        branch) and the contributions.

        Examples
        --------
        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> out = tk.fit(tk.Policy.default(), f).assign(f)
        >>> list(out.columns[:4])
        ['value', 'tier', 'tier_index', 'mode']
        """
        ids, names, arrays, _ = _table(features, self.policy.required_columns)
        out = self._core.assign(ids, names, arrays, contributions)
        index = features.index
        data: dict[str, Any] = {}
        for name, score in zip(out["score_names"], out["scores"]):
            data[name] = score
        tier_names = list(out["tier_names"])
        tier = out["tier"]
        data["tier"] = pd.Categorical.from_codes(tier, categories=tier_names, ordered=True)
        data["tier_index"] = tier
        data["mode"] = _per_tier(tier, list(out["tier_modes"]))
        data["actions"] = _per_tier(tier, ["; ".join(a) for a in out["tier_actions"]])
        data["reason"] = _per_tier(out["reason"], list(out["reasons"]))
        if contributions:
            for k, (cnames, cols) in enumerate(zip(out["contribution_names"], out["contributions"])):
                prefix = "contrib_" if k == 0 else f"contrib_{out['score_names'][k]}_"
                for cname, col in zip(cnames, cols):
                    data[prefix + cname] = col
        return pd.DataFrame(data, index=index, copy=False)

    def __repr__(self) -> str:
        p = self.params
        cuts = {k: [round(x, 4) for x in v] for k, v in p["rule"]["parameters"].items()}
        return f"Model({self.policy.name!r}: rule {p['rule']['kind']} {cuts}; tiers {self.policy.tier_names})"


def _per_tier(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical of labels[code]; labels may repeat (two tiers, one mode)."""
    categories = list(dict.fromkeys(labels))
    remap = np.array([categories.index(label) for label in labels], dtype=np.int32)
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def fit(policy: Policy | dict | str, features: pd.DataFrame) -> Model:
    """Fit a policy on customer features: normalizer statistics, data-driven
    weights (AHP, entropy, CRITIC) and the rule's cut points.

    Raises ColumnNotFoundError (listing the available columns) when a criterion's
    column is missing, InvalidInputError for NaN/inf values (naming column and
    row), NumericError when an AHP matrix is too inconsistent.

    Examples
    --------
    >>> import tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
    >>> m = tk.fit(tk.Policy.default(), f)
    >>> m.weights["weight"].round(2).tolist()
    [0.4, 0.25, 0.2, 0.15]
    """
    policy = Policy(policy)
    ids, names, arrays, _ = _table(features, policy.required_columns)
    return Model(_core.model.fit(policy._core, ids, names, arrays))


def summary(assignment: pd.DataFrame, features: pd.DataFrame | None = None, *, revenue: str = "revenue",
            score: str | None = None) -> pd.DataFrame:
    """The Pareto view per tier: customers, share of customers, revenue, share of
    revenue, mean score.

    Parameters
    ----------
    assignment : DataFrame from ``Model.assign``.
    features : DataFrame with the revenue column (aligned by customer id); when
        omitted, ``assignment`` itself must hold it.
    revenue : str
        The value column to sum.
    score : str, optional
        Score column to average; defaults to the first score.

    Examples
    --------
    >>> import tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(2000, seed=2))
    >>> s = tk.summary(tk.fit(tk.Policy.default(), f).assign(f), f)
    >>> list(s.columns)
    ['customers', 'customer_share', 'revenue', 'revenue_share', 'mean_score']
    """
    if "tier" not in assignment.columns or not isinstance(assignment["tier"].dtype, pd.CategoricalDtype):
        raise InvalidInputError("assignment: expected the DataFrame returned by Model.assign (a categorical 'tier' column)")
    source = assignment if features is None else features
    if revenue not in source.columns:
        raise ColumnNotFoundError(f"revenue: unknown column '{revenue}'; available: {', '.join(map(str, source.columns))}")
    values = source[revenue] if features is None else features[revenue].reindex(assignment.index)
    if values.isna().any():
        missing = values.index[values.isna()][0]
        raise InvalidInputError(f"revenue: no value for customer {missing!r} of the assignment")
    if score is None:
        score = str(assignment.columns[0])
    tier = assignment["tier"]
    out = _core.model.tier_summary(
        np.ascontiguousarray(tier.cat.codes.to_numpy(), dtype=np.int32), list(tier.cat.categories),
        float_array(assignment[score], score), float_array(values, revenue))
    frame = pd.DataFrame({k: out[k] for k in ("customers", "customer_share", "revenue", "revenue_share", "mean_score")},
                         index=pd.Index(out["tier"], name="tier"))
    return frame
