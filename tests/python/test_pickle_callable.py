"""A model whose rule is a Python callable, or nests callables: no model file (a
clear FormatError), but pickle, copy.deepcopy and joblib work through cloudpickle."""

from __future__ import annotations

import builtins
import copy
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

cloudpickle = pytest.importorskip("cloudpickle")


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return tk.summarize(tk.datasets.synthetic(400, seed=3))


@pytest.fixture(scope="module")
def model(features):
    cut = float(features["revenue"].median())
    # A closure over a local value: only cloudpickle can pickle it (by value).
    rule = lambda f, score: np.where(f["revenue"] >= cut, 0, np.where(score > 30, 1, 2))  # noqa: E731
    return tk.fit(
        tk.Policy({"criteria": ["revenue", "frequency"], "rule": rule, "tiers": ["top", "middle", "rest"]}), features
    )


@pytest.fixture(scope="module")
def nested(features):
    """Two closures, a chain's first rule and its sub-rule in the top tier."""
    cut = float(features["revenue"].quantile(0.7))
    visits = 4.0
    first = lambda f, score: np.where(f["revenue"] >= cut, "top", "rest")  # noqa: E731
    then = lambda f, score: np.where(f["orders"] >= visits, "top", "middle")  # noqa: E731
    rule = {"kind": "chain", "first": {"kind": "python", "function": first, "tiers": ["top", "rest"]}}
    rule["then"] = {"top": {"kind": "python", "function": then, "tiers": ["top", "middle"]}}
    return tk.fit(tk.Policy({"criteria": ["revenue"], "rule": rule, "tiers": ["top", "middle", "rest"]}), features)


@pytest.fixture(params=["top", "nested"])
def any_model(request, model, nested):
    return model if request.param == "top" else nested


def test_nested_callables_tier(nested, features):
    out = nested.assign(features)
    top = features["revenue"] >= features["revenue"].quantile(0.7)
    expected = np.where(top, np.where(features["orders"] >= 4, "top", "middle"), "rest")
    assert out["tier"].astype(str).tolist() == expected.tolist()
    assert set(expected) == {"top", "middle", "rest"}


def test_a_model_file_cannot_hold_the_callable(any_model, tmp_path):
    model = any_model
    for kind in ("binary", "text", "xml"):
        with pytest.raises(
            tk.FormatError,
            match=r"cannot serialize the model \(rule 'python'\).*Python callable.*"
            r"pickle the model",
        ):
            model.to_bytes(kind)
    with pytest.raises(tk.FormatError, match="Python callable"):
        tk.save(model, tmp_path / "m.tkm")
    assert not (tmp_path / "m.tkm").exists()


def test_pickle_and_deepcopy_round_trip(any_model, features):
    model = any_model
    expected = model.assign(features)
    assert expected["tier"].nunique() == 3
    assert pickle.loads(pickle.dumps(model)).policy == model.policy
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        pd.testing.assert_frame_equal(clone.assign(features), expected)


def test_joblib_round_trip(model, features, tmp_path):
    joblib = pytest.importorskip("joblib")
    joblib.dump(model, tmp_path / "m.joblib")
    pd.testing.assert_frame_equal(joblib.load(tmp_path / "m.joblib").assign(features), model.assign(features))


def test_unpickled_in_a_fresh_process(any_model, features, tmp_path):
    # The callables are not registered there: the pickle brings them.
    model = any_model
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(model))
    features.to_pickle(tmp_path / "f.pkl")
    code = (
        "import pickle, pandas as pd, tierkit as tk; "
        f"m = pickle.loads(open({str(tmp_path / 'm.pkl')!r}, 'rb').read()); "
        f"f = pd.read_pickle({str(tmp_path / 'f.pkl')!r}); "
        "print(','.join(str(t) for t in m.assign(f)['tier_index']))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ",".join(str(t) for t in model.assign(features)["tier_index"])


def test_without_cloudpickle_the_error_names_it(any_model, monkeypatch):
    model = any_model
    real_import = builtins.__import__

    def no_cloudpickle(name, *args, **kwargs):
        if name == "cloudpickle":
            raise ImportError("No module named 'cloudpickle'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cloudpickle)
    with pytest.raises(pickle.PicklingError, match="needs cloudpickle"):
        pickle.dumps(model)
    with pytest.raises(pickle.PicklingError, match="needs cloudpickle"):
        copy.deepcopy(model)


def test_built_in_rules_still_pickle_through_model_bytes(features):
    m = tk.fit(tk.Policy.default(), features)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(m)).assign(features), m.assign(features))
