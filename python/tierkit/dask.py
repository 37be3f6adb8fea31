"""tierkit on Dask: fit and assign over the partitions of a Dask DataFrame.

>>> import dask.dataframe as dd, tierkit as tk
>>> features = tk.summarize(tk.datasets.synthetic(2000, seed=1))
>>> ddf = dd.from_pandas(features, npartitions=8)      # indexed by customer id
>>> model = tk.dask.fit(tk.Policy.default(), ddf)        # exact: equals tk.fit(policy, features)
>>> tiers = tk.dask.assign(model, ddf).compute()
>>> tiers["tier"].equals(tk.fit(tk.Policy.default(), features).assign(features)["tier"])
True

``fit`` runs a :class:`tierkit.Fitter`: every pass maps each partition to a
PartialState (as bytes), merges them in a tree that keeps partition order
(``split_every`` at a time) and finishes the pass on the client. ``mode="exact"``
gathers the feature rows on the client (one row per customer, the used columns)
and gives the single-machine model bit for bit; ``mode="sketch"`` keeps
aggregates only (a quantile sketch with a rank error of at most 0.5% of the
customers, exact moments, distributed Lloyd iterations for kmeans) and reads
the data once per pass - persist the frame first if it is expensive to compute.
``mode="refine"`` keeps bounded state as well and gives the single-machine model
byte for byte at any partitioning, in more passes (see tierkit.fitting).

``assign`` maps every partition through the pickled model with an explicit
``meta`` (computed on the first real row), so the C++ scorer never sees Dask's
fake sample rows. A Dask client, when one is active, runs everything.
"""

from __future__ import annotations

import functools
import pickle
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._errors import InvalidInputError
from .fitting import Fitter, PartialState
from .model import Model
from .policy import Policy
from .progress import bar

if TYPE_CHECKING:
    from dask.dataframe import DataFrame as DaskDataFrame
    from dask.delayed import Delayed

    from .features import Summarizer

__all__ = ["assign", "fit", "summarize"]


def _update(fitter_bytes: bytes, frame: pd.DataFrame) -> bytes:
    return _fitter(fitter_bytes).update(frame).to_bytes()


@functools.lru_cache(maxsize=4)
def _fitter(fitter_bytes: bytes) -> Fitter:
    return Fitter.from_bytes(fitter_bytes)


def _merge(*states: bytes) -> bytes:
    total = PartialState.from_bytes(states[0])
    for s in states[1:]:
        total = Fitter.merge(total, PartialState.from_bytes(s))
    return total.to_bytes()


def _tree(items: list[Delayed], split_every: int) -> Delayed:
    """Merge delayed states in groups of split_every, keeping their order."""
    from dask.delayed import delayed

    merge = delayed(_merge, pure=True)
    while len(items) > 1:
        items = [
            merge(*items[i : i + split_every]) if len(items[i : i + split_every]) > 1 else items[i]
            for i in range(0, len(items), split_every)
        ]
    return items[0]


def fit(
    policy: Policy | dict[str, Any] | str,
    ddf: DaskDataFrame,
    *,
    mode: str = "exact",
    sketch_k: int = 1024,
    kmeans_sample: int = 4096,
    split_every: int = 8,
    progress: bool | None = None,
) -> Model:
    """Fit ``policy`` on a Dask DataFrame of customer features (indexed by customer
    id, as for ``tk.fit``). Returns a Model (on the client).

    ``progress`` shows a bar with one step per pass over the partitions (the
    number of passes is known only as they finish: kmeans adds one per Lloyd
    iteration); by default only in an interactive session (see tierkit.progress).

    Raises PolicyError in sketch or refine mode for a policy without
    ``"privacy": {"min_group": 1}``, and in refine mode for rules that need every
    row at once (rfm_segments, expression with pct(), grouped rules, ...), which
    sketch mode fits on their gathered rows.
    """
    from dask.base import compute
    from dask.delayed import delayed

    if split_every < 2:
        raise InvalidInputError(f"split_every: must be >= 2, got {split_every}")
    fitter = Fitter(policy, mode=mode, sketch_k=sketch_k, kmeans_sample=kmeans_sample)
    parts = ddf.to_delayed()
    if not parts:
        raise InvalidInputError("ddf: has no partitions")
    update = delayed(_update, pure=True)
    with bar(None, desc="fit passes", unit="pass", enabled=progress) as passes:
        while not fitter.done:
            fitter_bytes = fitter.to_bytes()
            total = _tree([update(fitter_bytes, p) for p in parts], split_every)
            (state,) = compute(total)
            fitter.advance(PartialState.from_bytes(state))
            passes.update(1)
    return fitter.model()


