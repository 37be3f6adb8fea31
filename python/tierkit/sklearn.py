"""scikit-learn estimators over the tierkit core.

``TierClassifier`` (fit a policy, predict tiers, transform to scores),
``ValueScorer`` (transform to the composite scores and each criterion's
contribution) and ``RFMSegmenter`` (R, F, M scores 1..k and named segments).
They follow scikit-learn's conventions: parameters only in ``__init__`` and
validated in ``fit``, learned attributes ending in ``_``, ``get_params`` /
``set_params`` / ``clone``, ``NotFittedError`` before ``fit``,
``set_output(transform="pandas"|"polars")``, and they work inside ``Pipeline`` and
``ColumnTransformer``.

Input: numpy arrays (columns are then named ``x0``, ``x1``, ...), pandas
DataFrames (numeric columns are used; dates, strings and categoricals are skipped,
as ``tk.fit`` does) and Arrow tables (pyarrow, polars; a ``customer`` column becomes
the index). The policy names its criteria by column, so with a numpy array a
policy refers to ``x0``, ``x1``, ...; without a policy every column is a criterion.

Errors are tierkit's: :class:`tierkit.InvalidInputError` (a ``ValueError``) naming
the column and row, :class:`tierkit.ColumnNotFoundError` listing the columns.

Examples
--------
>>> import numpy as np
>>> from tierkit.sklearn import TierClassifier
>>> X = np.array([[1.0, 10], [2, 20], [3, 30], [4, 40]])
>>> clf = TierClassifier({"criteria": ["x0", "x1"], "rule": {"kind": "quantiles", "shares": [0.25]},
...                       "tiers": ["top", "rest"]}).fit(X)
>>> clf.predict(X).tolist()
['rest', 'rest', 'rest', 'top']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from . import _core
from ._arrow import as_frame, convert_output, is_arrow
from ._errors import InvalidInputError, PolicyError
from .model import Model, fit
from .policy import Policy

__all__ = ["DEFAULT_RFM_SEGMENTS", "RFMSegmenter", "TierClassifier", "ValueScorer"]


# scikit-learn ships no type information: its base classes and decorators are Any to mypy.
class _TierkitEstimator(BaseEstimator):  # type: ignore[misc]
    """Input handling shared by the estimators."""

    # What fit sets (scikit-learn's trailing-underscore convention).
    policy_: Policy
    model_: Model

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        tags.requires_fit = True
        return tags

    def _validate(self, X: Any, *, reset: bool) -> tuple[pd.DataFrame, pd.Index | None]:
        """X as a float DataFrame with one contiguous column per feature, and the
        index of X when it was a DataFrame (for ``assign``)."""
        # scipy's dok sparse format is a dict: leave sparse input to validate_data's error.
        if not issparse(X) and (is_arrow(X) or isinstance(X, dict) or (isinstance(X, np.ndarray) and X.dtype.names)):
            X = as_frame(X, "X")
        index = None
        if isinstance(X, pd.DataFrame):
            index = X.index
            X = X[
                [
                    c
                    for c in X.columns
                    if getattr(X[c].dtype, "kind", "O") in "biuf" and not isinstance(X[c].dtype, pd.CategoricalDtype)
                ]
            ]
        try:
            array = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=False, order="F")
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        names = self._feature_names()
        bad = ~np.isfinite(array)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            value = array[row, col]
            raise InvalidInputError(
                f"X: column '{names[col]}', row {row}: must be a finite number, got "
                f"{'NaN' if np.isnan(value) else value}"
            )
        frame = pd.DataFrame({name: array[:, j] for j, name in enumerate(names)}, copy=False)
        return frame, index

    def _feature_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def _resolve_policy(self, names: list[str]) -> Policy:
        if self.policy is None:
            return _auto_policy(names)
        return Policy(self.policy)

    def _fit_model(self, X: Any) -> pd.DataFrame:
        frame, _ = self._validate(X, reset=True)
        self.policy_ = self._resolve_policy(list(frame.columns))
        self.model_ = fit(self.policy_, frame, progress=getattr(self, "progress", None))
        return frame


def _rule_kind(policy: Any) -> str | None:
    try:
        kind: str | None = Policy(policy).to_dict()["rule"].get("kind")
        return kind
    except Exception:  # an invalid policy: fit reports it
        return None


def _has_memberships(est: TierClassifier) -> bool:
    """predict_proba exists for a kmeans rule (the fitted policy when fitted)."""
    policy = getattr(est, "policy_", None)
    if policy is None:
        policy = est.policy
    return policy is not None and _rule_kind(policy) == "kmeans"


def _fuzzy_memberships(d: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Fuzzy c-means memberships (m = 2) from distances (n x t); a tier with no
    centre has an infinite distance and membership 0; rows at distance 0 of some
    tiers share 1 among those."""
    zero = d == 0
    with np.errstate(divide="ignore"):
        inv: npt.NDArray[np.float64] = np.where(zero, 0.0, 1.0 / (d * d))
    out: npt.NDArray[np.float64] = inv / inv.sum(axis=1, keepdims=True)
    on_centre = zero.any(axis=1)
    if on_centre.any():
        out[on_centre] = zero[on_centre] / zero[on_centre].sum(axis=1, keepdims=True)
    return out


