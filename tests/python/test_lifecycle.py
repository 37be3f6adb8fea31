"""Migration, projection, events, revenue at risk, win-back and backtest: hand-made
assignments with counts checked by hand, and a backtest on planted data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit.lifecycle import STAGES

TIERS = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
STAGE = pd.CategoricalDtype(STAGES)


def assignment(tiers: dict, stages: dict | None = None) -> pd.DataFrame:
    index = pd.Index(list(tiers), name="customer")
    frame = pd.DataFrame({"tier": pd.Series(list(tiers.values()), index=index, dtype=TIERS)})
    frame["tier_index"] = frame["tier"].cat.codes.astype(np.int32)
    if stages is not None:
        frame["stage"] = pd.Series([stages[c] for c in index], index=index, dtype=STAGE)
    return frame


# The same ten customers as tests/cpp/test_lifecycle_migration.cpp, with string ids.
BEFORE = {"c01": "A", "c02": "A", "c03": "B", "c04": "B", "c05": "B", "c06": "C", "c08": "C", "c09": "A"}
AFTER = {"c01": "A", "c02": "B", "c03": "A", "c04": "B", "c05": "C", "c07": "C", "c08": "C", "c10": "A"}
STAGE_BEFORE = {
    "c01": "mature",
    "c02": "mature",
    "c03": "lost",
    "c04": "growing",
    "c05": "mature",
    "c06": "declining",
    "c08": "declining",
    "c09": "mature",
}
STAGE_AFTER = {
    "c01": "mature",
    "c02": "declining",
    "c03": "won_back",
    "c04": "mature",
    "c05": "lost",
    "c07": "first_time",
    "c08": "declining",
    "c10": "won_back",
}
VALUE = pd.Series(
    {
        "c01": 100.0,
        "c02": 50.0,
        "c03": 30.0,
        "c04": 20.0,
        "c05": 10.0,
        "c06": 5.0,
        "c07": 1.0,
        "c08": 2.0,
        "c09": 80.0,
        "c10": 40.0,
    }
)


def test_migration_counts_shares_and_revenue_by_hand():
    m = tk.migration(assignment(BEFORE), assignment(AFTER), revenue=VALUE)
    assert m.counts.index.tolist() == ["A", "B", "C", "(new)"]
    assert m.counts.columns.tolist() == ["A", "B", "C", "(gone)"]
    assert m.counts.to_numpy().tolist() == [[1, 1, 0, 1], [1, 1, 1, 0], [0, 0, 1, 1], [1, 0, 1, 0]]
    assert m.row_shares.loc["C"].tolist() == [0, 0, 0.5, 0.5]
    assert m.revenue_moved.to_numpy().tolist() == [[100, 50, 0, 80], [30, 20, 10, 0], [0, 0, 2, 5], [40, 0, 1, 0]]
    # the existing heatmap counts the same cells
    import matplotlib.pyplot as plt

    ax = tk.plot.migration_heatmap(assignment(BEFORE), assignment(AFTER))
    assert np.asarray(ax.tierkit_counts).sum() == m.counts.to_numpy().sum()
    plt.close("all")


def test_migration_revenue_from_a_column_falls_back_to_before():
    before, after = assignment(BEFORE), assignment(AFTER)
    before["clv"] = VALUE.reindex(before.index)
    after["clv"] = VALUE.reindex(after.index) * 2  # the later value wins where both have one
    m = tk.migration(before, after, revenue="clv")
    assert m.revenue_moved.loc["A", "(gone)"] == 80  # c09, only before
    assert m.revenue_moved.loc["A", "A"] == 200


def test_mismatched_tiers_and_missing_values_are_named():
    other = pd.DataFrame(
        {"tier": pd.Series(["A", "Z"], index=["c01", "c02"], dtype=pd.CategoricalDtype(["A", "Z"], ordered=True))}
    )
    with pytest.raises(
        tk.InvalidInputError,
        match=r"before, after: the tiers differ: before has \['A', 'B', 'C'\], "
        r"after has \['A', 'Z'\]",
    ):
        tk.migration(assignment(BEFORE), other)
    with pytest.raises(tk.InvalidInputError, match="revenue: no finite value for customer 'c10'"):
        tk.migration(assignment(BEFORE), assignment(AFTER), revenue=VALUE.drop("c10"))
    with pytest.raises(tk.ColumnNotFoundError, match="no column 'tier'"):
        tk.events(pd.DataFrame({"x": [1]}), assignment(AFTER))


def test_events_without_stages():
    ev = tk.events(assignment(BEFORE), assignment(AFTER))
    assert ev.attrs["stages"] is False
    assert list(ev.columns) == ["customer", "from_tier", "to_tier", "kind"]
    assert dict(zip(ev["customer"], ev["kind"].astype(str))) == {
        "c02": "downgrade",
        "c03": "upgrade",
        "c05": "downgrade",
        "c06": "lost",
        "c07": "new",
        "c09": "lost",
        "c10": "new",
    }
    assert ev.loc[ev["customer"] == "c06", "to_tier"].isna().all()


def test_events_with_stages_one_row_per_customer_by_precedence():
    ev = tk.events(assignment(BEFORE, STAGE_BEFORE), assignment(AFTER, STAGE_AFTER))
    assert ev.attrs["stages"] is True
    assert ev["customer"].is_unique
    assert dict(zip(ev["customer"], ev["kind"].astype(str))) == {
        "c02": "downgrade",  # also a stage change: the tier move wins
        "c03": "won_back",  # also an upgrade: won_back wins
        "c04": "stage_change",
        "c05": "lost",  # stage lost beats its downgrade
        "c06": "lost",
        "c07": "new",
        "c09": "lost",
        "c10": "new",
    }  # new beats its won_back stage
    row = ev.set_index("customer").loc["c02"]
    assert (row["from_stage"], row["to_stage"]) == ("mature", "declining")


def test_events_ignore_stages_present_on_one_side_only():
    ev = tk.events(assignment(BEFORE), assignment(AFTER, STAGE_AFTER))
    assert ev.attrs["stages"] is False
    assert "stage_change" not in ev["kind"].astype(str).tolist()


def test_project_by_hand_and_stationary_distribution():
    ids = range(20)
    t = pd.CategoricalDtype(["A", "B"], ordered=True)
    before = pd.DataFrame({"tier": pd.Series(["A"] * 10 + ["B"] * 10, index=ids, dtype=t)})
    after = pd.DataFrame({"tier": pd.Series(["A"] * 8 + ["B"] * 2 + ["A"] + ["B"] * 9, index=ids, dtype=t)})
    value = pd.Series([10.0] * 8 + [1.0] * 12, index=ids)  # after: A holds 0..7 and 10 -> mean (80 + 1) / 9
    p = tk.project(before, after, periods=300, values=value)
    assert p.loc[1, ("customers", "A")] == pytest.approx(8.3)
    assert p.loc[2, ("customers", "B")] == pytest.approx(12.19)
    assert p.loc[2, ("value", "A")] == pytest.approx(7.81 * 81 / 9)
    total = p["customers"].sum(axis=1)
    assert np.allclose(total, 20)
    assert (p[("flow", "exited")] == 0).all()
    assert p.loc[300, ("customers", "A")] == pytest.approx(20 / 3)
    assert p.attrs["steady_state"].tolist() == pytest.approx([20 / 3, 40 / 3])
    assert p.attrs["transition"].loc["A"].tolist() == pytest.approx([0.8, 0.2, 0.0])


def test_project_with_entries_and_exits():
    p = tk.project(assignment(BEFORE), assignment(AFTER), periods=1)
    assert p.loc[0, "customers"].tolist() == [3, 2, 3]
    assert p.loc[1, "customers"].tolist() == pytest.approx([1 + 2 / 3 + 1, 1 + 2 / 3, 2 / 3 + 1.5 + 1])
    assert p.loc[1, ("flow", "entered")] == 2
    assert p.loc[1, ("flow", "exited")] == pytest.approx(2.5)
    closed = tk.project(assignment(BEFORE), assignment(AFTER), periods=50, entries=False, exits=False)
    assert np.allclose(closed["customers"].sum(axis=1), 8)
    assert closed.attrs["steady_state"].tolist() == pytest.approx([0, 0, 8], abs=1e-9)
    with pytest.raises(tk.InvalidInputError, match="periods"):
        tk.project(assignment(BEFORE), assignment(AFTER), periods=-1)


def test_revenue_at_risk_with_and_without_stages():
    r = tk.revenue_at_risk(assignment(AFTER, STAGE_AFTER), VALUE, previous=assignment(BEFORE, STAGE_BEFORE))
    assert r["customers"].tolist() == [4, 3, 3]
    assert r["value"].tolist() == [270, 60, 8]
    assert r["lost_value"].tolist() == [80, 10, 5]
    assert r["downgraded_value"].tolist() == [50, 0, 0]
    assert r["declining_value"].tolist() == [0, 0, 2]
    assert r["value_at_risk"].tolist() == [130, 10, 7]
    assert r.loc["A", "share_at_risk"] == pytest.approx(130 / 270)
    assert r.attrs["basis"].startswith("stages and tier moves")

    plain = tk.revenue_at_risk(assignment(AFTER), VALUE, previous=assignment(BEFORE))
    assert plain["value_at_risk"].tolist() == [130, 10, 5]
    assert plain["declining_customers"].tolist() == [0, 0, 0]
    assert plain.attrs["basis"].startswith("tier moves only")

    current = tk.revenue_at_risk(assignment(AFTER, STAGE_AFTER), VALUE)
    assert current["value_at_risk"].tolist() == [0, 50, 12]
    assert current.attrs["basis"].startswith("stages only")
    with pytest.raises(tk.InvalidInputError, match="no 'stage' column and no previous assignment"):
        tk.revenue_at_risk(assignment(AFTER), VALUE)


def test_win_back_order_and_reasons():
    wb = tk.win_back(assignment(AFTER, STAGE_AFTER), VALUE, previous=assignment(BEFORE, STAGE_BEFORE))
    assert wb.index.tolist() == ["c09", "c02", "c05", "c06", "c08"]
    assert wb["reason"].astype(str).tolist() == ["lost", "declining", "lost", "lost", "declining"]
    assert wb["tier"].astype(str).tolist() == ["A", "A", "B", "C", "C"]  # the tier they held before
    assert wb["value"].tolist() == [80, 50, 10, 5, 2]
    assert tk.win_back(
        assignment(AFTER, STAGE_AFTER), VALUE, n=2, previous=assignment(BEFORE, STAGE_BEFORE)
    ).index.tolist() == ["c09", "c02"]
    plain = tk.win_back(assignment(AFTER), VALUE, previous=assignment(BEFORE))
    assert plain.index.tolist() == ["c09", "c02", "c05", "c06"]
    assert "stage" not in plain.columns
    with pytest.raises(tk.InvalidInputError, match="n: expected an integer"):
        tk.win_back(assignment(AFTER, STAGE_AFTER), VALUE, n=-1)


def test_bad_stage_categories_are_rejected():
    a = assignment(AFTER)
    a["stage"] = pd.Categorical(["x"] * len(a))
    with pytest.raises(tk.InvalidInputError, match=r"assignment.stage: expected a categorical"):
        tk.win_back(a, VALUE)


# --- backtest on planted data ----------------------------------------------------------------------------------

POLICY = {
    "name": "revenue split",
    "scores": [
        {"name": "value", "method": "weighted_sum", "criteria": [{"column": "revenue", "normalizer": "percentile"}]}
    ],
    "rule": {"kind": "quantiles", "score": "value", "shares": [0.2]},
    "tiers": [{"name": "top", "mode": "strategic"}, {"name": "rest", "mode": "transactional"}],
    "privacy": {"min_group": 1},  # the exact 20% cut: the planted big spenders are the top 20% exactly
}


def planted(seed: int = 7) -> tuple[pd.DataFrame, set, set]:
    """300 customers over 2024: 60 'big' buy 200 about every 2 weeks, 200 'small' buy
    10 about monthly, 40 'gone' buy 20 monthly until March and never again."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    rows = []
    for c in range(300):
        kind = "big" if c < 60 else "small" if c < 260 else "gone"
        gap, amount, last = {"big": (14, 200.0, 365), "small": (30, 10.0, 365), "gone": (30, 20.0, 80)}[kind]
        day = int(rng.integers(0, 10))
        while day <= last:
            rows.append((c, start + pd.Timedelta(days=day), amount * rng.uniform(0.8, 1.2)))
            day += int(rng.integers(gap - 3, gap + 4))
    tx = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    return tx, set(range(60)), set(range(260, 300))


