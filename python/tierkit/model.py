"""fit, Model.assign and the tier summary."""

from __future__ import annotations

import inspect
import json
import pickle
import warnings
import weakref
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import _callable, _core
from ._arrow import as_frame, convert_output
from ._convert import MISSING_ID, IdCodec, float_array
from ._errors import ColumnNotFoundError, FormatError, InvalidInputError, TierkitWarning
from ._repr import TierSummary
from .policy import Policy
from .progress import StageBars, bar

__all__ = [
    "STAGES",
    "Model",
    "ScoredCustomer",
    "Scorer",
    "buffer_cache",
    "fit",
    "load",
    "save",
    "set_buffer_cache_limit",
    "summary",
]


_DATE_COLUMNS = ("first_purchase", "last_purchase")


def _table(
    features: pd.DataFrame, needed: list[str], columns: list[str] | None = None
) -> tuple[np.ndarray, list[str], list[np.ndarray], list[tuple[str, np.ndarray, int]], IdCodec]:
    """What crosses into the core: ids, numeric columns (no copy when float64) and the
    purchase dates as int64 ticks the core turns into day numbers. ``needed`` first,
    then ``columns`` (None: every numeric column, for rules that read any)."""
    if not isinstance(features, pd.DataFrame):
        raise InvalidInputError(f"features: expected a pandas DataFrame, got {type(features).__name__}")
    if features.index.has_duplicates:
        dup = features.index[features.index.duplicated()].tolist()[0]
        raise InvalidInputError(f"features: customer id {dup!r} appears more than once in the index")
    codec = _codec(features.index)
    codec.require_present("features index")
    names, arrays = [], []
    for name in needed:
        if name in features.columns and not _is_labels(features[name]):
            names.append(name)
            arrays.append(float_array(features[name], name))
    dates: list[tuple[str, np.ndarray, int]] = []
    day_columns: list[tuple[str, np.ndarray]] = []
    others = features.columns if columns is None else [c for c in columns if c in features.columns]
    for label in others:
        name = str(label)
        if name in names:
            continue
        values = features[label]
        if values.dtype.kind in "biuf":
            names.append(name)
            arrays.append(float_array(values, name))
        elif name in _DATE_COLUMNS and values.dtype.kind == "M":
            # The lifecycle stages read the purchase dates as day numbers (NaT -> NaN).
            ticks = _date_ticks(values)
            if ticks is None:
                day_columns.append((name, _day_column(values)))
            else:
                dates.append((name, *ticks))
    for name, days in day_columns:
        names.append(name)
        arrays.append(days)
    return codec.codes, names, arrays, dates, codec


_TICKS_PER_DAY = {
    "D": 1,
    "h": 24,
    "m": 1440,
    "s": 86_400,
    "ms": 86_400_000,
    "us": 86_400_000_000,
    "ns": 86_400_000_000_000,
}


def _date_ticks(values: pd.Series) -> tuple[np.ndarray, int] | None:
    """A date column as its int64 ticks (no copy; NaT is the smallest int64) and the
    ticks per day, for the core to floor into day numbers; None for a time-zone
    aware column or an unusual unit."""
    raw = values.to_numpy()
    unit = np.datetime_data(raw.dtype)[0] if raw.dtype.kind == "M" else ""
    if unit not in _TICKS_PER_DAY:
        return None
    return np.ascontiguousarray(raw.view(np.int64)), _TICKS_PER_DAY[unit]


def _day_column(values: pd.Series) -> np.ndarray:
    """A time-zone aware date column (or one in an unusual unit) as float day numbers
    since 1970-01-01 in UTC, NaT -> NaN."""
    days = values.to_numpy(dtype="datetime64[D]").astype(np.int64).astype(np.float64)
    days[values.isna().to_numpy()] = np.nan
    return days


#: Id encodings by Index object (an Index is immutable), so that fit and assign on
#: one features frame factorize its string ids once.
_CODECS: dict[int, tuple[weakref.ref[pd.Index], IdCodec]] = {}


def _codec(index: pd.Index) -> IdCodec:
    """The id encoding of a features index, made once per Index object."""
    key = id(index)
    hit = _CODECS.get(key)
    if hit is not None and hit[0]() is index:
        return hit[1]
    codec = IdCodec(index, name=index.name or "customer")
    if codec.uniques is not None:  # integer ids pass through without a table
        _CODECS[key] = (weakref.ref(index, lambda _: _CODECS.pop(key, None)), codec)
    return codec


def _is_labels(values: pd.Series) -> bool:
    """Whether a column holds labels (categorical, string or object dtype), not numbers."""
    return (
        isinstance(values.dtype, pd.CategoricalDtype)
        or values.dtype.kind in "OSU"
        or isinstance(values.dtype, pd.StringDtype)
    )


