"""tk.profile and tk.compare, against values computed by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import tierkit as tk

IDS = pd.Index([1, 2, 3, 4, 5], name="customer")


def small_book():
    tiers = pd.DataFrame(
        {
            "tier": pd.Categorical(["A", "A", "B", "B", "B"], categories=["A", "B", "C"], ordered=True),
            "stage": pd.Categorical(["new", "mature", "mature", "lost", "mature"]),
        },
        index=IDS,
    )
    features = pd.DataFrame(
        {
            "revenue": [10.0, 20.0, 30.0, 40.0, 100.0],
            "orders": [1, 1, 2, 2, 2],
            "first_purchase": pd.to_datetime(["2024-01-01"] * 5),
        },
        index=IDS,
    )
    attributes = pd.DataFrame({"region": ["n", "n", "n", "s", "s"], "nps": [1.0, 2.0, 3.0, 4.0, 5.0]}, index=IDS)
    return tiers, features, attributes


def test_profile_sizes_means_medians_lifts():
    tiers, features, attributes = small_book()
    p = tk.profile(tiers, features, attributes)
    assert p.by == "tier"
    assert p.sizes["customers"].tolist() == [2, 3, 0]  # C: a tier with no customer stays listed
    assert p.sizes["share"].tolist() == pytest.approx([0.4, 0.6, 0.0])
    # revenue: book mean 40, median 30; A = {10, 20}, B = {30, 40, 100}
    rev = p.numeric["revenue"]
    assert rev.loc["A"].tolist() == pytest.approx([15.0, 15.0, 15 / 40])
    assert rev.loc["B"].tolist() == pytest.approx([170 / 3, 40.0, 170 / 3 / 40])
    assert rev.loc["(all)"].tolist() == pytest.approx([40.0, 30.0, 1.0])
    assert p.numeric[("nps", "mean")].loc[["A", "B"]].tolist() == pytest.approx([1.5, 4.0])
    assert "first_purchase" not in p.numeric.columns.get_level_values(0)  # dates are left out
    # standardized: (group mean - 40) / sd, sd (ddof 0) = sqrt(5000 / 5)
    sd = np.sqrt(1000.0)
    assert p.standardized.loc["A", "revenue"] == pytest.approx(-25 / sd)
    assert p.standardized.loc["B", "revenue"] == pytest.approx((170 / 3 - 40) / sd)
    assert np.isnan(p.standardized.loc["C", "revenue"])


def test_profile_top_categories_with_lift():
    tiers, features, attributes = small_book()
    p = tk.profile(tiers, features, attributes, top=2)
    c = p.categorical.set_index(["group", "category"])
    # book: n 3/5, s 2/5
    assert c.loc[("A", "n"), ["rank", "customers", "share", "book_share"]].tolist() == pytest.approx([1, 2, 1.0, 0.6])
    assert c.loc[("A", "n"), "lift"] == pytest.approx(1 / 0.6)
    assert c.loc[("B", "s"), ["rank", "share", "lift"]].tolist() == pytest.approx([1, 2 / 3, (2 / 3) / 0.4])
    assert c.loc[("B", "n"), ["rank", "share", "lift"]].tolist() == pytest.approx([2, 1 / 3, (1 / 3) / 0.6])
    assert len(p.categorical) == 3


def test_profile_by_stage_and_by_series():
    tiers, features, _ = small_book()
    by_stage = tk.profile(tiers, features, by="stage")
    assert by_stage.sizes["customers"].to_dict() == {"lost": 1, "mature": 3, "new": 1}
    assert by_stage.numeric.loc["mature", ("revenue", "mean")] == pytest.approx(50.0)
    segment = pd.Series(["x", "y", "x", "y", "x"], index=IDS, name="segment")
    by_segment = tk.profile(segment, features, by=segment)
    assert by_segment.numeric.loc["x", ("revenue", "median")] == pytest.approx(30.0)


def test_profile_errors():
    tiers, features, _attributes = small_book()
    with pytest.raises(tk.InvalidInputError, match="features: no row for customer 5"):
        tk.profile(tiers, features.iloc[:4])
    with pytest.raises(tk.ColumnNotFoundError, match="by: unknown column 'segment'"):
        tk.profile(tiers, features, by="segment")
    with pytest.raises(tk.InvalidInputError, match="column 'revenue' is also a column of features"):
        tk.profile(tiers, features, features[["revenue"]])


def test_profile_heatmap_draws_the_standardized_means():
    tiers, features, _ = small_book()
    p = tk.profile(tiers, features, columns=["revenue", "orders"])
    ax = p.plot()
    assert list(ax.tierkit_values.columns) == ["revenue", "orders"]
    assert ax.tierkit_values.loc["A", "orders"] == pytest.approx((1 - 1.6) / np.sqrt(0.24))
    plt.close("all")


def test_profile_of_a_real_assignment():
    f = tk.summarize(tk.datasets.synthetic(800, seed=5))
    tiers = tk.fit(tk.Policy.default(), f).assign(f)
    p = tk.profile(tiers, f)
    assert p.sizes["customers"].sum() == len(f)
    # the key tier buys more than the book: its revenue lift is above 1, potential's below
    assert p.numeric.loc["key", ("revenue", "lift")] > 1 > p.numeric.loc["potential", ("revenue", "lift")]


FEATURES = pd.DataFrame(
    {"revenue": [10.0, 20.0, 30.0, 40.0], "orders": [4.0, 3.0, 2.0, 1.0]}, index=pd.Index([1, 2, 3, 4], name="customer")
)
BY_REVENUE = {"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["top", "rest"]}


def test_compare_different_tier_names_by_position():
    by_orders = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.25]}, "tiers": ["A", "B"]}
    c = tk.compare(BY_REVENUE, by_orders, FEATURES, names=("revenue", "orders"))
    assert c.crosstab.values.tolist() == [[0, 2], [1, 1]]
    assert list(c.crosstab.index) == ["top", "rest"] and list(c.crosstab.columns) == ["A", "B"]
    assert (c.basis, c.moved, c.up, c.down) == ("position", 0.75, 0.25, 0.5)
    # revenue 100: top = {30, 40}, A = {10}
    assert c.revenue.loc[("revenue", "top"), "revenue_share"] == pytest.approx(0.7)
    assert c.revenue.loc[("orders", "A"), "revenue_share"] == pytest.approx(0.1)
    assert c.revenue.loc[("orders", "B"), "customers"] == 3
    assert c.lift is None


def test_compare_same_names_and_unmatched_counts():
    by_orders = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["top", "rest"]}
    c = tk.compare(BY_REVENUE, by_orders, FEATURES)
    assert c.basis == "name" and (c.moved, c.up, c.down) == (1.0, 0.5, 0.5)
    three = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.25, 0.25]}, "tiers": ["x", "y", "z"]}
    c = tk.compare(BY_REVENUE, three, FEATURES)
    assert c.basis == "none" and np.isnan(c.moved)
    assert c.crosstab.values.tolist() == [[0, 0, 2], [1, 1, 0]]
    ax = c.plot()
    assert ax.tierkit_counts.values.sum() == 4
    plt.close("all")
    with pytest.raises(tk.InvalidInputError, match="names: expected two different labels"):
        tk.compare(BY_REVENUE, three, FEATURES, names=("a", "a"))


def test_compare_with_transactions_puts_the_backtests_side_by_side():
    tx = tk.datasets.synthetic(1500, seed=8)
    f = tk.summarize(tx)
    quotas = tk.Policy.default()
    other = tk.Policy(
        {
            "criteria": ["revenue", "frequency"],
            "rule": {"kind": "quantiles", "shares": [0.1, 0.2, 0.3]},
            "tiers": ["A", "B", "C", "D"],
        }
    )
    c = tk.compare(quotas, other, f, tx, names=("default", "other"), periods=2, period="90D")
    assert c.lift.columns.get_level_values(0).unique().tolist() == ["default", "other"]
    peer = tk.backtest(quotas, tx, periods=2, period="90D").summary
    assert c.lift["default"]["lift"].tolist() == pytest.approx(peer["lift"].tolist(), nan_ok=True)
    assert c.lift["default"]["tier"].tolist() == list(peer.index)
    assert c.lift["other"]["tier"].tolist() == ["A", "B", "C", "D"]
