"""Arrow, polars and numpy in; pandas, polars and pyarrow out.

Both intake engines (pyarrow, and the ctypes reader of the Arrow C data
interface used when pyarrow is absent) must give identical frames, numeric
columns must reach the C++ core without a copy, and every input type must give
identical features, scores and tiers.
"""

from __future__ import annotations

import gc
import json
import tracemalloc

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import tierkit as tk
from tierkit import _arrow
from tierkit._convert import float_array


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return tk.datasets.synthetic(800, seed=21)


@pytest.fixture(scope="module")
def features(tx) -> pd.DataFrame:
    return tk.summarize(tx, margin="margin")


def address(arr: np.ndarray) -> int:
    return arr.__array_interface__["data"][0]


@pytest.fixture(params=["pyarrow", "capsule"])
def engine(request, monkeypatch) -> str:
    """Run a test with pyarrow, then as if pyarrow were not installed."""
    if request.param == "capsule":
        monkeypatch.setattr(_arrow, "_have_pyarrow", lambda: False)
    return request.param


# ---- the two engines agree ------------------------------------------------------


def rich_polars() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["a", "b", None, "d"],
            "long": ["x" * 30, "short", None, "y" * 13],  # string views: out-of-line and inline
            "x": [1.5, 2.5, None, 4.0],
            "y": [1.0, 2.0, 3.0, 4.0],
            "i": [1, None, 3, 4],
            "u8": pl.Series([1, 2, 3, 4], dtype=pl.UInt8),
            "b": [True, None, False, True],
            "d": pl.Series([19000, 19001, None, 19003]).cast(pl.Date),
            "cat": pl.Series(["u", "v", "u", None], dtype=pl.Categorical),
            "tier": pl.Series(["lo", "hi", "lo", "hi"], dtype=pl.Enum(["hi", "lo"])),
            "ts": pl.Series([1, 2, 3, None]).cast(pl.Datetime("us", "Europe/Berlin")),
            "naive": pl.Series([10, 20, 30, 40]).cast(pl.Datetime("ms")),
        }
    )


@pytest.mark.parametrize(
    "make",
    [
        rich_polars,
        lambda: pa.table(rich_polars()),
        lambda: pa.table(rich_polars()).slice(1, 3),  # non-zero offsets
        lambda: pa.table(rich_polars()).to_batches()[0],  # __arrow_c_array__ only
        lambda: pa.concat_tables([pa.table(rich_polars()), pa.table(rich_polars())]),  # several chunks
        lambda: pa.table({"s": pa.array(["p", None, "r"], pa.large_string()), "f": pa.array([1, 2, 3], pa.float32())}),
        lambda: pa.table({"a": pa.array([], pa.float64()), "s": pa.array([], pa.string())}),
        lambda: pa.Table.from_batches([], pa.schema([("a", pa.float64()), ("s", pa.string())])),  # no chunk at all
    ],
    ids=["polars", "pyarrow", "sliced", "record_batch", "chunked", "large_string", "empty", "no_chunks"],
)
def test_engines_read_identically(make):
    data = make()
    a = _arrow.to_pandas(data, engine="pyarrow")
    b = _arrow.to_pandas(data, engine="capsule")
    pd.testing.assert_frame_equal(a, b)


def test_capsule_engine_values_and_dtypes():
    df = _arrow.to_pandas(rich_polars(), engine="capsule")
    assert df["id"].tolist()[:2] == ["a", "b"] and pd.isna(df["id"].iloc[2])
    assert df["long"].iloc[0] == "x" * 30 and df["long"].iloc[3] == "y" * 13
    assert df["x"].dtype == np.float64 and np.isnan(df["x"].iloc[2])
    assert df["i"].dtype == np.float64 and np.isnan(df["i"].iloc[1])  # ints with nulls -> float NaN
    assert df["u8"].dtype == np.uint8
    assert df["b"].tolist() == [True, None, False, True]
    assert df["d"].dtype == "datetime64[ms]" and df["d"].iloc[0] == pd.Timestamp("2022-01-08")
    assert pd.isna(df["d"].iloc[2])
    assert list(df["tier"].cat.categories) == ["hi", "lo"] and df["tier"].cat.ordered
    assert not df["cat"].cat.ordered and pd.isna(df["cat"].iloc[3])
    assert str(df["ts"].dt.tz) == "Europe/Berlin" and df["ts"].iloc[0] == pd.Timestamp(1000, unit="ns", tz="UTC")
    assert df["naive"].iloc[1] == pd.Timestamp(20, unit="ms")