def _label_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """int32 codes (-1 = missing) and their labels; a categorical's own codes (no
    copy when they are int32 already), else the sorted distinct values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes: np.ndarray = np.ascontiguousarray(values.cat.codes.to_numpy(), dtype=np.int32)
        return codes, [str(v) for v in values.cat.categories]
    codes, labels = pd.factorize(values, sort=True)
    return np.ascontiguousarray(codes, dtype=np.int32), [str(v) for v in labels]


def _categories(features: pd.DataFrame, policy: Policy) -> list[tuple[str, np.ndarray, list[str]]]:
    """Categorical columns for group-wise rules, labelled criteria (value maps, mapped
    to numbers in the core) and the label comparisons of expressions: (name, int32
    codes, labels)."""
    out = []
    for name in policy._core.rule_group_columns():
        if name not in features.columns:
            raise ColumnNotFoundError(
                f"rule.group_by: unknown column '{name}'; available: {', '.join(map(str, features.columns))}"
            )
        codes, labels = pd.factorize(features[name], sort=True)
        out.append((name, np.ascontiguousarray(codes, dtype=np.int32), [str(v) for v in labels]))
    grouped = {name for name, _, _ in out}
    for name in dict.fromkeys([*policy.required_columns, *policy._core.rule_inputs()]):
        if name in features.columns and name not in grouped and _is_labels(features[name]):
            out.append((name, *_label_codes(features[name])))
    return out


def _overrides(
    overrides: pd.DataFrame | None, policy: Policy, codec: IdCodec
) -> list[tuple[int, int, str, int]] | None:
    """Manual overrides -> (customer code, tier index, reason, expiry day); None without."""
    if overrides is None:
        return None
    from ._convert import day_numbers

    for col in ("customer", "tier", "reason"):
        if col not in overrides.columns:
            raise ColumnNotFoundError(
                f"overrides: unknown column '{col}'; expected customer, tier, reason and optionally expires; "
                f"available: {', '.join(map(str, overrides.columns))}"
            )
    tiers = policy.tier_names
    index = {t: k for k, t in enumerate(tiers)}
    if "expires" in overrides.columns:
        expires, _ = day_numbers(overrides["expires"], "expires")
        expires = np.where(expires == _core.features.missing_day, np.iinfo(np.int64).max, expires)
    else:
        expires = np.full(len(overrides), np.iinfo(np.int64).max, dtype=np.int64)
    customers = codec.encode(overrides["customer"])
    if codec.uniques is not None:  # the core names a customer pinned twice by code: name the id here
        twice = pd.Index(overrides["customer"]).duplicated()
        if twice.any():
            row = int(np.flatnonzero(twice)[0])
            raise InvalidInputError(
                f"overrides, row {row}: customer {overrides['customer'].iloc[row]!r} is pinned twice"
            )
    out = []
    for row, (customer, tier, reason, exp) in enumerate(
        zip(customers, overrides["tier"], overrides["reason"], expires)
    ):
        if tier not in index:
            raise InvalidInputError(f"overrides, row {row}: unknown tier {tier!r}; tiers: {', '.join(tiers)}")
        out.append((int(customer), index[tier], str(reason), int(exp)))
    return out


#: Lifecycle stage names, in code order: the categories of the ``stage`` column.
STAGES: list[str] = list(_core.model.stage_names)
#: Stage names of tierkit 0.1 that a previous assignment (e.g. a CSV file) may hold.
FORMER_STAGES = {"potential": "prospect", "new": "first_time"}


def _previous(previous: Any, policy: Policy, codec: IdCodec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A previous assignment as the core reads it, row for row: (customer code in the
    features' encoding, tier index or -1, below_count, stage code or -1). The core
    matches it to the features by id, checks the counters (naming the row) and
    counts the customers it drops."""
    previous = as_frame(previous, "previous")
    if "tier" not in previous.columns:
        raise ColumnNotFoundError(
            "previous: unknown column 'tier'; expected tier and optionally below_count and stage (as Model.assign "
            f"returns them); available: {', '.join(map(str, previous.columns))}"
        )
    if previous.index.has_duplicates:  # the core's check would name the code, not the id
        row = int(np.flatnonzero(previous.index.duplicated())[0])
        raise InvalidInputError(
            f"previous: row {row}: customer id {previous.index[[row]].tolist()[0]!r} appears more than once"
        )

    def codes_of(column: str, labels: list[str]) -> np.ndarray:
        values = previous[column].astype(object)
        codes = pd.Index(labels).get_indexer(values)
        bad = (codes < 0) & values.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"previous: column '{column}', row {row}: unknown value {values.iloc[row]!r}; "
                f"expected one of: {', '.join(labels)}"
            )
        return codes

    tier = codes_of("tier", policy.tier_names)  # a missing tier (NaN): not on the book
    below = np.zeros(len(previous), dtype=np.int32)
    if "below_count" in previous.columns:
        raw = pd.to_numeric(previous["below_count"], errors="coerce").to_numpy(dtype=float)
        # What an int32 cannot carry; the core checks the sign.
        bad = ~np.isfinite(raw) | (raw != np.floor(raw)) | (np.abs(raw) >= 2**31)
        bad &= ~((tier < 0) & np.isnan(raw))  # customers without a tier may lack a counter
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"previous: column 'below_count', row {row}: must be a whole number >= 0, "
                f"got {previous['below_count'].iloc[row]}"
            )
        below = np.where(np.isnan(raw), 0, raw).astype(np.int32)
    if "stage" in previous.columns:
        previous = previous.assign(stage=previous["stage"].astype(object).replace(FORMER_STAGES))
    stage = codes_of("stage", STAGES) if "stage" in previous.columns else np.full(len(previous), -1)
    return codec.encode(previous.index), tier.astype(np.int32), below, stage.astype(np.int8)


