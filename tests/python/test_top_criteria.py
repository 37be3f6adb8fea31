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
    f = pd.DataFrame(
        {c: rng.integers(0, 4, n).astype(float) for c in ("a", "b", "c", "d", "e")},
        index=pd.RangeIndex(n, name="customer"),
    )
    policy = tk.Policy(
        {
            "criteria": [{"column": c, "normalizer": "minmax", "weight": 1} for c in f.columns],
            "rule": {"kind": "quantiles", "shares": [0.2]},
            "tiers": ["top", "rest"],
        }
    )
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


def test_the_default_assign_is_identical_at_any_thread_count():
    # 140,000 customers: several parallel ranges for the scores, top criteria and stages.
    f = tk.summarize(tk.datasets.synthetic(140_000, seed=7))
    model = tk.fit(tk.Policy.default(), f)
    seen = []
    try:
        for n in (1, 2, 4):
            tk.set_num_threads(n)
            seen.append(model.assign(f))
    finally:
        tk.set_num_threads(None)
    assert seen[0]["stage"].nunique() > 3 and seen[0]["top_criteria"].nunique() > 3
    for other in seen[1:]:
        pd.testing.assert_frame_equal(seen[0], other, check_exact=True)
