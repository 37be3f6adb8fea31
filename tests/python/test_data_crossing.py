"""What crosses into the core on fit and assign: dates as day numbers, ids encoded once per index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit import model as tkmodel


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_date_columns_cross_as_their_ticks_and_the_core_floors_them_to_days(unit):
    f = tk.summarize(tk.datasets.synthetic(400, seed=5))
    model = tk.fit(tk.Policy.default(), f)
    # Times of day (and a NaT) on the purchase dates: the day number is the floor.
    dated = f.copy()
    for k, name in enumerate(("first_purchase", "last_purchase")):
        shifted = f[name] + pd.to_timedelta((np.arange(len(f)) * 7 + k) % 24, unit="h")
        dated[name] = shifted.astype(f"datetime64[{unit}]")
    ticks, per_day = tkmodel._date_ticks(dated["last_purchase"])
    assert per_day == {"ns": 86_400_000_000_000, "us": 86_400_000_000, "s": 86_400}[unit]
    assert np.shares_memory(ticks, dated["last_purchase"].to_numpy())  # crosses without a copy
    by_hand = dated.copy()
    for name in ("first_purchase", "last_purchase"):
        days = np.floor((dated[name] - pd.Timestamp(0)) / pd.Timedelta(days=1))  # NaT -> NaN
        by_hand[name] = days.astype(float)
    a, b = model.assign(dated), model.assign(by_hand)
    pd.testing.assert_frame_equal(a, b)
    # NaT crosses as NaN: a buyer without a last purchase date is named by row.
    dated.loc[dated.index[3], "last_purchase"] = pd.NaT
    assert dated["orders"].iloc[3] > 0
    with pytest.raises(tk.InvalidInputError, match="column 'last_purchase', row 3: must be a finite number"):
        model.assign(dated)


def test_the_features_show_day_numbers_as_datetime64():
    """summarize's day numbers become the datetime64 display columns by one integer
    multiplication; the values are those numpy's unit casts give."""
    from tierkit._convert import to_dates

    days = np.array([-106751, -1, 0, 1, 19724, 106750], dtype=np.float64)
    shown = to_dates(days)
    assert shown.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(shown, days.astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]"))
    assert str(shown[4]) == "2024-01-02T00:00:00.000000000"
    far = to_dates(np.array([-200000.0, 19724.0, 200000.0]))  # beyond 1677..2262: seconds, no wrap-around
    assert far.dtype == np.dtype("datetime64[s]") and str(far[2])[:4] == "2517"
    gap = to_dates(np.array([19724.0, np.nan]))
    assert gap.dtype == np.dtype("datetime64[ns]") and str(gap[0])[:10] == "2024-01-02" and np.isnat(gap[1])
    assert to_dates(np.arange(3)).dtype == np.dtype("datetime64[ns]")
    f = tk.summarize(tk.datasets.synthetic(50, seed=1))
    assert f["first_purchase"].dtype == f["last_purchase"].dtype == np.dtype("datetime64[ns]")
    assert (f["first_purchase"] <= f["last_purchase"]).all()


def test_time_zone_aware_dates_take_the_general_path():
    dates = pd.Series(pd.to_datetime(["2024-01-02 01:00", None]).tz_localize("Europe/Berlin"))
    assert tkmodel._date_ticks(dates) is None
    np.testing.assert_array_equal(tkmodel._day_column(dates), [19724.0, np.nan])  # 2024-01-02 00:00 UTC


def test_assign_passes_only_the_columns_the_model_reads():
    f = tk.summarize(tk.datasets.synthetic(300, seed=6))
    model = tk.fit(tk.Policy.default(), f)
    wanted = model._input_columns()
    assert wanted[:4] == ["revenue", "frequency", "days_since_last", "aov"]
    assert set(wanted[4:]) == {"orders", "first_purchase", "last_purchase", "trend"}
    _, names, _, dates, _ = tkmodel._table(f, model.policy.required_columns, wanted)
    assert names == ["revenue", "frequency", "days_since_last", "aov", "orders", "trend"]
    assert [d[0] for d in dates] == ["first_purchase", "last_purchase"]
    # Without the columns list (fit, and a Python callable rule): every numeric column.
    _, names, _, _, _ = tkmodel._table(f, model.policy.required_columns)
    assert "recency" in names and "T" in names


def test_string_ids_are_encoded_once_for_fit_and_assign(monkeypatch):
    f = tk.summarize(tk.datasets.synthetic(400, seed=3))
    f.index = pd.Index([f"c{i:05d}" for i in f.index], name="customer")
    made = []
    real = tkmodel.IdCodec

    class Counting(real):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tkmodel, "IdCodec", Counting)
    model = tk.fit(tk.Policy.default(), f)
    first = model.assign(f)
    second = model.assign(f)
    assert len(made) == 1
    assert first.index.equals(f.index) and first["tier"].equals(second["tier"])
    # A new index object (here, a subset) gets its own encoding.
    model.assign(f.iloc[:10])
    assert len(made) == 2


def test_the_core_assignment_is_a_class_of_views():
    f = tk.summarize(tk.datasets.synthetic(300, seed=4))
    model = tk.fit(tk.Policy.default(), f)
    ids, names, arrays, dates, _ = tkmodel._table(f, model.policy.required_columns, model._input_columns())
    out = model._core.assign(ids, names, arrays, [], dates=dates)
    assert isinstance(out, tk._core.model.Assignment) and out.rows == len(f)
    value = out.score("value")
    assert np.shares_memory(value, out.scores[0])  # both views of the core's column
    assert np.shares_memory(out.contribution("value", "aov"), out.contributions[0][3])
    assert out.contribution_names == [["revenue", "frequency", "days_since_last", "aov"]]
    assert out.tier_names == ["key", "high-value", "ordinary", "potential"]
    assert out.has_stages and len(out.stage) == len(f)
    del out
    assert np.isfinite(value).all()  # the view keeps the assignment alive
    again = model._core.assign(ids, names, arrays, [], dates=dates)
    with pytest.raises(tk.ColumnNotFoundError, match="score 'nope' is not in the assignment; scores: value"):
        again.score("nope")