class Model:
    """A fitted policy: normalizer statistics, weights and cut points.

    Immutable; ``assign`` may be called from many threads at once. Holds
    parameters and aggregates only, never customer rows.
    """

    #: The policy a Python rule's callable lives in, kept alive with the model (set by fit).
    _policy: Policy

    def __init__(self, core: _core.model.Model) -> None:
        self._core = core
        self._columns: list[str] | None = None

    def _input_columns(self) -> list[str] | None:
        """The feature columns assign passes to the core: those the model reads
        (Model::input_columns) and the lifecycle stages' columns; None (every numeric
        column) when a Python callable, at the top or nested in the rule, sees the
        whole frame."""
        if self._columns is None:
            if self._core.reads_every_column():
                return None
            self._columns = list(dict.fromkeys([*self._core.input_columns(), *_core.model.stage_columns]))
        return self._columns

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

    @property
    def fit_report(self) -> dict[str, Any]:
        """What the fit found on its rows (empty for a model read from a file).

        ``tiers``: a DataFrame indexed by tier with ``customers``, ``share`` and
        ``target_share`` (the rule's quota, NaN when it sets none); ``empty`` and
        ``starved`` (tiers under half their quota): tier names; ``warnings``: the
        messages ``tk.fit`` warned with (TierkitWarning).

        >>> import tierkit as tk, warnings
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> p = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.05, 0.15, 0.5]},
        ...      "tiers": ["key", "high-value", "ordinary", "potential"]}
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     m = tk.fit(p, f)
        >>> m.fit_report["empty"]
        ['potential']
        >>> str(caught[0].message).startswith("tier 'potential' has no customer of the 500 customers")
        True
        """
        report = self._core.fit_report()
        out = _tier_attrs(report["tiers"])
        sizes = report["tiers"]
        total = max(int(sizes["total"]), 1)
        out["tiers"] = pd.DataFrame(
            {
                "customers": np.asarray(sizes["customers"], dtype=np.int64),
                "share": np.asarray(sizes["customers"], dtype=float) / total,
                "target_share": np.asarray(sizes["target_share"], dtype=float),
            },
            index=pd.Index(list(sizes["tier"]), name="tier"),
        )
        out["warnings"] = list(report["warnings"])
        return out

    def criteria_summary(
        self, features: Any, *, revenue: str = "revenue", next_revenue: pd.Series | None = None
    ) -> pd.DataFrame:
        """Each criterion's fitted weight beside its rank (Spearman) correlation
        with revenue, so a heavy weight on a column unrelated to value stands out
        (entropy and CRITIC weight what varies, not what matters).

        Parameters
        ----------
        features : DataFrame with the criteria's columns and ``revenue``.
        revenue : str
            The value column.
        next_revenue : Series, optional
            Per customer, the revenue of the following period (e.g. from
            transactions after the fit's ``as_of``): adds ``rank_corr_next_revenue``.

        Returns
        -------
        DataFrame with columns score, criterion, direction, weight,
        rank_corr_revenue[, rank_corr_next_revenue]. The correlation is of the
        criterion's column as given (a ``"lower"`` criterion such as recency
        correlates negatively when it tracks value); NaN for a constant column.

        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> c = tk.fit(tk.Policy.default(), f).criteria_summary(f)
        >>> list(c.columns)
        ['score', 'criterion', 'direction', 'weight', 'rank_corr_revenue']
        """
        features = as_frame(features, "features")
        if revenue not in features.columns:
            raise ColumnNotFoundError(
                f"revenue: unknown column '{revenue}'; available: {', '.join(map(str, features.columns))}"
            )
        value_rank = features[revenue].rank()
        next_rank = None
        if next_revenue is not None:
            next_rank = pd.Series(next_revenue).reindex(features.index).rank()
        rows = []
        for s in self.params["scores"]:
            for c, weight in zip(s["criteria"], s["weights"]):
                col = c["column"]
                row = {"score": s["name"], "criterion": col, "direction": c["direction"], "weight": weight}
                rank = features[col].rank() if col in features.columns else None
                row["rank_corr_revenue"] = _corr(rank, value_rank)
                if next_rank is not None:
                    row["rank_corr_next_revenue"] = _corr(rank, next_rank)
                rows.append(row)
        return pd.DataFrame(rows)

    def assign(
        self,
        features: pd.DataFrame,
        *,
        contributions: bool = True,
        overrides: pd.DataFrame | None = None,
        as_of: Any = None,
        previous: Any = None,
        output: str | None = None,
    ) -> Any:
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
        previous : DataFrame, optional
            The previous evaluation's assignment, indexed by customer id: a
            ``tier`` column (names or the categorical ``assign`` returns), and
            optionally ``below_count`` and ``stage`` (as ``assign`` returns them;
            also after a CSV round trip). Re-tiers with hysteresis per the
            policy's ``lifecycle.hysteresis``: a promotion needs the score to clear
            the better tier's cut by ``up_margin``, a demotion needs it below the
            held tier's cut by ``down_margin`` for ``k`` evaluations in a row and
            moves at most ``max_demotion`` tiers. Rules without score cuts
            (kmeans, rfm_segments, expression, matrix, grouped rules...) apply
            ``k`` and ``max_demotion`` to tier indices; margins do not apply.
            Customers not in ``previous`` (or with a missing tier) enter by the
            plain rule. ``attrs["previous"]`` counts them (``new_to_book``) and
            the customers of ``previous`` no longer in ``features``
            (``dropped``). A stage of ``lost`` in ``previous`` lets a customer who
            bought again become ``won_back`` (the stage names of tierkit 0.1,
            ``potential`` and ``new``, are read as ``prospect`` and ``first_time``).
            Raises InvalidInputError naming column and row for unknown tier or
            stage names, duplicate ids and negative or fractional counters.
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
        branch, or the hysteresis step that held or moved the customer), the
        rule's extra columns, ``below_count`` (int: consecutive evaluations below
        the held tier's cut; 0 without ``previous``) and the contributions.
        Lifecycle columns, whenever ``features`` has orders, days_since_last,
        first_purchase, last_purchase and trend (as ``summarize`` makes them;
        required when the policy sets a lifecycle threshold or strategies):
        ``stage`` (categorical with the categories :data:`STAGES`: prospect,
        first_time, repeat, loyal, growing, mature, at_risk, declining, lost,
        won_back; the rules are in ``tierkit/lifecycle/lifecycle.hpp`` and the
        README), ``stage_reason`` (categorical) and ``next_action``
        (categorical: the policy's ``strategies`` for the customer's tier and
        stage, then the built-in table). A customer with 0 or missing ``orders``
        is a ``prospect``.

        Examples
        --------
        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> out = tk.fit(tk.Policy.default(), f).assign(f)
        >>> list(out.columns[:4])
        ['value', 'tier', 'tier_index', 'mode']
        >>> list(out["stage"].cat.categories)
        ['prospect', 'first_time', 'repeat', 'loyal', 'growing', 'mature', 'at_risk', 'declining', 'lost', 'won_back']

        Re-tiering against the previous evaluation (the same features here, so
        nobody moves):

        >>> again = tk.fit(tk.Policy.default(), f).assign(f, previous=out)
        >>> int((again["tier"] != out["tier"]).sum()), again.attrs["previous"]
        (0, {'new_to_book': 0, 'dropped': 0})
        """
        features = as_frame(features, "features")
        policy = self.policy
        ids, names, arrays, dates, codec = _table(features, policy.required_columns, self._input_columns())
        pins = _overrides(overrides, policy, codec)
        prev = None if previous is None else _previous(previous, policy, codec)
        as_of_day = 0
        if pins:
            from ._convert import day_number

            as_of_day = day_number(pd.Timestamp.today().normalize() if as_of is None else as_of, "as_of")
        token = _callable.current_codec.set(codec)
        try:
            out = self._core.assign(
                ids, names, arrays, _categories(features, policy), contributions, pins, as_of_day, prev, dates
            )
        finally:
            _callable.current_codec.reset(token)
        index = features.index
        data: dict[str, Any] = {}
        for name, score in zip(out.score_names, out.scores):
            data[name] = score
        tier_names = list(out.tier_names)
        tier = out.tier
        tier_codes = _small_codes(tier, len(tier_names))  # narrowed once for the three categoricals
        data["tier"] = _from_codes(tier_codes, tier_names, ordered=True)
        data["tier_index"] = tier
        data["mode"] = _per_tier(tier_codes, list(out.tier_modes))
        data["actions"] = _per_tier(tier_codes, ["; ".join(a) for a in out.tier_actions])
        data["reason"] = _per_tier(out.reason, list(out.reasons))
        for name, values in out.extras:
            data[name] = values
        if overrides is not None:
            data["pinned"] = out.pinned.astype(bool)
            data["rule_reason"] = _per_tier(out.rule_reason, list(out.reasons))
        if out.has_stages:
            data["stage"] = _from_codes(out.stage, list(STAGES))
            data["stage_reason"] = _per_tier(out.stage_reason, list(out.stage_reasons))
            data["next_action"] = _per_tier(out.next_action, list(out.next_actions))
        data["below_count"] = out.below_count
        if contributions:
            for k, (cnames, cols) in enumerate(zip(out.contribution_names, out.contributions)):
                prefix = "contrib_" if k == 0 else f"contrib_{out.score_names[k]}_"
                for cname, col in zip(cnames, cols):
                    data[prefix + cname] = col
            if out.contribution_names and out.contribution_names[0]:
                data["top_criteria"] = _from_codes(out.top_criteria, list(out.top_criteria_names))
        frame = pd.DataFrame({k: v for k, v in data.items() if v is not None}, index=index, copy=False)
        if overrides is not None:
            # An id the features do not have got a code of its own (IdCodec.encode): None.
            foreign = MISSING_ID + len(overrides)
            unmatched = [
                codec.decode_one(int(c)) if codec.uniques is None and c > foreign else None
                for c in out.overrides_unmatched
            ]
            frame.attrs["overrides"] = {"expired": int(out.overrides_expired), "unmatched": unmatched}
        if previous is not None:
            frame.attrs["previous"] = {"new_to_book": int(out.new_to_book), "dropped": int(out.previous_dropped)}
        if out.missing_filled:
            frame.attrs["missing"] = {name: int(count) for name, count in out.missing_filled}
        frame.attrs["tiers"] = _tier_attrs(self._core.tier_sizes(np.ascontiguousarray(tier, dtype=np.int32)))
        return convert_output(frame, output)

    def to_bytes(self, kind: str = "binary") -> bytes:
        """The model as bytes: a checked envelope (magic, format version, length,
        CRC-32) around a Boost.Serialization archive, ``kind`` "binary" (fast, not
        portable across platforms), "text" or "xml" (portable, readable). Holds
        parameters and aggregates only, never customer rows.

        Raises FormatError for a model whose rule is or nests a Python callable: a model
        file cannot hold Python code. Pickle such a model instead (``pickle``,
        ``copy.deepcopy`` and joblib work when cloudpickle is installed), or save
        a policy with a built-in rule.

        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> m = tk.fit(tk.Policy.default(), f)
        >>> tk.Model.from_bytes(m.to_bytes("xml")).assign(f)["tier"].equals(m.assign(f)["tier"])
        True
        """
        if kind not in ("binary", "text", "xml"):
            raise InvalidInputError(f"kind: expected binary, text or xml, got {kind!r}")
        keys = self._python_rule_keys()
        if keys:
            entries = [_callable.entry(key) for key in keys]
            names = ", ".join(
                repr(getattr(e[0], "__qualname__", "rule") if e else key) for key, e in zip(keys, entries)
            )
            raise FormatError(
                f"save: cannot serialize the model (rule 'python'): its rule uses the Python callable {names}, which "
                "a model file cannot hold; pickle the model instead (with cloudpickle installed), or save a policy "
                "with built-in rules only"
            )
        return self._core.to_bytes(kind)

    def _python_rule_keys(self) -> list[str]:
        """The registry keys of the model's Python callable rules (the rule itself or
        rules nested in it)."""
        return _callable.keys_in(json.loads(self._core.policy.to_json()).get("rule", {}))

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """A model from :meth:`to_bytes` output (the archive kind is read from the
        envelope). Raises FormatError saying what is wrong and at which byte."""
        return cls(_core.model.Model.from_bytes(bytes(data)))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle, copy.deepcopy and joblib go through the same bytes as model files.
        keys = self._python_rule_keys()
        if not keys:
            return (Model.from_bytes, (self.to_bytes("binary"),))
        # Python callable rules: the archive names each by its registry key only;
        # the callables travel beside it, pickled by value with cloudpickle.
        entries = []
        for key in keys:
            entry = _callable.entry(key)
            if entry is None:
                raise pickle.PicklingError(
                    f"tierkit.Model: python rule '{key}': the callable is not registered in this process"
                )
            entries.append((key, *entry))
        try:
            import cloudpickle
        except ImportError:
            names = ", ".join(repr(getattr(fn, "__qualname__", "rule")) for _, fn, _ in entries)
            raise pickle.PicklingError(
                f"tierkit.Model: the rule uses the Python callable {names}; pickling it needs cloudpickle "
                "(pip install cloudpickle), which is not installed"
            ) from None
        (key, fn, tiers), *more = entries
        return (
            _model_with_callable,
            (
                self._core.to_bytes("binary"),
                key,
                cloudpickle.dumps(fn),
                tiers,
                *((k, cloudpickle.dumps(f), t) for k, f, t in more),
            ),
        )

    def __dask_tokenize__(self) -> str:
        """Dask's deterministic token: a hash of the model's bytes (equal models, equal tokens)."""
        import hashlib

        data = self._core.to_bytes("binary")
        return hashlib.sha256(data).hexdigest()

    def explain(
        self,
        customer: Any,
        features: pd.DataFrame,
        *,
        overrides: pd.DataFrame | None = None,
        as_of: Any = None,
        previous: Any = None,
    ) -> str:
        """Why a customer is in its tier: the rule branch, the score and the top
        contributing criteria with the customer's values.

        The text comes from :meth:`assign` on the customer's row with the same
        ``overrides``, ``as_of`` and ``previous``, so it states the tier and reason
        that ``assign`` gives: a manual pin, or the hysteresis step that held or moved
        the customer, included.

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
        row = self.assign(features.loc[[customer]], overrides=overrides, as_of=as_of, previous=previous)
        r = row.iloc[0]
        policy = self.policy
        score_name = policy.score_names[0]
        lines = [f"customer {customer}: tier {r['tier']} ({r['mode']})", f"  reason: {r['reason']}"]
        if "pinned" in row.columns and bool(r["pinned"]):
            lines.append(f"  pinned by hand; the rule alone gives: {r['rule_reason']}")
        if previous is not None and r["below_count"] > 0:
            lines.append(f"  below the held tier's cut for {int(r['below_count'])} evaluation(s)")
        lines.append(f"  {score_name} score: {r[score_name]:.1f} of 100")
        # The core's top criteria of the default score, best first.
        for name in str(r["top_criteria"]).split(", ") if "top_criteria" in row.columns else []:
            # a derived criterion (the policy's clv columns) is in the assignment, not the features
            shown = features.loc[customer, name] if name in features.columns else r[name]
            lines.append(f"  {name} = {shown:.6g} adds {float(r['contrib_' + name]):.1f} points")
        if r["actions"]:
            lines.append(f"  actions: {r['actions']}")
        if "stage" in row.columns:
            lines.append(f"  stage: {r['stage']} ({r['stage_reason']}); next action: {r['next_action']}")
        return "\n".join(lines)

    def scorer(self, columns: Sequence[str] | None = None) -> Scorer:
        """A real-time scorer: one customer per call (or a small batch), with the
        scores, tier and reason :meth:`assign` gives for the same values.

        Parameters
        ----------
        columns : sequence of str, optional
            The feature columns a call receives, in order. Defaults to the columns
            the policy's criteria read (:attr:`Policy.required_columns`); rules that
            read other columns (a column's cuts, expressions, matrix) need them listed.

        Returns
        -------
        Scorer : callable on a dict or Series (by column name) or a 1-D array in
        ``columns`` order, returning a :class:`ScoredCustomer`;
        :meth:`Scorer.score_many` takes a 2-D array or a DataFrame.

        Raises
        ------
        ColumnNotFoundError when a criterion or the rule reads a column not in ``columns``.

        Examples
        --------
        >>> import tierkit as tk
        >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
        >>> m = tk.fit(tk.Policy.default(), f)
        >>> score = m.scorer()
        >>> score.columns
        ['revenue', 'frequency', 'days_since_last', 'aov']
        >>> one = score({"revenue": 1520.0, "frequency": 7, "days_since_last": 31, "aov": 190.0})
        >>> one.tier in m.policy.tier_names
        True
        >>> bool(score(f.iloc[0]).scores["value"] == m.assign(f)["value"].iloc[0])
        True
        """
        return Scorer(self, columns)

    def __repr__(self) -> str:
        p = self.params
        cuts = {k: [round(x, 4) for x in v] for k, v in p["rule"]["parameters"].items()}
        return f"Model({self.policy.name!r}: rule {p['rule']['kind']} {cuts}; tiers {self.policy.tier_names})"

    def _repr_html_(self) -> str:
        from ._repr import model_html

        return model_html(self)


