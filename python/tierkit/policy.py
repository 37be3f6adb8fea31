"""Policy: how customers are scored and tiered, declared as JSON or a dict."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import _callable, _core
from ._errors import PolicyError

__all__ = ["Policy"]

#: Deepest nesting of lists and dicts a policy may have; the C++ reader has the same
#: limit for JSON text (a policy nests about 6 deep).
MAX_DEPTH = 64


def _shorten(path: str) -> str:
    return path if len(path) <= 120 else path[:60] + "..." + path[-40:]


def check_nesting(spec: Any, where: str) -> None:
    """PolicyError naming the path where ``spec`` nests deeper than MAX_DEPTH lists
    and dicts (also a dict that contains itself). Iterative, unlike json.dumps,
    which raises RecursionError some 1,000 levels down."""
    stack = [(spec, where, 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            children = [(f"{path}.{k}", v) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        if depth > MAX_DEPTH:
            raise PolicyError(f"{_shorten(path)}: nested deeper than {MAX_DEPTH} levels of arrays and objects")
        stack.extend((child, p, depth + 1) for p, child in reversed(children))


def read_policy_file(path: Path) -> str:
    """The UTF-8 text of a policy file; PolicyError naming the file otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"policy file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"policy file {str(path)!r}: not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); "
            "a policy is a JSON text file"
        ) from None


def _check_rule_signature(fn: Any, path: str) -> None:
    """A callable rule is called as ``fn(features, score)``: refuse one that cannot be."""
    import inspect

    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return
    try:
        signature.bind(None, None)
    except TypeError:
        name = getattr(fn, "__qualname__", type(fn).__name__)
        raise PolicyError(
            f"{path}: the callable {name}{signature} cannot be called as rule(features, score); expected "
            "def rule(features: pandas.DataFrame, score: numpy.ndarray) -> one tier (index or name) per customer"
        ) from None


def _callable_name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", type(fn).__name__))


