from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

# The data folder beside the checkout (../shared/data), or $TIERKIT_SHARED_DATA.
SHARED_DATA = Path(
    os.environ.get("TIERKIT_SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    d = SHARED_DATA / "cdnow"
    if not (d / "CDNOW_sample.txt").exists():
        pytest.skip(f"shared CDNOW data not found at {d} (only present in the development workspace)")
    return d


@pytest.fixture()
def small_tx() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer": ["bob", "ann", "bob", "ann", "cid", "bob"],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-01-03", "2024-01-10", "2024-01-03", "2024-02-01", "2024-01-20"]
            ),
            "amount": [10.0, 40.0, 20.0, 5.0, 100.0, 30.0],
            "margin": [2.0, 8.0, 4.0, 1.0, 25.0, 6.0],
        }
    )