class ScoredCustomer(NamedTuple):
    """One customer scored by :class:`Scorer`."""

    tier: str
    tier_index: int
    reason: str
    scores: dict[str, float]


class Scorer:
    """Scores one customer at a time through the core's ``Scorer`` (see
    :meth:`Model.scorer`). Not for sharing between threads: make one per thread."""

    def __init__(self, model: Model, columns: Sequence[str] | None = None) -> None:
        self.model = model
        names = model.policy.required_columns if columns is None else [str(c) for c in columns]
        self._core = _core.model.Scorer(model._core, names)
        self.columns: list[str] = list(self._core.columns)
        self._tiers: list[str] = list(self._core.tier_names)
        self._reasons: list[str] = list(self._core.reasons)
        self._score_names: list[str] = list(self._core.score_names)
        # Made once: building a categorical's dtype costs more than scoring a batch.
        self._tier_dtype = pd.CategoricalDtype(self._tiers, ordered=True)
        self._reason_dtype = pd.CategoricalDtype(list(dict.fromkeys(self._reasons)))
        self._reason_codes = np.array([self._reason_dtype.categories.get_loc(r) for r in self._reasons])
        self._series_index: pd.Index | None = None
        self._series_positions = np.empty(0, dtype=np.intp)

    def __call__(self, customer: Any) -> ScoredCustomer:
        """Score one customer: a dict or Series keyed by column name, or a 1-D array
        or list in :attr:`columns` order."""
        if isinstance(customer, dict):
            try:
                values = [customer[c] for c in self.columns]
            except KeyError as exc:
                raise ColumnNotFoundError(
                    f"customer: no value for column {exc.args[0]!r}; the scorer reads {', '.join(self.columns)}"
                ) from None
        elif isinstance(customer, pd.Series):
            if customer.index is not self._series_index:  # rows of one frame share their index
                positions = customer.index.get_indexer(pd.Index(self.columns))
                if (positions < 0).any():
                    missing = self.columns[int(np.flatnonzero(positions < 0)[0])]
                    raise ColumnNotFoundError(
                        f"customer: no value for column {missing!r}; the scorer reads {', '.join(self.columns)}"
                    )
                self._series_index, self._series_positions = customer.index, positions
            values = customer.to_numpy()[self._series_positions].tolist()
        else:
            values = customer
        tier, reason, scores = self._core.assign_one(values)
        return ScoredCustomer(self._tiers[tier], tier, self._reasons[reason], dict(zip(self._score_names, scores)))

    def score_many(self, customers: Any) -> pd.DataFrame:
        """Score a batch: a DataFrame with :attr:`columns` (index kept) or a 2-D array
        with one column per entry of :attr:`columns`. Returns the scores, ``tier``
        (ordered categorical), ``tier_index`` and ``reason`` (categorical)."""
        index = None
        if isinstance(customers, pd.DataFrame):
            missing = [c for c in self.columns if c not in customers.columns]
            if missing:
                raise ColumnNotFoundError(
                    f"customers: unknown column '{missing[0]}'; available: {', '.join(map(str, customers.columns))}"
                )
            index = customers.index
            customers = customers[self.columns].to_numpy(dtype=np.float64)
        values = np.ascontiguousarray(customers, dtype=np.float64)
        tier, reason, scores = self._core.assign_many(values)
        data: dict[str, Any] = dict(zip(self._score_names, scores))
        data["tier"] = _categorical(tier, self._tier_dtype)
        data["tier_index"] = tier
        data["reason"] = _categorical(self._reason_codes[reason], self._reason_dtype)
        return pd.DataFrame(data, index=index, copy=False)

    def __repr__(self) -> str:
        return f"Scorer({self.model.policy.name!r}: columns {self.columns})"


