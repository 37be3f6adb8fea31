"""tk.Fitter over chunks and tk.set_num_threads: results bit-identical at 1, 2 and 4
threads (summarize, fit, assign), exact chunked fits equal tk.fit, states pickle."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

import tierkit as tk


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return tk.summarize(tk.datasets.synthetic(3000, seed=8), customer="customer", date="date", amount="amount")


# Sketch and refine keep single rows' values: they fit the privacy opt-out only.
EXACT_VALUES = {**tk.Policy.default().to_dict(), "privacy": {"min_group": 1}}


def _chunks(frame: pd.DataFrame, parts: int) -> list[pd.DataFrame]:
    n = len(frame)
    return [frame.iloc[n * p // parts : n * (p + 1) // parts] for p in range(parts)]


def test_thread_count_does_not_change_a_byte():
    # 70,000 customers: more rows than one parallel range (65,536), so the threads split the work.
    tx = tk.datasets.synthetic(70000, seed=2)
    policy = tk.Policy(
        {
            "criteria": [
                {"column": "revenue", "normalizer": "percentile"},
                {"column": "frequency", "normalizer": "minmax"},
            ],
            "rule": {"kind": "kmeans", "k": 3, "seed": 2},
            "tiers": ["a", "b", "c"],
        }
    )
    seen = []
    try:
        for n in (1, 2, 4):
            tk.set_num_threads(n)
            assert tk.get_num_threads() == n
            f = tk.summarize(tx, customer="customer", date="date", amount="amount")
            model = tk.fit(policy, f)
            out = model.assign(f)
            blob = b"".join(
                [
                    pd.util.hash_pandas_object(f).to_numpy().tobytes(),
                    model.to_bytes(),
                    out["score"].to_numpy().tobytes(),
                    out["tier_index"].to_numpy().tobytes(),
                    out["cluster_distance"].to_numpy().tobytes(),
                ]
            )
            seen.append(blob)
    finally:
        tk.set_num_threads(None)
    assert seen[0] == seen[1] == seen[2]


def test_set_num_threads_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("TIERKIT_NUM_THREADS", "3")
    try:
        tk.set_num_threads(None)
        assert tk.get_num_threads() == 3
        tk.set_num_threads(2)
        assert tk.get_num_threads() == 2
        with pytest.raises(tk.InvalidInputError, match="must be >= 0"):
            tk.set_num_threads(-1)
    finally:
        tk.set_num_threads(None)


@pytest.mark.parametrize("parts", [1, 16])
def test_exact_chunked_fit_equals_fit(features, parts):
    policy = tk.Policy.default()
    model = tk.Fitter(policy).fit(_chunks(features, parts))
    assert model.to_bytes() == tk.fit(policy, features).to_bytes()


def test_sketch_fit_runs_passes_and_states_pickle(features):
    fitter = tk.Fitter(EXACT_VALUES, mode="sketch")
    assert (fitter.mode, fitter.stage) == ("sketch", "criteria")
    while not fitter.done:
        states = [pickle.loads(pickle.dumps(fitter.update(c))) for c in _chunks(features, 4)]
        total = states[0]
        for s in states[1:]:
            total = total.merge(s)
        fitter = pickle.loads(pickle.dumps(fitter))
        fitter.advance(total)
    assert fitter.passes == 2  # criteria, then the quantile sketch of the score
    exact = tk.fit(EXACT_VALUES, features).assign(features)["tier"]
    agree = (fitter.model().assign(features)["tier"] == exact).mean()
    assert agree >= 0.99


REFINE = {
    "criteria": [
        {"column": "revenue", "transform": "log1p", "clip": [0.05, 0.95], "normalizer": "robust"},
        {"column": "frequency", "normalizer": "percentile"},
        {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"},
    ],
    "rule": {"kind": "quantiles", "shares": [0.1, 0.3]},
    "tiers": ["a", "b", "c"],
    "privacy": {"min_group": 1},
}


@pytest.mark.parametrize("parts", [1, 16])
def test_refine_fit_equals_fit_byte_for_byte(features, parts):
    for policy in (tk.Policy(EXACT_VALUES), tk.Policy(REFINE)):
        # Small sketches and buckets: most target ranks lie in buckets whose values are gathered.
        fitter = tk.Fitter(policy, mode="refine", sketch_k=32, refine_buckets=256)
        model = pickle.loads(pickle.dumps(fitter)).fit(_chunks(features, parts))
        assert model.to_bytes() == tk.fit(policy, features).to_bytes()
    fitter = tk.Fitter(tk.Policy(REFINE), mode="refine", sketch_k=32, refine_buckets=256)
    fitter.fit(_chunks(features, parts))
    # clip and rule: sketch, count, values; criteria: sketch, count (fewer than 16385 distinct values each)
    assert fitter.mode == "refine" and fitter.passes == 8
    assert 0 < fitter.collected_rows < len(features)
    with pytest.raises(tk.PolicyError, match=r"kind 'kmeans' .* refine mode"):
        tk.Fitter({"criteria": ["revenue"], "rule": {"kind": "kmeans", "k": 2}, "tiers": ["a", "b"]}, mode="refine")


def test_states_of_different_passes_do_not_merge(features):
    a = tk.Fitter(EXACT_VALUES, mode="sketch").update(features)
    b = tk.Fitter(tk.Policy.default()).update(features)
    with pytest.raises(tk.InvalidInputError, match="different passes"):
        tk.Fitter.merge(a, b)
    with pytest.raises(tk.FormatError, match="bad magic"):
        tk.PartialState.from_bytes(b"not a state")
    with pytest.raises(tk.PolicyError, match="not done"):
        tk.Fitter(tk.Policy.default()).model()


GOLDEN = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "golden"


def test_fit_states_in_the_first_envelope_still_load_and_continue():
    # fitter.v1.tkfit and fit_state.v1.tkfit: a sketch-mode Fitter of the default policy
    # (with "privacy": {"min_group": 1}) and its first pass's state over features.csv,
    # written in the first 24-byte "TKFITTR"/"TKSTATE" envelope.
    features = pd.read_csv(GOLDEN / "features.csv", index_col="id").drop(columns=["region"])
    old_fitter, old_state = ((GOLDEN / f).read_bytes() for f in ("fitter.v1.tkfit", "fit_state.v1.tkfit"))
    assert (old_fitter[:8], old_state[:8]) == (b"TKFITTR\0", b"TKSTATE\0")
    fitter = tk.Fitter.from_bytes(old_fitter)
    assert (fitter.mode, fitter.stage) == ("sketch", "criteria")
    fitter.advance(tk.PartialState.from_bytes(old_state))
    while not fitter.done:
        fitter.advance(fitter.update(features))
    fresh = tk.Fitter(fitter.policy, mode="sketch")
    while not fresh.done:
        fresh.advance(fresh.update(features))
    assert fitter.model().to_bytes() == fresh.model().to_bytes()
    # States are now written in the one envelope: magic "TIERKIT", content kind at byte 14.
    state = tk.Fitter(fitter.policy, mode="sketch").update(features).to_bytes()
    assert state[:8] == b"TIERKIT\0" and state[14] == 1
    assert tk.Fitter(fitter.policy, mode="sketch").to_bytes()[14] == 2