CLV_SECTION = {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01, "time_unit": "W"}

#: Policies reading columns in every way a policy can: criteria, a score of the rule,
#: a rule's own columns (thresholds on a column, expressions, rfm segments, matrix axes,
#: chains), a group_by column, a clv section (inputs, and criteria on its outputs) and
#: lifecycle thresholds (the stage columns).
INPUT_POLICIES = {
    "default": (tk.Policy.default().to_dict(), ["revenue", "frequency", "days_since_last", "aov"]),
    "thresholds on a column": (
        {
            "criteria": ["revenue", "aov"],
            "rule": {"kind": "thresholds", "column": "revenue_365d", "cuts": [100, 10]},
            "tiers": ["a", "b", "c"],
        },
        ["revenue", "aov", "revenue_365d"],
    ),
    "expression": (
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "expression",
                "branches": [{"when": "orders_90d >= 2 and score > 50", "tier": "a"}, {"else": "b"}],
            },
            "tiers": ["a", "b"],
        },
        ["revenue", "orders_90d"],
    ),
    "rfm segments": (
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "rfm_segments",
                "bins": 3,
                "segments": [{"name": "best", "r": [3, 3], "fm": [2.5, 3]}, {"name": "rest"}],
            },
            "tiers": ["best", "rest"],
        },
        None,  # the rule's default columns, checked against the fitted model below
    ),
    "matrix in a chain": (
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "chain",
                "first": {"kind": "thresholds", "column": "orders_365d", "cuts": [3], "tiers": ["a", "c"]},
                "then": {
                    "a": {
                        "kind": "matrix",
                        "x": {"score": "score", "shares": [0.5]},
                        "y": {"column": "trend", "cuts": [1.0]},
                        "cells": [["a", "b"], ["b", "b"]],
                        "tiers": ["a", "b"],
                    }
                },
            },
            "tiers": ["a", "b", "c"],
        },
        ["revenue", "orders_365d", "trend"],
    ),
    "group_by and lifecycle": (
        {
            "criteria": ["frequency", {"column": "revenue", "transform": "log1p"}],
            "rule": {"kind": "quantiles", "shares": [0.3], "group_by": "region"},
            "lifecycle": {"at_risk_days": 120},
            "tiers": ["a", "b"],
        },
        ["frequency", "revenue", "region", "orders", "days_since_last", "first_purchase", "last_purchase", "trend"],
    ),
    "clv": (
        {
            "clv": CLV_SECTION,
            "scores": [
                {"name": "value", "criteria": [{"column": "clv", "weight": 0.7}, {"column": "aov", "weight": 0.3}]}
            ],
            "rule": {"kind": "quantiles", "score": "value", "shares": [0.2]},
            "tiers": ["a", "b"],
        },
        ["frequency", "recency", "T", "monetary_value", "aov"],
    ),
}


@pytest.fixture(scope="module")
def regional_features() -> pd.DataFrame:
    f = tk.summarize(tk.datasets.synthetic(600, seed=8))
    return f.assign(region=pd.Categorical(np.array(["north", "south", "east"])[np.arange(len(f)) % 3]))


@pytest.mark.parametrize("case", list(INPUT_POLICIES))
def test_fit_passes_only_the_columns_the_policy_reads(case, regional_features, monkeypatch):
    """Policy.input_columns names, before fit, the columns the fitted model reads; fit
    passes only those across (and the model equals one fitted on every column)."""
    spec, expected = INPUT_POLICIES[case]
    policy = tk.Policy(spec)
    columns = policy.input_columns
    assert columns is not None
    if expected is not None:
        assert columns == expected
    crossed = {}
    real_fit = tk._core.model.fit

    def spy(core_policy, ids, names, arrays, categories, *args):
        crossed["names"] = list(names) + [c[0] for c in categories] + [d[0] for d in args[-1]]
        return real_fit(core_policy, ids, names, arrays, categories, *args)

    monkeypatch.setattr(tk._core.model, "fit", spy)
    model = tk.fit(policy, regional_features)
    monkeypatch.undo()
    assert model._core.input_columns() == columns
    assert sorted(crossed["names"]) == sorted(columns)
    # The same model as a fit on every column (the path taken when a column is missing).
    wide = tkmodel._table(regional_features, policy.required_columns)
    every = tk.Model(
        tk._core.model.fit(
            policy._core, wide[0], wide[1], wide[2], tkmodel._categories(regional_features, policy), None, wide[3]
        )
    )
    assert model.to_bytes() == every.to_bytes()


def test_a_missing_column_gives_the_error_listing_every_column(regional_features):
    f = regional_features.drop(columns="aov")
    with pytest.raises(tk.ColumnNotFoundError) as caught:
        tk.fit(tk.Policy.default(), f)
    message = str(caught.value)
    assert "unknown column 'aov'; available: revenue, frequency, days_since_last, recency, T," in message
    assert "revenue_365d" in message  # a column no part of the policy reads


def test_a_callable_rule_gets_every_column(regional_features):
    def by_visits(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        return np.where(f["recency"] > 10, "a", "b")

    policy = tk.Policy({"criteria": ["revenue"], "rule": by_visits, "tiers": ["a", "b"]})
    assert policy.input_columns is None
    out = tk.fit(policy, regional_features).assign(regional_features)
    assert (out["tier"] == "a").tolist() == (regional_features["recency"] > 10).tolist()