def _corr(a: pd.Series | None, b: pd.Series) -> float:
    """Pearson correlation of two rank series (Spearman's rho); NaN when undefined."""
    if a is None:
        return float("nan")
    both = a.notna() & b.notna()
    x, y = a[both].to_numpy(dtype=float), b[both].to_numpy(dtype=float)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _tier_attrs(sizes: dict[str, Any]) -> dict[str, Any]:
    """The empty and starved tiers of a core tier-size report, by name."""
    names = list(sizes["tier"])
    return {"empty": [names[k] for k in sizes["empty"]], "starved": [names[k] for k in sizes["starved"]]}


def _model_with_callable(
    data: bytes, key: str, fn_bytes: bytes, tiers: list[str], *more: tuple[str, bytes, list[str]]
) -> Model:
    """Unpickle a model whose rule is or holds Python callables (see Model.__reduce__):
    the first callable's key, pickled callable and tier names, then one such triple
    per further callable (pickles of a model with one callable have none)."""
    for k, f, t in ((key, fn_bytes, tiers), *more):
        _callable.adopt(k, pickle.loads(f), t)
    return Model.from_bytes(data)


_FROM_CODES_VALIDATES = "validate" in inspect.signature(pd.Categorical.from_codes).parameters


def _small_codes(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """Codes in the integer type pandas keeps for ``n_categories`` (no copy when they are)."""
    dtype = np.int8 if n_categories < 128 else np.int16 if n_categories < 32768 else np.int32
    return codes.astype(dtype, copy=False)


#: Categorical dtypes by label list (and, where labels repeat, the code remap), made
#: once: a model's tiers, modes, reasons and stages repeat on every assign.
_DTYPES: dict[tuple[tuple[str, ...], bool], tuple[pd.CategoricalDtype, np.ndarray | None]] = {}


def _labels_dtype(labels: list[str], ordered: bool = False) -> tuple[pd.CategoricalDtype, np.ndarray | None]:
    """The categorical dtype of ``labels`` (distinct, in first-seen order) and the remap
    of codes into it when labels repeat (None when they do not)."""
    key = (tuple(labels), ordered)
    hit = _DTYPES.get(key)
    if hit is None:
        categories = list(dict.fromkeys(labels))
        remap = (
            None
            if len(categories) == len(labels)
            else _small_codes(np.array([categories.index(label) for label in labels]), len(categories))
        )
        if len(_DTYPES) >= 256:
            _DTYPES.clear()
        hit = _DTYPES[key] = (pd.CategoricalDtype(categories, ordered=ordered), remap)
    return hit


def _from_codes(codes: np.ndarray, categories: list[str], ordered: bool = False) -> pd.Categorical:
    """A categorical from codes the core made (each in range by construction, so unchecked)."""
    return _categorical(codes, _labels_dtype(categories, ordered)[0])


def _categorical(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """A categorical of a prepared dtype from codes the core made (in range by construction)."""
    codes = _small_codes(codes, len(dtype.categories))
    if _FROM_CODES_VALIDATES:
        return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    return pd.Categorical.from_codes(codes, dtype=dtype)


def _per_tier(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical of labels[code]; labels may repeat (two tiers, one mode)."""
    dtype, remap = _labels_dtype(labels)
    return _categorical(codes if remap is None else np.take(remap, codes), dtype)


def set_buffer_cache_limit(nbytes: int | None) -> None:
    """The most bytes of freed result columns the core keeps for reuse, for the
    whole process. ``assign`` writes its scores, tiers and reasons into fresh memory;
    on first touch the operating system maps such memory page by page, which at
    10^7 customers costs as much as the scoring itself. Blocks of 1 MiB or more
    that a result frees (when its DataFrame is garbage collected) are kept, up to
    this limit, and reused by the next results of about the same size. The default
    is 1 GiB, or the ``TIERKIT_BUFFER_CACHE_MB`` environment variable; ``0`` or
    ``None`` frees the kept blocks and turns the cache off.

    >>> import tierkit as tk
    >>> old = tk.buffer_cache()["limit"]
    >>> tk.set_buffer_cache_limit(0)
    >>> tk.buffer_cache()
    {'limit': 0, 'held': 0}
    >>> tk.set_buffer_cache_limit(old)
    """
    _core.model.set_buffer_cache_limit(0 if nbytes is None else int(nbytes))


def buffer_cache() -> dict[str, int]:
    """The result-column cache: ``limit`` (bytes it may keep, see
    :func:`set_buffer_cache_limit`) and ``held`` (bytes it keeps now)."""
    return {"limit": int(_core.model.buffer_cache_limit()), "held": int(_core.model.buffer_cache_held())}


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


def fit(policy: Policy | dict[str, Any] | str, features: pd.DataFrame, *, progress: bool | None = None) -> Model:
    """Fit a policy on customer features: normalizer statistics, data-driven
    weights (AHP, entropy, CRITIC) and the rule's cut points; with a ``clv``
    section, first the CLV models.

    Parameters
    ----------
    policy : Policy, dict, JSON text or path
    features : DataFrame indexed by customer id (or an Arrow table / polars
        DataFrame with a ``customer`` column) with the policy's columns.
    progress : bool, optional
        Show a bar per long part of the fit: one step per optimizer iteration of
        each CLV model (stages ``clv bg/nbd``..., postfix the log-likelihood) and
        per Lloyd iteration of a ``kmeans`` rule (out of ``max_iter``, postfix the
        inertia and centroid shift). By default only in an interactive session or
        with ``TIERKIT_PROGRESS=1`` (see :mod:`tierkit.progress`). The model does
        not depend on it. Ctrl-C (KeyboardInterrupt) stops the fit at the next
        iteration when the bar is shown.

    Returns
    -------
    Model

    Raises
    ------
    ColumnNotFoundError (listing the available columns) when a criterion's
    column is missing, InvalidInputError for NaN/inf values (naming column and
    row), NumericError when an AHP matrix is too inconsistent or a CLV fit does
    not converge, PolicyError when a tier gets no customer and the policy says
    ``"empty_tiers": "error"``.

    Warns
    -----
    TierkitWarning
        For each tier with no customer of ``features``, or under half its quota
        (``quantiles`` shares), unless the policy says ``"empty_tiers":
        "allow"``; for each ``rfm_segments`` segment that an earlier one hides.
        :attr:`Model.fit_report` holds the counts and the same messages.

    Examples
    --------
    >>> import tierkit as tk
    >>> f = tk.summarize(tk.datasets.synthetic(500, seed=2))
    >>> m = tk.fit(tk.Policy.default(), f)
    >>> m.weights["weight"].round(2).tolist()
    [0.4, 0.25, 0.2, 0.15]
    >>> kmeans = {"scores": [{"name": "value", "criteria": [{"column": "revenue"}, {"column": "frequency"}]}],
    ...           "rule": {"kind": "kmeans", "k": 3}, "tiers": ["a", "b", "c"]}
    >>> m = tk.fit(kmeans, f, progress=False)  # progress=True: a bar of Lloyd iterations
    >>> m.params["rule"]["parameters"]["iterations"][0] > 0
    True
    """
    policy = Policy(policy)
    features = as_frame(features, "features")
    columns = policy.input_columns
    if columns is not None and not all(c in features.columns for c in columns):
        columns = None  # every column crosses, so the core's error lists them all
    ids, names, arrays, dates, codec = _table(features, policy.required_columns, columns)
    token = _callable.current_codec.set(codec)
    try:
        with StageBars(progress, make=bar) as bars:
            core = _core.model.fit(
                policy._core, ids, names, arrays, _categories(features, policy), bars.callback, dates
            )
    finally:
        _callable.current_codec.reset(token)
    model = Model(core)
    model._policy = policy  # keeps a Python rule's callable alive with the model
    for message in core.fit_report()["warnings"]:
        warnings.warn(message, TierkitWarning, stacklevel=2)
    return model


def summary(
    assignment: pd.DataFrame,
    features: pd.DataFrame | None = None,
    *,
    revenue: str = "revenue",
    score: str | None = None,
    output: str | None = None,
) -> Any:
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
        raise InvalidInputError(
            "assignment: expected the DataFrame returned by Model.assign (a categorical 'tier' column)"
        )
    source = assignment if features is None else features
    if revenue not in source.columns:
        hint = (
            "; the assignment has no revenue column: pass the features too, e.g. tk.summary(tiers, features)"
            if features is None
            else ""
        )
        raise ColumnNotFoundError(
            f"revenue: unknown column '{revenue}'{hint}; available: {', '.join(map(str, source.columns))}"
        )
    values = source[revenue] if features is None else features[revenue].reindex(assignment.index)
    if values.isna().any():
        missing = values.index[values.isna()][0]
        raise InvalidInputError(f"revenue: no value for customer {missing!r} of the assignment")
    if score is None:
        score = str(assignment.columns[0])
    tier = assignment["tier"]
    out = _core.model.tier_summary(
        np.ascontiguousarray(tier.cat.codes.to_numpy(), dtype=np.int32),
        list(tier.cat.categories),
        float_array(assignment[score], score),
        float_array(values, revenue),
    )
    frame = pd.DataFrame(
        {k: out[k] for k in ("customers", "customer_share", "revenue", "revenue_share", "mean_score")},
        index=pd.Index(out["tier"], name="tier"),
    )
    return convert_output(TierSummary(frame), output)
