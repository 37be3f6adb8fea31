"""Lifecycle stages, re-tiering with hysteresis (previous=) and next actions."""

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit.model import STAGES

POLICY = {
    "criteria": [{"column": "x", "normalizer": "minmax"}],
    "rule": {"kind": "thresholds", "column": "x", "cuts": [60, 30]},
    "lifecycle": {"hysteresis": {"up_margin": 5, "down_margin": 5, "k": 2, "max_demotion": 1}},
    "tiers": [{"name": "a", "mode": "strategic"}, {"name": "b", "mode": "cooperative"}, "c"],
    "empty_tiers": "allow",  # fitted on two customers: tier b is empty at fit
}


def book(x, ids=None, **columns):
    """Customers with x and the stage columns (evaluation day 1000; defaults: a
    loyal customer, 5 orders since day 100, the last one 10 days ago)."""
    n = len(x)
    idx = pd.Index(ids if ids is not None else range(1, n + 1), name="customer")
    data = {
        "x": np.asarray(x, dtype=float),
        "orders": np.full(n, 5.0),
        "days_since_last": np.full(n, 10.0),
        "first_purchase": np.full(n, 100.0),
        "trend": np.ones(n),
    }
    data.update({k: np.asarray(v, dtype=float) for k, v in columns.items()})
    frame = pd.DataFrame(data, index=idx)
    frame["last_purchase"] = 1000 - frame["days_since_last"]
    return frame


@pytest.fixture(scope="module")
def model():
    return tk.fit(POLICY, book([0, 100]))


def test_column_contract(model):
    out = model.assign(book([70, 40, 10]))
    assert (
        list(out["stage"].cat.categories)
        == STAGES
        == [
            "prospect",
            "first_time",
            "repeat",
            "loyal",
            "growing",
            "mature",
            "at_risk",
            "declining",
            "lost",
            "won_back",
        ]
    )
    assert isinstance(out["stage_reason"].dtype, pd.CategoricalDtype)
    assert isinstance(out["next_action"].dtype, pd.CategoricalDtype)
    assert out["below_count"].dtype.kind == "i"
    assert out["below_count"].tolist() == [0, 0, 0]
    assert out["mode"].tolist() == ["strategic", "cooperative", "transactional"]


def test_each_stage(model):
    f = book(
        [70, 70, 70, 70, 70, 70, 70, 10, 70, 70, 70],
        orders=[0, np.nan, 5, 1, 5, 5, 3, 5, 5, 5, 2],
        days_since_last=[0, 0, 400, 30, 10, 10, 10, 10, 10, 200, 10],
        first_purchase=[0, 0, 100, 960, 100, 100, 100, 100, 100, 100, 950],
        trend=[1, 1, 1, 1, 0.5, 1.5, 1.0, 1.0, 1.0, 1.0, 10],
    )
    previous = pd.DataFrame(
        {"tier": ["a"] * 7 + ["c"] + ["a"] * 3, "stage": ["mature"] * 7 + ["lost"] + ["new"] * 3}, index=f.index
    )
    out = model.assign(f, previous=previous)
    assert out["stage"].tolist() == [
        "prospect",
        "prospect",
        "lost",
        "first_time",
        "declining",
        "growing",
        "mature",
        "won_back",
        "loyal",
        "at_risk",
        "repeat",
    ]
    assert out.loc[3, "stage_reason"] == "lost: no purchase for more than 365 days"
    assert out.loc[5, "stage_reason"] == "declining: trend <= 0.8"
    assert out.loc[10, "stage_reason"] == "at_risk: no purchase for more than 180 days"
    # tier a (strategic) x stage -> the built-in next actions
    assert out["next_action"].tolist() == [
        "nurture campaign",
        "nurture campaign",
        "executive win-back visit",
        "onboarding by account manager",
        "executive retention call",
        "strategic partnership review",
        "executive business review",
        "welcome-back offer",
        "executive business review",
        "executive retention call",
        "onboarding by account manager",
    ]


