"""fit, Model.assign and the tier summary."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import _callable, _core
from ._arrow import as_frame, convert_output
from ._convert import IdCodec, float_array
from ._errors import ColumnNotFoundError, InvalidInputError
from ._repr import TierSummary
from .policy import Policy

__all__ = ["Model", "fit", "load", "save", "summary"]


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
        dup = features.index[features.index.duplicated()].tolist()[0]
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


def _group_columns(spec: Any) -> list[str]:
    """Every column a rule groups by (``group_by`` anywhere in the rule)."""
    found: list[str] = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "group_by" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_group_columns(value))
    elif isinstance(spec, list):
        for value in spec:
            found.extend(_group_columns(value))
    return found


def _categories(features: pd.DataFrame, policy: Policy) -> list[tuple[str, np.ndarray, list[str]]]:
    """Categorical columns for group-wise rules: (name, int32 codes, labels)."""
    out = []
    for name in dict.fromkeys(_group_columns(policy.to_dict().get("rule", {}))):
        if name not in features.columns:
            raise ColumnNotFoundError(
                f"rule.group_by: unknown column '{name}'; available: {', '.join(map(str, features.columns))}")
        codes, labels = pd.factorize(features[name], sort=True)
        out.append((name, np.ascontiguousarray(codes, dtype=np.int32), [str(v) for v in labels]))
    return out


def _overrides(overrides: pd.DataFrame | None, policy: Policy, codec: IdCodec) -> list[tuple[int, int, str, int]]:
    """Manual overrides -> (customer code, tier index, reason, expiry day)."""
    if overrides is None:
        return []
    from ._convert import day_numbers

    for col in ("customer", "tier", "reason"):
        if col not in overrides.columns:
            raise ColumnNotFoundError(
                f"overrides: unknown column '{col}'; expected customer, tier, reason and optionally expires; "
                f"available: {', '.join(map(str, overrides.columns))}")
    tiers = policy.tier_names
    index = {t: k for k, t in enumerate(tiers)}
    if "expires" in overrides.columns:
        expires, _ = day_numbers(overrides["expires"], "expires")
        expires = np.where(expires == _core.features.missing_day, np.iinfo(np.int64).max, expires)
    else:
        expires = np.full(len(overrides), np.iinfo(np.int64).max, dtype=np.int64)
    if codec.uniques is None:
        customers = pd.Series(overrides["customer"]).astype(np.int64).to_numpy()
    else:
        customers = codec.uniques.get_indexer(overrides["customer"])  # -1 for ids not in the table
        customers = np.where(customers < 0, np.iinfo(np.int64).min + 1 + np.arange(len(customers)), customers)
    out = []
    for row, (customer, tier, reason, exp) in enumerate(zip(customers, overrides["tier"], overrides["reason"], expires)):
        if tier not in index:
            raise InvalidInputError(f"overrides, row {row}: unknown tier {tier!r}; tiers: {', '.join(tiers)}")
        out.append((int(customer), index[tier], str(reason), int(exp)))
    return out


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

    def assign(self, features: pd.DataFrame, *, contributions: bool = True, overrides: pd.DataFrame | None = None,
               as_of: Any = None, output: str | None = None) -> Any:
        """Score and tier customers.

        Parameters
        ----------
        features : DataFrame indexed by customer id with the policy's columns.
        contributions : bool
            Include ``contrib_<criterion>`` columns: each criterion's share of the
            default score (they sum to it). Other scores' are ``contrib_<score>_<criterion>``.
        overrides : DataFrame, optional
            Manual pins with columns customer, tier (name), reason and optionally
            expires (a date; the pin applies up to and including it). A pinned
            customer gets that tier and "manual: <reason>" as its reason; the
            ``pinned`` column marks them and ``attrs["overrides"]`` counts expired
            pins and lists pinned ids not in ``features``.
        as_of : date-like, optional
            The day on which expiry is judged (default: today).
        output : {"pandas", "polars", "pyarrow"}, optional
            Result type; polars and pyarrow get the customer id as the first column.
            ``features`` may also be a pyarrow Table or a polars DataFrame (the
            column ``customer`` becomes the index; numeric columns are read without
            a copy).

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
        features = as_frame(features, "features")
        policy = self.policy
        ids, names, arrays, codec = _table(features, policy.required_columns)
        pins = _overrides(overrides, policy, codec)
        as_of_day = 0
        if pins:
            from ._convert import day_number

            as_of_day = day_number(pd.Timestamp.today().normalize() if as_of is None else as_of, "as_of")
        token = _callable.current_codec.set(codec)
        try:
            out = self._core.assign(ids, names, arrays, _categories(features, policy), contributions, pins, as_of_day)
        finally:
            _callable.current_codec.reset(token)
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
        for name, values in out["extras"]:
            data[name] = values
        if overrides is not None:
            data["pinned"] = out["pinned"].astype(bool)
            data["rule_reason"] = _per_tier(out["rule_reason"], list(out["reasons"]))
        if contributions:
            for k, (cnames, cols) in enumerate(zip(out["contribution_names"], out["contributions"])):
                prefix = "contrib_" if k == 0 else f"contrib_{out['score_names'][k]}_"
                for cname, col in zip(cnames, cols):
                    data[prefix + cname] = col
            if out["contribution_names"] and out["contribution_names"][0]:
                data["top_criteria"] = _top_criteria(out["contribution_names"][0], out["contributions"][0])
        frame = pd.DataFrame({k: v for k, v in data.items() if v is not None}, index=index, copy=False)
        if overrides is not None:
            unmatched = [codec.decode_one(int(c)) if codec.uniques is None or 0 <= c < len(codec.uniques) else None
                         for c in out["overrides_unmatched"]]
            frame.attrs["overrides"] = {"expired": int(out["overrides_expired"]), "unmatched": unmatched}
        return convert_output(frame, output)

    def to_bytes(self, kind: str = "binary") -> bytes:
        """The model as bytes: a checked envelope (magic, format version, length,
        CRC-32) around a Boost.Serialization archive, ``kind`` "binary" (fast, not
        portable across platforms), "text" or "xml" (portable, readable). Holds
        parameters and aggregates only, never customer rows.

        Raises FormatError for a model whose rule is a Python callable (save the
        policy and refit instead).

        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> m = tk.fit(tk.Policy.default(), f)
        >>> tk.Model.from_bytes(m.to_bytes("xml")).assign(f)["tier"].equals(m.assign(f)["tier"])
        True
        """
        if kind not in ("binary", "text", "xml"):
            raise InvalidInputError(f"kind: expected binary, text or xml, got {kind!r}")
        return self._core.to_bytes(kind)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        """A model from :meth:`to_bytes` output (the archive kind is read from the
        envelope). Raises FormatError saying what is wrong and at which byte."""
        return cls(_core.model.Model.from_bytes(bytes(data)))

    def __reduce__(self) -> tuple:
        # pickle, copy.deepcopy and joblib go through the same bytes as model files.
        return (Model.from_bytes, (self.to_bytes("binary"),))

    def explain(self, customer: Any, features: pd.DataFrame) -> str:
        """Why a customer is in its tier: the rule branch, the score and the top
        contributing criteria with the customer's values.

        Examples
        --------
        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> m = tk.fit(tk.Policy.default(), f)
        >>> print(m.explain(f.index[0], f).splitlines()[0])  # doctest: +ELLIPSIS
        customer 1: tier ... (...)
        """
        features = as_frame(features, "features")
        if customer not in features.index:
            raise InvalidInputError(f"customer {customer!r} is not in the features")
        row = self.assign(features.loc[[customer]])
        r = row.iloc[0]
        policy = self.policy
        score_name = policy.score_names[0]
        lines = [f"customer {customer}: tier {r['tier']} ({r['mode']})",
                 f"  reason: {r['reason']}",
                 f"  {score_name} score: {r[score_name]:.1f} of 100"]
        contrib = {c[len('contrib_'):]: float(r[c]) for c in row.columns
                   if c.startswith("contrib_") and not any(c.startswith(f"contrib_{s}_") for s in policy.score_names[1:])}
        for name, value in sorted(contrib.items(), key=lambda kv: -kv[1])[:3]:
            # a derived criterion (the policy's clv columns) is in the assignment, not the features
            shown = features.loc[customer, name] if name in features.columns else r[name]
            lines.append(f"  {name} = {shown:.6g} adds {value:.1f} points")
        if r["actions"]:
            lines.append(f"  actions: {r['actions']}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        p = self.params
        cuts = {k: [round(x, 4) for x in v] for k, v in p["rule"]["parameters"].items()}
        return f"Model({self.policy.name!r}: rule {p['rule']['kind']} {cuts}; tiers {self.policy.tier_names})"

    def _repr_html_(self) -> str:
        from ._repr import model_html

        return model_html(self)


def _top_criteria(names: list[str], contributions: list[np.ndarray], top: int = 3) -> pd.Categorical:
    """Per customer, the criteria that add most to the default score, best first."""
    matrix = np.column_stack(contributions)
    k = min(top, matrix.shape[1])
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :k]
    combos, codes = np.unique(order, axis=0, return_inverse=True)
    labels = [", ".join(names[j] for j in combo) for combo in combos]
    return pd.Categorical.from_codes(codes.reshape(-1), categories=labels)


