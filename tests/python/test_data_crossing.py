"""What crosses into the core on fit and assign: dates as day numbers, ids encoded once per index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit import model as tkmodel


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_date_columns_cross_as_their_ticks_and_the_core_floors_them_to_days(unit):
    f = tk.summarize(tk.datasets.synthetic(400, seed=5))
    model = tk.fit(tk.Policy.default(), f)
    # Times of day (and a NaT) on the purchase dates: the day number is the floor.
    dated = f.copy()
    for k, name in enumerate(("first_purchase", "last_purchase")):
        shifted = f[name] + pd.to_timedelta((np.arange(len(f)) * 7 + k) % 24, unit="h")
        dated[name] = shifted.astype(f"datetime64[{unit}]")
    ticks, per_day = tkmodel._date_ticks(dated["last_purchase"])
    assert per_day == {"ns": 86_400_000_000_000, "us": 86_400_000_000, "s": 86_400}[unit]
    assert np.shares_memory(ticks, dated["last_purchase"].to_numpy())  # crosses without a copy
    by_hand = dated.copy()
    for name in ("first_purchase", "last_purchase"):
        days = np.floor((dated[name] - pd.Timestamp(0)) / pd.Timedelta(days=1))  # NaT -> NaN
        by_hand[name] = days.astype(float)
    a, b = model.assign(dated), model.assign(by_hand)
    pd.testing.assert_frame_equal(a, b)
    # NaT crosses as NaN: a buyer without a last purchase date is named by row.
    dated.loc[dated.index[3], "last_purchase"] = pd.NaT
    assert dated["orders"].iloc[3] > 0
    with pytest.raises(tk.InvalidInputError, match="column 'last_purchase', row 3: must be a finite number"):
        model.assign(dated)


def test_the_features_show_day_numbers_as_datetime64():
    """summarize's day numbers become the datetime64 display columns by one integer
    multiplication; the values are those numpy's unit casts give."""
    from tierkit._convert import to_dates

    days = np.array([-106751, -1, 0, 1, 19724, 106750], dtype=np.float64)
    shown = to_dates(days)
    assert shown.dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(shown, days.astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]"))
    assert str(shown[4]) == "2024-01-02T00:00:00.000000000"
    far = to_dates(np.array([-200000.0, 19724.0, 200000.0]))  # beyond 1677..2262: seconds, no wrap-around
    assert far.dtype == np.dtype("datetime64[s]") and str(far[2])[:4] == "2517"
    gap = to_dates(np.array([19724.0, np.nan]))
    assert gap.dtype == np.dtype("datetime64[ns]") and str(gap[0])[:10] == "2024-01-02" and np.isnat(gap[1])
    assert to_dates(np.arange(3)).dtype == np.dtype("datetime64[ns]")
    f = tk.summarize(tk.datasets.synthetic(50, seed=1))
    assert f["first_purchase"].dtype == f["last_purchase"].dtype == np.dtype("datetime64[ns]")
    assert (f["first_purchase"] <= f["last_purchase"]).all()


def test_time_zone_aware_dates_take_the_general_path():
    dates = pd.Series(pd.to_datetime(["2024-01-02 01:00", None]).tz_localize("Europe/Berlin"))
    assert tkmodel._date_ticks(dates) is None
    np.testing.assert_array_equal(tkmodel._day_column(dates), [19724.0, np.nan])  # 2024-01-02 00:00 UTC


def test_assign_passes_only_the_columns_the_model_reads():
    f = tk.summarize(tk.datasets.synthetic(300, seed=6))
    model = tk.fit(tk.Policy.default(), f)
    wanted = model._input_columns()
    assert wanted[:4] == ["revenue", "frequency", "days_since_last", "aov"]
    assert set(wanted[4:]) == {"orders", "first_purchase", "last_purchase", "trend"}
    _, names, _, dates, _ = tkmodel._table(f, model.policy.required_columns, wanted)
    assert names == ["revenue", "frequency", "days_since_last", "aov", "orders", "trend"]
    assert [d[0] for d in dates] == ["first_purchase", "last_purchase"]
    # Without the columns list (fit, and a Python callable rule): every numeric column.
    _, names, _, _, _ = tkmodel._table(f, model.policy.required_columns)
    assert "recency" in names and "T" in names


def test_string_ids_are_encoded_once_for_fit_and_assign(monkeypatch):
    f = tk.summarize(tk.datasets.synthetic(400, seed=3))
    f.index = pd.Index([f"c{i:05d}" for i in f.index], name="customer")
    made = []
    real = tkmodel.IdCodec

    class Counting(real):
        def __init__(self, *args, **kwargs):
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tkmodel, "IdCodec", Counting)
    model = tk.fit(tk.Policy.default(), f)
    first = model.assign(f)
    second = model.assign(f)
    assert len(made) == 1
    assert first.index.equals(f.index) and first["tier"].equals(second["tier"])
    # A new index object (here, a subset) gets its own encoding.
    model.assign(f.iloc[:10])
    assert len(made) == 2


def test_the_core_assignment_is_a_class_of_views():
    f = tk.summarize(tk.datasets.synthetic(300, seed=4))
    model = tk.fit(tk.Policy.default(), f)
    ids, names, arrays, dates, _ = tkmodel._table(f, model.policy.required_columns, model._input_columns())
    out = model._core.assign(ids, names, arrays, [], dates=dates)
    assert isinstance(out, tk._core.model.Assignment) and out.rows == len(f)
    value = out.score("value")
    assert np.shares_memory(value, out.scores[0])  # both views of the core's column
    assert np.shares_memory(out.contribution("value", "aov"), out.contributions[0][3])
    assert out.contribution_names == [["revenue", "frequency", "days_since_last", "aov"]]
    assert out.tier_names == ["key", "high-value", "ordinary", "potential"]
    assert out.has_stages and len(out.stage) == len(f)
    del out
    assert np.isfinite(value).all()  # the view keeps the assignment alive
    again = model._core.assign(ids, names, arrays, [], dates=dates)
    with pytest.raises(tk.ColumnNotFoundError, match="score 'nope' is not in the assignment; scores: value"):
        again.score("nope")