def test_unsupported_arrow_type_names_the_column():
    t = pa.table({"ok": [1.0], "tags": pa.array([[1, 2]], pa.list_(pa.int64()))})
    with pytest.raises(tk.InvalidInputError, match=r"^column 'tags': Arrow format '\+l' is not supported"):
        _arrow.to_pandas(t, engine="capsule")


def test_not_arrow_and_bad_arguments():
    with pytest.raises(tk.InvalidInputError, match=r"^data: expected an object with __arrow_c_stream__"):
        _arrow.to_pandas([1, 2])
    with pytest.raises(tk.InvalidInputError, match=r"^engine: must be 'auto', 'pyarrow' or 'capsule', got 'x'$"):
        _arrow.to_pandas(pa.table({"a": [1.0]}), engine="x")
    with pytest.raises(tk.InvalidInputError, match=r"^transactions: expected a pandas DataFrame, an Arrow table"):
        tk.summarize([[1, 2, 3]])
    with pytest.raises(tk.InvalidInputError, match=r"^output: must be one of pandas, polars, pyarrow, got 'excel'$"):
        tk.summarize(pd.DataFrame({"customer": [1], "date": [1], "amount": [1.0]}), output="excel")


# ---- zero-copy -------------------------------------------------------------------


def test_float64_column_is_not_copied(engine):
    x = np.random.default_rng(0).random(200_000)
    polars_df = pl.DataFrame({"customer": np.arange(len(x)), "revenue": x})
    table = pa.table({"revenue": x})
    buffers = {
        "polars": address(polars_df["revenue"].to_numpy()),
        "pyarrow": table.column("revenue").chunk(0).buffers()[1].address,
    }
    for name, data in (("polars", polars_df), ("pyarrow", table)):
        frame = _arrow.as_frame(data, "features")
        column = float_array(frame["revenue"], "revenue")  # what the core receives
        assert address(column) == buffers[name], name
        assert not column.flags.writeable  # Arrow memory stays immutable


def test_columns_reach_the_core_without_copy(engine, monkeypatch, features):
    """fit() hands the core the very buffer of a polars column."""
    polars_features = _arrow.convert_output(features, "polars")
    revenue_address = address(polars_features["revenue"].to_numpy())
    seen = {}
    real_fit = tk.model._core.model.fit

    class Spy:
        class model:
            @staticmethod
            def fit(policy, ids, names, arrays, *rest):
                seen.update({n: address(a) for n, a in zip(names, arrays)})
                return real_fit(policy, ids, names, arrays, *rest)

    monkeypatch.setattr(tk.model, "_core", Spy)
    tk.fit(tk.Policy.default(), polars_features)
    assert seen["revenue"] == revenue_address


