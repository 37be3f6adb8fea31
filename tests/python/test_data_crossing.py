"""What crosses into the core on fit and assign: dates as day numbers, ids encoded once per index."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit import model as tkmodel


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_date_columns_become_floored_day_numbers(unit):
    dates = pd.Series(pd.to_datetime(["1970-01-01 00:00", "1969-12-31 18:00", "2024-02-29 23:59", None, "1900-03-01 00:00"])
                      .astype(f"datetime64[{unit}]"))
    days = tkmodel._day_column(dates)
    # 1969-12-31 18:00 is day -1 (floored), 1900-03-01 is day -25508.
    np.testing.assert_array_equal(days, [0.0, -1.0, 19782.0, np.nan, -25508.0])


def test_time_zone_aware_dates_take_the_general_path():
    dates = pd.Series(pd.to_datetime(["2024-01-02 01:00", None]).tz_localize("Europe/Berlin"))
    np.testing.assert_array_equal(tkmodel._day_column(dates), [19724.0, np.nan])  # 2024-01-02 00:00 UTC


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
    ids, names, arrays, _ = tkmodel._table(f, model.policy.required_columns)
    out = model._core.assign(ids, names, arrays, [])
    assert isinstance(out, tk._core.model.Assignment) and out.rows == len(f)
    value = out.score("value")
    assert np.shares_memory(value, out.scores[0])  # both views of the core's column
    assert np.shares_memory(out.contribution("value", "aov"), out.contributions[0][3])
    assert out.contribution_names == [["revenue", "frequency", "days_since_last", "aov"]]
    assert out.tier_names == ["key", "high-value", "ordinary", "potential"]
    assert out.has_stages and len(out.stage) == len(f)
    del out
    assert np.isfinite(value).all()  # the view keeps the assignment alive
    again = model._core.assign(ids, names, arrays, [])
    with pytest.raises(tk.ColumnNotFoundError, match="score 'nope' is not in the assignment; scores: value"):
        again.score("nope")
