"""The core's cache of freed result columns: limits, reuse, and results that do
not depend on what a reused block held."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tierkit as tk


@pytest.fixture
def cache_on():
    old = tk.buffer_cache()["limit"]
    tk.set_buffer_cache_limit(0)  # start empty
    tk.set_buffer_cache_limit(256 << 20)
    yield
    tk.set_buffer_cache_limit(old)


def _features(n=300_000):
    i = np.arange(n)
    return pd.DataFrame(
        {"x": (i * 7919) % 1000, "y": (i * 104729) % 997}, index=pd.Index(i + 10, name="customer"), dtype=float
    )


def test_reused_blocks_give_the_same_assignment(cache_on):
    f = _features()
    model = tk.fit(
        {
            "criteria": ["x", {"column": "y", "normalizer": "percentile"}],
            "rule": {"kind": "quantiles", "shares": [0.1, 0.3]},
            "tiers": ["a", "b", "c"],
        },
        f,
    )
    other = tk.fit(
        {
            "criteria": [{"column": "y", "direction": "lower"}],
            "rule": {"kind": "thresholds", "cuts": [70, 20]},
            "tiers": ["a", "b", "c"],
        },
        f,
    )
    tk.set_buffer_cache_limit(0)
    cold = model.assign(f, contributions=True)
    tk.set_buffer_cache_limit(256 << 20)
    dirty = other.assign(f, contributions=True)
    del dirty  # its score, tier and reason blocks go to the cache
    assert tk.buffer_cache()["held"] >= 300_000 * 8
    warm = model.assign(f, contributions=True)
    pd.testing.assert_frame_equal(warm, cold)


def test_limit_and_errors(cache_on):
    assert tk.buffer_cache()["limit"] == 256 << 20
    tk.set_buffer_cache_limit(None)
    assert tk.buffer_cache() == {"limit": 0, "held": 0}
    with pytest.raises(tk.InvalidInputError, match="bytes must be >= 0"):
        tk.set_buffer_cache_limit(-1)


def test_on_at_import_in_python():
    """The core keeps the cache off for C++ hosts; the Python module turns it on (1 GiB)."""
    env = {k: v for k, v in os.environ.items() if k != "TIERKIT_BUFFER_CACHE_MB"}
    out = subprocess.run(
        [sys.executable, "-c", "import tierkit as tk; print(tk.buffer_cache()['limit'])"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert int(out) == 1 << 30
    env["TIERKIT_BUFFER_CACHE_MB"] = "64"  # the environment decides when set
    out = subprocess.run(
        [sys.executable, "-c", "import tierkit as tk; print(tk.buffer_cache()['limit'])"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert int(out) == 64 << 20
