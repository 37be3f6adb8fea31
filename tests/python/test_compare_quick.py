"""benchmarks/compare.py --quick runs and prints every row (so the script cannot rot)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare.py"


def _have(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@pytest.mark.skipif(not _have("sklearn"), reason="the kmeans row needs scikit-learn")
def test_compare_quick_prints_every_row(tmp_path):
    plot = tmp_path / "scaling.png"
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--no-memory", "--plot", str(plot)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    table = [line for line in out.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]) for line in table}
    tasks = {t for t, _ in rows}
    engines = ["tierkit", "pandas"] + [e for e in ("polars", "duckdb") if _have(e)]
    for engine in engines:
        assert ("rfm 1e+05 tx", engine) in rows
        assert ("rfm time-ordered 1e+05 tx", engine) in rows
    assert ("stream 2e+05 tx, 8 Parquet files", "tierkit") in rows
    assert ("stream 2e+05 tx, 8 Parquet files", "pandas+tierkit") in rows and "B/customer in memory" in out.stdout
    for kind in ("fit+assign", "assign"):
        assert (f"score+tier 2e+05 x 8 {kind}", "tierkit") in rows
        assert (f"score+tier 2e+05 x 8 {kind}", "numpy") in rows
    assert ("score+tier 2e+05 x 8 assign", "floor") in rows
    for step in ("summarize", "fit", "assign"):
        assert (f"quickstart 2e+04 cust {step}", "tierkit") in rows
        assert (f"quickstart 2e+04 cust {step}", "pandas") in rows
    assert ("quickstart 2e+04 cust assign", "floor") in rows
    assert ("quickstart 2e+04 cust scorer", "tierkit") in rows and "us per call" in out.stdout
    assert ("kmeans 5e+04 x 8 k=8 (5 it)", "sklearn") in rows
    clv = [t for t in tasks if t.startswith("bgnbd+gg")]
    assert "bgnbd+gg 1e+04 cust" in clv
    if _have("lifetimes"):
        assert all((t, "lifetimes") in rows for t in clv)
    assert {t for t in tasks if t.startswith("scaling")} == {"scaling 1e+04 tx", "scaling 3e+04 tx", "scaling 1e+05 tx"}
    assert "7 customers agree" in out.stdout and "tiers agree 100.00%" in out.stdout
    assert "x the floor" in out.stdout and "pandas takes" in out.stdout
    assert plot.stat().st_size > 1000


def test_peak_memory_counts_native_allocations():
    # In a subprocess: importing the script sets thread variables for the engines.
    code = (
        "import importlib.util, sys, numpy as np\n"
        f"spec = importlib.util.spec_from_file_location('compare', {str(SCRIPT)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(m.measure_peak(lambda: np.ones(20_000_000).sum()))\n"
    )  # 160 MB, freed at the end
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert 140 < float(out.stdout.strip().splitlines()[-1]) < 260