@functools.lru_cache(maxsize=4)
def _model(model_bytes: bytes) -> Model:
    model: Model = pickle.loads(model_bytes)
    return model


def _assign(frame: pd.DataFrame, model_bytes: bytes, options: dict[str, Any]) -> pd.DataFrame:
    tiers: pd.DataFrame = _model(model_bytes).assign(frame, **options)
    return tiers


def assign(model: Model, ddf: DaskDataFrame, *, meta: pd.DataFrame | None = None, **options: Any) -> DaskDataFrame:
    """Assign tiers partition by partition: a lazy Dask DataFrame with the columns
    ``model.assign`` returns (``options`` are passed to it, e.g. contributions).

    ``meta`` (an empty frame with the output columns and dtypes) is computed from
    the first row of the data unless given. Categorical columns whose categories
    depend on the rows (top_criteria, reason, ...) come back with the union of the
    partitions' categories (in order of appearance); tier, mode and actions keep
    the policy's.
    """
    if not isinstance(model, Model):
        raise InvalidInputError(f"model: expected a tierkit Model, got {type(model).__name__}")
    # A pickle: the model's bytes, plus the cloudpickled function of a Python rule.
    model_bytes = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    if meta is None:
        head = ddf.head(1, npartitions=1, compute=True)
        if len(head) == 0:  # an empty first partition: look further
            head = ddf.head(1, npartitions=-1, compute=True)
        if len(head) == 0:
            raise InvalidInputError("ddf: has no rows to derive the output columns from; pass meta=")
        meta = model.assign(head, **options).iloc[:0]
        # The tier columns' categories come from the policy; the others' (top_criteria,
        # reason...) from the rows of each partition: unknown to Dask until computed.
        from dask.dataframe.utils import clear_known_categories

        varying = [
            c
            for c in meta.columns
            if isinstance(meta[c].dtype, pd.CategoricalDtype) and c not in ("tier", "mode", "actions")
        ]
        meta = clear_known_categories(meta, cols=varying)
    tiers: DaskDataFrame = ddf.map_partitions(_assign, model_bytes, options, meta=meta, enforce_metadata=False)
    return tiers


def summarize(ddf: DaskDataFrame, *, split_every: int = 8, **options: Any) -> Any:
    """Customer features from a Dask DataFrame of transactions: what ``tk.summarize``
    gives on all the rows at once (``options`` are its keyword arguments: customer,
    date, amount, margin, as_of, ...; give ``as_of``, or it is the last date seen).
    Each partition feeds a streaming ``tk.Summarizer``; the summarizers merge in a
    tree that keeps partition order and finalize on the client. Memory grows with
    customers, not transactions."""
    from dask.base import compute
    from dask.delayed import delayed

    if split_every < 2:
        raise InvalidInputError(f"split_every: must be >= 2, got {split_every}")
    build = delayed(_summarize_part, pure=True)
    merge = delayed(_merge_summarizers, pure=True)
    items = [build(p, options) for p in ddf.to_delayed()]
    if not items:
        raise InvalidInputError("ddf: has no partitions")
    while len(items) > 1:
        items = [
            merge(options, *items[i : i + split_every]) if len(items[i : i + split_every]) > 1 else items[i]
            for i in range(0, len(items), split_every)
        ]
    (total,) = compute(items[0])
    return total.finalize()


def _summarize_part(frame: pd.DataFrame, options: dict[str, Any]) -> Summarizer:
    from .features import Summarizer

    return Summarizer(**options).update(frame)


def _merge_summarizers(options: dict[str, Any], *parts: Summarizer) -> Summarizer:
    """A new summarizer holding ``parts`` in order (the inputs stay unchanged)."""
    from .features import Summarizer

    total = Summarizer(**options)
    for s in parts:
        total.merge(s)
    return total