class _CallableRules:
    """The Python callables of a policy dict, each put in the policy as
    ``{"kind": "python", "name": <key>}`` (kept in tierkit._callable): ``"rule": fn``,
    ``{"kind": "python", "function": fn, ...}``, and either form where a rule nests
    another (a chain's ``first`` and ``then``, an override's ``base``). A nested
    callable tiers into the ``tiers`` of its own rule object, else of the nearest
    enclosing one that names them, else the policy's."""

    def __init__(self) -> None:
        self.placed: list[tuple[str, Any]] = []  # (JSON path, callable), in document order

    def spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        # The tier names a callable may return; the core checks the tiers themselves.
        tiers = spec.get("tiers")
        listed = tiers if isinstance(tiers, list) else []
        policy_tiers = [str(t.get("name", "")) if isinstance(t, dict) else str(t) for t in listed]
        out = {}
        for name, value in spec.items():
            if name == "rule":
                out[name] = self._walk(value, "rule", policy_tiers)
            else:
                self._refuse(value, f"policy.{name}")
                out[name] = value
        return out if self.placed else spec

    def _refuse(self, value: Any, path: str) -> None:
        """PolicyError for a callable outside the rule (e.g. a criterion's)."""
        stack = [(value, path)]
        while stack:
            v, p = stack.pop()
            if callable(v):
                raise PolicyError(
                    f"{p}: got the Python callable {_callable_name(v)}; a callable can only be the policy's rule "
                    "or a rule nested in it"
                )
            if isinstance(v, dict):
                stack.extend((child, f"{p}.{k}") for k, child in v.items())
            elif isinstance(v, (list, tuple)):
                stack.extend((child, f"{p}[{i}]") for i, child in enumerate(v))

    def _walk(self, value: Any, path: str, tiers: list[str]) -> Any:
        if callable(value):
            return self._place(value, path, tiers, {})
        if isinstance(value, (list, tuple)):
            return [self._walk(v, f"{path}[{i}]", tiers) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        own = value.get("tiers")
        if isinstance(own, list) and own and all(isinstance(t, str) for t in own):
            tiers = own
        if "function" in value and value.get("kind", "python") == "python":
            fn = value["function"]
            if not callable(fn):
                raise TypeError(f"{path}.function: expected a callable, got {type(fn).__name__}")
            rest = {k: v for k, v in value.items() if k not in ("kind", "function")}
            return self._place(fn, path, tiers, rest)
        return {k: self._walk(v, f"{path}.{k}", tiers) for k, v in value.items()}

    def _place(self, fn: Any, path: str, tiers: list[str], rest: dict[str, Any]) -> dict[str, Any]:
        _check_rule_signature(fn, path)
        self.placed.append((path, fn))
        return {"kind": "python", "name": _callable.register(fn, tiers), **rest}

    def explain(self, error: PolicyError) -> PolicyError:
        """The core's error, said in the user's terms when it is about a callable the
        policy put where no rule goes (a matrix axis, an override's condition...)."""
        message = str(error)
        where = message.split(": ", 1)[0]
        for path, fn in sorted(self.placed, key=lambda p: -len(p[0])):
            if where in (path, f"{path}.kind", f"{path}.name"):
                return PolicyError(
                    f"{path}: got the Python callable {_callable_name(fn)}, but no rule goes here (a callable is a "
                    f"rule: the policy's rule, a chain's first or then, an override's base); {message}"
                )
        return error


class Policy:
    """A validated tiering policy.

    Build one from a dict, a JSON string or a path to a JSON file; it is
    validated at once, and errors name the JSON path
    (``criteria[2].weight: must be >= 0, got -1``). The guide documents the
    schema with a runnable example for every part: ``docs/guide/rules.md`` (every
    rule kind), ``docs/guide/criteria.md`` (criteria, normalizers, weights) and
    ``docs/guide/lifecycle.md`` (stages, re-tiering, strategies); in short: scores
    (criteria, weights, method), rule and tiers, and the optional ``clv``,
    ``lifecycle``, ``strategies``, ``privacy`` and ``empty_tiers`` keys.

    ``lifecycle`` (every key optional, defaults shown): ``{"new_days": 90,
    "active_days": 90, "growing_trend": 1.2, "declining_trend": 0.8,
    "loyal_purchases": 5, "loyal_days": 365, "at_risk_days": 180,
    "at_risk_p_alive": 0.5, "lost_days": 365, "lost_p_alive": 0.2,
    "hysteresis": {"up_margin": 0, "down_margin": 0, "k": 1, "max_demotion": 1}}``
    sets the stage thresholds (see the README's lifecycle section) and the
    re-tiering hysteresis (``Model.assign(..., previous=...)``).
    ``declining_p_alive``, the former name of ``at_risk_p_alive``, is still read.
    ``empty_tiers`` (``"error"``, ``"warn"`` (default) or ``"allow"``) says what
    ``tk.fit`` does when a tier gets no customer (see :attr:`Model.fit_report`).
    ``strategies`` is a list of ``{"tier", "mode", "stage", "action"}`` entries
    (each of tier, mode, stage a name or a list; missing = any) tried in order
    before the built-in table to pick each customer's ``next_action``.

    Examples
    --------
    >>> import tierkit as tk
    >>> p = tk.Policy({"criteria": ["revenue", {"column": "days_since_last", "direction": "lower"}],
    ...                "rule": {"kind": "quantiles", "shares": [0.2]},
    ...                "tiers": ["top", "rest"]})
    >>> p.tier_names
    ['top', 'rest']
    >>> q = tk.Policy({"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.2]},
    ...                "tiers": ["top", "rest"], "lifecycle": {"hysteresis": {"k": 2}},
    ...                "strategies": [{"tier": "top", "stage": "declining", "action": "call"}]})
    >>> q.to_dict()["lifecycle"]["hysteresis"]
    {'down_margin': 0.0, 'k': 2, 'max_demotion': 1, 'up_margin': 0.0}
    """

    def __init__(self, spec: dict[str, Any] | str | os.PathLike[str] | Policy | _core.model.Policy) -> None:
        self._core: _core.model.Policy
        if isinstance(spec, Policy):
            self._core = spec._core
            return
        if isinstance(spec, _core.model.Policy):
            self._core = spec
            return
        callables = _CallableRules()
        if isinstance(spec, dict):
            check_nesting(spec, "policy")
            spec = callables.spec(spec)
            self._callables = [fn for _, fn in callables.placed]  # the policy keeps its rules alive
            try:
                text = json.dumps(spec, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise PolicyError(f"policy: cannot be written as JSON: {exc}") from None
        elif isinstance(spec, os.PathLike) or (isinstance(spec, str) and not spec.lstrip().startswith(("{", "["))):
            path = Path(spec)
            try:
                self._core = _core.model.Policy.from_json(read_policy_file(path))
            except PolicyError as exc:
                message = str(exc)
                raise PolicyError(
                    message if message.startswith("policy file ") else f"policy file {str(path)!r}: {message}"
                ) from None
            return
        elif isinstance(spec, str):
            text = spec
        else:
            raise TypeError(f"Policy: expected a dict, JSON text or a path, got {type(spec).__name__}")
        try:
            self._core = _core.model.Policy.from_json(text)
        except PolicyError as exc:
            raise callables.explain(exc) from None

    @classmethod
    def default(cls) -> Policy:
        """The built-in policy: key / high-value / ordinary / potential customers
        by 5% / 15% / 50% / 30% quotas of a value score from revenue, purchase
        frequency, recency and average order value.

        >>> import tierkit as tk
        >>> tk.Policy.default().tier_names
        ['key', 'high-value', 'ordinary', 'potential']
        """
        return cls(_core.model.Policy.default_policy())

    @property
    def name(self) -> str:
        return self._core.name

    @property
    def tier_names(self) -> list[str]:
        """Tier names, best first."""
        return list(self._core.tier_names)

    @property
    def score_names(self) -> list[str]:
        """Score names; the first is the default score."""
        return list(self._core.score_names)

    @property
    def warnings(self) -> list[str]:
        """What the rule's definition alone gives away, before any fit: e.g. each
        ``rfm_segments`` segment that an earlier segment hides (it wins no cell of
        the R x F x M grid, so it can never get a customer). ``tk.fit`` warns with
        these too.

        >>> import tierkit as tk
        >>> p = tk.Policy({"criteria": ["revenue"], "tiers": ["all", "best"],
        ...                "rule": {"kind": "rfm_segments", "segments": [{"name": "all"},
        ...                         {"name": "best", "r": [5, 5]}]}})
        >>> print(p.warnings[0])
        rfm_segments: segment 'best' (rule 1: R 5) loses every cell it matches to earlier rules, so it gets no customer
        """
        return list(self._core.rule_warnings())

    @property
    def required_columns(self) -> list[str]:
        """Feature columns the criteria read."""
        return list(self._core.required_columns())

    @property
    def input_columns(self) -> list[str] | None:
        """Every feature column :func:`tierkit.fit` reads: the clv section's inputs, the
        criteria columns, the columns the rule reads (group_by columns included) and,
        when the policy sets lifecycle thresholds or strategies, the stage columns (the
        columns the fitted model reads too). None when a Python callable in the rule
        sees the whole frame.

        >>> import tierkit as tk
        >>> tk.Policy.default().input_columns
        ['revenue', 'frequency', 'days_since_last', 'aov']
        """
        if self._core.reads_every_column():
            return None
        return list(self._core.input_columns())

    def to_dict(self) -> dict[str, Any]:
        """The normalized policy (every default filled in) as a dict."""
        spec: dict[str, Any] = json.loads(self._core.to_json())
        return spec

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The normalized policy as JSON text; also written to ``path`` when given."""
        text = self._core.to_json()
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other._core.to_json() == self._core.to_json()

    def __hash__(self) -> int:
        return hash(self._core.to_json())

    def __reduce__(self) -> tuple[type[Policy], tuple[str]]:
        # Pickled (and deep-copied, as sklearn's clone does) through its normalized JSON.
        return (Policy, (self._core.to_json(),))

    def _repr_html_(self) -> str:
        from ._repr import policy_html

        return policy_html(self)

    def __repr__(self) -> str:
        d = self.to_dict()
        scores = ", ".join(f"{s['name']}({len(s['criteria'])} criteria, {s['weights']['method']})" for s in d["scores"])
        return f"Policy({d['name']!r}: scores {scores}; rule {d['rule']['kind']}; tiers {self.tier_names})"
