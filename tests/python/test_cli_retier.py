"""Periodic re-tiering from the command line: fit once, assign every month against the
previous month's assignments.csv, so hysteresis counters and stages carry over."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit.cli import main

MONTHS = ["2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31"]
POLICY = {
    "name": "monthly",
    "criteria": ["revenue_365d"],
    "rule": {"kind": "thresholds", "column": "revenue_365d", "cuts": [500, 100]},
    "tiers": ["a", "b", "c"],
    "lifecycle": {"hysteresis": {"k": 3, "max_demotion": 1}},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """tierkit fit at the end of September, then three monthly `tierkit assign` runs,
    each with --previous the run before."""
    root = tmp_path_factory.mktemp("retier")
    tx = tk.datasets.synthetic(3000, seed=11)
    tx.to_csv(root / "tx.csv", index=False)
    (root / "policy.json").write_text(json.dumps(POLICY))
    common = ["--transactions", str(root / "tx.csv"), "--margin", "margin"]
    assert (
        main(
            [
                "fit",
                *common,
                "--policy",
                str(root / "policy.json"),
                "--as-of",
                MONTHS[0],
                "--model",
                str(root / "model.tk"),
            ]
        )
        == 0
    )
    assert (
        main(["assign", *common, "--model", str(root / "model.tk"), "--as-of", MONTHS[0], "--out", str(root / "m0")])
        == 0
    )
    for k in range(1, 4):
        assert (
            main(
                [
                    "assign",
                    *common,
                    "--model",
                    str(root / "model.tk"),
                    "--as-of",
                    MONTHS[k],
                    "--previous",
                    str(root / f"m{k - 1}" / "assignments.csv"),
                    "--out",
                    str(root / f"m{k}"),
                    *(["--no-report"] if k < 3 else []),
                ]
            )
            == 0
        )
    out = {k: pd.read_csv(root / f"m{k}" / "assignments.csv", index_col="customer") for k in range(4)}
    return root, tx, out


def test_fitted_once(runs):
    root, _, out = runs
    model = tk.load(root / "model.tk")
    assert model.policy.name == "monthly"
    assert set(out[0]["tier"]) == {"a", "b", "c"}
    assert (out[0]["below_count"] == 0).all()  # no previous run: nobody held
    page = (root / "m3" / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "Migration from the previous assignment" in page and "Retention by first-purchase cohort" in page
    assert not (root / "m2" / "report.html").exists()
    report = json.loads((root / "m3" / "report.json").read_text())
    assert report["previous"]["file"].endswith("m2/assignments.csv")
    assert report["previous"]["held_by_hysteresis"] == int((out[3]["below_count"] > 0).sum())


def test_a_customer_below_the_cut_is_held_for_k_runs(runs):
    _root, tx, out = runs
    # Customers in tier a at the end of September who never buy again: their revenue
    # over 365 days only falls. Those whose plain tier is b from October on are held
    # in a for the October and November runs (counter 1, 2) and move to b in December.
    day = pd.to_datetime(tx["date"])
    later = set(tx.loc[day > pd.Timestamp(MONTHS[0]), "customer"])
    features = {k: tk.summarize(tx, as_of=MONTHS[k]) for k in range(4)}
    plain = {
        k: pd.cut(features[k]["revenue_365d"], [-np.inf, 100, 500, np.inf], right=False, labels=["c", "b", "a"]).astype(
            str
        )
        for k in range(4)
    }
    held = [
        c for c in out[0].index[out[0]["tier"] == "a"] if c not in later and all(plain[k][c] == "b" for k in (1, 2, 3))
    ]
    assert len(held) >= 3, "the synthetic book should have customers slipping from a to b"
    for c in held:
        assert [out[k].loc[c, "tier"] for k in range(4)] == ["a", "a", "a", "b"], c
        assert [out[k].loc[c, "below_count"] for k in range(4)] == [0, 1, 2, 0], c
        assert out[1].loc[c, "reason"].startswith("hysteresis: kept a")
    # In every run, a counter above 0 is the previous run's counter (read back from its
    # assignments.csv) + 1.
    for k in (1, 2, 3):
        before, after = out[k - 1], out[k]
        common = after.index.intersection(before.index)
        counting = common[(after.loc[common, "below_count"] > 0).to_numpy()]
        assert len(counting) > 0
        assert (after.loc[counting, "below_count"] == before.loc[counting, "below_count"] + 1).all()


def test_stages_carry_over(runs):
    _, _, out = runs
    # A customer lost in one run who bought again by the next is won back.
    for k in (1, 2, 3):
        was_lost = out[k - 1].index[out[k - 1]["stage"] == "lost"]
        now = out[k].loc[out[k].index.intersection(was_lost), "stage"]
        assert ((now == "lost") | (now == "won_back")).all()
    assert set(out[3]["stage"]) <= set(tk.lifecycle.STAGES)


def test_report_command(runs, capsys):
    root, _, _ = runs
    target = root / "report3.html"
    assert (
        main(
            [
                "report",
                "--assignments",
                str(root / "m3" / "assignments.csv"),
                "--model",
                str(root / "model.tk"),
                "--previous",
                str(root / "m2" / "assignments.csv"),
                "--title",
                "December",
                "--out",
                str(target),
            ]
        )
        == 0
    )
    page = target.read_text(encoding="utf-8")
    assert "<title>December</title>" in page and "Migration from the previous assignment" in page
    # Without the model, the tier order comes from summary.csv beside the assignments.
    assert main(["report", "--assignments", str(root / "m3" / "assignments.csv")]) == 0
    assert (root / "m3" / "report.html").exists()


def test_run_writes_model_and_report(tmp_path):
    tx = tk.datasets.synthetic(400, seed=2)
    tx.to_csv(tmp_path / "tx.csv", index=False)
    assert main(["run", "--transactions", str(tmp_path / "tx.csv"), "--out", str(tmp_path / "out")]) == 0
    model = tk.load(tmp_path / "out" / "model.tk")
    f = tk.summarize(tx)
    written = pd.read_csv(tmp_path / "out" / "assignments.csv", index_col="customer")
    assert model.assign(f)["tier"].astype(str).tolist() == written["tier"].tolist()
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_cli_errors(tmp_path, capsys):
    tx = tk.datasets.synthetic(50, seed=2)
    tx.to_csv(tmp_path / "tx.csv", index=False)
    assert (
        main(
            [
                "assign",
                "--model",
                str(tmp_path / "none.tk"),
                "--transactions",
                str(tmp_path / "tx.csv"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "model file" in capsys.readouterr().err
    assert main(["fit", "--transactions", str(tmp_path / "tx.csv"), "--model", str(tmp_path / "m.tk")]) == 0
    (tmp_path / "prev.csv").write_text("customer,tier\n1,gold\n")
    assert (
        main(
            [
                "assign",
                "--model",
                str(tmp_path / "m.tk"),
                "--transactions",
                str(tmp_path / "tx.csv"),
                "--previous",
                str(tmp_path / "prev.csv"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "prev.csv: column 'tier': unknown tier 'gold'; expected one of: key, high-value, ordinary, potential" in err
