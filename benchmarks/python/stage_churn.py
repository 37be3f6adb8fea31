"""Next-period churn by lifecycle stage: does the stage order customers by how likely
they are to stop buying? Runs ``tk.backtest`` with the default policy on synthetic data
and, when the folder exists, on CDNOW (../shared/data/cdnow beside the checkout, or
$TIERKIT_SHARED_DATA/cdnow).

    python benchmarks/python/stage_churn.py [--customers 50000]

Prints, per stage, the customers and the share with no purchase in the following
period, averaged over the cut-offs (weighted by customers).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd

import tierkit as tk


def cdnow_transactions(folder: Path) -> pd.DataFrame | None:
    path = folder / "CDNOW_sample.txt"
    if not path.exists():
        return None
    raw = pd.read_csv(
        path, sep=r"\s+", header=None, names=["master", "customer", "date", "cds", "amount"], dtype={"date": str}
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer", "date", "amount"]]


def churn_by_stage(tx: pd.DataFrame, periods: int, period: str) -> pd.DataFrame:
    bt = tk.backtest(tk.Policy.default(), tx, periods=periods, period=period, progress=False)
    s = bt.stages.copy()
    s["churned"] = s["customers"] * s["churn_rate"].fillna(0.0)
    out = s.groupby(level="stage", observed=True)[["customers", "churned"]].sum()
    out["churn_rate"] = out["churned"] / out["customers"]
    return out[out["customers"] > 0][["customers", "churn_rate"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    args = parser.parse_args()
    pd.set_option("display.width", 120)
    tx = tk.datasets.synthetic(args.customers, seed=42)
    print(f"synthetic, {args.customers:,} customers, 4 cut-offs of 90 days")
    print(churn_by_stage(tx, 4, "90D").round(3).to_string())
    shared = os.environ.get("TIERKIT_SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
    folder = Path(shared) / "cdnow"
    cd = cdnow_transactions(folder)
    if cd is None:
        print(f"CDNOW: skipped, {folder / 'CDNOW_sample.txt'} not found")
        return
    print("CDNOW sample (2,357 customers), 3 cut-offs of 13 weeks")
    print(churn_by_stage(cd, 3, "91D").round(3).to_string())


if __name__ == "__main__":
    main()
