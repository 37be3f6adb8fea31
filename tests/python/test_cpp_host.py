"""The C++ host of examples/cpp_host (built against the installed library) reads a
model saved by Python and a CSV of features, and assigns like Model.assign: the same
tiers and reasons, scores within 1e-12. scripts/test.sh builds the host and exports
its path as TIERKIT_CPP_HOST; without it these tests skip."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

HOST = os.environ.get("TIERKIT_CPP_HOST", "")

pytestmark = pytest.mark.skipif(
    not (HOST and Path(HOST).is_file() and os.access(HOST, os.X_OK)),
    reason="the C++ host is not built: scripts/test.sh (make test) builds examples/cpp_host and sets TIERKIT_CPP_HOST",
)

COLUMNS = ["revenue", "frequency", "days_since_last", "aov", "trend"]

POLICIES = {
    "thresholds": {
        "criteria": [
            {"column": "revenue", "transform": "log1p"},
            "frequency",
            {"column": "days_since_last", "direction": "lower", "normalizer": "zscore"},
        ],
        "weights": {"method": "entropy"},
        "rule": {"kind": "thresholds", "cuts": [70, 40]},
        "tiers": ["gold", "silver", "bronze"],
    },
    "kmeans": {
        "scores": [
            {
                "name": "value",
                "criteria": [
                    {"column": "revenue", "normalizer": "minmax"},
                    "frequency",
                    {"column": "aov", "normalizer": "robust"},
                ],
                "weights": {"method": "critic"},
            }
        ],
        "rule": {"kind": "kmeans", "k": 3, "seed": 2},
        "tiers": ["a", "b", "c"],
    },
    "matrix": {
        "scores": [
            {"name": "value", "criteria": ["revenue", "frequency"]},
            {"name": "potential", "criteria": [{"column": "trend", "normalizer": "minmax"}]},
        ],
        "rule": {
            "kind": "matrix",
            "x": {"score": "value", "cuts": [50]},
            "y": {"score": "potential", "cuts": [50]},
            "cells": [["star", "cash cow"], ["question", "dog"]],
        },
        "tiers": ["star", "cash cow", "question", "dog"],
    },
}


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return tk.summarize(tk.datasets.synthetic(400, seed=3))


def run_host(model_path: Path, csv_path: Path, *extra: str) -> pd.DataFrame:
    done = subprocess.run([HOST, str(model_path), str(csv_path), *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(io.StringIO(done.stdout), index_col=0, keep_default_na=False)


@pytest.mark.parametrize("name", sorted(POLICIES))
@pytest.mark.parametrize("kind", ["binary", "text", "xml"])
def test_host_assigns_like_python(tmp_path: Path, features: pd.DataFrame, name: str, kind: str) -> None:
    model = tk.fit(POLICIES[name], features)
    model_path = tmp_path / f"{name}.tkm"
    tk.save(model, model_path, kind=kind)
    csv_path = tmp_path / "features.csv"
    features[COLUMNS].to_csv(csv_path, float_format="%.17g")
    expected = model.assign(features, contributions=False)
    score_names = [s["name"] for s in model.policy.to_dict()["scores"]]
    for extra in ([], ["--one"]):
        got = run_host(model_path, csv_path, *extra)
        assert list(got.index) == list(features.index)
        assert list(got.columns[-2:]) == ["tier", "reason"]
        assert got["tier"].tolist() == expected["tier"].astype(str).tolist()
        assert got["reason"].tolist() == expected["reason"].astype(str).tolist()
        for score in got.columns[:-2]:
            np.testing.assert_allclose(got[score].to_numpy(float), expected[score].to_numpy(float), rtol=0, atol=1e-12)
        assert list(got.columns[:-2]) == score_names


def test_host_errors_name_row_and_column(tmp_path: Path, features: pd.DataFrame) -> None:
    model_path = tmp_path / "m.tkm"
    tk.save(tk.fit(POLICIES["thresholds"], features), model_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,revenue,frequency,days_since_last\n1,10,2,30\n2,12,oops,5\n")
    done = subprocess.run([HOST, str(model_path), str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "row 2, column 'frequency': expected a number, got 'oops'" in done.stderr
    short = tmp_path / "short.csv"
    short.write_text("customer,revenue,frequency\n1,10,2\n")
    done = subprocess.run([HOST, str(model_path), str(short), "--one"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "column 'days_since_last' is not among the scorer's columns" in done.stderr
    not_model = tmp_path / "not_a_model.tkm"
    not_model.write_bytes(b"hello")
    done = subprocess.run([HOST, str(not_model), str(short)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "bad magic at byte 0" in done.stderr
