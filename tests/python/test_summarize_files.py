"""tk.Summarizer and tk.summarize_files: chunks, merges, pickling and files give
exactly the table tk.summarize gives on all rows at once."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

KW = {"margin": "margin", "quantity": "quantity", "errors": "reject", "return_rejects": True}


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    """Shuffled synthetic transactions with string ids (so codes differ per chunk),
    a few bad rows and a customer whose only row is bad."""
    t = tk.datasets.synthetic(300, seed=5, threads=1)
    t = t.sample(frac=1.0, random_state=1).reset_index(drop=True)
    t["customer"] = "c" + t["customer"].astype(str).str.zfill(4)
    t.loc[t.index[7::211], "amount"] = np.nan
    t.loc[t.index[13::307], "customer"] = None
    extra = pd.DataFrame(
        {"customer": ["zz-only-bad"], "date": [pd.NaT], "amount": [1.0], "margin": [0.0], "quantity": [1.0]}
    )
    return pd.concat([t, extra], ignore_index=True)


def assert_same(got, expected) -> None:
    (f, r), (g, s) = got, expected
    pd.testing.assert_frame_equal(f, g, check_exact=True)
    assert f.attrs["report"] == g.attrs["report"]
    pd.testing.assert_frame_equal(r, s, check_exact=True)


@pytest.mark.parametrize("options", [{}, {"as_of": "2024-03-01", "freq": "W"}, {"freq": "M", "windows": (7, 60)}])
@pytest.mark.parametrize("chunk", [97, 1000, 10**6])
def test_chunked_updates_equal_summarize(tx, options, chunk):
    whole = tk.summarize(tx, **KW, **options)
    assert len(whole[0]) > 150 and len(whole[1]) > 10
    s = tk.Summarizer(**KW, **options)
    for start in range(0, len(tx), chunk):
        assert s.update(tx.iloc[start : start + chunk]) is s
    assert s.transactions == len(tx)
    assert_same(s.finalize(), whole)


def test_integer_ids_and_arrow_chunks(tx):
    pa = pytest.importorskip("pyarrow")
    t = tx.dropna(subset=["customer"]).copy()
    t["customer"] = t["customer"].str[1:].replace({"z-only-bad": "9999"}).astype(np.int64)
    whole = tk.summarize(t, **KW)
    s = tk.Summarizer(**KW)
    for start in range(0, len(t), 500):
        s.update(pa.Table.from_pandas(t.iloc[start : start + 500], preserve_index=False))
    assert_same(s.finalize(), whole)


def test_merge_in_any_grouping_and_pickle(tx):
    whole = tk.summarize(tx, **KW)
    cuts = [0, len(tx) // 5, len(tx) // 2, len(tx) // 2 + 3, len(tx)]

    def part(k):
        return tk.Summarizer(**KW).update(tx.iloc[cuts[k] : cuts[k + 1]])

    left = part(0).merge(part(1)).merge(part(2)).merge(part(3))
    assert_same(left.finalize(), whole)
    right = part(0).merge(part(1).merge(part(2).merge(part(3))))
    assert_same(right.finalize(), whole)
    shipped = [pickle.loads(pickle.dumps(part(k))) for k in range(4)]  # as a Dask/Spark worker would
    tree = tk.Summarizer(**KW).merge(shipped[0].merge(shipped[1])).merge(shipped[2].merge(shipped[3]))
    assert_same(tree.finalize(), whole)
    # a pickled partial state keeps accepting chunks
    s = pickle.loads(pickle.dumps(part(0)))
    s.update(tx.iloc[cuts[1] :])
    assert_same(s.finalize(), whole)


def test_merge_needs_the_same_arguments(tx):
    a = tk.Summarizer(**KW).update(tx.iloc[:50])
    with pytest.raises(tk.InvalidInputError, match="different arguments"):
        a.merge(tk.Summarizer(as_of="2024-01-01", **KW))


def test_failed_update_leaves_the_state_unchanged(tx):
    good = tx.dropna(subset=["customer", "date", "amount"]).iloc[:200]
    s = tk.Summarizer(margin="margin")
    s.update(good.iloc[:100])
    bad = good.iloc[100:].copy()
    bad.loc[bad.index[5], "amount"] = np.inf
    bad.loc[bad.index[0], "customer"] = "brand-new-id"
    with pytest.raises(tk.InvalidInputError, match=r"^row 105: column 'amount': must be a finite number"):
        s.update(bad)
    assert s.transactions == 100
    pd.testing.assert_frame_equal(s.finalize(), tk.summarize(good.iloc[:100], margin="margin"), check_exact=True)
    with pytest.raises(tk.ColumnNotFoundError):
        s.update(good.drop(columns="margin"))
    s.update(good.iloc[100:])
    pd.testing.assert_frame_equal(s.finalize(), tk.summarize(good, margin="margin"), check_exact=True)


@pytest.fixture(scope="module")
def files(tx, tmp_path_factory):
    """tx split over three CSV files and two Parquet files; customers spread over all."""
    d = tmp_path_factory.mktemp("tx")
    cuts = [0, 500, 1300, len(tx)]
    csv = []
    for k in range(3):
        p = d / f"part{k}.csv"
        tx.iloc[cuts[k] : cuts[k + 1]].to_csv(p, index=False)
        csv.append(p)
    parquet = []
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    for k, (a, b) in enumerate([(0, 900), (900, len(tx))]):
        p = d / f"part{k}.parquet"
        pq.write_table(pa.Table.from_pandas(tx.iloc[a:b], preserve_index=False), p, row_group_size=333)
        parquet.append(p)
    return csv, parquet


@pytest.mark.parametrize("chunksize", [150, 701, 10**6])
def test_summarize_files_csv_and_parquet(tx, files, chunksize):
    csv, parquet = files
    spread = tx["customer"].iloc[:500].dropna()
    assert spread.isin(tx["customer"].iloc[1300:]).any()  # a customer in several files
    whole = tk.summarize(tx, **KW)
    assert_same(tk.summarize_files(csv, chunksize=chunksize, **KW), whole)
    assert_same(tk.summarize_files(parquet, chunksize=chunksize, **KW), whole)
    assert_same(tk.summarize_files([str(p) for p in parquet], chunksize=chunksize, progress=True, **KW), whole)


def test_summarize_files_errors_name_the_global_row(tmp_path):
    a = pd.DataFrame({"customer": [1, 2], "date": ["2024-01-01", "2024-01-02"], "amount": [1.0, 2.0]})
    b = pd.DataFrame({"customer": [1, 3], "date": ["2024-01-03", "2024-01-04"], "amount": [3.0, np.nan]})
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(tk.InvalidInputError, match=r"^row 3: column 'amount'"):
        tk.summarize_files([tmp_path / "a.csv", tmp_path / "b.csv"], chunksize=1)
    f, r = tk.summarize_files([tmp_path / "a.csv", tmp_path / "b.csv"], errors="reject", return_rejects=True)
    assert r["row"].tolist() == [3, -1] and r["customer"].tolist() == [3, 3]
    assert f["revenue"].tolist() == [4.0, 2.0]
    with pytest.raises(tk.InvalidInputError, match="neither CSV"):
        tk.summarize_files(tmp_path / "a.json")
    with pytest.raises(tk.InvalidInputError, match="does not exist"):
        tk.summarize_files(tmp_path / "missing.csv")
    with pytest.raises(tk.InvalidInputError, match="chunksize"):
        tk.summarize_files(tmp_path / "a.csv", chunksize=0)
    with pytest.raises(tk.ColumnNotFoundError):
        tk.summarize_files(tmp_path / "a.csv", amount="spend")


def test_progress_bar_only_when_asked(tmp_path, capsys):
    pytest.importorskip("tqdm")
    pd.DataFrame({"customer": [1, 2, 1], "date": ["2024-01-01"] * 3, "amount": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "a.csv", index=False
    )
    tk.summarize_files(tmp_path / "a.csv", chunksize=2, progress=True)
    assert "summarize" in capsys.readouterr().err
    tk.summarize_files(tmp_path / "a.csv", chunksize=2, progress=False)
    assert capsys.readouterr().err == ""
