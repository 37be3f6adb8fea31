"""Fitting over chunks (mergeable states) and the process-wide thread count.

A :class:`Fitter` runs the fit in passes; each pass reads every chunk once::

    f = tk.Fitter(policy, mode="exact")        # or "sketch" / "refine" (out of core)
    while not f.done:
        total = None
        for chunk in chunks:                   # pandas frames indexed by customer
            s = f.update(chunk)                # on the worker holding the chunk
            total = s if total is None else tk.Fitter.merge(total, s)
        f.advance(total)                       # on the client
    model = f.model()

``mode="exact"`` gathers the feature rows (one pass) and equals ``tk.fit`` on
their concatenation bit for bit; ``mode="sketch"`` keeps aggregates only
(moments, a quantile sketch with a rank error of at most 0.5% of the rows,
per-cluster sums for kmeans); ``mode="refine"`` keeps bounded state too but
makes every order statistic exact with two more passes per stage (exact bucket
counts, then the values of the few buckets holding a target rank), so the model
equals ``tk.fit`` on all rows byte for byte at any partitioning (thresholds,
quantiles and abc rules; manual, ahp or topsis weighting). See
include/tierkit/fit_state.hpp for the passes and which rules each mode supports.
Fitter and PartialState pickle (as bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._arrow import as_frame
from ._errors import InvalidInputError
from .model import Model, _categories, _table
from .policy import Policy

__all__ = ["Fitter", "PartialState", "get_num_threads", "set_num_threads"]


def set_num_threads(n: int | None) -> None:
    """Threads tierkit's C++ core uses for summarize, fit and assign, for the whole
    process; it takes precedence over the TIERKIT_NUM_THREADS environment variable.
    ``None`` or 0 removes the override. Results are bit-identical at any count.
    Anything but None or a whole number >= 0 (an int or numpy integer, not a bool,
    float or string) is an InvalidInputError."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))):
        raise InvalidInputError(f"set_num_threads: n must be a whole number >= 0 or None, got {n!r}")
    _core.fitting.set_num_threads(0 if n is None else int(n))


def get_num_threads() -> int:
    """The threads the core uses: set_num_threads, else TIERKIT_NUM_THREADS, else
    the hardware's."""
    return int(_core.fitting.get_num_threads())


class PartialState:
    """What one pass of a :class:`Fitter` learned from some chunks."""

    def __init__(self, core: _core.fitting.PartialState) -> None:
        self._core = core

    def to_bytes(self) -> bytes:
        return self._core.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> PartialState:
        return cls(_core.fitting.PartialState.from_bytes(bytes(data)))

    def __reduce__(self) -> tuple[Callable[[bytes], PartialState], tuple[bytes]]:
        return (PartialState.from_bytes, (self.to_bytes(),))

    def merge(self, other: PartialState) -> PartialState:
        return Fitter.merge(self, other)


class Fitter:
    """The multi-pass fitter of ``policy`` (see the module docstring).

    Parameters
    ----------
    policy : Policy, dict or JSON text.
    mode : {"exact", "sketch", "refine"}
    sketch_k : int
        Capacity of each quantile sketch level (sketch and refine modes); 1024 keeps
        the rank error of the quantile cuts within 0.5% of the rows.
    kmeans_sample : int
        Rows of the hashed-id sample that seeds k-means++ (sketch mode).
    refine_buckets : int
        Buckets per percentile, bins or robust criterion (refine mode): its values
        pass gathers about ``1.3 * 16385 * (1 + rows / min(rows, refine_buckets))``
        rows of such a column with more than 16385 distinct values (none with
        fewer); each bucket costs 24 bytes on the client and in every state.

    In sketch mode a rule that needs every row at once (expression with ``pct()``,
    rfm_segments, chain, group_by, kmeans with ``"k": "auto"``, ...) is fitted on the
    gathered rows of what it reads. Raises PolicyError in refine mode for such a rule
    (naming it), in sketch and refine mode for a policy without ``"privacy": {"min_group": 1}``
    (the default grouping of stored values needs every row in order; see
    include/tierkit/privacy.hpp); refine mode also refuses kmeans, entropy and CRITIC.
    """

    def __init__(
        self,
        policy: Policy | dict[str, Any] | str,
        *,
        mode: str = "exact",
        sketch_k: int = 1024,
        kmeans_sample: int = 4096,
        refine_buckets: int = 1 << 18,
    ) -> None:
        self._policy = Policy(policy)
        self._core = _core.fitting.Fitter(
            self._policy._core, mode, int(sketch_k), int(kmeans_sample), int(refine_buckets)
        )

    @property
    def done(self) -> bool:
        return bool(self._core.done)

    @property
    def stage(self) -> str:
        """The current pass ("gather", "clv", "clip", "clip_count", "clip_values",
        "criteria", "criteria_count", "criteria_values", "weights", "rule",
        "rule_count", "rule_values", "abc_mass", "kmeans_seed", "lloyd" or "done")."""
        return str(self._core.stage)

    @property
    def passes(self) -> int:
        return int(self._core.passes)

    @property
    def collected_rows(self) -> int:
        """refine mode: rows whose values the passes gathered so far (the rows of
        the buckets holding a target rank)."""
        return int(self._core.collected_rows)

    @property
    def mode(self) -> str:
        return str(self._core.mode)

    @property
    def policy(self) -> Policy:
        return self._policy

    def update(self, features: pd.DataFrame) -> PartialState:
        """What the current pass learns from one chunk of customer features (a frame
        indexed by customer id, as for ``tk.fit``)."""
        features = as_frame(features, "features")
        ids, names, arrays, dates, _ = _table(features, self._policy.required_columns)
        return PartialState(self._core.update(ids, names, arrays, _categories(features, self._policy), dates))

    @staticmethod
    def merge(a: PartialState, b: PartialState) -> PartialState:
        """Combine two states of the same pass (a's rows first in exact mode)."""
        return PartialState(_core.fitting.Fitter.merge(a._core, b._core))

    def advance(self, total: PartialState) -> None:
        """Finish the current pass with the merged state of every chunk."""
        self._core.advance(total._core)

    def model(self) -> Model:
        """The fitted model (after ``done``)."""
        model = Model(self._core.model())
        model._policy = self._policy
        return model

    def fit(self, chunks: Any) -> Model:
        """Run every pass over ``chunks`` (an iterable that can be read once per
        pass, e.g. a list of frames) and return the model."""
        while not self.done:
            total = None
            for chunk in chunks:
                s = self.update(chunk)
                total = s if total is None else Fitter.merge(total, s)
            if total is None:
                raise _core_error("fit: no chunks")
            self.advance(total)
        return self.model()

    def to_bytes(self) -> bytes:
        return self._core.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Fitter:
        f = cls.__new__(cls)
        f._core = _core.fitting.Fitter.from_bytes(bytes(data))
        f._policy = Policy(f._core.policy)
        return f

    def __reduce__(self) -> tuple[Callable[[bytes], Fitter], tuple[bytes]]:
        return (Fitter.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return f"Fitter(mode={self.mode!r}, stage={self.stage!r}, passes={self.passes})"


def _core_error(message: str) -> Exception:
    from ._errors import InvalidInputError

    return InvalidInputError(message)
