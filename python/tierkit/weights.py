"""Criterion weighting methods, usable on their own.

``ahp`` (Saaty's analytic hierarchy process), ``entropy`` (entropy weight
method), ``critic`` (Diakoulaki et al. 1995), ``manual`` and ``combine``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import _core
from ._convert import float_array
from ._errors import InvalidInputError

__all__ = ["AhpResult", "ahp", "combine", "critic", "entropy", "manual", "saaty_random_index"]


class AhpResult(NamedTuple):
    weights: np.ndarray
    lambda_max: float
    consistency_index: float
    consistency_ratio: float


def saaty_random_index() -> list[float]:
    """Saaty's random consistency index for n = 1..15."""
    return list(_core.scoring.saaty_random_index())


def ahp(
    matrix: Sequence[Sequence[float]] | np.ndarray,
    *,
    random_index: Sequence[float] | None = None,
    max_cr: float | None = 0.1,
) -> AhpResult:
    """Weights from a pairwise comparison matrix (principal eigenvector).

    Parameters
    ----------
    matrix : n x n positive reciprocal matrix, a_ij = importance of i over j.
    random_index : RI by n (n = 1, 2, ...); Saaty's table by default.
    max_cr : raise NumericError when the consistency ratio exceeds it; None accepts any.

    Returns
    -------
    AhpResult(weights, lambda_max, consistency_index, consistency_ratio)

    Examples
    --------
    >>> import tierkit as tk
    >>> r = tk.weights.ahp([[1, 3], [1/3, 1]])
    >>> r.weights.round(3).tolist(), round(r.consistency_ratio, 6)
    ([0.75, 0.25], 0.0)
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise InvalidInputError(f"matrix: must be square, got shape {m.shape}")
    w, lam, ci, cr = _core.scoring.ahp(
        np.ascontiguousarray(m).ravel(),
        m.shape[0],
        [] if random_index is None else list(random_index),
        -1.0 if max_cr is None else float(max_cr),
    )
    return AhpResult(w, lam, ci, cr)


def _columns(
    data: pd.DataFrame | np.ndarray, directions: Sequence[str] | None
) -> tuple[list[np.ndarray], list[str], list[Hashable]]:
    if isinstance(data, pd.DataFrame):
        labels: list[Hashable] = list(data.columns)
        cols = [float_array(data[c], str(c)) for c in labels]
    else:
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim != 2:
            raise InvalidInputError(f"data: expected a 2-d array (rows = customers), got {arr.ndim} dimensions")
        labels = list(range(arr.shape[1]))
        cols = [np.ascontiguousarray(arr[:, j]) for j in range(arr.shape[1])]
    dirs = ["higher"] * len(cols) if directions is None else list(directions)
    if len(dirs) != len(cols):
        raise InvalidInputError(f"directions: expected {len(cols)} entries (one per column), got {len(dirs)}")
    return cols, dirs, labels


def entropy(
    data: pd.DataFrame | np.ndarray, directions: Sequence[str] | None = None, *, variant: str = "minmax"
) -> pd.Series:
    """Entropy weight method: columns with more spread get more weight.

    ``variant="minmax"`` normalizes each column to [0, 1] with its direction
    first; ``"proportion"`` uses raw (non-negative) values as proportions.

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 1, 1, 2]})
    >>> w = tk.weights.entropy(df)
    >>> bool(w["b"] > w["a"])
    True
    """
    if variant not in ("minmax", "proportion"):
        raise InvalidInputError(f"variant: must be 'minmax' or 'proportion', got {variant!r}")
    cols, dirs, labels = _columns(data, directions)
    return pd.Series(_core.scoring.entropy(cols, dirs, variant == "proportion"), index=labels, name="weight")


def critic(data: pd.DataFrame | np.ndarray, directions: Sequence[str] | None = None) -> pd.Series:
    """CRITIC weights: contrast (standard deviation) times conflict (1 - correlation).

    Examples
    --------
    >>> import pandas as pd, tierkit as tk
    >>> df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [4.0, 1, 3, 2], "c": [1.0, 2, 3, 5]})
    >>> round(float(tk.weights.critic(df).sum()), 12)
    1.0
    """
    cols, dirs, labels = _columns(data, directions)
    return pd.Series(_core.scoring.critic(cols, dirs), index=labels, name="weight")


def manual(weights: Sequence[float]) -> np.ndarray:
    """Non-negative weights normalized to sum 1.

    >>> import tierkit as tk
    >>> tk.weights.manual([2, 1, 1]).tolist()
    [0.5, 0.25, 0.25]
    """
    return np.asarray(_core.scoring.manual([float(w) for w in weights]))


def combine(
    subjective: Sequence[float], objective: Sequence[float], *, mode: str = "linear", alpha: float = 0.5
) -> np.ndarray:
    """Combine subjective (manual/AHP) and objective (entropy/CRITIC) weights:
    ``linear`` = alpha * s + (1 - alpha) * o; ``multiplicative`` = s * o normalized.

    >>> import tierkit as tk
    >>> tk.weights.combine([0.5, 0.5], [0.8, 0.2], mode="multiplicative").tolist()
    [0.8, 0.2]
    """
    return np.asarray(
        _core.scoring.combine([float(x) for x in subjective], [float(x) for x in objective], mode, float(alpha))
    )