def test_backtest_planted_big_spenders_land_on_top():
    tx, big, _ = planted()
    cuts = ["2024-04-30", "2024-07-31", "2024-10-31", "2024-12-31"]
    bt = tk.backtest(POLICY, tx, periods=cuts, keep_assignments=True)
    assert bt.tiers.index.names == ["cutoff", "tier"]
    assert len(bt.windows) == 3
    for cutoff, a in bt.assignments.items():
        top = set(a.index[a["tier"] == "top"])
        assert big <= top, cutoff  # every big spender is in the top tier
    top = bt.tiers.xs("top", level="tier")
    rest = bt.tiers.xs("rest", level="tier")
    assert (top["lift"] > 1).all()
    assert (top["lift"] > 3 * rest["lift"]).all()
    # shares add to one, and lift = share of revenue / share of customers
    shares = bt.tiers.groupby(level="cutoff")["revenue_share"].sum()
    assert np.allclose(shares, 1)
    customers = bt.tiers.groupby(level="cutoff")["customers"].transform("sum")
    assert np.allclose(bt.tiers["lift"], bt.tiers["revenue_share"] / (bt.tiers["customers"] / customers))
    # big spenders keep their tier: stability is 1 for the top after the first cut-off
    assert np.isnan(top["stability"].iloc[0])
    assert top["stability"].iloc[1:].tolist() == [1.0, 1.0]
    assert (top["churn_rate"] == 0).all()
    has_stages = "stage" in next(iter(bt.assignments.values())).columns
    assert (bt.stages is not None) == has_stages
    assert bt.summary.loc["top", "lift"] == pytest.approx(top["lift"].mean())


