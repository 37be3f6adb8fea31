"""tierkit on Spark: fit and assign over the partitions of a PySpark DataFrame.

With a SparkSession ``spark`` (tests/python/test_spark.py runs this in local[2])::

    from pyspark.sql import SparkSession
    import tierkit as tk
    spark = (SparkSession.builder.master("local[*]")
             .config("spark.driver.host", "127.0.0.1")          # no DNS look-up of the host name
             .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
    sdf = spark.createDataFrame(features.reset_index())   # a `customer` column
    model = tk.spark.fit(tk.Policy.default(), sdf)           # exact: equals tk.fit on the rows
    tiers = tk.spark.assign(model, sdf)                      # a Spark DataFrame

Spark DataFrames have no index: the customer id is a column (``customer=``).
``fit`` runs a :class:`tierkit.Fitter`: each pass broadcasts the fitter as bytes,
maps every partition to a PartialState with ``mapInPandas``, and merges the states
on the driver in partition order (a tree of ``split_every``), so the exact mode
gives the single-machine model bit for bit for a frame whose partitions hold the
rows in order (as ``createDataFrame`` of a pandas frame does). ``mode="sketch"``
keeps aggregates only, ``mode="refine"`` bounded state that gives the exact model
byte for byte in any partitioning (see tierkit.fitting). ``assign`` broadcasts the model's
bytes and scores each Arrow batch with ``mapInPandas``; the output schema comes
from the model's output on the first real row (categorical columns as strings).

Python workers must import tierkit. In local mode (a ``local[...]`` master: the
workers run on the driver's machine), when ``PYSPARK_PYTHON`` is unset, ``fit``,
``assign`` and ``summarize`` set it, and the session's worker interpreter, to the
driver's own (``sys.executable``), so a virtual environment's tierkit is found. On
a cluster, set ``PYSPARK_PYTHON`` (or ``spark.pyspark.python``) to the workers'
interpreter that has tierkit installed.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._errors import InvalidInputError
from .fitting import Fitter, PartialState
from .model import Model
from .policy import Policy
from .progress import bar

if TYPE_CHECKING:
    from pyspark import Broadcast, SparkContext
    from pyspark.sql import DataFrame as SparkDataFrame

__all__ = ["assign", "fit", "summarize"]


def _workers_python(spark_context: SparkContext) -> None:
    """Local mode with PYSPARK_PYTHON unset: workers run the driver's interpreter."""
    if os.environ.get("PYSPARK_PYTHON") or not str(spark_context.master).startswith("local"):
        return
    if spark_context.getConf().get("spark.pyspark.python"):
        return
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark_context.pythonExec = sys.executable


