"""The tierkit command, end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import tierkit as tk
from tierkit.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tierkit", *args], capture_output=True, text=True, timeout=300)


def test_demo_writes_results(tmp_path):
    r = run("demo", "--customers", "3000", "--seed", "3", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "key" in r.stdout and "potential" in r.stdout
    a = pd.read_csv(tmp_path / "assignments.csv")
    assert len(a) == 3000
    s = pd.read_csv(tmp_path / "summary.csv", index_col="tier")
    assert s["customers"].sum() == 3000
    assert json.loads((tmp_path / "policy.json").read_text())["name"] == "default"
    assert json.loads((tmp_path / "report.json").read_text())["customers"] == 3000
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h1>Customer tiers as of " in page
    assert f"open the HTML report: {(tmp_path / 'report.html').resolve().as_uri()}" in r.stdout


def test_run_on_user_files(tmp_path):
    tx = tk.datasets.synthetic(500, seed=9)
    tx.to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame({"customer": [1, 2, 999], "nps": [9, 8, 7]}).to_csv(tmp_path / "attrs.csv", index=False)
    policy = {
        "criteria": ["revenue", {"column": "nps", "normalizer": "minmax"}],
        "rule": {"kind": "quantiles", "shares": [0.2]},
        "tiers": ["top", "rest"],
    }
    (tmp_path / "p.json").write_text(json.dumps(policy))
    # nps is missing for most customers: the error names the column and row
    code = main(
        [
            "run",
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--attributes",
            str(tmp_path / "attrs.csv"),
            "--policy",
            str(tmp_path / "p.json"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    pd.DataFrame({"customer": range(1, 501), "nps": 5.0}).to_csv(tmp_path / "attrs.csv", index=False)
    code = main(
        [
            "run",
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--attributes",
            str(tmp_path / "attrs.csv"),
            "--policy",
            str(tmp_path / "p.json"),
            "--out",
            str(tmp_path / "out"),
            "--as-of",
            "2024-06-30",
        ]
    )
    assert code == 0
    out = pd.read_csv(tmp_path / "out" / "assignments.csv")
    rejects = pd.read_csv(tmp_path / "out" / "rejects.csv")
    assert len(out) + len(rejects) == 500  # customers who started after as_of are in the rejects
    assert (rejects["reason"].str.startswith("no transaction on or before as_of")).all()


def test_run_names_file_line_and_column(tmp_path, capsys):
    (tmp_path / "tx.csv").write_text("customer,date,amount\n1,2024-01-01,10\n2,2024-01-02,ten\n")
    code = main(["run", "--transactions", str(tmp_path / "tx.csv"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'tx.csv'}, line 3 (row 1), column 'amount': expected a number, got 'ten'" in err
    (tmp_path / "tx2.csv").write_text("customer,date,amount\n1,2024-01-01,10\n,2024-01-02,5\n")
    code = main(["run", "--transactions", str(tmp_path / "tx2.csv"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "tx2.csv, line 3 (row 1): column 'customer': id is missing" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"criteria": ["revenue"], "tiers": []}')
    (tmp_path / "tx3.csv").write_text("customer,date,amount\n1,2024-01-01,10\n")
    code = main(
        [
            "run",
            "--transactions",
            str(tmp_path / "tx3.csv"),
            "--policy",
            str(tmp_path / "bad.json"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "tiers: must be a non-empty array" in capsys.readouterr().err


def test_help_for_each_command():
    for args in (["--help"], ["demo", "--help"], ["run", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(args)
        assert e.value.code == 0