def test_former_stage_names_in_previous(model):
    """An assignment file of tierkit 0.1 (stages potential, new) is still a valid previous."""
    f = book([70, 70, 70])
    previous = pd.DataFrame({"tier": ["a", "a", "a"], "stage": ["potential", "new", "lost"]}, index=f.index)
    assert model.assign(f, previous=previous)["stage"].tolist() == ["loyal", "loyal", "won_back"]


def test_potential_from_an_outer_join():
    tx = tk.datasets.synthetic(300, seed=5)
    f = tk.summarize(tx)
    attributes = pd.DataFrame({"nps": 7.0}, index=pd.Index([f.index.max() + 1, f.index.max() + 2], name="customer"))
    joined = tk.join(f, attributes, how="outer")
    features = joined.drop(columns="nps").fillna({"revenue": 0, "frequency": 0, "days_since_last": 9999, "aov": 0})
    m = tk.fit(tk.Policy.default(), features.loc[f.index])
    out = m.assign(features)
    assert out.loc[attributes.index, "stage"].tolist() == ["prospect", "prospect"]
    assert (out.loc[f.index, "stage"] != "prospect").all()
    assert out.loc[attributes.index, "next_action"].tolist() == ["nurture campaign"] * 2


def test_hysteresis_cases(model):
    #          0   1   2   3   4   5   6   7
    f = book([62, 66, 58, 54, 54, 10, 62, 40])
    previous = pd.DataFrame(
        {"tier": ["b", "b", "a", "a", "a", "a", None, "c"], "below_count": [0, 0, 0, 0, 1, 1, np.nan, 3]}, index=f.index
    )
    out = model.assign(f, previous=previous)
    assert out["tier"].tolist() == ["b", "a", "a", "a", "b", "b", "a", "b"]
    assert out["below_count"].tolist() == [0, 0, 0, 1, 0, 2, 0, 0]
    assert out.loc[1, "reason"] == "hysteresis: b: a better tier needs x >= its cut + 5"
    assert out.loc[6, "reason"] == "hysteresis: down to b (at most 1 tier(s) per evaluation)"
    assert out.attrs["previous"] == {"new_to_book": 1, "dropped": 0}


def test_soft_landing_over_evaluations(model):
    f = book([10])
    first = model.assign(f, previous=pd.DataFrame({"tier": ["a"]}, index=f.index))
    second = model.assign(f, previous=first)
    third = model.assign(f, previous=second)
    assert [o.loc[1, "tier"] for o in (first, second, third)] == ["a", "b", "c"]
    assert [o.loc[1, "below_count"] for o in (first, second, third)] == [1, 2, 0]


def test_round_trip_through_csv(model, tmp_path):
    f = book([10, 50, 70, 58], ids=["u1", "u2", "u3", "u4"])
    first = model.assign(f, previous=pd.DataFrame({"tier": ["a", "a", "c", "a"]}, index=f.index))
    path = tmp_path / "assignment.csv"
    first.to_csv(path)
    from_csv = pd.read_csv(path, index_col="customer")
    direct = model.assign(f, previous=first)
    via_csv = model.assign(f, previous=from_csv)
    pd.testing.assert_frame_equal(direct, via_csv)
    # u1 (10): second evaluation below a, c level: one tier down; u2 (50): second below a, lands in b.
    assert direct["tier"].tolist() == ["b", "b", "a", "a"]
    assert direct["below_count"].tolist() == [2, 0, 0, 0]
    # A stage of lost survives the CSV file too: the customer who buys again is won back.
    lost = first.copy()
    lost["stage"] = pd.Categorical(["lost"] * 4, categories=STAGES)
    lost.to_csv(path)
    assert model.assign(f, previous=pd.read_csv(path, index_col="customer"))["stage"].tolist() == ["won_back"] * 4


def test_previous_alignment_by_id(model):
    f = book([10, 70, 40], ids=[100, 101, 102])
    previous = pd.DataFrame({"tier": ["a", "a", "a"], "below_count": [1, 0, 0]}, index=pd.Index([102, 999, 100]))
    out = model.assign(f, previous=previous)
    # 100 (previous counter 0): first time below a, kept; 101: new to the book; 102 (counter 1): down to b.
    assert out["tier"].tolist() == ["a", "a", "b"]
    assert out["below_count"].tolist() == [1, 0, 0]
    assert out.attrs["previous"] == {"new_to_book": 1, "dropped": 1}


