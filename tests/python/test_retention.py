"""tk.retention on a small planted log, every value counted by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import tierkit as tk

NAN = np.nan


@pytest.fixture()
def log() -> pd.DataFrame:
    # cohort Jan: 1 (Jan, Feb, Apr), 2 (Jan), 5 (Jan 31, Mar, Apr); cohort Feb: 3 (Feb, Mar, Mar),
    # 4 (Feb, Feb, then only a refund in Mar); cohort Apr: 6.
    rows = [
        (1, "2024-01-05", 10),
        (1, "2024-02-01", 5),
        (1, "2024-04-10", 7),
        (2, "2024-01-20", 8),
        (3, "2024-02-03", 4),
        (3, "2024-03-09", 6),
        (3, "2024-03-20", 1),
        (4, "2024-02-10", 9),
        (4, "2024-02-11", 2),
        (4, "2024-03-01", -5),
        (5, "2024-01-31", 3),
        (5, "2024-03-01", 3),
        (5, "2024-04-30", 3),
        (6, "2024-04-02", 12),
    ]
    return pd.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "amount": [float(r[2]) for r in rows],
        }
    )


def test_overall_table_and_curve(log):
    r = tk.retention(log, cohort="M")
    assert [str(c) for c in r.table.index] == ["2024-01", "2024-02", "2024-04"]
    np.testing.assert_allclose(r.table.to_numpy(), [[1, 1 / 3, 1 / 3, 2 / 3], [1, 1 / 2, 0, NAN], [1, NAN, NAN, NAN]])
    assert r.customers.to_numpy().tolist() == [[3, 1, 1, 2], [2, 1, 0, 0], [1, 0, 0, 0]]
    # age 1: cohorts Jan and Feb reached it, 2 of 5 active; age 3: only Jan, 2 of 3.
    np.testing.assert_allclose(r.curve["all"], [1, 2 / 5, 1 / 5, 2 / 3])
    assert str(r.attrs["last_period"]) == "2024-04" and r.attrs["not_in_by"] == 0


def test_by_tier(log):
    tier = pd.Series(
        pd.Categorical(["A", "B", "A", "B", "B"], categories=["A", "B"], ordered=True),
        index=[1, 2, 3, 4, 5],
        name="tier",
    )
    r = tk.retention(log, cohort="M", by=tier)
    assert list(r.table.index.get_level_values("tier").unique()) == ["all", "A", "B"]
    np.testing.assert_allclose(r.table.loc["A"].to_numpy(), [[1, 1, 0, 1], [1, 1, 0, NAN]])
    np.testing.assert_allclose(r.table.loc["B"].to_numpy(), [[1, 0, 0.5, 0.5], [1, 0, 0, NAN]])
    np.testing.assert_allclose(r.curve["A"], [1, 1, 0, 1])
    np.testing.assert_allclose(r.curve["B"], [1, 0, 1 / 3, 1 / 2])
    np.testing.assert_allclose(r.curve["all"], [1, 2 / 5, 1 / 5, 2 / 3])  # customer 6 counts here only
    assert r.attrs["not_in_by"] == 1
    with pytest.raises(tk.InvalidInputError, match="may not be named 'all'"):
        tk.retention(log, by=pd.Series(["all"] * 5, index=[1, 2, 3, 4, 5]))


def test_end_and_every_row_a_purchase(log):
    r = tk.retention(log, end="2024-03-31")
    np.testing.assert_allclose(r.table.to_numpy(), [[1, 1 / 3, 1 / 3], [1, 1 / 2, NAN]])
    # amount=None: the refund of customer 4 in March is activity too.
    r2 = tk.retention(log, amount=None, end="2024-03-31")
    np.testing.assert_allclose(r2.table.to_numpy(), [[1, 1 / 3, 1 / 3], [1, 1, NAN]])


def test_quarterly_cohorts(log):
    r = tk.retention(log, cohort="Q")
    assert [str(c) for c in r.table.index] == ["2024Q1", "2024Q2"]
    # Q1: customers 1-5; in Q2 customers 1 and 5 bought again.
    np.testing.assert_allclose(r.table.to_numpy(), [[1, 2 / 5], [1, NAN]])


def test_errors(log):
    with pytest.raises(tk.InvalidInputError, match="cohort: expected one of D, W, M, Q, Y, got 'X'"):
        tk.retention(log, cohort="X")
    with pytest.raises(tk.ColumnNotFoundError, match="unknown column 'when'"):
        tk.retention(log, date="when")
    bad = log.copy()
    bad.loc[3, "date"] = pd.NaT
    with pytest.raises(tk.InvalidInputError, match="column 'date', row 3: date is missing"):
        tk.retention(bad)
    with pytest.raises(tk.InvalidInputError, match="by: expected a Series"):
        tk.retention(log, by=["A"])


def test_plots_and_report(log):
    tier = pd.Series(
        pd.Categorical(["A", "B", "A", "B", "B", "B"], categories=["A", "B"], ordered=True),
        index=[1, 2, 3, 4, 5, 6],
        name="tier",
    )
    r = tk.retention(log, by=tier)
    ax = tk.plot.retention_heatmap(r, group="A")
    pd.testing.assert_frame_equal(ax.tierkit_table, r.table.loc["A"])
    assert tk.plot.retention_heatmap(r).tierkit_table.shape == (3, 4)  # all customers
    assert [line.get_label() for line in r.plot("curves").get_lines()] == ["all", "A", "B"]
    with pytest.raises(tk.InvalidInputError, match="unknown group 'C'"):
        tk.plot.retention_heatmap(r, group="C")
    plt.close("all")
    assignment = pd.DataFrame({"score": [90.0, 20, 80, 30, 40, 50], "tier": tier, "revenue": [22.0, 8, 11, 6, 9, 12]})
    page = tk.report(assignment, retention=r, progress=False)
    assert '<section id="retention"><h2>Retention by first-purchase cohort</h2>' in page
    assert page.count("data:image/png;base64") >= 5