def _partition_id() -> int:
    """The partition of the Spark task that runs the caller (a mapInPandas function)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:
        raise RuntimeError("tierkit.spark: a partition function ran outside a Spark task")
    return context.partitionId()


def _merge_ordered(states: list[bytes], split_every: int) -> PartialState:
    items = [PartialState.from_bytes(s) for s in states]
    while len(items) > 1:
        merged = []
        for i in range(0, len(items), split_every):
            group = items[i : i + split_every]
            total = group[0]
            for s in group[1:]:
                total = Fitter.merge(total, s)
            merged.append(total)
        items = merged
    return items[0]


def fit(
    policy: Policy | dict[str, Any] | str,
    sdf: SparkDataFrame,
    *,
    customer: str = "customer",
    mode: str = "exact",
    sketch_k: int = 1024,
    kmeans_sample: int = 4096,
    split_every: int = 8,
    progress: bool | None = None,
) -> Model:
    """Fit ``policy`` on a PySpark DataFrame of customer features with a ``customer``
    id column. Returns a Model on the driver.

    ``progress`` shows a bar with one step per pass over the partitions (the
    number of passes is known only as they finish: kmeans adds one per Lloyd
    iteration); by default only in an interactive session (see tierkit.progress).

    Raises PolicyError in refine mode for rules that need every row at once (sketch
    mode fits them on their gathered rows) and in sketch or refine mode for a policy
    without ``"privacy": {"min_group": 1}``.
    """
    if customer not in sdf.columns:
        raise InvalidInputError(f"sdf: no customer id column '{customer}'; columns: {', '.join(sdf.columns)}")
    if split_every < 2:
        raise InvalidInputError(f"split_every: must be >= 2, got {split_every}")
    fitter = Fitter(policy, mode=mode, sketch_k=sketch_k, kmeans_sample=kmeans_sample)
    spark_context = sdf.sparkSession.sparkContext
    _workers_python(spark_context)
    with bar(None, desc="fit passes", unit="pass", enabled=progress) as passes:
        while not fitter.done:
            shipped: Broadcast[bytes] = spark_context.broadcast(fitter.to_bytes())

            def states(batches: Iterator[pd.DataFrame], shipped: Broadcast[bytes] = shipped) -> Iterator[pd.DataFrame]:
                worker = Fitter.from_bytes(shipped.value)
                total = None
                for frame in batches:
                    s = worker.update(frame.set_index(customer))
                    total = s if total is None else Fitter.merge(total, s)
                if total is not None:
                    yield pd.DataFrame({"part": [_partition_id()], "state": [total.to_bytes()]})

            rows = sdf.mapInPandas(states, schema="part long, state binary").collect()
            shipped.unpersist()
            if not rows:
                raise InvalidInputError("fit: the table has no rows")
            rows.sort(key=lambda r: r["part"])
            fitter.advance(_merge_ordered([bytes(r["state"]) for r in rows], split_every))
            passes.update(1)
    return fitter.model()


def _as_plain(frame: pd.DataFrame, customer: str) -> pd.DataFrame:
    """An assign result as Spark can hold it: the id as a column, categories as strings."""
    out = frame.reset_index()
    out = out.rename(columns={out.columns[0]: customer})
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def assign(model: Model, sdf: SparkDataFrame, *, customer: str = "customer", **options: Any) -> SparkDataFrame:
    """Assign tiers batch by batch: a Spark DataFrame with ``customer`` and the
    columns ``model.assign`` returns (``options`` are passed to it)."""
    if not isinstance(model, Model):
        raise InvalidInputError(f"model: expected a tierkit Model, got {type(model).__name__}")
    if customer not in sdf.columns:
        raise InvalidInputError(f"sdf: no customer id column '{customer}'; columns: {', '.join(sdf.columns)}")
    spark = sdf.sparkSession
    _workers_python(spark.sparkContext)
    head = sdf.limit(1).toPandas()
    if head.empty:
        raise InvalidInputError("sdf: has no rows to derive the output schema from")
    schema = spark.createDataFrame(_as_plain(model.assign(head.set_index(customer), **options), customer)).schema
    # A pickle: the model's bytes, plus the cloudpickled function of a Python rule.
    shipped: Broadcast[bytes] = spark.sparkContext.broadcast(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        local: Model = pickle.loads(shipped.value)
        for frame in batches:
            if len(frame):
                yield _as_plain(local.assign(frame.set_index(customer), **options), customer)

    return sdf.mapInPandas(run, schema=schema)


def summarize(sdf: SparkDataFrame, **options: Any) -> Any:
    """Customer features from a PySpark DataFrame of transactions: what
    ``tk.summarize`` gives on all the rows at once (``options`` are its keyword
    arguments; give ``as_of``, or it is the last date seen). Each partition feeds a
    streaming ``tk.Summarizer`` (pickled back to the driver); the driver merges them
    in partition order and finalizes."""
    import pickle

    from .features import Summarizer

    def states(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        s = Summarizer(**options)
        for frame in batches:
            s.update(frame)
        yield pd.DataFrame({"part": [_partition_id()], "state": [pickle.dumps(s)]})

    _workers_python(sdf.sparkSession.sparkContext)
    rows = sorted(sdf.mapInPandas(states, schema="part long, state binary").collect(), key=lambda r: r["part"])
    total = Summarizer(**options)
    for r in rows:
        total.merge(pickle.loads(bytes(r["state"])))
    return total.finalize()
