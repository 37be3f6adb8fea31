"""Model.scorer(): one customer at a time through the core's Scorer, as assign scores them."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

import tierkit as tk


@pytest.fixture(scope="module")
def fitted():
    f = tk.summarize(tk.datasets.synthetic(800, seed=6))
    model = tk.fit(tk.Policy.default(), f)
    return f, model, model.assign(f)


def test_one_customer_as_assign_gives_it(fitted):
    f, model, out = fitted
    score = model.scorer()
    assert score.columns == ["revenue", "frequency", "days_since_last", "aov"]
    for customer in f.index[::37]:
        row = f.loc[customer]
        expected = out.loc[customer]
        for given in (row, row.to_dict(), row[score.columns].to_numpy(), list(row[score.columns])):
            one = score(given)
            assert one.tier == expected["tier"] and one.tier_index == expected["tier_index"]
            assert one.reason == expected["reason"]
            assert one.scores == {"value": expected["value"]}  # bit for bit


def test_a_batch_as_assign_gives_it(fitted):
    f, model, out = fitted
    many = model.scorer().score_many(f)
    assert many.index.equals(f.index)
    np.testing.assert_array_equal(many["value"].to_numpy(), out["value"].to_numpy())
    assert many["tier"].equals(out["tier"])
    assert many["reason"].astype(str).equals(out["reason"].astype(str))
    from_array = model.scorer().score_many(f[["revenue", "frequency", "days_since_last", "aov"]].to_numpy())
    np.testing.assert_array_equal(from_array["tier_index"].to_numpy(), out["tier_index"].to_numpy())


def test_errors_name_the_column(fitted):
    f, model, _ = fitted
    score = model.scorer()
    with pytest.raises(tk.ColumnNotFoundError, match="no value for column 'aov'"):
        score({"revenue": 1.0, "frequency": 1.0, "days_since_last": 3.0})
    with pytest.raises(tk.InvalidInputError, match="column 'frequency': must be a finite number"):
        score({"revenue": 1.0, "frequency": float("nan"), "days_since_last": 3.0, "aov": 1.0})
    with pytest.raises(tk.InvalidInputError, match="expected 4 values"):
        score([1.0, 2.0])
    with pytest.raises(tk.ColumnNotFoundError, match="column 'aov' is not among the scorer's columns"):
        model.scorer(["revenue", "frequency", "days_since_last"])
    with pytest.raises(tk.ColumnNotFoundError, match="customers: unknown column 'aov'"):
        score.score_many(f[["revenue", "frequency", "days_since_last"]])


def test_the_scorer_keeps_its_model_alive():
    f = tk.summarize(tk.datasets.synthetic(200, seed=2))
    model = tk.fit(tk.Policy.default(), f)
    expected = model.assign(f)["value"].iloc[0]
    score = model.scorer()
    del model
    gc.collect()
    assert score(f.iloc[0]).scores["value"] == expected


def test_other_rules_take_the_general_path():
    f = pd.DataFrame(
        {"x": [1.0, 5.0, 9.0, 3.0], "y": [2.0, 2.0, 8.0, 1.0]}, index=pd.Index([1, 2, 3, 4], name="customer")
    )
    policy = {
        "criteria": ["x", "y"],
        "rule": {"kind": "expression", "branches": [{"when": "y > 5", "tier": "a"}, {"else": "b"}]},
        "tiers": ["a", "b"],
    }
    model = tk.fit(policy, f)
    out = model.assign(f)
    score = model.scorer(["x", "y"])
    assert [score(f.loc[c]).tier for c in f.index] == out["tier"].tolist()
