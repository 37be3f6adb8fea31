"""Model.explain comes from the assign path: hysteresis (previous=), manual pins and overrides."""

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

POLICY = {
    "criteria": [{"column": "x", "normalizer": "minmax"}, {"column": "y", "normalizer": "minmax"}],
    "rule": {"kind": "thresholds", "column": "x", "cuts": [60, 30]},
    "lifecycle": {"hysteresis": {"up_margin": 5, "down_margin": 5, "k": 2, "max_demotion": 1}},
    "tiers": [{"name": "a", "mode": "strategic"}, {"name": "b", "mode": "cooperative"}, "c"],
}


@pytest.fixture(scope="module")
def model():
    return tk.fit(POLICY, pd.DataFrame({"x": [0.0, 100.0], "y": [0.0, 10.0]}, index=pd.Index([1, 2], name="customer")))


@pytest.fixture()
def book():
    return pd.DataFrame({"x": [54.0, 20.0, 70.0], "y": [5.0, 1.0, 9.0]}, index=pd.Index([6, 7, 8], name="customer"))


def first_lines(text):
    return text.splitlines()[:2]


def test_explain_follows_hysteresis(model, book):
    previous = pd.DataFrame({"tier": ["a", "c", "a"], "below_count": [0, 0, 0]}, index=book.index)
    assigned = model.assign(book, previous=previous)
    # 54 is below a's cut of 60, but a demotion needs k = 2 evaluations below it.
    assert assigned.loc[6, "tier"] == "a"
    assert assigned.loc[6, "reason"].startswith("hysteresis: kept a")
    text = model.explain(6, book, previous=previous)
    assert first_lines(text) == ["customer 6: tier a (strategic)", f"  reason: {assigned.loc[6, 'reason']}"]
    assert "  below the held tier's cut for 1 evaluation(s)" in text
    # Without previous it is the plain rule, as assign says.
    assert model.assign(book).loc[6, "tier"] == "b"
    assert first_lines(model.explain(6, book))[0] == "customer 6: tier b (cooperative)"


def test_explain_follows_a_manual_pin(model, book):
    pins = pd.DataFrame(
        {"customer": [7], "tier": ["a"], "reason": ["strategic account"], "expires": [pd.Timestamp("2030-01-01")]}
    )
    assigned = model.assign(book, overrides=pins, as_of="2025-06-30")
    assert assigned.loc[7, "tier"] == "a" and bool(assigned.loc[7, "pinned"])
    text = model.explain(7, book, overrides=pins, as_of="2025-06-30")
    assert first_lines(text) == ["customer 7: tier a (strategic)", "  reason: manual: strategic account"]
    assert f"  pinned by hand; the rule alone gives: {assigned.loc[7, 'rule_reason']}" in text
    # An expired pin no longer applies, in assign and in explain alike.
    assert model.assign(book, overrides=pins, as_of="2031-01-01").loc[7, "tier"] == "c"
    assert (
        first_lines(model.explain(7, book, overrides=pins, as_of="2031-01-01"))[0]
        == "customer 7: tier c (transactional)"
    )


def test_explain_matches_assign_for_every_customer(model, book):
    previous = pd.DataFrame({"tier": ["a", "c", "b"], "below_count": [1, 0, 0]}, index=book.index)
    pins = pd.DataFrame({"customer": [8], "tier": ["c"], "reason": ["on hold"]})
    assigned = model.assign(book, previous=previous, overrides=pins)
    for customer, row in assigned.iterrows():
        text = model.explain(customer, book, previous=previous, overrides=pins)
        assert first_lines(text) == [
            f"customer {customer}: tier {row['tier']} ({row['mode']})",
            f"  reason: {row['reason']}",
        ]
        assert f"  score score: {row['score']:.1f} of 100" in text
    assert np.isfinite(assigned["score"]).all()