def test_backtest_rolling_periods_and_plot():
    import matplotlib.pyplot as plt

    tx, _, _ = planted()
    bt = tk.backtest(POLICY, tx, periods=3, period="2M", progress=False)
    ends = bt.windows["end"].tolist()
    assert ends[-1] == tx["date"].max().normalize()
    assert bt.windows["cutoff"].tolist()[1:] == ends[:-1]
    assert ends[0] - bt.windows["cutoff"].iloc[0] in (pd.Timedelta(days=d) for d in (59, 60, 61, 62))
    ax = bt.plot()
    assert isinstance(ax, plt.Axes)
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(bt.summary["lift"].tolist())
    assert isinstance(tk.plot.lift_by_tier(bt.tiers), plt.Axes)
    plt.close("all")
    by_days = tk.backtest(POLICY, tx, periods=2, period=61)
    assert len(by_days.windows) == 2


def test_backtest_churn_per_stage(monkeypatch):
    """With stages in the assignment (added here by a wrapper), churn is reported per stage."""
    from tierkit.model import Model

    assign = Model.assign

    def with_stage(self, features, **kw):
        out = assign(self, features, **kw)
        lost = features["days_since_last"].reindex(out.index) > 45
        out["stage"] = pd.Categorical(np.where(lost, "lost", "mature"), categories=STAGES)
        return out

    monkeypatch.setattr(Model, "assign", with_stage)
    tx, _, gone = planted()
    bt = tk.backtest(POLICY, tx, periods=["2024-06-30", "2024-09-30"], keep_assignments=True)
    stages = bt.stages.xs(pd.Timestamp("2024-06-30"), level="cutoff")
    a = bt.assignments[pd.Timestamp("2024-06-30")]
    assert set(a.index[a["stage"] == "lost"]) == gone
    assert stages.loc["lost", "customers"] == 40
    assert stages.loc["lost", "churn_rate"] == 1.0
    assert stages.loc["mature", "churn_rate"] == 0.0


def test_backtest_bad_periods():
    tx, _, _ = planted()
    with pytest.raises(tk.InvalidInputError, match="periods: expected at least 2 dates"):
        tk.backtest(POLICY, tx, periods=["2024-06-30"])
    with pytest.raises(tk.InvalidInputError, match=r"periods\[1\]: cut-offs must increase"):
        tk.backtest(POLICY, tx, periods=["2024-06-30", "2024-05-30"])
    with pytest.raises(tk.InvalidInputError, match="period: expected"):
        tk.backtest(POLICY, tx, periods=2, period="soon")
