"""tierkit.dask on a LocalCluster with 2 worker processes: exact fits equal the
single-machine fit bit for bit, sketch fits keep exact statistics and put the
quantile cuts within the sketch's rank error, assign equals Model.assign."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] is not installed")
distributed = pytest.importorskip("distributed", reason="distributed is not installed")

KMEANS = {"criteria": ["revenue", "frequency"], "rule": {"kind": "kmeans", "k": 3, "seed": 1}, "tiers": ["a", "b", "c"]}
# Sketch and refine keep single rows' values: they fit the privacy opt-out only.
EXACT_VALUES = {**tk.Policy.default().to_dict(), "privacy": {"min_group": 1}}


@pytest.fixture(scope="module")
def client():
    import dask

    # Generous start-up timeouts: worker processes start slowly on a busy 2-core machine.
    with (
        dask.config.set(
            {
                "distributed.comm.timeouts.connect": "120s",
                "distributed.comm.timeouts.tcp": "120s",
                "distributed.nanny.environ": {"TIERKIT_NUM_THREADS": "1"},
            }
        ),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
            death_timeout=120,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    tx = tk.datasets.synthetic(4000, seed=3)
    return tk.summarize(tx, customer="customer", date="date", amount="amount")


def test_exact_fit_equals_single_machine(client, features):
    ddf = dd.from_pandas(features, npartitions=7)
    for policy in (tk.Policy.default(), tk.Policy(KMEANS)):
        model = tk.dask.fit(policy, ddf, split_every=3)
        assert model.to_bytes() == tk.fit(policy, features).to_bytes()


def test_refine_fit_equals_single_machine(client, features):
    ddf = dd.from_pandas(features, npartitions=16)
    model = tk.dask.fit(EXACT_VALUES, ddf, mode="refine", sketch_k=32, split_every=4)
    assert model.to_bytes() == tk.fit(EXACT_VALUES, features).to_bytes()


def test_fit_progress_counts_the_passes(client, features, capsys, monkeypatch):
    # tqdm redraws at most every 0.1 s, so the printed count may lag; read the bar itself.
    bars = []

    def recording_bar(*args, **kwargs):
        bars.append(tk.progress.bar(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(tk.dask, "bar", recording_bar)
    ddf = dd.from_pandas(features, npartitions=3)
    model = tk.dask.fit({**KMEANS, "privacy": {"min_group": 1}}, ddf, mode="sketch", progress=True)
    assert "fit passes" in capsys.readouterr().err
    assert len(bars) == 1 and type(bars[0]).__name__ == "tqdm"
    assert bars[0].n >= 3  # criteria, the kmeans++ sample, then one per Lloyd iteration
    assert model.assign(features)["tier"].notna().all()


def test_sketch_fit_within_the_rank_error(client, features):
    ddf = dd.from_pandas(features, npartitions=5)
    policy = tk.Policy(EXACT_VALUES)
    exact = tk.fit(policy, features)
    sketch = tk.dask.fit(policy, ddf, mode="sketch")
    for e, s in zip(exact.params["scores"][0]["criteria"], sketch.params["scores"][0]["criteria"]):
        assert (s["min"], s["max"]) == (e["min"], e["max"])  # exact statistics
        assert s["mean"] == pytest.approx(e["mean"], rel=1e-12)
    score = np.sort(exact.assign(features)["value"].to_numpy())
    n = len(score)
    for ce, cs in zip(exact.params["rule"]["parameters"]["cuts"], sketch.params["rule"]["parameters"]["cuts"]):
        rank_e, rank_s = np.searchsorted(score, ce), np.searchsorted(score, cs)
        assert abs(rank_e - rank_s) / n <= 0.005


def test_assign_equals_model_assign(client, features):
    ddf = dd.from_pandas(features, npartitions=4)
    model = tk.fit(tk.Policy.default(), features)
    lazy = tk.dask.assign(model, ddf)
    assert list(lazy.columns) == list(model.assign(features).columns)
    got, want = lazy.compute(), model.assign(features)
    # top_criteria's categories are the union over partitions: compare the labels.
    for frame in (got, want):
        frame["top_criteria"] = frame["top_criteria"].astype(str)
        frame["reason"] = frame["reason"].astype(str)
    pd.testing.assert_frame_equal(got, want)
    assert list(got["tier"].cat.categories) == list(want["tier"].cat.categories)


def test_models_pickle_and_tokenize(features):
    from dask.base import tokenize

    model = tk.fit(tk.Policy.default(), features)
    again = pickle.loads(pickle.dumps(model, protocol=2))
    assert tokenize(model) == tokenize(again)
    assert tokenize(model) != tokenize(tk.fit(tk.Policy(KMEANS), features))


def test_sketch_mode_gathers_a_rule_that_needs_every_row(client, features):
    # pct() needs every row: the rule's default gathering state fits it on all of them.
    ddf = dd.from_pandas(features, npartitions=2)
    policy = {
        "criteria": ["revenue"],
        "tiers": ["a", "b"],
        "rule": {"kind": "expression", "branches": [{"when": "pct(revenue) >= 0.9", "tier": "a"}, {"else": "b"}]},
        "privacy": {"min_group": 1},
    }
    model = tk.dask.fit(policy, ddf, mode="sketch")
    expected = tk.fit(tk.Policy(policy), features).assign(features)["tier"]
    pd.testing.assert_series_equal(model.assign(features)["tier"], expected)


def test_summarize_equals_single_machine(client):
    tx = tk.datasets.synthetic(800, seed=6)
    options = {"customer": "customer", "date": "date", "amount": "amount", "margin": "margin", "as_of": "2024-12-31"}
    got = tk.dask.summarize(dd.from_pandas(tx, npartitions=5), split_every=2, **options)
    pd.testing.assert_frame_equal(got, tk.summarize(tx, **options))


def test_assign_ships_a_python_rule(client, features):
    # A model file cannot hold a Python callable; the pickle sent to the workers does.
    pytest.importorskip("cloudpickle")
    cut = float(features["revenue"].median())
    rule = lambda f, score: np.where(f["revenue"] >= cut, 0, 1)  # noqa: E731
    model = tk.fit(tk.Policy({"criteria": ["revenue", "frequency"], "rule": rule, "tiers": ["top", "rest"]}), features)
    got = tk.dask.assign(model, dd.from_pandas(features, npartitions=3)).compute()
    want = model.assign(features)
    assert got["tier"].astype(str).tolist() == want["tier"].astype(str).tolist()
    assert (got["tier"] == "top").sum() == (features["revenue"] >= cut).sum()
