"""Property test at the Python boundary: hostile transaction frames through
summarize, fit, assign and the CLI.

Each frame mixes the column kinds users hand in (object, string, categorical,
nullable Int64, uint64, float with inf/NaN, time-zone-aware and out-of-range dates,
huge and tiny numbers, duplicate and missing ids). The property: the call raises a
TierkitError, or it returns a result in which every distinct input id appears once
in the output or goes to the rejects, and no output number is NaN or infinite.

Runs TIERKIT_HOSTILE_EXAMPLES examples per test (default 60; ``make fuzz`` runs
more); the tallies are printed at the end of the module (pytest -s shows them).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tierkit as tk
from tierkit.cli import main

EXAMPLES = int(os.environ.get("TIERKIT_HOSTILE_EXAMPLES", "60"))
TALLY: Counter = Counter()
# The brief run in the test command draws the same cases every time (a test command
# that passes or fails by luck says nothing); `make fuzz` sets TIERKIT_HOSTILE_EXAMPLES
# and draws new ones on every run.
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize="TIERKIT_HOSTILE_EXAMPLES" not in os.environ,
)


@pytest.fixture(scope="module", autouse=True)
def report_tally():
    yield
    print(f"\nhostile frames: {dict(sorted(TALLY.items()))}", file=sys.stderr)


# ---- ids ---------------------------------------------------------------------------
def id_column(draw, n: int) -> pd.Series:
    kind = draw(st.sampled_from(["int64", "uint64", "float", "object", "string", "categorical", "Int64", "mixed"]))
    if kind == "int64":
        pool = [0, 1, -1, 7, 2**62, 2**63 - 1, -(2**63)]
        return pd.Series([draw(st.sampled_from(pool)) for _ in range(n)], dtype=np.int64)
    if kind == "uint64":
        pool = [0, 1, 2**63 - 1, 2**63, 2**64 - 1]
        return pd.Series(np.array([draw(st.sampled_from(pool)) for _ in range(n)], dtype=np.uint64))
    if kind == "float":
        pool = [1.0, 2.0, -3.0, 0.5, 1e20, 2.0**53, 2.0**53 + 2, float("nan"), -0.0, 9.0e15]
        return pd.Series([draw(st.sampled_from(pool)) for _ in range(n)], dtype=np.float64)
    if kind == "Int64":
        pool = [1, 2, 3, None, -(2**63) + 1]
        return pd.Series([draw(st.sampled_from(pool)) for _ in range(n)], dtype="Int64")
    pool = ["a", "b", "c", "", "é", "a b"]
    if kind == "mixed":
        pool = ["a", 1, 2.5, None, "1"]
    values = [draw(st.sampled_from(pool + [None])) for _ in range(n)]
    if kind == "string":
        return pd.Series(values, dtype="string")
    if kind == "categorical":
        return pd.Series(values, dtype="category")
    return pd.Series(values, dtype=object)


# ---- dates ---------------------------------------------------------------------------
def date_column(draw, n: int) -> pd.Series:
    kind = draw(st.sampled_from(["datetime", "tz", "strings", "days", "Int64days", "far", "object_int", "floatdays"]))
    offsets = [draw(st.integers(0, 400)) for _ in range(n)]
    base = pd.Timestamp("2023-01-01")
    if kind == "datetime":
        return pd.Series([base + pd.Timedelta(days=o) for o in offsets])
    if kind == "tz":
        tz = draw(st.sampled_from(["UTC", "Asia/Tokyo", "America/New_York"]))
        return pd.Series([base + pd.Timedelta(days=o) for o in offsets]).dt.tz_localize(tz)
    if kind == "strings":
        pool = ["2024-01-01", "2024-02-30", "yesterday", "", "2024-03-05 10:00", None]
        return pd.Series([draw(st.sampled_from(pool)) for _ in range(n)], dtype=object)
    if kind == "days":
        return pd.Series([19000 + o for o in offsets], dtype=np.int64)
    if kind == "Int64days":
        return pd.Series([19000 + o if o % 5 else None for o in offsets], dtype="Int64")
    if kind == "floatdays":
        return pd.Series([19000.0 + o if o % 7 else float("nan") for o in offsets])
    if kind == "object_int":
        return pd.Series([19754 if o % 2 else "2024-01-01" for o in offsets], dtype=object)
    years = [draw(st.sampled_from([1500, 1677, 2262, 2300, 9999, 2024])) for _ in range(n)]
    return pd.Series([dt.date(y, 1 + o % 12, 1) for y, o in zip(years, offsets)], dtype=object)


# ---- amounts -------------------------------------------------------------------------
def amount_column(draw, n: int) -> pd.Series:
    kind = draw(st.sampled_from(["float", "Int64", "object", "string", "categorical", "uint64"]))
    floats = [10.0, -5.0, 0.0, 1e308, -1e308, 5e-324, float("inf"), float("nan"), 98765.4321, 1e-300]
    if kind == "float":
        return pd.Series([draw(st.sampled_from(floats)) for _ in range(n)], dtype=np.float64)
    if kind == "Int64":
        return pd.Series([draw(st.sampled_from([1, 5, None, 2**40])) for _ in range(n)], dtype="Int64")
    if kind == "uint64":
        return pd.Series(np.array([draw(st.sampled_from([0, 1, 2**64 - 1])) for _ in range(n)], dtype=np.uint64))
    pool = ["12.50", "12,50", "abc", 3, 4.5, None]
    values = [draw(st.sampled_from(pool)) for _ in range(n)]
    if kind == "string":
        return pd.Series([None if v is None else str(v) for v in values], dtype="string")
    if kind == "categorical":
        return pd.Series(values, dtype="category")
    return pd.Series(values, dtype=object)


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 25))
    return pd.DataFrame(
        {"customer": id_column(draw, n), "date": date_column(draw, n), "amount": amount_column(draw, n)}
    )


# ---- the property --------------------------------------------------------------------
def distinct_ids(ids: pd.Series) -> tuple[list, bool]:
    """The distinct present ids, and whether any id is missing."""
    missing = ids.isna().to_numpy(dtype=bool)
    present = [v for v, m in zip(ids.astype(object), missing) if not m]
    out: list = []
    seen: set = set()
    for v in present:
        key = (type(v).__name__ if isinstance(v, str) else "n", v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out, bool(missing.any())


def same_id(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    try:
        return bool(a == b) or (float(a) == float(b) and int(a) == int(b))
    except (TypeError, ValueError, OverflowError):
        return False


def check_accounted(tx: pd.DataFrame, features: pd.DataFrame, rejects: pd.DataFrame) -> None:
    ids, any_missing = distinct_ids(tx["customer"])
    out = list(features.index)
    assert len(out) == len(set(map(repr, out))), "an id appears twice in the output"
    rejected = list(rejects["customer"])
    for v in ids:
        hits = sum(same_id(v, o) for o in out)
        if hits != 1:
            in_rejects = any(same_id(v, r) for r in rejected if r is not None and r is not pd.NA)
            if hits > 1 or not in_rejects:
                TALLY["lost ids"] += 1
                raise AssertionError(f"id {v!r} is in the output {hits} times and in the rejects: {in_rejects}")
    if any_missing:
        assert any(r is None or r is pd.NA or (isinstance(r, float) and math.isnan(r)) for r in rejected), (
            "a missing id vanished"
        )
    numbers = features.select_dtypes(include=[np.number])
    if len(numbers.columns):
        values = numbers.to_numpy(dtype=np.float64)
        assert np.isfinite(values).all(), f"non-finite feature values:\n{numbers[~np.isfinite(values).all(axis=1)]}"


def classify(exc: BaseException) -> None:
    if isinstance(exc, tk.TierkitError):
        TALLY["typed errors"] += 1
        return
    TALLY["untyped errors"] += 1
    raise AssertionError(f"untyped error {type(exc).__name__}: {exc}") from exc


@SETTINGS
@given(tx=frames(), errors=st.sampled_from(["raise", "reject"]))
def test_summarize_fit_assign_account_for_every_id(tx, errors):
    TALLY["cases"] += 1
    try:
        features, rejects = tk.summarize(tx, errors=errors, return_rejects=True)
    except Exception as exc:  # classified: TierkitError or a failure
        classify(exc)
        return
    TALLY["summarized"] += 1
    check_accounted(tx, features, rejects)
    if len(features) == 0:
        return
    try:
        model = tk.fit(tk.Policy.default(), features)
        assignment = model.assign(features)
    except Exception as exc:
        classify(exc)
        return
    TALLY["assigned"] += 1
    assert list(assignment.index) == list(features.index)
    scores = assignment.select_dtypes(include=[np.number]).to_numpy(dtype=np.float64)
    assert not np.isnan(scores).any()


@settings(SETTINGS, max_examples=max(5, EXAMPLES // 6))
@given(tx=frames())
def test_cli_never_prints_a_traceback(tx, tmp_path_factory, capsys):
    TALLY["cli cases"] += 1
    d = tmp_path_factory.mktemp("cli")
    tx.to_csv(d / "tx.csv", index=False)
    code = main(["run", "--transactions", str(d / "tx.csv"), "--out", str(d / "out"), "--reject-invalid"])
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        TALLY["cli exit 2"] += 1
        assert err.startswith("tierkit: error: "), err
        assert "unexpected error" not in err, err