def _auto_policy(names: list[str]) -> Policy:
    """Every column a criterion (percentile, equal weights) with the default
    policy's tiers and quotas."""
    spec = Policy.default().to_dict()
    spec["name"] = "auto"
    spec["description"] = "every column a criterion, equal weights, default tiers and quotas"
    spec["scores"] = [{"name": "score", "criteria": [{"column": n, "normalizer": "percentile"} for n in names]}]
    spec["rule"] = {k: v for k, v in spec["rule"].items() if k != "score"}
    return Policy(spec)


class TierClassifier(TransformerMixin, _TierkitEstimator):  # type: ignore[misc]  # TransformerMixin is Any
    """Fit a tiering policy; predict tiers, transform to scores.

    Unsupervised: ``y`` is ignored. ``classes_`` holds the tier names, best
    first, and ``predict`` returns them.

    Parameters
    ----------
    policy : dict, str, path or tierkit.Policy, optional
        The policy (see ``tk.Policy``). Its criteria name columns of ``X``
        (``x0``, ``x1``, ... for numpy input). By default every column is a
        criterion with equal weight, and the default tiers and quotas apply
        (key 5%, high-value 15%, ordinary 50%, potential 30%).
    progress : bool, optional
        Show progress bars while fitting (a ``kmeans`` rule's Lloyd iterations,
        a ``clv`` section's optimizer iterations; see ``tk.fit``). By default
        only in an interactive session or with ``TIERKIT_PROGRESS=1``.

    Attributes
    ----------
    policy_ : tierkit.Policy
        The policy used.
    model_ : tierkit.Model
        The fitted model (``model_.params``, ``model_.weights``).
    classes_ : ndarray of str
        Tier names, best first.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Notes
    -----
    ``predict_proba`` exists when the policy's rule is ``kmeans``: it gives
    fuzzy c-means memberships (fuzzifier m = 2) from the distance of each row to
    the nearest centre of every tier, u_t = d_t^-2 / sum_s d_s^-2 (a row on a
    centre belongs to its tier with 1). The other rules (thresholds, quantiles,
    abc, matrix, expression, ...) assign a tier without a graded membership, so
    they have no ``predict_proba`` (``hasattr`` is False, as scikit-learn does
    for estimators without probabilities).

    scikit-learn's estimator checks that do not apply (expected failures in
    ``tests/python/test_sklearn.py``):

    - ``check_methods_subset_invariance``, ``check_methods_sample_order_invariance``,
      ``check_fit_idempotent``, ``check_estimators_pickle``: they compare ``predict`` outputs with
      ``assert_allclose``, which takes numbers only, and tiers are names. The same
      invariances are tested on the names.
    - ``check_fit2d_1sample`` with a ``kmeans`` rule: fitting k clusters on one row
      fails with "needs at least as many rows as clusters", not the "1 sample"
      wording the check looks for.

    Examples
    --------
    >>> import tierkit as tk
    >>> from tierkit.sklearn import TierClassifier
    >>> features = tk.summarize(tk.datasets.synthetic(1000, seed=3))
    >>> clf = TierClassifier(tk.Policy.default()).fit(features)
    >>> clf.classes_.tolist()
    ['key', 'high-value', 'ordinary', 'potential']
    >>> tiers = clf.predict(features)
    >>> round(float((tiers == "key").mean()), 2)
    0.05
    """

    classes_: npt.NDArray[np.object_]

    def __init__(self, policy: Any = None, progress: bool | None = None) -> None:
        self.policy = policy
        self.progress = progress

    def fit(self, X: Any, y: Any = None) -> TierClassifier:
        """Fit the policy on ``X`` (normalizer statistics, weights, cut points).

        Parameters
        ----------
        X : array-like, DataFrame or Arrow table of shape (n_customers, n_features)
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        tierkit.InvalidInputError
            For NaN/inf (naming column and row), empty or non-2-d input.
        tierkit.ColumnNotFoundError
            When a criterion's column is not in ``X``.
        tierkit.PolicyError
            For an invalid policy.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import TierClassifier
        >>> TierClassifier().fit(np.arange(20.0).reshape(10, 2)).n_features_in_
        2
        """
        self._fit_model(X)
        self.classes_ = np.asarray(self.policy_.tier_names, dtype=object)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The tier name of every row.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import TierClassifier
        >>> X = np.arange(40.0).reshape(20, 2)
        >>> TierClassifier().fit(X).predict(X[-1:]).tolist()
        ['key']
        """
        out = self._assign(X, contributions=False)
        names: npt.NDArray[np.object_] = self.classes_[out["tier_index"].to_numpy()]
        return names

    @available_if(_has_memberships)  # type: ignore[untyped-decorator]  # scikit-learn's, untyped
    def predict_proba(self, X: Any) -> np.ndarray:
        """Tier memberships, shape (n, n_tiers), rows summing to 1, columns in
        ``classes_`` order; only for a ``kmeans`` rule (see Notes).

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import TierClassifier
        >>> X = np.array([[0.0], [1.0], [9.0], [10.0]])
        >>> clf = TierClassifier({"criteria": [{"column": "x0", "normalizer": "minmax"}],
        ...                       "rule": {"kind": "kmeans", "k": 2, "seed": 1},
        ...                       "tiers": ["high", "low"]}).fit(X)
        >>> clf.predict(X).tolist()
        ['low', 'low', 'high', 'high']
        >>> np.round(clf.predict_proba(X[1:2]), 4).tolist()
        [[0.0034, 0.9966]]
        """
        out = self._assign(X, contributions=False)
        d = np.column_stack([out[f"distance_{t}"].to_numpy(dtype=np.float64) for t in range(len(self.classes_))])
        return _fuzzy_memberships(d)

    def transform(self, X: Any) -> np.ndarray:
        """The policy's scores (0..100), one column per score.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import TierClassifier
        >>> X = np.array([[1.0], [2.0], [3.0]])
        >>> TierClassifier().fit(X).transform(X).ravel().tolist()
        [0.0, 50.0, 100.0]
        """
        out = self._assign(X, contributions=False)
        return np.column_stack([out[s].to_numpy(dtype=np.float64) for s in self.policy_.score_names])

    def assign(self, X: Any, *, contributions: bool = True, output: str | None = None) -> Any:
        """The full assignment (scores, tier, mode, actions, reason, contributions),
        indexed like ``X`` when it is a DataFrame; see ``tk.Model.assign``.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import TierClassifier
        >>> X = np.arange(40.0).reshape(20, 2)
        >>> TierClassifier().fit(X).assign(X)["mode"].iloc[-1]
        'strategic'
        """
        out = self._assign(X, contributions=contributions)
        return convert_output(out, output)

    def _assign(self, X: Any, *, contributions: bool) -> pd.DataFrame:
        check_is_fitted(self)
        frame, index = self._validate(X, reset=False)
        out: pd.DataFrame = self.model_.assign(frame, contributions=contributions)
        if index is not None:
            out.index = index
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the ``transform`` columns: the policy's score names.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import TierClassifier
        >>> TierClassifier().fit(np.ones((3, 2))).get_feature_names_out().tolist()
        ['score']
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return np.asarray(self.policy_.score_names, dtype=object)


class ValueScorer(TransformerMixin, _TierkitEstimator):  # type: ignore[misc]  # TransformerMixin is Any
    """Transform to the composite value score(s) and each criterion's contribution.

    Parameters
    ----------
    policy : dict, str, path or tierkit.Policy, optional
        As for :class:`TierClassifier`; only its scores matter here.
    contributions : bool, default True
        Also output each criterion's contribution: ``contrib_<criterion>`` for the
        first score (they sum to it), ``contrib_<score>_<criterion>`` for others.
    progress : bool, optional
        As for :class:`TierClassifier`.

    Attributes
    ----------
    policy_, model_, n_features_in_, feature_names_in_
        As for :class:`TierClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from tierkit.sklearn import ValueScorer
    >>> X = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 0.0]])
    >>> vs = ValueScorer({"criteria": [{"column": "x0", "normalizer": "minmax", "weight": 3},
    ...                                {"column": "x1", "normalizer": "minmax", "weight": 1}],
    ...                   "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]}).fit(X)
    >>> vs.get_feature_names_out().tolist()
    ['score', 'contrib_x0', 'contrib_x1']
    >>> vs.transform(X).tolist()
    [[25.0, 0.0, 25.0], [50.0, 37.5, 12.5], [75.0, 75.0, 0.0]]
    """

    def __init__(self, policy: Any = None, contributions: bool = True, progress: bool | None = None) -> None:
        self.policy = policy
        self.contributions = contributions
        self.progress = progress

    def fit(self, X: Any, y: Any = None) -> ValueScorer:
        """Fit the policy's scores on ``X``; raises as :meth:`TierClassifier.fit`.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import ValueScorer
        >>> ValueScorer().fit(np.ones((3, 2))).model_.weights["weight"].tolist()
        [0.5, 0.5]
        """
        if not isinstance(self.contributions, (bool, np.bool_)):
            raise InvalidInputError(f"contributions: must be True or False, got {self.contributions!r}")
        self._fit_model(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Scores (0..100) then, with ``contributions``, the contributions.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import ValueScorer
        >>> X = np.array([[1.0], [3.0]])
        >>> ValueScorer(contributions=False).fit(X).transform(X).ravel().tolist()
        [0.0, 100.0]
        """
        check_is_fitted(self)
        frame, _ = self._validate(X, reset=False)
        out = self.model_.assign(frame, contributions=bool(self.contributions))
        return np.column_stack([out[c].to_numpy(dtype=np.float64) for c in self._output_names()])

    def _output_names(self) -> list[str]:
        names = list(self.policy_.score_names)
        if self.contributions:
            for k, score in enumerate(self.model_.params["scores"]):
                prefix = "contrib_" if k == 0 else f"contrib_{score['name']}_"
                names += [prefix + c["column"] for c in score["criteria"]]
        return names

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the ``transform`` columns: scores, then contributions.

        Examples
        --------
        >>> import pandas as pd
        >>> from tierkit.sklearn import ValueScorer
        >>> X = pd.DataFrame({"revenue": [1.0, 2.0], "orders": [3.0, 1.0]})
        >>> ValueScorer().fit(X).get_feature_names_out().tolist()
        ['score', 'contrib_revenue', 'contrib_orders']
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return np.asarray(self._output_names(), dtype=object)


#: The default segment table of the core ``rfm_segments`` rule (5 bins), as the core
#: holds it: the 11-segment map of R against (F + M) / 2 (Putler's grid), spelled as
#: disjoint rectangles so each of the 125 (R, F, M) cells has exactly one segment. The
#: core rule documents its sources and how the published overlaps are resolved
#: (include/tierkit/rules/builtin/rfm_segments.hpp). Ordered best first.
DEFAULT_RFM_SEGMENTS: tuple[dict[str, Any], ...] = tuple(
    {key: list(value) if isinstance(value, tuple) else value for key, value in rule.items()}
    for rule in _core.rules.default_rfm_segments()
)


def _segment_names(table: Any, fallback: str | None) -> list[str]:
    """Segment names in table order (each once), then the fallback. The core rule
    validates the ranges and reports cells that no segment matches."""
    names: list[str] = []
    for i, rule in enumerate(table):
        if not isinstance(rule, dict) or "name" not in rule:
            raise PolicyError(f"segments[{i}]: expected an object with a name and r/f/m/fm ranges, got {rule!r}")
        if str(rule["name"]) not in names:
            names.append(str(rule["name"]))
    if fallback is not None and fallback not in names:
        names.append(fallback)
    return names


class RFMSegmenter(TransformerMixin, _TierkitEstimator):  # type: ignore[misc]  # TransformerMixin is Any
    """R, F and M scores 1..k by quantiles, the RFM cell and a named segment.

    R scores recency (the most recent customers get k), F purchase frequency and
    M spend; each customer's rank p = (rank - 1) / (n - 1) among the fitted
    customers (ties averaged) gives the score min(k, 1 + floor(k p)), so 10
    distinct customers make 2 per quintile. New customers are scored against the
    fitted data. The segment comes from an ordered table of score ranges (first
    match wins); the default is the 11-segment map (Champions ... Lost).

    The work is done by the core's ``rfm_segments`` rule, so the same segments
    come from a policy with that rule in C++ or in ``tk.fit``.

    Parameters
    ----------
    bins : int, default 5
        Number of score levels k (2..9).
    recency, frequency, monetary : str or int
        The columns (names, or positions in ``X``): recency in days (lower is
        better), frequency and monetary (higher is better). Monetary defaults to
        ``revenue`` (total spend): lifetimes' ``monetary_value`` is 0 for every
        one-time buyer.
    ties : {"average", "min", "max", "dense", "first"}
        Rank of tied values (see the core rule's documentation).
    segments : "default" or list of dict
        Ordered rules ``{"name": ..., "r": [lo, hi], "f": [lo, hi], "m": [lo, hi]}``
        or with ``"fm": [lo, hi]`` on (F + M) / 2; inclusive ranges, an omitted
        key matches any score. ``"default"`` is :data:`DEFAULT_RFM_SEGMENTS`.
    fallback : str, optional
        Segment for cells no rule matches; without it such a table is a
        PolicyError listing the unmatched cells (as RFM codes, e.g. 111).
    min_group : int, optional
        The policy's ``privacy.min_group``: the score thresholds the model stores
        are each shared by, or the mean of, at least that many customers. By
        default min(5, rows // 50), at least 1 (include/tierkit/privacy.hpp), so
        on 250 customers or more a customer next to a threshold may get the score
        beside the rank formula's; ``1`` keeps the exact thresholds.

    Attributes
    ----------
    policy_, model_
        The tierkit policy (an ``rfm_segments`` rule whose tiers are the
        segments) and its fit.
    classes_ : ndarray of str
        Segment names in table order.

    Notes
    -----
    scikit-learn's estimator checks that do not apply (expected failures in
    ``tests/python/test_sklearn.py``): ``check_estimators_pickle``, ``check_methods_subset_invariance``, ``check_methods_sample_order_invariance``
    and ``check_fit_idempotent`` compare ``predict`` outputs with
    ``assert_allclose`` (numbers only) while segments are names; the same
    invariances are tested on the names.

    Examples
    --------
    >>> import pandas as pd
    >>> from tierkit.sklearn import RFMSegmenter
    >>> f = pd.DataFrame({"days_since_last": [1.0, 5, 30, 90, 300],
    ...                   "frequency": [20.0, 8, 3, 1, 0],
    ...                   "revenue": [500.0, 80, 60, 20, 10]})
    >>> rfm = RFMSegmenter().fit(f)
    >>> rfm.transform(f).astype(int).tolist()
    [[5, 5, 5], [4, 4, 4], [3, 3, 3], [2, 2, 2], [1, 1, 1]]
    >>> rfm.predict(f).tolist()
    ['Champions', 'Loyal Customers', 'Need Attention', 'Hibernating', 'Lost']
    """

    classes_: npt.NDArray[np.object_]

    def __init__(
        self,
        bins: int = 5,
        recency: Any = "days_since_last",
        frequency: Any = "frequency",
        monetary: Any = "revenue",
        ties: str = "average",
        segments: Any = "default",
        fallback: str | None = None,
        min_group: int | None = None,
    ) -> None:
        self.bins = bins
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
        self.ties = ties
        self.segments = segments
        self.fallback = fallback
        self.min_group = min_group

    def fit(self, X: Any, y: Any = None) -> RFMSegmenter:
        """Fit the R, F and M quantiles on ``X``.

        Raises
        ------
        tierkit.InvalidInputError
            For a bad ``bins`` or ``ties``, NaN/inf in ``X`` (naming column and
            row), or a column position out of range.
        tierkit.ColumnNotFoundError
            When a named column is not in ``X``.
        tierkit.PolicyError
            For a malformed segment table, or one leaving cells unmatched without
            a fallback.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import RFMSegmenter
        >>> X = np.array([[10.0, 1, 5], [2, 3, 9]])
        >>> RFMSegmenter(recency=0, frequency=1, monetary=2).fit(X).classes_[0]
        'Champions'
        """
        k = self.bins
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= 9:
            raise InvalidInputError(f"bins: must be an integer in 2..9, got {k!r}")
        if self.ties not in ("average", "min", "max", "dense", "first"):
            raise InvalidInputError(f"ties: must be average, min, max, dense or first, got {self.ties!r}")
        if isinstance(self.segments, str) and self.segments != "default":
            raise PolicyError(f"segments: 'default' or a list of rules, got {self.segments!r}")
        default = isinstance(self.segments, str)
        if default and k != 5:
            raise PolicyError(f"segments: the default table is for bins=5; give a table for bins={k}")
        table = [dict(r) for r in (DEFAULT_RFM_SEGMENTS if default else self.segments)]
        names = _segment_names(table, self.fallback)
        frame, _ = self._validate(X, reset=True)
        columns = [
            self._column(p, list(frame.columns), role)
            for p, role in ((self.recency, "recency"), (self.frequency, "frequency"), (self.monetary, "monetary"))
        ]
        rule: dict[str, Any] = {
            "kind": "rfm_segments",
            "recency": columns[0],
            "frequency": columns[1],
            "monetary": columns[2],
            "bins": int(k),
            "ties": self.ties,
        }
        if not default:
            rule["segments"] = table
        if self.fallback is not None:
            rule["fallback"] = self.fallback
        # A segment with no customer is a finding, not a fault, in a segment map; a
        # segment hidden by an earlier one is still warned about (Policy.warnings).
        policy: dict[str, Any] = {
            "name": "rfm",
            "criteria": columns[2:],
            "rule": rule,
            "tiers": names,
            "empty_tiers": "allow",
        }
        if self.min_group is not None:
            policy["privacy"] = {"min_group": self.min_group}
        self.policy_ = Policy(policy)
        self.model_ = fit(self.policy_, frame)
        self.classes_ = np.asarray(names, dtype=object)
        return self

    @staticmethod
    def _column(position: Any, names: list[str], role: str) -> str:
        if isinstance(position, (int, np.integer)) and not isinstance(position, bool):
            if not 0 <= position < len(names):
                raise InvalidInputError(f"{role}: column position {position} out of range for {len(names)} feature(s)")
            return names[int(position)]
        return str(position)

    def _levels(self, X: Any) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
        """R, F, M scores (n x 3 floats), segment codes and X's index."""
        check_is_fitted(self)
        frame, index = self._validate(X, reset=False)
        out = self.model_.assign(frame, contributions=False)
        levels = np.column_stack([out[c].to_numpy(dtype=np.float64) for c in ("r_score", "f_score", "m_score")])
        codes = out["tier_index"].to_numpy()
        return levels, codes, index

    def transform(self, X: Any) -> np.ndarray:
        """R, F and M scores (1..k) as floats, shape (n, 3).

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import RFMSegmenter
        >>> X = np.array([[1.0, 5, 5], [9.0, 1, 1]])
        >>> RFMSegmenter(bins=2, recency=0, frequency=1, monetary=2,
        ...              segments=[{"name": "any"}]).fit(X).transform(X).tolist()
        [[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]]
        """
        return self._levels(X)[0]

    def predict(self, X: Any) -> np.ndarray:
        """The segment name of every row.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import RFMSegmenter
        >>> X = np.array([[1.0, 5, 5], [9.0, 1, 1]])
        >>> table = [{"name": "best", "r": [2, 2], "fm": [2, 2]}, {"name": "gone", "r": [1, 1]}]
        >>> RFMSegmenter(bins=2, recency=0, frequency=1, monetary=2, segments=table,
        ...              fallback="other").fit(X).predict(X).tolist()
        ['best', 'gone']
        """
        codes = self._levels(X)[1]  # checks fitted first
        names: npt.NDArray[np.object_] = self.classes_[codes]
        return names

    def assign(self, X: Any, *, output: str | None = None) -> Any:
        """R, F, M (int), the cell (``545`` = 100 R + 10 F + M) and the segment,
        indexed like ``X`` when it is a DataFrame.

        Examples
        --------
        >>> import pandas as pd
        >>> from tierkit.sklearn import RFMSegmenter
        >>> f = pd.DataFrame({"days_since_last": [1.0, 300], "frequency": [9.0, 0],
        ...                   "revenue": [90.0, 1]}, index=pd.Index(["a", "b"], name="customer"))
        >>> RFMSegmenter().fit(f).assign(f)[["cell", "segment"]].to_dict("index")
        {'a': {'cell': 555, 'segment': 'Champions'}, 'b': {'cell': 111, 'segment': 'Lost'}}
        """
        levels, codes, index = self._levels(X)
        ints = levels.astype(np.int64)
        out = pd.DataFrame({"R": ints[:, 0], "F": ints[:, 1], "M": ints[:, 2]}, index=index)
        out["cell"] = 100 * ints[:, 0] + 10 * ints[:, 1] + ints[:, 2]
        out["segment"] = pd.Categorical.from_codes(codes, categories=pd.Index(self.classes_))
        return convert_output(out, output)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the ``transform`` columns: ``R``, ``F``, ``M``.

        Examples
        --------
        >>> import numpy as np
        >>> from tierkit.sklearn import RFMSegmenter
        >>> RFMSegmenter(recency=0, frequency=1, monetary=2).fit(np.eye(3)).get_feature_names_out().tolist()
        ['R', 'F', 'M']
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return np.asarray(["R", "F", "M"], dtype=object)
