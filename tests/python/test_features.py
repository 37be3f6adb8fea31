"""tk.summarize and tk.join: conventions, ids, dates, errors and rejects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk


def test_string_ids_round_trip_and_sorted(small_tx):
    f = tk.summarize(small_tx, as_of="2024-02-01", margin="margin")
    assert f.index.tolist() == ["ann", "bob", "cid"]
    assert f.index.name == "customer"
    # ann: two purchases on one day -> one period, no repeat
    assert f.loc["ann", "frequency"] == 0
    assert f.loc["ann", "revenue"] == 45.0
    assert f.loc["ann", "orders"] == 2
    # bob: 01-01 (10), 01-10 (20), 01-20 (30): x=2, t_x=19 days, T=31 days, zbar = 25
    assert f.loc["bob", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2.0, 19.0, 31.0, 25.0]
    assert f.loc["bob", "margin"] == 12.0
    assert f.loc["bob", "days_since_last"] == 12.0
    assert f.loc["bob", "first_purchase"] == pd.Timestamp("2024-01-01")
    assert f["last_purchase"].dtype.kind == "M"
    assert f.attrs["report"]["as_of"] == "2024-02-01"


def test_weeks_like_lifetimes_freq_multiplier(small_tx):
    f = tk.summarize(small_tx, as_of="2024-02-01", unit="W")
    assert f.loc["bob", "recency"] == pytest.approx(19 / 7)
    assert f.loc["bob", "T"] == pytest.approx(31 / 7)
    g = tk.summarize(small_tx, as_of="2024-02-01", freq_multiplier=7)
    pd.testing.assert_frame_equal(f, g)


def test_integer_ids_and_integer_days():
    tx = pd.DataFrame({"id": [5, 3, 5], "day": [10, 12, 20], "spend": [1.0, 2.0, 3.0]})
    f = tk.summarize(tx, customer="id", date="day", amount="spend")
    assert f.index.tolist() == [3, 5]
    assert f.loc[5, "recency"] == 10
    assert f.loc[3, "T"] == 8  # as_of defaults to the last day, 20
    assert f["first_purchase"].dtype == np.float64  # integer days stay numbers


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_timestamps_in_any_unit_count_whole_days(unit):
    # The core reads a timestamp column as it is (ticks per day of its unit): a time of
    # day never moves a purchase to another day, dates before 1970 floor, NaT is missing.
    stamps = pd.Series(
        pd.to_datetime(
            ["1969-12-31 23:59:59", "2024-02-28 23:59:59", "2024-02-29 00:00:01", None, "2024-03-10 12:00:00"]
        )
    ).astype(f"datetime64[{unit}]")
    tx = pd.DataFrame({"customer": [1, 1, 2, 2, 2], "date": stamps, "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    days = tx.assign(date=np.array([-1, 19_781, 19_782, tk._core.features.missing_day, 19_792], dtype=np.int64))
    f, rejects = tk.summarize(tx, errors="reject", return_rejects=True)
    g = tk.summarize(days, errors="reject")
    assert f.loc[1, "recency"] == 19_782 and f.loc[2, "recency"] == 10
    assert f.loc[1, "T"] == 19_793 and f.loc[2, "T"] == 10
    assert f["first_purchase"].tolist() == [pd.Timestamp("1969-12-31"), pd.Timestamp("2024-02-29")]
    cols = [c for c in g.columns if c not in ("first_purchase", "last_purchase")]
    pd.testing.assert_frame_equal(f[cols], g[cols])
    assert rejects.to_dict("records") == [{"row": 3, "customer": 2, "reason": "column 'date': date is missing"}]
    streamed = tk.Summarizer(errors="reject").update(tx.iloc[:2]).update(tx.iloc[2:]).finalize()
    pd.testing.assert_frame_equal(streamed, f)


def test_after_as_of_is_counted_and_rejected_customer_listed(small_tx):
    f, rejects = tk.summarize(small_tx, as_of="2024-01-15", return_rejects=True)
    assert f.index.tolist() == ["ann", "bob"]
    assert f.attrs["report"]["after_as_of"] == 2
    assert rejects.to_dict("records") == [
        {"row": -1, "customer": "cid", "reason": "no transaction on or before as_of (1 after it)"}
    ]


def test_nan_amount_names_row_and_callers_column():
    tx = pd.DataFrame({"c": [1, 2], "d": pd.to_datetime(["2024-01-01", "2024-01-02"]), "value": [1.0, np.nan]})
    with pytest.raises(tk.InvalidInputError, match=r"^row 1: column 'value': must be a finite number, got nan$"):
        tk.summarize(tx, customer="c", date="d", amount="value")
    with pytest.raises(ValueError):  # InvalidInputError is a ValueError
        tk.summarize(tx, customer="c", date="d", amount="value")


def test_missing_ids_and_dates_reject_mode():
    tx = pd.DataFrame(
        {
            "customer": ["a", None, "b", "c"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-03"]),
            "amount": [1.0, 2.0, 3.0, np.inf],
        }
    )
    with pytest.raises(tk.InvalidInputError, match=r"^row 1: column 'customer': id is missing$"):
        tk.summarize(tx)
    f, rejects = tk.summarize(tx, errors="reject", return_rejects=True)
    assert f.index.tolist() == ["a"]
    assert rejects["row"].tolist() == [1, 2, 3, -1, -1]
    assert rejects["reason"].tolist()[:3] == [
        "column 'customer': id is missing",
        "column 'date': date is missing",
        "column 'amount': must be a finite number, got inf",
    ]
    # every input customer is in the output or the rejects
    assert set(rejects["customer"].dropna()) | set(f.index) == {"a", "b", "c"}


def test_unknown_column_lists_available(small_tx):
    with pytest.raises(
        tk.ColumnNotFoundError, match=r"amount: unknown column 'amt'; available: customer, date, amount, margin"
    ):
        tk.summarize(small_tx, amount="amt")
    with pytest.raises(KeyError):
        tk.summarize(small_tx, amount="amt")


def test_refunds_reduce_revenue_but_are_not_purchases():
    tx = pd.DataFrame({"customer": [1, 1, 1], "date": [0, 5, 6], "amount": [50.0, 30.0, -20.0]})
    f = tk.summarize(tx)
    assert f.loc[1, "revenue"] == 60.0
    assert f.loc[1, "orders"] == 2
    assert f.loc[1, "monetary_value"] == 30.0
    assert f.attrs["report"]["refunds"] == 1


def test_float64_columns_are_not_copied(small_tx):
    from tierkit._convert import float_array

    col = small_tx["amount"]
    arr = float_array(col, "amount")
    assert np.shares_memory(arr, col.to_numpy())


def test_join_reports_one_sided_ids(small_tx):
    f = tk.summarize(small_tx)
    attrs = pd.DataFrame({"customer": ["bob", "zed"], "nps": [9.0, 3.0]})
    j = tk.join(f, attrs, on="customer")
    assert j.attrs["join"]["only_in_attributes"] == ["zed"]
    assert j.attrs["join"]["only_in_features"] == ["ann", "cid"]
    assert j.loc["bob", "nps"] == 9.0
    assert np.isnan(j.loc["ann", "nps"])
    with pytest.raises(tk.InvalidInputError, match="appears more than once"):
        tk.join(f, pd.DataFrame({"nps": [1.0, 2.0]}, index=["bob", "bob"]))


def test_cdnow_matches_lifetimes_reference(cdnow_dir):
    raw = pd.read_csv(
        cdnow_dir / "CDNOW_sample.txt", sep=r"\s+", header=None, names=["master", "customer", "date", "cds", "amount"]
    )
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    f = tk.summarize(raw, as_of="1997-09-30", freq="D", unit="W")
    ref = pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    assert len(f) == 2357
    assert (f.index.to_numpy() == ref.index.to_numpy()).all()
    assert (f["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    np.testing.assert_allclose(f["recency"], ref["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(f["T"], ref["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(f["monetary_value"], ref["zbar"], atol=0.005 + 1e-9)
