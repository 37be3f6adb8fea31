"""tierkit against the same computation written with pandas, in one process.

    python benchmarks/python/compare_pandas.py [--transactions 1000000] [--customers 1000000] [--repeat 3]

Prints the best-of-N time of each side and the ratio (pandas / tierkit). The
pandas side is what a data scientist writes by hand: groupby for the RFM
summary (lifetimes' conventions), rank/weighted sum/np.select for the score and
tiers. Both sides compute the same numbers; the script checks that they agree.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import tierkit as tk


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def pandas_summarize(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    tx = tx[tx["date"] <= as_of]
    buys = tx[tx["amount"] >= 0]
    per_day = buys.groupby(["customer", "date"], sort=True)["amount"].sum().reset_index()
    g = per_day.groupby("customer", sort=True)
    first = g["date"].min()
    last = g["date"].max()
    periods = g["date"].size()
    first_spend = g["amount"].first()
    total_spend = g["amount"].sum()
    out = pd.DataFrame(index=first.index)
    out["frequency"] = (periods - 1).astype(float)
    out["recency"] = (last - first).dt.days.astype(float)
    out["T"] = (as_of - first).dt.days.astype(float)
    repeat = total_spend - first_spend
    out["monetary_value"] = np.where(
        out["frequency"] > 0, repeat / out["frequency"].where(out["frequency"] > 0, 1), 0.0
    )
    out["days_since_last"] = (as_of - last).dt.days.astype(float)
    out["orders"] = buys.groupby("customer", sort=True)["amount"].size().astype(float)
    out["revenue"] = tx.groupby("customer", sort=True)["amount"].sum()
    out["aov"] = buys.groupby("customer", sort=True)["amount"].mean()
    return out


CRITERIA = [  # column, higher is better, weight
    ("revenue", True, 0.3),
    ("frequency", True, 0.2),
    ("days_since_last", False, 0.15),
    ("aov", True, 0.15),
    ("monetary_value", True, 0.1),
    ("T", True, 0.1),
]
SHARES = [0.05, 0.15, 0.5]
TIERS = ["key", "high-value", "ordinary", "potential"]


def pandas_score_and_tier(f: pd.DataFrame) -> pd.DataFrame:
    score = np.zeros(len(f))
    n = len(f)
    for col, higher, w in CRITERIA:
        y = (f[col].rank(method="average").to_numpy() - 1) / (n - 1)
        score += 100 * w * (y if higher else 1 - y)
    ordered = np.sort(score)[::-1]
    cuts = [ordered[int(np.floor(s * n + 0.5)) - 1] for s in np.cumsum(SHARES)]
    tier = np.select([score >= c for c in cuts], TIERS[:-1], default=TIERS[-1])
    return pd.DataFrame({"score": score, "tier": tier}, index=f.index)


def tierkit_policy() -> tk.Policy:
    return tk.Policy(
        {
            "criteria": [
                {"column": c, "direction": "higher" if h else "lower", "normalizer": "percentile", "weight": w}
                for c, h, w in CRITERIA
            ],
            "rule": {"kind": "quantiles", "shares": SHARES},
            "tiers": TIERS,
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transactions", type=int, default=1_000_000, help="about this many transactions")
    ap.add_argument("--customers", type=int, default=1_000_000, help="customers for scoring and tiering")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    tx = tk.datasets.synthetic(args.transactions // 5, seed=1)
    as_of = tx["date"].max()
    print(f"summarize: {len(tx):,} transactions, {tx['customer'].nunique():,} customers")
    t_pd, f_pd = best_of(lambda: pandas_summarize(tx, as_of), args.repeat)
    t_tk, f_tk = best_of(lambda: tk.summarize(tx, as_of=as_of), args.repeat)
    for col in ("frequency", "recency", "T", "monetary_value", "days_since_last", "orders", "revenue", "aov"):
        np.testing.assert_allclose(f_tk[col].to_numpy(), f_pd[col].to_numpy(), rtol=1e-9, atol=1e-6, err_msg=col)
    print(f"  pandas  {t_pd:8.3f} s\n  tierkit {t_tk:8.3f} s\n  ratio   {t_pd / t_tk:8.1f}x (pandas / tierkit)")

    big = tk.summarize(tk.datasets.synthetic(args.customers, seed=2))
    print(f"score + tier: {len(big):,} customers x {len(CRITERIA)} criteria (percentile ranks, weighted sum, quotas)")
    policy = tierkit_policy()
    t_pd2, s_pd = best_of(lambda: pandas_score_and_tier(big), args.repeat)
    t_tk2, s_tk = best_of(lambda: tk.fit(policy, big).assign(big, contributions=False), args.repeat)
    # tierkit's fitted percentile curve keeps at most 16385 knots per criterion (a model
    # holds aggregates, not rows), so its ranks are within 1/16384 of pandas' exact ranks.
    diff = float(np.max(np.abs(s_tk["score"].to_numpy() - s_pd["score"].to_numpy())))
    assert diff <= 100 / 16384 + 1e-9, diff
    agree = float((s_tk["tier"].astype(str).to_numpy() == s_pd["tier"].to_numpy()).mean())
    print(
        f"  pandas  {t_pd2:8.3f} s\n  tierkit {t_tk2:8.3f} s (fit + assign)\n"
        f"  ratio   {t_pd2 / t_tk2:8.1f}x (pandas / tierkit); max score difference {diff:.2e}; "
        f"tiers agree for {100 * agree:.3f}% of customers"
    )


if __name__ == "__main__":
    main()