def test_reading_does_not_allocate_the_columns(engine):
    x = np.random.default_rng(1).random(1_000_000)  # 8 MB per column
    data = pl.DataFrame({"a": x, "b": x * 2})
    tracemalloc.start()
    try:
        frame = _arrow.to_pandas(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak
    assert frame["b"].sum() == pytest.approx(2 * x.sum())


def test_views_keep_arrow_memory_alive(engine):
    x = np.arange(100_000, dtype=np.float64)
    data = pl.DataFrame({"v": x})
    frame = _arrow.to_pandas(data)
    del data
    gc.collect()
    np.testing.assert_array_equal(frame["v"].to_numpy(), x)


# ---- every input type gives the same results --------------------------------------


def test_summarize_same_for_every_input_type(tx, engine):
    expected = tk.summarize(tx, margin="margin", as_of="2024-10-31")
    records = tx.to_records(index=False)
    inputs = {
        "pyarrow": pa.table(tx),
        "record_batch": pa.record_batch(tx),
        "polars": pl.from_pandas(tx),
        "numpy": records,
        "dict": {c: tx[c].to_numpy() for c in tx.columns},
    }
    for name, data in inputs.items():
        got = tk.summarize(data, margin="margin", as_of="2024-10-31")
        pd.testing.assert_frame_equal(got, expected, check_index_type=False, obj=name)


def test_string_and_categorical_ids_from_polars(engine):
    tx = pd.DataFrame(
        {
            "customer": ["b", "a", "b", "c"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-09", "2024-01-03"]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    got = tk.summarize(pl.from_pandas(tx))
    pd.testing.assert_frame_equal(got, tk.summarize(tx))
    assert got.index.tolist() == ["a", "b", "c"]
    # A categorical id keeps its category order (polars: first appearance), as a pandas categorical does.
    got = tk.summarize(pl.from_pandas(tx).with_columns(pl.col("customer").cast(pl.Categorical)))
    expected = tk.summarize(tx.assign(customer=pd.Categorical(tx["customer"], categories=["b", "a", "c"])))
    assert got.index.tolist() == expected.index.tolist() == ["b", "a", "c"]
    np.testing.assert_array_equal(got["revenue"].to_numpy(), [4.0, 2.0, 4.0])
    assert got.loc["b", "frequency"] == 1.0


def test_missing_id_in_arrow_input_names_the_row(engine):
    data = pl.DataFrame({"customer": [1, None], "date": [19000, 19001], "amount": [1.0, 2.0]})
    with pytest.raises(tk.InvalidInputError, match=r"^row 1: column 'customer': id is missing$"):
        tk.summarize(data)


def test_fit_assign_summary_same_for_pandas_polars_pyarrow(features, engine):
    model = tk.fit(tk.Policy.default(), features)
    expected = model.assign(features)
    expected_summary = tk.summary(expected, features)
    for name, data in (
        ("polars", _arrow.convert_output(features, "polars")),
        ("pyarrow", _arrow.convert_output(features, "pyarrow")),
    ):
        m = tk.fit(tk.Policy.default(), data)
        assert json.dumps(m.params, sort_keys=True) == json.dumps(model.params, sort_keys=True), name
        got = m.assign(data)
        pd.testing.assert_frame_equal(got, expected, check_index_type=False, obj=name)
        s = tk.summary(m.assign(data, output=name), data)
        pd.testing.assert_frame_equal(pd.DataFrame(s), pd.DataFrame(expected_summary), obj=name)


# ---- output= -----------------------------------------------------------------------


def test_output_polars_keeps_ids_and_tier_order(features):
    model = tk.fit(tk.Policy.default(), features)
    out = model.assign(features, output="polars")
    assert isinstance(out, pl.DataFrame)
    assert out.columns[:3] == ["customer", "value", "tier"]
    assert out["customer"].to_list() == features.index.tolist()
    assert out["tier"].dtype == pl.Enum(["key", "high-value", "ordinary", "potential"])
    # Enum order is the tier order: sorting puts the best tier first.
    assert out.sort("tier")["tier"][0] == "key"
    np.testing.assert_array_equal(out["value"].to_numpy(), model.assign(features)["value"].to_numpy())


def test_output_pyarrow_and_summarize_output(tx):
    f = tk.summarize(tx, output="pyarrow")
    assert isinstance(f, pa.Table)
    assert f.column_names[0] == "customer"
    assert f.schema.field("first_purchase").type == pa.timestamp("ns")
    f2, rejects = tk.summarize(tx, output="polars", return_rejects=True, as_of="2023-06-30")
    assert isinstance(f2, pl.DataFrame) and isinstance(rejects, pl.DataFrame)
    assert f2.height + rejects.height == tx["customer"].nunique()
    a = tk.fit(tk.Policy.default(), f).assign(f, output="pyarrow")
    tier_type = a.schema.field("tier").type
    assert pa.types.is_dictionary(tier_type) and tier_type.ordered
    s = tk.summary(a, f, output="polars")
    assert s["tier"].to_list() == ["key", "high-value", "ordinary", "potential"]
    assert s["customers"].sum() == f.num_rows
