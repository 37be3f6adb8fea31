"""tierkit.plot: every plot draws what the numbers say (checked against tk.summary,
pandas group-bys or hand counts) and returns its Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit.sklearn import RFMSegmenter

TIERS = pd.CategoricalDtype(["key", "high-value", "ordinary", "potential"], ordered=True)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fitted():
    f = tk.summarize(tk.datasets.synthetic(2000, seed=17))
    m = tk.fit(tk.Policy.default(), f)
    return f, m, m.assign(f)


def test_tier_sizes_shows_the_summary(fitted):
    f, _, a = fitted
    s = tk.summary(a, f)
    ax = tk.plot.tier_sizes(a, f)  # from the assignment: the summary is computed
    customers, revenue = ax.containers[0], ax.containers[1]
    np.testing.assert_allclose([p.get_height() for p in customers], 100 * s["customer_share"].to_numpy())
    np.testing.assert_allclose([p.get_height() for p in revenue], 100 * s["revenue_share"].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(TIERS.categories)
    _, ax2 = plt.subplots()
    assert tk.plot.tier_sizes(s, ax=ax2) is ax2  # draws on the Axes it is given


def test_pareto_curve_tier_ends_match_summary(fitted):
    f, _, a = fitted
    s = tk.summary(a, f)
    ax = tk.plot.pareto_curve(a, f)
    x, y = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert (x[0], y[0]) == (0.0, 0.0) and x[-1] == pytest.approx(1.0) and y[-1] == pytest.approx(1.0)
    ends = np.cumsum(s["customers"].to_numpy())[:-1]
    n = len(a)
    # the curve at each tier's end is the cumulative revenue share of the tiers so far
    np.testing.assert_allclose(y[ends], np.cumsum(s["revenue_share"].to_numpy())[:-1])
    # the Lorenz curve bounds the tier-ordered curve from above
    assert (ax.lines[1].get_ydata() >= y - 1e-12).all()
    vlines = [line.get_xdata()[0] for line in ax.lines[3:]]
    np.testing.assert_allclose(vlines, ends / n)


def test_pareto_gini_by_hand():
    a = pd.DataFrame(
        {
            "value": [9.0, 8.0, 7.0, 6.0],
            "tier": pd.Categorical(["A", "A", "B", "B"], ordered=True),
            "revenue": [1.0, 2.0, 3.0, 4.0],
        }
    )
    ax = tk.plot.pareto_curve(a)
    # Gini of 1, 2, 3, 4: sum of |xi - xj| over all ordered pairs (20) / (2 n^2 mean = 80) = 0.25
    assert ax.lines[1].get_label() == "by revenue (Lorenz, Gini 0.25)"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, 0.1, 0.3, 0.6, 1.0])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0, 0.4, 0.7, 0.9, 1.0])
    with pytest.raises(tk.InvalidInputError, match="revenue: total must be positive"):
        tk.plot.pareto_curve(a.assign(revenue=0.0))


def test_score_histogram_counts_and_cuts(fitted):
    f, m, a = fitted
    ax = tk.plot.score_histogram(a, m, bins=20)
    cuts = m.params["rule"]["parameters"]["cuts"]
    assert ax.tierkit_cuts == cuts
    assert sorted(line.get_xdata()[0] for line in ax.lines) == sorted(cuts)
    # stacked bars: the top layer's heights are the totals per bin
    counts, _ = np.histogram(a["value"], bins=np.linspace(0, 100, 21))
    top = ax.containers[-1]
    np.testing.assert_allclose([p.get_y() + p.get_height() for p in top], counts)
    # abc cuts shares of revenue, not the score: no cut lines
    abc = tk.fit({"criteria": ["revenue"], "rule": {"kind": "abc"}, "tiers": ["A", "B", "C"]}, f)
    assert tk.plot.score_histogram(abc.assign(f), abc).tierkit_cuts == []


def test_weights_bars(fitted):
    _, m, _ = fitted
    ax = tk.plot.weights(m)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["revenue", "frequency", "days_since_last", "aov"]
    np.testing.assert_allclose([p.get_width() for p in ax.patches], m.weights["weight"].to_numpy())


def test_rfm_heatmap_counts_and_means(fitted):
    f, _, _ = fitted
    rfm = RFMSegmenter().fit(f).assign(f)
    ax = tk.plot.rfm_heatmap(rfm, f["monetary_value"])
    grid = ax.images[0].get_array()
    expected = f["monetary_value"].groupby([rfm["R"], rfm["F"]]).mean()
    counts = rfm.groupby(["R", "F"]).size()
    for (r, fr), mean in expected.items():
        assert grid[5 - r, fr - 1] == pytest.approx(mean)
        assert ax.tierkit_counts[5 - r, fr - 1] == counts[(r, fr)]
    assert ax.tierkit_counts.sum() == len(f)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["5", "4", "3", "2", "1"]


def test_migration_heatmap_by_hand():
    before = pd.Series(
        ["key", "key", "ordinary", "ordinary", "potential", "high-value"], index=[1, 2, 3, 4, 5, 6], dtype=TIERS
    )
    after = pd.DataFrame(
        {
            "tier": pd.Series(
                ["key", "high-value", "ordinary", "key", "potential", "potential"],
                index=[1, 2, 3, 4, 5, 7],
                dtype=TIERS,
            )
        }
    )
    ax = tk.plot.migration_heatmap(before, after)
    rows, cols = ax.tierkit_labels
    assert rows == ["key", "high-value", "ordinary", "potential", "(new)"]
    assert cols == ["key", "high-value", "ordinary", "potential", "(gone)"]
    assert ax.tierkit_counts.tolist() == [
        [1, 1, 0, 0, 0],  # key: 1 stays, 2 drops to high-value
        [0, 0, 0, 0, 1],  # high-value: 6 is gone
        [1, 0, 1, 0, 0],  # ordinary: 3 stays, 4 rises to key
        [0, 0, 0, 1, 0],  # potential: 5 stays
        [0, 0, 0, 1, 0],  # new: 7 enters as potential
    ]
    shares = ax.images[0].get_array()
    np.testing.assert_allclose(shares[0], [0.5, 0.5, 0, 0, 0])
    counts = tk.plot.migration_heatmap(before, after, normalize=False).images[0].get_array()
    assert counts[2, 0] == 1
    with pytest.raises(tk.InvalidInputError, match="before: customer id 1 appears more than once"):
        tk.plot.migration_heatmap(pd.concat([before, before]), after)


def test_distribution_and_lift_by_tier(fitted):
    f, _, a = fitted
    rng = np.random.default_rng(3)
    clv = pd.Series(rng.gamma(2.0, 50.0, len(a)), index=a.index, name="CLV")
    ax = tk.plot.distribution_by_tier(a, clv, log=True)
    expected = clv.groupby(a["tier"], observed=True).median()
    assert ax.tierkit_medians == pytest.approx({str(k): v for k, v in expected.items()})
    assert ax.get_ylabel() == "CLV" and ax.get_yscale() == "log"

    nxt = f["revenue_90d"]
    ax = tk.plot.lift_by_tier(a, nxt)
    lift = nxt.groupby(a["tier"], observed=False).mean() / nxt.mean()
    np.testing.assert_allclose([p.get_height() for p in ax.patches], lift.to_numpy())
    table = pd.DataFrame({"lift": [2.5, 0.5]}, index=pd.Index(["A", "B"], name="tier"))
    assert [p.get_height() for p in tk.plot.lift_by_tier(table).patches] == [2.5, 0.5]


def test_plot_input_errors(fitted):
    _, _, a = fitted
    with pytest.raises(tk.ColumnNotFoundError, match="assignment: no column 'tier'"):
        tk.plot.pareto_curve(a.drop(columns="tier"))
    with pytest.raises(
        tk.InvalidInputError, match=r"values: expected 2000 values \(one per customer\), got shape \(3,\)"
    ):
        tk.plot.distribution_by_tier(a, [1.0, 2.0, 3.0])
    with pytest.raises(tk.InvalidInputError, match=f"^values: no value for customer {a.index[1]}$"):
        tk.plot.distribution_by_tier(a, pd.Series([1.0], index=[a.index[0]]))
    with pytest.raises(tk.InvalidInputError, match="without outcome, expected a table indexed by tier"):
        tk.plot.lift_by_tier(a)
