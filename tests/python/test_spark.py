"""tierkit.spark in local[2] mode: exact fits equal the single-machine fit bit for
bit, sketch fits put the quantile cuts within the sketch's rank error, assign
equals Model.assign. One SparkSession for the whole run."""

from __future__ import annotations

import os
import shutil
import socket
import sys

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed")
if shutil.which("java") is None:
    pytest.skip("no java on PATH (scripts/setup.sh installs openjdk-17-jre-headless)", allow_module_level=True)

# PySpark warns that its pandas >= 3 support is partial, and its toPandas passes pandas
# a deprecated keyword; the paths used here work.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    # PySpark's accumulator server binds the name "localhost" (not configurable), which
    # resolves on every installed system and container (/etc/hosts); a bare chroot made
    # by debootstrap has no /etc/hosts.
    try:
        socket.getaddrinfo("localhost", 0)
    except socket.gaierror as exc:
        pytest.skip(f"the name 'localhost' does not resolve here ({exc}); PySpark's driver binds it")

    # PYSPARK_PYTHON unset: tk.spark makes the local workers run this interpreter
    # (test_workers_run_the_driver_python). The driver binds to 127.0.0.1, so the
    # machine's host name need not resolve.
    saved = os.environ.pop("PYSPARK_PYTHON", None)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tierkit-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    tx = tk.datasets.synthetic(3000, seed=4)
    return tk.summarize(tx, customer="customer", date="date", amount="amount")


def test_fit_exact_and_sketch_and_assign(spark, features):
    sdf = spark.createDataFrame(features.reset_index())  # 2 slices, rows in order
    assert sdf.rdd.getNumPartitions() >= 2
    # Sketch keeps single rows' values: it fits the privacy opt-out only.
    policy = tk.Policy({**tk.Policy.default().to_dict(), "privacy": {"min_group": 1}})
    exact = tk.fit(policy, features)
    assert tk.spark.fit(policy, sdf).to_bytes() == exact.to_bytes()
    assert tk.spark.fit(tk.Policy.default(), sdf).to_bytes() == tk.fit(tk.Policy.default(), features).to_bytes()

    sketch = tk.spark.fit(policy, sdf, mode="sketch")
    score = np.sort(exact.assign(features)["value"].to_numpy())
    for ce, cs in zip(exact.params["rule"]["parameters"]["cuts"], sketch.params["rule"]["parameters"]["cuts"]):
        assert abs(np.searchsorted(score, ce) - np.searchsorted(score, cs)) / len(score) <= 0.005
    for e, s in zip(exact.params["scores"][0]["criteria"], sketch.params["scores"][0]["criteria"]):
        assert (s["min"], s["max"]) == (e["min"], e["max"])

    got = tk.spark.assign(exact, sdf).toPandas().set_index("customer").sort_index()
    want = exact.assign(features).sort_index()
    assert list(got.columns) == list(want.columns)
    np.testing.assert_array_equal(got["value"].to_numpy(), want["value"].to_numpy())
    assert got["tier"].tolist() == want["tier"].astype(str).tolist()
    assert got["reason"].tolist() == want["reason"].astype(str).tolist()


def test_refine_fit_equals_single_machine(spark, features):
    sdf = spark.createDataFrame(features.reset_index()).repartition(16)  # rows out of order
    policy = tk.Policy({**tk.Policy.default().to_dict(), "privacy": {"min_group": 1}})
    assert tk.spark.fit(policy, sdf, mode="refine", sketch_k=32).to_bytes() == tk.fit(policy, features).to_bytes()


def test_sketch_mode_refuses_the_default_grouping(spark, features):
    # A rule that needs every row is gathered in sketch mode; the default grouping of
    # stored values (privacy.min_group) is not, and is named.
    sdf = spark.createDataFrame(features.reset_index().head(50))
    policy = {
        "criteria": ["revenue"],
        "tiers": ["a", "b"],
        "rule": {"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "a"}, {"else": "b"}]},
    }
    with pytest.raises(tk.PolicyError, match=r"privacy\.min_group"):
        tk.spark.fit(policy, sdf, mode="sketch")


def test_summarize_equals_single_machine(spark):
    tx = tk.datasets.synthetic(500, seed=7)
    options = {"customer": "customer", "date": "date", "amount": "amount", "as_of": "2024-12-31"}
    got = tk.spark.summarize(spark.createDataFrame(tx), **options)
    pd.testing.assert_frame_equal(got, tk.summarize(tx, **options))


def test_assign_ships_a_python_rule(spark, features):
    # A model file cannot hold a Python callable; the pickle broadcast to the executors does.
    pytest.importorskip("cloudpickle")
    cut = float(features["revenue"].median())
    rule = lambda f, score: np.where(f["revenue"] >= cut, 0, 1)  # noqa: E731
    model = tk.fit(tk.Policy({"criteria": ["revenue", "frequency"], "rule": rule, "tiers": ["top", "rest"]}), features)
    got = tk.spark.assign(model, spark.createDataFrame(features.reset_index())).toPandas().set_index("customer")
    want = model.assign(features)
    assert got.sort_index()["tier"].tolist() == want.sort_index()["tier"].astype(str).tolist()


def test_workers_run_the_driver_python(spark, features):
    """With PYSPARK_PYTHON unset, a local session's workers would run `python3` from
    PATH (no tierkit there on a machine without it); tk.spark points them at this
    interpreter."""
    context = spark.sparkContext
    saved = os.environ.pop("PYSPARK_PYTHON", None)
    context.pythonExec = "python3"  # what a session started without PYSPARK_PYTHON has
    try:
        sdf = spark.createDataFrame(features.reset_index().head(200))
        model = tk.spark.fit(tk.Policy.default(), sdf)
        assert context.pythonExec == sys.executable
        assert os.environ["PYSPARK_PYTHON"] == sys.executable
        assert model.to_bytes() == tk.fit(tk.Policy.default(), features.head(200)).to_bytes()
    finally:
        if saved is not None:
            os.environ["PYSPARK_PYTHON"] = saved
