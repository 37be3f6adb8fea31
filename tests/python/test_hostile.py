"""Hostile input at the Python boundary: every failure a TierkitError that names
where, no crash, no silent wrong answer (ids, dates, extreme numbers)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit.cli import main

TIERS = ["top", "rest"]


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


# ---- one depth-limited JSON reader -----------------------------------------------------
def test_deep_policy_text_and_dict_are_policy_errors():
    deep_text = '{"criteria": ["revenue"], "tiers": ["a"], "rule": {"kind": "quantiles", "x": ' + "[" * 70000
    with pytest.raises(tk.PolicyError, match=r"^policy\.rule\.x\[0\]\[0\].*: nested deeper than 64 levels"):
        tk.Policy(deep_text)
    spec = {"criteria": ["revenue"], "tiers": TIERS, "description": nested(5000)}
    with pytest.raises(tk.PolicyError, match=r"^policy\.description\[0\].*: nested deeper than 64 levels"):
        tk.Policy(spec)
    # The same document as text gets the same message from the C++ reader.
    with pytest.raises(tk.PolicyError) as cpp_err:
        tk.Policy(json.dumps({**spec, "description": nested(64)}))
    with pytest.raises(tk.PolicyError) as py_err64:
        tk.Policy({**spec, "description": nested(64)})
    assert str(cpp_err.value) == str(py_err64.value)
    loop: dict = {"criteria": ["revenue"], "tiers": TIERS}
    loop["description"] = loop
    with pytest.raises(tk.PolicyError, match="nested deeper than 64"):
        tk.Policy(loop)
    # 63 levels under the document are read (and then refused as a description).
    with pytest.raises(tk.PolicyError, match=r"^policy\.description: must be a string"):
        tk.Policy({**spec, "description": nested(63)})


def test_policy_files_and_text_errors_are_typed(tmp_path):
    with pytest.raises(tk.PolicyError, match=r"^policy: must be an object, got \[1,2,3\]"):
        tk.Policy("[1,2,3]")
    with pytest.raises(tk.PolicyError, match=r"^policy file '.*missing\.json': No such file or directory"):
        tk.Policy(tmp_path / "missing.json")
    (tmp_path / "latin1.json").write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(tk.PolicyError, match=r"latin1\.json': not UTF-8 text \(byte 13 is 0xe9\)"):
        tk.Policy(tmp_path / "latin1.json")
    (tmp_path / "deep.json").write_text('{"tiers": ' + "[" * 100000)
    with pytest.raises(tk.PolicyError, match=r"deep\.json': policy\.tiers\[0\].*nested deeper than 64"):
        tk.Policy(str(tmp_path / "deep.json"))
    with pytest.raises(tk.PolicyError, match=r"^policy\.description: must be a string, got 7"):
        tk.Policy({"criteria": ["revenue"], "tiers": TIERS, "description": 7})
    with pytest.raises(tk.PolicyError, match="cannot be written as JSON"):
        tk.Policy({"criteria": ["revenue"], "tiers": TIERS, "description": float("nan")})


def test_ahp_is_checked_when_the_policy_is_built():
    def ahp(matrix, **extra):
        n = len(matrix)
        return {
            "criteria": [f"c{k}" for k in range(n)],
            "weights": {"method": "ahp", "matrix": matrix, **extra},
            "rule": {"kind": "quantiles", "shares": [0.5]},
            "tiers": TIERS,
        }

    with pytest.raises(tk.PolicyError, match=r"^weights\.matrix\[1\]\[0\]: must be 1/matrix\[0\]\[1\] = 0\.5, got 3$"):
        tk.Policy(ahp([[1, 2], [3, 1]]))
    with pytest.raises(tk.PolicyError, match=r"^weights\.matrix\[1\]\[1\]: must be 1 \(diagonal\), got 2$"):
        tk.Policy(ahp([[1, 2], [0.5, 2]]))
    ones = [[1] * 16 for _ in range(16)]
    with pytest.raises(tk.PolicyError, match=r"^weights\.random_index: required for 16 criteria"):
        tk.Policy(ahp(ones))
    assert tk.Policy(ahp(ones, random_index=[1.0] * 16)).name == "policy"
    inconsistent = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    with pytest.raises(tk.PolicyError, match=r"^weights\.random_index\[2\]: must be > 0 for n = 3"):
        tk.Policy(ahp(inconsistent, random_index=[0, 0, 0]))
    with pytest.raises(tk.PolicyError, match=r"^weights: consistency ratio .* > 0\.1"):
        tk.Policy(ahp(inconsistent))
    assert tk.Policy(ahp(inconsistent, accept_inconsistent=True)).name == "policy"


def test_set_num_threads_takes_whole_numbers_only():
    before = tk.get_num_threads()
    for bad in (2.5, "2", True, [2]):
        with pytest.raises(tk.InvalidInputError, match="set_num_threads: n must be a whole number"):
            tk.set_num_threads(bad)
    tk.set_num_threads(np.int64(1))
    assert tk.get_num_threads() == 1
    tk.set_num_threads(None)
    assert tk.get_num_threads() == before


# ---- ids -----------------------------------------------------------------------------
def tx_with_ids(ids) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "customer": ids,
            "date": pd.to_datetime(["2024-01-01"] * n) + pd.to_timedelta(range(n), "D"),
            "amount": np.arange(1.0, n + 1),
        }
    )


@pytest.mark.parametrize(
    "ids",
    [
        pd.Series(np.array([2**64 - 1, 2**63, 1, 2**63], dtype=np.uint64)),
        pd.Series(np.array([-(2**63), 5, -(2**63), 2**63 - 1], dtype=np.int64)),
        # Exact integers up to 2^53 are integer ids; larger or fractional floats are kept as given.
        pd.Series([1e20, 2.0**53 + 2, 1.5, 1e20]),
        pd.Series([3.0, 2.0**53, -7.0, 3.0]),
        pd.Series([1, "a", 2.5, "a"], dtype=object),
    ],
)
def test_every_id_comes_back_exactly_as_given(ids):
    features = tk.summarize(tx_with_ids(ids), as_of="2024-02-01")
    expected = sorted(set(ids.tolist()), key=repr)
    assert sorted(features.index.tolist(), key=repr) == expected
    for value in expected:  # same value and same kind of number
        got = [v for v in features.index if v == value]
        assert len(got) == 1 and float(got[0]) == float(value) if not isinstance(value, str) else got == [value]
    assignment = tk.fit(
        tk.Policy(
            {
                "criteria": ["revenue"],
                "rule": {"kind": "quantiles", "shares": [0.5]},
                "tiers": TIERS,
                "privacy": {"min_group": 1},
            }
        ),
        features,
    ).assign(features)
    assert assignment.index.equals(features.index)


def test_float_ids_past_2_53_stay_floats():
    features = tk.summarize(tx_with_ids(pd.Series([2.0**53 + 2, 2.0**53 + 4])), as_of="2024-02-01")
    assert features.index.dtype == np.float64
    assert features.index.tolist() == [2.0**53 + 2, 2.0**53 + 4]


def test_missing_ids_are_rejected_under_their_own_value():
    ids = pd.Series([1, None, 2, None], dtype="Int64")
    features, rejects = tk.summarize(tx_with_ids(ids), errors="reject", return_rejects=True)
    assert features.index.tolist() == [1, 2]
    assert rejects["row"].tolist() == [1, 3]
    assert rejects["customer"].isna().all()
    with pytest.raises(tk.InvalidInputError, match=r"^row 1: column 'customer': id is missing"):
        tk.summarize(tx_with_ids(ids))
    features = pd.DataFrame({"revenue": [1.0, 2.0, 3.0]}, index=pd.Index([1.0, np.nan, 3.0], name="customer"))
    model = tk.fit(
        tk.Policy(
            {
                "criteria": ["revenue"],
                "rule": {"kind": "quantiles", "shares": [0.5]},
                "tiers": TIERS,
                "privacy": {"min_group": 1},
            }
        ),
        features.iloc[[0, 2]],
    )
    with pytest.raises(tk.InvalidInputError, match=r"^features index: row 1: customer id is missing"):
        model.assign(features)
    with pytest.raises(tk.InvalidInputError, match=r"^features index: row 0: customer id is missing"):
        model.assign(features.set_axis(pd.Index([None, "b", "c"], name="customer")))


# ---- numbers ---------------------------------------------------------------------------
def test_strings_in_numeric_columns_name_column_and_row():
    tx = tx_with_ids([1, 2, 3])
    for dtype in ("string", object, "category"):
        bad = tx.assign(amount=pd.Series(["12.5", "12,50", "abc"], dtype=dtype))
        with pytest.raises(tk.InvalidInputError, match=r"^column 'amount', row 1: expected a number, got '12,50'$"):
            tk.summarize(bad)
    ok = tx.assign(amount=pd.Series(["12.5", None, "3"], dtype="string"))
    features, rejects = tk.summarize(ok, errors="reject", return_rejects=True)
    assert features.loc[1, "revenue"] == 12.5
    assert rejects["row"].tolist() == [1, -1] and rejects["customer"].tolist() == [2, 2]  # row, then its customer
    nullable = tx.assign(amount=pd.Series([5, None, 7], dtype="Int64"))
    features, rejects = tk.summarize(nullable, errors="reject", return_rejects=True)
    assert features["revenue"].tolist() == [5.0, 7.0] and rejects["row"].tolist() == [1, -1]


def test_minmax_and_weighted_sum_stay_finite_and_monotone_for_extreme_values():
    values = np.concatenate([[-1e308, 1e308], np.linspace(-1e300, 1e300, 98)])
    features = pd.DataFrame({"x": values}, index=pd.RangeIndex(100, name="customer"))
    for normalizer in ("minmax", "zscore", "robust", "percentile", "bins"):
        policy = tk.Policy(
            {
                "criteria": [{"column": "x", "normalizer": normalizer}],
                "rule": {"kind": "quantiles", "shares": [0.2]},
                "tiers": TIERS,
                "privacy": {"min_group": 1},
            }
        )
        a = tk.fit(policy, features).assign(features)
        score = a["score"].to_numpy()
        assert np.isfinite(score).all(), normalizer
        order = np.argsort(values, kind="stable")
        assert (np.diff(score[order]) >= 0).all(), normalizer
        assert a["tier"].iloc[1] == "top" and a["tier"].iloc[0] == "rest", normalizer
        assert (a["tier"] == "top").sum() == 20, normalizer


def test_overflowing_sums_reject_the_customer_or_raise():
    tx = pd.DataFrame(
        {
            "customer": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [1e308, 1e308, 5.0],
        }
    )
    features, rejects = tk.summarize(tx, errors="reject", return_rejects=True)
    assert features.index.tolist() == ["b"]
    assert rejects["customer"].tolist() == ["a"]
    assert "the customer's sums overflow the largest double" in rejects["reason"].iloc[0]
    with pytest.raises(tk.InvalidInputError, match=r"^customer 'a': column 'amount': the customer's sums overflow"):
        tk.summarize(tx)


# ---- dates ---------------------------------------------------------------------------
def test_dates_outside_the_nanosecond_range_come_back_whole():
    tx = pd.DataFrame(
        {
            "customer": [1, 1, 2],
            "date": [dt.date(1500, 3, 1), dt.date(2300, 5, 17), dt.date(2300, 5, 1)],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    f = tk.summarize(tx)
    assert f.loc[1, "first_purchase"] == pd.Timestamp("1500-03-01")
    assert f.loc[1, "last_purchase"] == pd.Timestamp("2300-05-17")
    assert f.loc[2, "first_purchase"] == pd.Timestamp("2300-05-01")
    normal = tk.summarize(tx_with_ids([1, 2]))
    assert normal["first_purchase"].dtype == "datetime64[ns]"


def test_unreadable_dates_name_the_row_or_go_to_the_rejects():
    tx = pd.DataFrame(
        {"customer": [1, 2, 3], "date": ["2024-01-01", "2024-02-30", "2024-01-03"], "amount": [1.0, 2.0, 3.0]}
    )
    with pytest.raises(tk.InvalidInputError, match=r"^row 1: column 'date': cannot read '2024-02-30' as a date$"):
        tk.summarize(tx)
    features, rejects = tk.summarize(tx, errors="reject", return_rejects=True)
    assert features.index.tolist() == [1, 3]
    assert rejects["row"].tolist() == [1, -1]
    assert rejects["reason"].iloc[0] == "column 'date': cannot read '2024-02-30' as a date"
    numbers = tx.assign(date=pd.Series(["2024-01-01", 19754, "2024-01-03"], dtype=object))
    with pytest.raises(tk.InvalidInputError, match=r"^row 1: column 'date': cannot read 19754 as a date$"):
        tk.summarize(numbers)


# ---- the command line ------------------------------------------------------------------
def test_cli_reports_file_errors_without_a_traceback(tmp_path, capsys):
    tx = tmp_path / "tx.csv"
    tx.write_text("customer,date,amount\n1,2024-01-01,10\n2,2024-01-02,5\n")
    (tmp_path / "a_file").write_text("x")
    cases = {
        "exists and is not a folder": ["--out", str(tmp_path / "a_file")],
        "cannot create the folder": ["--out", str(tmp_path / "a_file" / "sub")],
    }
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    cases["binary.json': not UTF-8 text"] = ["--out", str(tmp_path / "o"), "--policy", str(tmp_path / "binary.json")]
    (tmp_path / "deep.json").write_text("[" * 200000)
    cases["deep.json': policy[0][0]"] = ["--out", str(tmp_path / "o"), "--policy", str(tmp_path / "deep.json")]
    for needle, args in cases.items():
        code = main(["run", "--transactions", str(tx)] + args)
        err = capsys.readouterr().err
        assert code == 2, (needle, err)
        assert err.startswith("tierkit: error: ") and needle in err and "Traceback" not in err, (needle, err)
    empty = tmp_path / "empty.csv"
    empty.write_text("customer,date,amount\n1,,10\n")
    code = main(["run", "--transactions", str(empty), "--out", str(tmp_path / "o"), "--reject-invalid"])
    assert code == 2
    assert f"tierkit: error: {empty}: fit: the table has no rows" in capsys.readouterr().err


def test_rejects_keep_large_integer_ids_next_to_missing_ones():
    ids = pd.Series([-(2**63) + 1, None], dtype="Int64")
    tx = pd.DataFrame({"customer": ids, "date": [np.nan, 19000.0], "amount": [10.0, 5.0]})
    features, rejects = tk.summarize(tx, errors="reject", return_rejects=True)
    assert len(features) == 0
    # integer ids stay exact integers beside the missing one (nullable Int64)
    assert [None if pd.isna(v) else int(v) for v in rejects["customer"]] == [-(2**63) + 1, None, -(2**63) + 1]
    assert rejects["row"].tolist() == [0, 1, -1]


def test_summarizer_state_with_a_reason_that_is_not_utf8_is_a_format_error():
    # A state's reject reasons reach Python's str: invalid UTF-8 in one (a damaged
    # state whose checksum was recomputed) is a FormatError at its byte offset, never
    # a UnicodeDecodeError.
    import zlib

    from tierkit import _core

    tx = pd.DataFrame(
        {"customer": [1, 2], "date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "amount": [5.0, float("nan")]}
    )
    s = tk.Summarizer(errors="reject")
    s.update(tx)
    good = s.to_bytes()
    at = good.find(b"column 'amount'")
    assert at > 32
    bad = bytearray(good)
    bad[at + 8] = 0xFF  # the "a" of 'amount'
    bad[28:32] = zlib.crc32(bytes(bad[32:])).to_bytes(4, "little")
    with pytest.raises(
        tk.FormatError, match=rf"reject 0: the reason is not valid UTF-8 \(byte 0xff\) \(at byte {at + 8}\)"
    ):
        _core.features.Summarizer.from_bytes(bytes(bad))
    assert _core.features.Summarizer.from_bytes(good).to_bytes() == good