def test_previous_alignment_by_string_id(model):
    f = book([10, 70, 40], ids=["u", "v", "w"])
    previous = pd.DataFrame(
        {"tier": ["a", "a", "b", None], "below_count": [1, 0, 0, None]}, index=pd.Index(["w", "gone", "u", "x"])
    )
    out = model.assign(f, previous=previous)
    # u (b, counter 0): 10 is below b's cut 30 - 5, first time: kept; v: new to the book; w (a, counter 1): 40 is
    # below a's cut 60 - 5 the second time: down to b. "gone" is dropped; "x" had no tier (not on the book).
    assert out["tier"].tolist() == ["b", "a", "b"]
    assert out["below_count"].tolist() == [1, 0, 0]
    assert out.attrs["previous"] == {"new_to_book": 1, "dropped": 1}


@pytest.mark.parametrize(
    "previous, message",
    [
        (pd.DataFrame({"tier": ["a", "gold"]}, index=[1, 2]), "previous: column 'tier', row 1: unknown value 'gold'"),
        (pd.DataFrame({"tier": ["a", "b"]}, index=[1, 1]), "previous: row 1: customer id 1 appears more than once"),
        (
            pd.DataFrame({"tier": ["a", "b"], "below_count": [0, -1]}, index=[1, 2]),
            "previous: column 'below_count', row 1: must be >= 0, got -1",
        ),
        (  # the row of previous, not of the features; a customer the features lack is checked too
            pd.DataFrame({"tier": ["a", "b", "a"], "below_count": [0, 1, -2]}, index=[2, 1, 7]),
            "previous: column 'below_count', row 2: must be >= 0, got -2",
        ),
        (
            pd.DataFrame({"tier": ["a", "b"], "below_count": [3e9, 1]}, index=[1, 2]),
            "previous: column 'below_count', row 0: must be a whole number >= 0, got 3000000000.0",
        ),
        (
            pd.DataFrame({"tier": ["a", "b"], "below_count": [0.5, 1]}, index=[1, 2]),
            "previous: column 'below_count', row 0: must be a whole number >= 0",
        ),
        (
            pd.DataFrame({"tier": ["a", "b"], "stage": ["mature", "dormant"]}, index=[1, 2]),
            "previous: column 'stage', row 1: unknown value 'dormant'",
        ),
        (pd.DataFrame({"tiers": ["a", "b"]}, index=[1, 2]), "previous: unknown column 'tier'"),
    ],
)
def test_previous_errors(model, previous, message):
    with pytest.raises(tk.TierkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model.assign(book([1, 2]), previous=previous)


def test_strategies_and_saved_model(tmp_path):
    policy = dict(POLICY, strategies=[{"tier": "a", "stage": "declining", "action": "CEO visit"}])
    m = tk.fit(policy, book([0, 100]))
    f = book([70, 70], trend=[0.5, 1.0])
    assert m.assign(f)["next_action"].tolist() == ["CEO visit", "executive business review"]
    path = tmp_path / "m.tk"
    tk.save(m, path)
    loaded = tk.load(path)
    assert loaded.policy.to_dict()["lifecycle"]["hysteresis"]["k"] == 2
    pd.testing.assert_frame_equal(loaded.assign(f), m.assign(f))


def test_strategies_require_the_stage_columns():
    policy = dict(POLICY, strategies=[{"stage": "lost", "action": "call"}])
    m = tk.fit(policy, book([0, 100]))
    with pytest.raises(tk.ColumnNotFoundError, match="lifecycle: "):
        m.assign(pd.DataFrame({"x": [1.0]}, index=pd.Index([1], name="customer")))
    # Without stage settings, a table without the columns simply has no stage columns.
    plain = tk.fit(dict(POLICY), book([0, 100]))
    out = plain.assign(pd.DataFrame({"x": [1.0]}, index=pd.Index([1], name="customer")))
    assert "stage" not in out.columns and out["below_count"].tolist() == [0]
