"""Property tests: tk.summarize against a plain pandas implementation of the same
conventions, on random transaction lists (refunds, same-day purchases, several
period lengths)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import tierkit as tk


def reference(tx: pd.DataFrame, as_of: int, freq: str) -> pd.DataFrame:
    tx = tx[tx["date"] <= as_of].copy()
    dates = pd.to_datetime(tx["date"], unit="D")
    tx["period"] = dates.dt.to_period(freq).map(lambda p: p.ordinal) if freq != "D" else tx["date"]
    as_of_p = pd.Timestamp(as_of, unit="D").to_period(freq).ordinal if freq != "D" else as_of
    buys = tx[tx["amount"] >= 0]
    per = buys.groupby(["customer", "period"])["amount"].sum().reset_index()
    rows = {}
    for c, g in per.groupby("customer"):
        g = g.sort_values("period")
        x = len(g) - 1
        rows[c] = {
            "frequency": float(x),
            "recency": float(g["period"].iloc[-1] - g["period"].iloc[0]),
            "T": float(as_of_p - g["period"].iloc[0]),
            "monetary_value": float(g["amount"].iloc[1:].mean()) if x > 0 else 0.0,
            "revenue": float(tx.loc[tx["customer"] == c, "amount"].sum()),
            "orders": float((buys["customer"] == c).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


transactions = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 120), st.sampled_from([-5.0, 0.0, 1.5, 10.0, 99.99, 250.0])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(rows=transactions, as_of=st.integers(30, 130), freq=st.sampled_from(["D", "W", "M"]))
def test_summarize_matches_pandas_reference(rows, as_of, freq):
    tx = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    tx["date"] = tx["date"] + 19000  # 2022-01-08 onwards: crosses weeks and months
    as_of += 19000
    f, rejects = tk.summarize(tx, as_of=as_of, freq=freq, return_rejects=True)
    ref = reference(tx, as_of, freq)
    assert f.index.tolist() == ref.index.tolist()
    for col in ref.columns:
        np.testing.assert_allclose(f[col].to_numpy(), ref[col].to_numpy(), rtol=1e-12, atol=1e-9, err_msg=col)
    # every customer is accounted for exactly once
    assert sorted(set(f.index) | set(rejects["customer"])) == sorted(tx["customer"].unique())
    assert not set(f.index) & set(rejects["customer"])
