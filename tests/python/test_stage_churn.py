"""Lifecycle stages against what customers did next: in a backtest, the share with no
purchase in the following period must be ordered lost > at_risk/declining >
mature/growing/loyal, on planted data and on CDNOW."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import tierkit as tk

START = pd.Timestamp("2022-01-01")
CUTOFF = pd.Timestamp("2024-01-01")
END = CUTOFF + pd.Timedelta(days=90)
ACTIVE = ["loyal", "mature", "growing"]
FADING = ["at_risk", "declining"]


def planted() -> tuple[pd.DataFrame, dict[int, str]]:
    """Customers whose stage at CUTOFF and purchases after it are planted:

    - 100 steady: a purchase every 10 days from START to END (all buy again);
    - 200 slipping: every 10 days until 120 days before CUTOFF, half resume after it;
    - 600 quiet: every 10 days until 250 days before CUTOFF, a quarter resume;
    - 200 one-time: one purchase 250 days before CUTOFF, a quarter buy again;
    - 200 gone: every 10 days until 400 days before CUTOFF, none come back.
    """
    rows: list[tuple[int, pd.Timestamp, float]] = []
    group: dict[int, str] = {}
    cid = 0

    def add(kind: str, n: int, stop_days: int, resume_every: int, one_time: bool = False) -> None:
        nonlocal cid
        for k in range(n):
            cid += 1
            group[cid] = kind
            stop = CUTOFF - pd.Timedelta(days=stop_days)
            days = [stop] if one_time else list(pd.date_range(START, stop, freq="10D"))
            if resume_every and k % resume_every == 0:
                days.append(CUTOFF + pd.Timedelta(days=30))
            rows.extend((cid, d, 50.0) for d in days)

    add("steady", 100, -90, 0)
    add("slipping", 200, 120, 2)
    add("quiet", 600, 250, 4)
    add("one-time", 200, 250, 4, one_time=True)
    add("gone", 200, 400, 0)
    tx = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    return tx[tx["date"] <= END].reset_index(drop=True), group


def churn(bt: tk.lifecycle.Backtest) -> pd.Series:
    s = bt.stages
    churned = (s["customers"] * s["churn_rate"].fillna(0.0)).groupby(level="stage", observed=True).sum()
    customers = s["customers"].groupby(level="stage", observed=True).sum()
    return (churned / customers)[customers > 0]


def assert_ordered(rate: pd.Series) -> None:
    fading = rate.reindex(FADING).dropna()
    active = rate.reindex(ACTIVE).dropna()
    assert len(fading) and len(active), rate
    assert rate["lost"] > fading.max(), rate
    assert fading.min() > active.max(), rate


def test_planted_stages_and_churn_order():
    tx, group = planted()
    bt = tk.backtest(tk.Policy.default(), tx, periods=[CUTOFF, END], keep_assignments=True, progress=False)
    stage = bt.assignments[CUTOFF]["stage"].astype(str)
    by_group = pd.crosstab(pd.Series(group).reindex(stage.index), stage)
    # Each planted group lands in the stage a manager would name: idle customers and
    # one-time buyers are not mature.
    assert by_group.loc["steady"].idxmax() == "loyal" and by_group.loc["steady"].max() == 100
    assert by_group.loc["slipping", "declining"] == 200
    assert by_group.loc["quiet", "at_risk"] == 600
    assert by_group.loc["one-time", "at_risk"] == 200
    assert by_group.loc["gone", "lost"] == 200
    rate = churn(bt)
    # Hand count: at_risk = quiet + one-time, 3 in 4 do not come back.
    assert rate.to_dict() == {"loyal": 0.0, "at_risk": 0.75, "declining": 0.5, "lost": 1.0}
    assert_ordered(rate)


def test_cdnow_stages_churn_order(cdnow_dir):
    raw = pd.read_csv(
        cdnow_dir / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master", "customer", "date", "cds", "amount"],
        dtype={"date": str},
    )
    tx = pd.DataFrame(
        {"customer": raw["customer"], "date": pd.to_datetime(raw["date"], format="%Y%m%d"), "amount": raw["amount"]}
    )
    bt = tk.backtest(tk.Policy.default(), tx, periods=3, period="91D", progress=False)
    rate = churn(bt)
    assert_ordered(rate)
    # The whole cohort (first purchases in early 1997) is staged at every cut-off.
    assert (bt.stages["customers"].groupby(level="cutoff").sum() == 2357).all()


def test_golden_model_files_get_the_new_stages():
    """A model file of tierkit 0.1 assigns the same tiers, reasons and scores, and its
    customers get today's stages (stages are read from activity at assign time, not
    fitted): a one-time buyer idle for 86 days is first_time, not mature."""
    golden = Path(__file__).resolve().parents[1] / "data" / "golden"
    features = pd.read_csv(golden / "features.csv", index_col="id")
    expected = pd.read_csv(golden / "thresholds.expected.csv", index_col="id")
    features["orders"] = features["frequency"] + 1
    features["last_purchase"] = 20000 - features["days_since_last"]
    features["first_purchase"] = 20000 - features["T"]
    for kind in ("binary", "text", "xml"):
        out = tk.load(golden / f"thresholds.{kind}.tkm").assign(features)
        assert out["tier_index"].tolist() == expected["tier"].tolist()
        assert out["score"].tolist() == expected["score"].tolist()
        assert list(out["stage"].cat.categories) == tk.lifecycle.STAGES
        assert out.loc[1, "stage"] == "first_time"
        assert out.loc[2, "stage"] == "at_risk"  # 219 days idle
