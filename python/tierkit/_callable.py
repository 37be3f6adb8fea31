"""Python callables as tiering rules.

A policy built in Python may give a vectorized callable as its rule, or as a
rule nested in another (a chain's ``first`` or ``then``, an override's ``base``)::

    def rule(features: pd.DataFrame, score: np.ndarray) -> np.ndarray: ...

returning one tier per customer, as tier indices (0 = best) or tier names (of
the rule's own ``tiers`` when it names them, else the enclosing rule's). The
policy stores ``{"kind": "python", "name": <key>}`` in its place; :func:`register`
hands the C++ rule a function (:func:`call` bound to the key) that runs the
callable and checks what it returned.
"""

from __future__ import annotations

import contextvars
import functools
import zlib
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import _core
from ._errors import InvalidInputError

_REGISTRY: dict[str, tuple[Callable[..., Any], list[str]]] = {}
# The id codec of the table being scored, so the callable sees the caller's ids.
current_codec: contextvars.ContextVar[Any] = contextvars.ContextVar("tierkit_codec", default=None)


def register(fn: Callable[..., Any], tier_names: list[str]) -> str:
    """Keep ``fn`` under a key for the policy to name. The key holds the tier names'
    checksum: one function may tier into different tiers in two places."""
    if not callable(fn):
        raise TypeError(f"rule: expected a callable, got {type(fn).__name__}")
    tiers = zlib.crc32("\x1f".join(tier_names).encode("utf-8"))
    key = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', 'rule')}@{id(fn):x}/{tiers:08x}"
    _REGISTRY[key] = (fn, list(tier_names))
    _hand_over(key)
    return key


def _hand_over(key: str) -> None:
    """Give the C++ rule named ``key`` its function and reason texts."""
    _core.rules.register_python_rule(key, functools.partial(call, key), reasons(key))


def adopt(key: str, fn: Callable[..., Any], tier_names: list[str]) -> None:
    """Register an unpickled callable under the key its model names. A key already
    registered in this process (a deep copy, or a pickle read back where it was
    made) keeps its callable, as ``copy.deepcopy`` shares functions."""
    if not callable(fn):
        raise TypeError(f"rule: expected a callable, got {type(fn).__name__}")
    if key not in _REGISTRY:
        _REGISTRY[key] = (fn, list(tier_names))
        _hand_over(key)


def entry(key: str) -> tuple[Callable[..., Any], list[str]] | None:
    """The callable and tier names registered under ``key``, if any."""
    return _REGISTRY.get(key)


def keys_in(rule: Any) -> list[str]:
    """The keys of the Python rules in a normalized rule object (at its top or nested
    at any depth), in document order, each once."""
    keys: dict[str, None] = {}
    stack = [rule]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("kind") == "python" and isinstance(value.get("name"), str):
                keys[value["name"]] = None
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return list(keys)


def lookup(key: str) -> Callable[..., Any]:
    return _REGISTRY[key][0]


def reasons(key: str) -> list[str]:
    fn, tiers = _REGISTRY[key]
    name = getattr(fn, "__name__", "rule")
    return [f"python rule {name}: {t}" for t in tiers]


def call(key: str, ids: np.ndarray, columns: dict[str, np.ndarray], score: np.ndarray) -> np.ndarray:
    if key not in _REGISTRY:
        raise InvalidInputError(f"python rule '{key}': the callable is not registered in this process")
    fn, tiers = _REGISTRY[key]
    codec = current_codec.get()
    index = codec.decode(ids) if codec is not None else pd.Index(ids, name="customer")
    features = pd.DataFrame(columns, index=index, copy=False)
    name = getattr(fn, "__name__", "rule")
    result = fn(features, score)
    arr = np.asarray(result.to_numpy() if isinstance(result, (pd.Series, pd.Index)) else result)
    if arr.ndim != 1 or len(arr) != len(ids):
        raise InvalidInputError(
            f"python rule {name}: returned {arr.shape[0] if arr.ndim else 'a scalar'} values for {len(ids)} customers; "
            "return one tier (index or name) per customer"
        )
    if arr.dtype.kind in "OUS":
        lookup_index = {t: k for k, t in enumerate(tiers)}
        out = np.empty(len(arr), dtype=np.int32)
        for i, v in enumerate(arr):
            k = lookup_index.get(v)
            if k is None:
                raise InvalidInputError(
                    f"python rule {name}: row {i}: unknown tier {str(v)!r}; tiers: {', '.join(tiers)}"
                )
            out[i] = k
        return out
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr))
        if len(bad):
            raise InvalidInputError(
                f"python rule {name}: row {bad[0]}: tier is {arr[bad[0]]}; expected a tier index or name"
            )
        if np.any(arr != np.round(arr)):
            i = int(np.flatnonzero(arr != np.round(arr))[0])
            raise InvalidInputError(f"python rule {name}: row {i}: tier index {arr[i]} is not a whole number")
    elif arr.dtype.kind not in "iub":
        raise InvalidInputError(f"python rule {name}: returned dtype {arr.dtype}; expected tier indices or names")
    out = arr.astype(np.int32)
    bad = np.flatnonzero((out < 0) | (out >= len(tiers)))
    if len(bad):
        raise InvalidInputError(
            f"python rule {name}: row {bad[0]}: tier index {out[bad[0]]} outside 0..{len(tiers) - 1}"
        )
    return np.ascontiguousarray(out)
