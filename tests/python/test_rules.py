"""Rules from Python: callables, group_by on string columns, manual overrides,
chain, matrix and explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk


@pytest.fixture()
def features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "revenue": [100.0, 90, 80, 70, 60, 50, 40, 30, 20, 10],
            "frequency": [5.0, 1, 4, 2, 3, 3, 2, 4, 1, 5],
            "region": ["north", "south"] * 5,
        },
        index=pd.Index([f"c{i}" for i in range(1, 11)], name="customer"),
    )


def by_revenue(features: pd.DataFrame, score: np.ndarray) -> np.ndarray:
    return np.where(features["revenue"] >= 55, "gold", "silver")


def test_python_callable_rule_with_names_and_indices(features):
    p = tk.Policy({"criteria": ["revenue"], "rule": by_revenue, "tiers": ["gold", "silver"]})
    out = tk.fit(p, features).assign(features)
    assert out["tier"].astype(str).tolist() == ["gold"] * 5 + ["silver"] * 5
    assert out["reason"].iloc[0] == "python rule by_revenue: gold"

    seen = {}

    def by_score(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        seen["index"] = list(f.index)
        return (score < 50).astype(int)

    q = tk.Policy(
        {
            "criteria": [{"column": "revenue", "normalizer": "minmax"}],
            "rule": {"kind": "python", "function": by_score},
            "tiers": ["top", "rest"],
        }
    )
    out = tk.fit(q, features).assign(features)
    assert seen["index"] == list(features.index)  # the callable sees the caller's ids
    assert out["tier_index"].tolist() == [0] * 5 + [1] * 5  # minmax score 100..0: >= 50 for the first five


@pytest.mark.parametrize(
    "result, message",
    [
        (lambda f, s: np.zeros(3), r"python rule <lambda>: returned 3 values for 10 customers"),
        (lambda f, s: np.full(len(f), np.nan), r"python rule <lambda>: row 0: tier is nan"),
        (
            lambda f, s: np.array(["gold"] * 9 + ["bronze"]),
            r"python rule <lambda>: row 9: unknown tier 'bronze'; tiers: gold, silver",
        ),
        (lambda f, s: np.full(len(f), 2), r"python rule <lambda>: row 0: tier index 2 outside 0..1"),
    ],
)
def test_python_rule_errors(features, result, message):
    p = tk.Policy({"criteria": ["revenue"], "rule": result, "tiers": ["gold", "silver"]})
    with pytest.raises(tk.InvalidInputError, match=message):
        tk.fit(p, features).assign(features)


def test_group_by_string_column(features):
    p = tk.Policy(
        {
            "criteria": [{"column": "revenue", "normalizer": "minmax"}],
            "rule": {"kind": "quantiles", "shares": [0.2], "group_by": "region"},
            "tiers": ["top", "rest"],
        }
    )
    m = tk.fit(p, features)
    out = m.assign(features)
    # one top customer per region: c1 (north, 100) and c2 (south, 90)
    assert out.index[out["tier"] == "top"].tolist() == ["c1", "c2"]
    assert out.loc["c2", "reason"].startswith("region south: quantiles")
    other = features.iloc[:2].assign(region=["east", "east"])
    with pytest.raises(tk.InvalidInputError, match="group 'east' was not seen at fit"):
        m.assign(other)


def test_manual_overrides(features):
    m = tk.fit(
        tk.Policy({"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.3]}, "tiers": ["key", "rest"]}),
        features,
    )
    pins = pd.DataFrame(
        {
            "customer": ["c10", "c1", "zz"],
            "tier": ["key", "rest", "key"],
            "reason": ["strategic account", "credit hold", "gone"],
            "expires": pd.to_datetime(["2030-01-01", "2020-01-01", "2030-01-01"]),
        }
    )
    out = m.assign(features, overrides=pins, as_of="2025-06-30")
    assert out.loc["c10", "tier"] == "key"
    assert out.loc["c10", "reason"] == "manual: strategic account"
    assert bool(out.loc["c10", "pinned"])
    assert out.loc["c10", "rule_reason"].startswith("quantiles: score <")
    assert out.loc["c1", "tier"] == "key"  # the pin expired in 2020
    assert out.attrs["overrides"] == {"expired": 1, "unmatched": [None]}
    with pytest.raises(tk.InvalidInputError, match=r"overrides, row 0: unknown tier 'vip'"):
        m.assign(features, overrides=pins.assign(tier="vip"), as_of="2025-06-30")
    with pytest.raises(tk.InvalidInputError, match=r"^overrides, row 2: customer 'c10' is pinned twice$"):
        m.assign(features, overrides=pins.assign(customer=["c10", "c1", "c10"]), as_of="2025-06-30")


def test_overrides_with_integer_ids():
    features = pd.DataFrame({"revenue": [30.0, 20, 10]}, index=pd.Index([7, 8, 9], name="customer"))
    m = tk.fit(
        tk.Policy(
            {
                "criteria": [{"column": "revenue", "normalizer": "minmax"}],
                "rule": {"kind": "thresholds", "cuts": [60]},
                "tiers": ["key", "rest"],
            }
        ),
        features,
    )
    pins = pd.DataFrame({"customer": [9, 99, "nobody"], "tier": ["key"] * 3, "reason": ["a", "b", "c"]})
    out = m.assign(features, overrides=pins)
    assert out["tier"].tolist() == ["key", "rest", "key"]  # scores 100, 50, 0; cut 60; 9 pinned
    assert out.attrs["overrides"] == {"expired": 0, "unmatched": [99, None]}
    with pytest.raises(tk.InvalidInputError, match=r"overrides, row 1: customer 9 is pinned twice"):
        m.assign(features, overrides=pins.assign(customer=[9, 9, 8]))


def test_chain_and_matrix_from_python(features):
    chain = tk.Policy(
        {
            "scores": [{"name": "value", "criteria": ["revenue"]}, {"name": "engagement", "criteria": ["frequency"]}],
            "rule": {
                "kind": "chain",
                "first": {"kind": "quantiles", "score": "value", "shares": [0.5], "tiers": ["key", "rest"]},
                "then": {
                    "key": {"kind": "quantiles", "score": "engagement", "shares": [0.4], "tiers": ["key", "high"]}
                },
            },
            "tiers": ["key", "high", "rest"],
        }
    )
    out = tk.fit(chain, features).assign(features)
    # top half by revenue: c1..c5 with frequency 5, 1, 4, 2, 3 -> top 40% (2) by frequency: c1, c3
    assert out.index[out["tier"] == "key"].tolist() == ["c1", "c3"]
    assert out.index[out["tier"] == "high"].tolist() == ["c2", "c4", "c5"]


def test_callable_rule_sees_columns_the_policy_never_names(features):
    """assign passes a Python callable rule the whole frame, not only the columns the
    model reads (Model.reads_every_column)."""
    features = features.assign(visits=[3.0, 9, 1, 7, 2, 8, 4, 6, 5, 0])
    seen = {}

    def by_visits(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        seen["columns"] = sorted(f.columns)
        return np.where(f["visits"] >= 5, "key", "rest")

    m = tk.fit(tk.Policy({"criteria": ["revenue"], "rule": by_visits, "tiers": ["key", "rest"]}), features)
    assert m._core.reads_every_column()
    built_in = tk.Policy({"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})
    assert not tk.fit(built_in, features)._core.reads_every_column()
    out = m.assign(features)
    assert "visits" in seen["columns"] and "frequency" in seen["columns"]
    assert out.index[out["tier"] == "key"].tolist() == ["c2", "c4", "c6", "c8", "c9"]


def test_callable_nested_in_chain(features):
    """A callable as a chain's sub-rule sees the rows of its first-rule tier only (with
    columns the policy never names) and tiers into its own tiers."""
    seen = {}

    def by_frequency(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        seen["index"] = list(f.index)
        return np.where(f["frequency"] >= 3, "key", "high")

    policy = tk.Policy(
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "chain",
                "first": {"kind": "quantiles", "shares": [0.5], "tiers": ["key", "rest"]},
                "then": {"key": {"kind": "python", "function": by_frequency, "tiers": ["key", "high"]}},
            },
            "tiers": ["key", "high", "rest"],
        }
    )
    out = tk.fit(policy, features).assign(features)
    # top half by revenue: c1..c5 with frequency 5, 1, 4, 2, 3
    assert seen["index"] == ["c1", "c2", "c3", "c4", "c5"]
    assert out["tier"].astype(str).tolist() == ["key", "high", "key", "high", "key"] + ["rest"] * 5
    assert out.loc["c2", "reason"] == "chain: first tier 0, then python rule by_frequency: high"


def test_callable_nested_in_override_and_as_chain_first(features):
    def by_revenue_three(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        return np.where(f["revenue"] >= 55, "gold", "silver")

    override = tk.Policy(
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "override",
                "base": by_revenue_three,
                "overrides": [{"when": "frequency >= 5", "tier": "watch", "reason": "very frequent"}],
            },
            "tiers": ["gold", "silver", "watch"],
        }
    )
    out = tk.fit(override, features).assign(features)
    assert out["tier"].astype(str).tolist() == ["watch"] + ["gold"] * 4 + ["silver"] * 4 + ["watch"]
    assert out.loc["c10", "reason"] == "override: very frequent"
    assert out.loc["c6", "reason"] == "python rule by_revenue_three: silver"

    # The same function in two places with different tiers: each place keeps its own.
    def by_frequency(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        return (f["frequency"].to_numpy() < 3).astype(int)

    chain = tk.Policy(
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "chain",
                "first": {"kind": "python", "function": by_frequency, "tiers": ["a", "c"]},
                "then": {"a": {"kind": "python", "function": by_frequency, "tiers": ["a", "b"]}},
            },
            "tiers": ["a", "b", "c"],
        }
    )
    out = tk.fit(chain, features).assign(features)
    # frequency 5, 1, 4, 2, 3, 3, 2, 4, 1, 5: < 3 -> c; the rest are a (their frequency is >= 3)
    assert out["tier"].astype(str).tolist() == ["a", "c", "a", "c", "a", "a", "c", "a", "c", "a"]
    assert out.loc["c2", "reason"] == "chain: python rule by_frequency: c"
    assert out.loc["c1", "reason"] == "chain: first tier 0, then python rule by_frequency: a"


def test_callable_rule_keeps_group_by(features):
    """{"kind": "python", "function": fn, "group_by": ...} calls fn once per group."""

    def upper_half(f: pd.DataFrame, score: np.ndarray) -> np.ndarray:
        return (score < np.median(score)).astype(int)

    policy = tk.Policy(
        {
            "criteria": [{"column": "revenue", "normalizer": "minmax"}],
            "rule": {"kind": "python", "function": upper_half, "group_by": "region"},
            "tiers": ["top", "rest"],
        }
    )
    out = tk.fit(policy, features).assign(features)
    # north: revenue 100, 80, 60, 40, 20 -> c1, c3, c5; south: 90, 70, 50, 30, 10 -> c2, c4, c6
    assert out.index[out["tier"] == "top"].tolist() == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert out.loc["c4", "reason"] == "region south: python rule upper_half: top"


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            {"kind": "matrix", "x": by_revenue, "y": {"shares": [0.5]}, "cells": [["gold", "silver"]]},
            r"^rule\.x: got the Python callable by_revenue, but no rule goes here .*rule\.x\.kind: unknown key",
        ),
        (
            {"kind": "override", "base": by_revenue, "overrides": [{"when": by_revenue, "tier": "gold"}]},
            r"^rule\.overrides\[0\]\.when: got the Python callable by_revenue, but no rule goes here",
        ),
        (
            {"kind": "chain", "first": by_revenue, "then": {"gold": lambda f: f}},
            r"^rule\.then\.gold: the callable <lambda>\(f\) cannot be called as rule\(features, score\)",
        ),
        (
            {"kind": "chain", "first": {"kind": "python", "function": 3}},
            r"^rule\.first\.function: expected a callable, got int",
        ),
    ],
)
def test_callable_where_no_rule_goes(rule, message):
    error = TypeError if "function" in message else tk.PolicyError
    with pytest.raises(error, match=message):
        tk.Policy({"criteria": ["revenue"], "rule": rule, "tiers": ["gold", "silver"]})


def test_callable_outside_the_rule():
    with pytest.raises(
        tk.PolicyError,
        match=r"^policy\.criteria\[0\]\.transform: got the Python callable by_revenue; a callable can only be",
    ):
        tk.Policy({"criteria": [{"column": "revenue", "transform": by_revenue}], "rule": by_revenue, "tiers": ["a"]})


def test_top_criteria_and_explain(features):
    p = tk.Policy(
        {
            "criteria": [
                {"column": "revenue", "normalizer": "minmax", "weight": 1},
                {"column": "frequency", "normalizer": "minmax", "weight": 1},
            ],
            "rule": {"kind": "thresholds", "cuts": [60]},
            "tiers": ["top", "rest"],
        }
    )
    m = tk.fit(p, features)
    out = m.assign(features)
    assert out.loc["c1", "top_criteria"] == "revenue, frequency"  # 50 + 50
    assert out.loc["c8", "top_criteria"] == "frequency, revenue"  # 37.5 + 11.1
    text = m.explain("c8", features)
    assert text.splitlines()[0] == "customer c8: tier rest (transactional)"
    assert "  frequency = 4 adds 37.5 points" in text
    with pytest.raises(tk.InvalidInputError, match="customer 'nobody' is not in the features"):
        m.explain("nobody", features)