def _per_tier(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical of labels[code]; labels may repeat (two tiers, one mode)."""
    categories = list(dict.fromkeys(labels))
    remap = np.array([categories.index(label) for label in labels], dtype=np.int32)
    return pd.Categorical.from_codes(remap[codes], categories=categories)


def save(model: Model, path: Any, kind: str = "binary") -> None:
    """Write a fitted model to a file (see :meth:`Model.to_bytes`).

    >>> import tempfile, os, tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(300, seed=4))
    >>> m = tk.fit(tk.Policy.default(), f)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.tk")
    >>> tk.save(m, path); tk.load(path).policy == m.policy
    True
    """
    from pathlib import Path

    Path(path).write_bytes(model.to_bytes(kind))


def load(path: Any) -> Model:
    """Read a model written by :func:`save`. Raises FormatError for a file that is
    not a tierkit model or is truncated or corrupted."""
    from pathlib import Path

    return Model.from_bytes(Path(path).read_bytes())


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
    features = as_frame(features, "features")
    ids, names, arrays, codec = _table(features, policy.required_columns)
    token = _callable.current_codec.set(codec)
    try:
        core = _core.model.fit(policy._core, ids, names, arrays, _categories(features, policy))
    finally:
        _callable.current_codec.reset(token)
    model = Model(core)
    model._policy = policy  # keeps a Python rule's callable alive with the model
    return model


def summary(assignment: pd.DataFrame, features: pd.DataFrame | None = None, *, revenue: str = "revenue",
            score: str | None = None, output: str | None = None) -> Any:
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
    output : {"pandas", "polars", "pyarrow"}, optional
        Result type. The pandas result renders with share bars in Jupyter.

    Examples
    --------
    >>> import tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(2000, seed=2))
    >>> s = tk.summary(tk.fit(tk.Policy.default(), f).assign(f), f)
    >>> list(s.columns)
    ['customers', 'customer_share', 'revenue', 'revenue_share', 'mean_score']
    """
    assignment = as_frame(assignment, "assignment")
    features = None if features is None else as_frame(features, "features")
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
    return convert_output(TierSummary(frame), output)
