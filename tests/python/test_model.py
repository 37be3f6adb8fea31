"""Policy, fit, assign and summary from Python."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tierkit as tk


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return tk.summarize(tk.datasets.synthetic(5000, seed=11), margin="margin")


def test_default_policy_end_to_end(features):
    model = tk.fit(tk.Policy.default(), features)
    out = model.assign(features)
    assert out.index.equals(features.index)
    assert list(out["tier"].cat.categories) == ["key", "high-value", "ordinary", "potential"]
    assert out["tier"].cat.ordered
    counts = out["tier"].value_counts(normalize=True)
    assert counts["key"] == pytest.approx(0.05, abs=0.01)
    # contributions sum to the score
    contrib = out[[c for c in out.columns if c.startswith("contrib_")]].sum(axis=1)
    np.testing.assert_allclose(contrib, out["value"], atol=1e-9)
    assert set(out.loc[out["tier"] == "key", "mode"]) == {"strategic"}
    assert out["reason"].iloc[0].startswith("quantiles: value")
    s = tk.summary(out, features)
    assert s["customers"].sum() == len(features)
    assert s["revenue_share"].sum() == pytest.approx(1.0)
    assert s.loc["key", "revenue_share"] > s.loc["key", "customer_share"]


def test_policy_from_dict_json_and_file(tmp_path):
    spec = {
        "criteria": [{"column": "revenue", "weight": 2}, {"column": "frequency", "weight": 1}],
        "rule": {"kind": "thresholds", "cuts": [50]},
        "tiers": ["top", "rest"],
    }
    a = tk.Policy(spec)
    b = tk.Policy(json.dumps(spec))
    path = tmp_path / "p.json"
    path.write_text(json.dumps(spec))
    c = tk.Policy(path)
    assert a == b == c
    assert a.to_dict()["scores"][0]["criteria"][0]["weight"] == 2
    assert "thresholds" in repr(a)


def test_policy_error_has_json_path():
    with pytest.raises(tk.PolicyError, match=r"^criteria\[1\]\.weight: must be >= 0, got -1$"):
        tk.Policy({"criteria": [{"column": "a", "weight": 1}, {"column": "b", "weight": -1}], "tiers": ["x"]})
    with pytest.raises(ValueError):
        tk.Policy({"tiers": ["x"]})


def test_unknown_criterion_column_lists_available(features):
    p = tk.Policy({"criteria": ["revenue", "nps"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})
    with pytest.raises(
        tk.ColumnNotFoundError,
        match=r"score 'score', criteria\[1\]\.column: unknown column 'nps'; available: .*revenue",
    ):
        tk.fit(p, features)


def test_abc_rule_on_revenue(features):
    # Exact thresholds (the default privacy grouping stores a group's mean instead).
    p = tk.Policy(
        {"criteria": ["revenue"], "rule": {"kind": "abc"}, "tiers": ["A", "B", "C"], "privacy": {"min_group": 1}}
    )
    out = tk.fit(p, features).assign(features, contributions=False)
    rev = features["revenue"].clip(lower=0).sort_values(ascending=False)
    share_a = rev[out.loc[rev.index, "tier"] == "A"].sum() / rev.sum()
    assert 0.8 <= share_a < 0.8 + rev.iloc[0] / rev.sum() + 1e-12  # smallest set holding >= 80%
    assert not any(c.startswith("contrib_") for c in out.columns)


def test_several_scores_and_attribute_join(features):
    rng = np.random.default_rng(0)
    attrs = pd.DataFrame({"credit": rng.integers(1, 6, len(features)).astype(float)}, index=features.index)
    joined = tk.join(features, attrs)
    p = tk.Policy(
        {
            "scores": [
                {"name": "value", "criteria": ["revenue", "margin"], "weights": {"method": "entropy"}},
                {"name": "potential", "criteria": ["trend", "credit"], "weights": {"method": "critic"}},
            ],
            "rule": {"kind": "quantiles", "score": "potential", "shares": [0.1, 0.3]},
            "tiers": ["grow", "watch", "keep"],
        }
    )
    m = tk.fit(p, joined)
    w = m.weights
    assert list(w["score"]) == ["value", "value", "potential", "potential"]
    assert w.groupby("score")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])
    out = m.assign(joined)
    assert {"value", "potential", "contrib_revenue", "contrib_potential_credit"} <= set(out.columns)


def test_nan_in_a_criterion_names_column_and_row(features):
    bad = features.copy()
    bad.iloc[3, bad.columns.get_loc("revenue")] = np.nan
    with pytest.raises(tk.InvalidInputError, match=r"^column 'revenue', row 3: must be a finite number, got nan$"):
        tk.fit(tk.Policy.default(), bad)


def test_model_params_and_repr(features):
    m = tk.fit(tk.Policy.default(), features)
    params = m.params
    cuts = params["rule"]["parameters"]["cuts"]
    assert len(cuts) == 3 and cuts[0] > cuts[1] > cuts[2]
    assert "quantiles" in repr(m)


def test_weights_module():
    r = tk.weights.ahp([[1, 3], [1 / 3, 1]])
    np.testing.assert_allclose(r.weights, [0.75, 0.25])
    assert r.lambda_max == pytest.approx(2.0)
    with pytest.raises(tk.NumericError, match="consistency ratio"):
        tk.weights.ahp([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]])
    df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 1, 1, 1]})
    w = tk.weights.entropy(df, directions=["higher", "lower"])
    assert w.to_dict() == {"a": 1.0, "b": 0.0}
    c = tk.weights.critic(pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [4.0, 3, 2, 1.5]}))
    assert c.sum() == pytest.approx(1.0)
    with pytest.raises(tk.InvalidInputError, match=r"directions\[0\]"):
        tk.weights.critic(df, directions=["up", "down"])


def test_synthetic_is_deterministic():
    a = tk.datasets.synthetic(2000, seed=5)
    b = tk.datasets.synthetic(2000, seed=5, threads=1)
    pd.testing.assert_frame_equal(a, b)
    _tx, customers = tk.datasets.synthetic(100, seed=5, return_customers=True)
    assert len(customers) == 100
    assert set(customers["type"].cat.categories) == {"occasional", "regular", "loyal", "whale"}


def test_save_load_pickle_round_trip(features, tmp_path):
    import copy
    import pickle

    p = tk.Policy(
        {
            "criteria": ["revenue", {"column": "days_since_last", "direction": "lower"}],
            "weights": {"method": "entropy"},
            "rule": {"kind": "quantiles", "shares": [0.1, 0.3]},
            "tiers": ["a", "b", "c"],
        }
    )
    m = tk.fit(p, features)
    expected = m.assign(features)
    for kind in ("binary", "text", "xml"):
        tk.save(m, tmp_path / f"m.{kind}", kind=kind)
        pd.testing.assert_frame_equal(tk.load(tmp_path / f"m.{kind}").assign(features), expected)
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        pd.testing.assert_frame_equal(clone.assign(features), expected)
    # model files hold aggregates, never customer ids
    assert b"customer" not in m.to_bytes("xml")
    with pytest.raises(tk.FormatError, match="bad magic at byte 0"):
        tk.Model.from_bytes(b"not a model at all, clearly not one")
    data = bytearray(m.to_bytes())
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(tk.FormatError, match="checksum mismatch"):
        tk.Model.from_bytes(bytes(data))
    python_rule = tk.fit(
        tk.Policy(
            {
                "criteria": ["revenue"],
                "rule": lambda f, s: np.zeros(len(f), dtype=int),
                "tiers": ["x", "y"],
                "empty_tiers": "allow",
            }
        ),
        features,
    )
    with pytest.raises(tk.FormatError, match="cannot serialize the model \\(rule 'python'\\)"):
        python_rule.to_bytes()
