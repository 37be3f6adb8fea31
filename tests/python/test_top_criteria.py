"""The top_criteria column (computed in the core) against a stable argsort of the contributions."""
from __future__ import annotations

import numpy as np
import pandas as pd

import tierkit as tk


def _argsort_reference(contrib: np.ndarray, names: list[str], top: int = 3) -> pd.Categorical:
    """The former Python computation: stable argsort per row, distinct combinations in order."""
    k = min(top, contrib.shape[1])
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    combos, codes = np.unique(order, axis=0, return_inverse=True)
    labels = [", ".join(names[j] for j in combo) for combo in combos]
    return pd.Categorical.from_codes(codes.reshape(-1), categories=labels)


def test_top_criteria_match_a_stable_argsort_with_ties():
    rng = np.random.default_rng(5)
    n = 5000
    # Values from a few levels so that many contributions tie.
    f = pd.DataFrame({c: rng.integers(0, 4, n).astype(float) for c in ("a", "b", "c", "d", "e")},
                     index=pd.RangeIndex(n, name="customer"))
    policy = tk.Policy({"criteria": [{"column": c, "normalizer": "minmax", "weight": 1} for c in f.columns],
                        "rule": {"kind": "quantiles", "shares": [0.2]}, "tiers": ["top", "rest"]})
    out = tk.fit(policy, f).assign(f)
    names = list(f.columns)
    contrib = out[[f"contrib_{c}" for c in names]].to_numpy()
    expected = _argsort_reference(contrib, names)
    assert (contrib[:, 0] == contrib[:, 1]).any()  # ties are exercised
    assert list(out["top_criteria"].cat.categories) == list(expected.categories)
    np.testing.assert_array_equal(out["top_criteria"].cat.codes.to_numpy(), expected.codes)


def test_top_criteria_of_the_default_policy():
    f = tk.summarize(tk.datasets.synthetic(3000, seed=8))
    out = tk.fit(tk.Policy.default(), f).assign(f)
    names = ["revenue", "frequency", "days_since_last", "aov"]
    expected = _argsort_reference(out[[f"contrib_{c}" for c in names]].to_numpy(), names)
    assert out["top_criteria"].tolist() == list(np.asarray(expected))
    assert "top_criteria" not in tk.fit(tk.Policy.default(), f).assign(f, contributions=False).columns
