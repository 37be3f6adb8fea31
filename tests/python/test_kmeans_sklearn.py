"""The kmeans rule against scikit-learn's KMeans started from the same centroids.

The rule clusters the normalized criteria of a score. With the ``minmax``
normalizer and no transform, those are ``(x - min) / (max - min)`` per column, so
scikit-learn gets exactly the same points here. Both then run Lloyd iterations
with the same tolerance convention; the clusters must agree label for label, and
the inertia to 1e-9 relative. tierkit orders clusters by the composite score of
their centroid (weights . centroid, best first), so scikit-learn's clusters are
put in that order before comparing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans, kmeans_plusplus

import tierkit as tk

WEIGHTS = {"a": 0.5, "b": 0.3, "c": 0.2}
TIERS = ["t0", "t1", "t2", "t3"]


def _features(kind: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if kind == "blobs":
        centres = rng.random((4, 3)) * 10
        data = np.vstack([rng.normal(c, 0.8, (n // 4, 3)) for c in centres])
        data = data[rng.permutation(len(data))]
    else:
        data = rng.gamma(2.0, 3.0, (n, 3))
    return pd.DataFrame(data, columns=list(WEIGHTS), index=pd.RangeIndex(100, 100 + len(data), name="customer"))


def _normalized(features: pd.DataFrame) -> np.ndarray:
    x = features[list(WEIGHTS)].to_numpy()
    lo, hi = x.min(axis=0), x.max(axis=0)
    return (x - lo) / (hi - lo)


def _policy(init: np.ndarray, **rule: object) -> dict:
    return {
        "criteria": [{"column": c, "normalizer": "minmax", "weight": w} for c, w in WEIGHTS.items()],
        "rule": {"kind": "kmeans", "init": init.tolist(), **rule},
        "tiers": TIERS,
        "privacy": {"min_group": 1},  # exact min and max, as the reference normalizes
    }


def _compare(features: pd.DataFrame, init: np.ndarray, max_iter: int, tol: float) -> None:
    x = _normalized(features)
    km = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=max_iter, tol=tol, algorithm="lloyd").fit(x)

    model = tk.fit(tk.Policy(_policy(init, max_iter=max_iter, tol=tol)), features)
    out = model.assign(features)

    # scikit-learn's clusters in tierkit's order: by weights . centroid, best first.
    w = np.array(list(WEIGHTS.values()))
    order = np.argsort(-(km.cluster_centers_ @ w), kind="stable")
    tier_of_cluster = np.empty(len(order), dtype=np.int64)
    tier_of_cluster[order] = np.arange(len(order))

    np.testing.assert_array_equal(out["tier_index"].to_numpy(), tier_of_cluster[km.labels_])
    assert list(out["tier"].cat.categories) == TIERS

    params = model.params["rule"]["parameters"]
    assert params["inertia"][0] == pytest.approx(km.inertia_, rel=1e-9)
    assert int(params["iterations"][0]) == km.n_iter_
    np.testing.assert_allclose(
        np.reshape(params["centroids"], (len(init), -1)), km.cluster_centers_[order], rtol=0, atol=1e-12
    )

    # The distance columns: own centroid, and one per tier.
    own = out["cluster_distance"].to_numpy()
    assert float(np.sum(own**2)) == pytest.approx(km.inertia_, rel=1e-9)
    expected = np.sqrt(((x[:, None, :] - km.cluster_centers_[order][None, :, :]) ** 2).sum(axis=2))
    for t in range(len(TIERS)):
        np.testing.assert_allclose(out[f"distance_{t}"].to_numpy(), expected[:, t], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(own, expected[np.arange(len(x)), out["tier_index"].to_numpy()], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind,n,seed", [("blobs", 4000, 1), ("gamma", 3000, 2), ("gamma", 20000, 3)])
def test_same_labels_and_inertia_as_sklearn(kind: str, n: int, seed: int) -> None:
    features = _features(kind, n, seed)
    init, _ = kmeans_plusplus(_normalized(features), 4, random_state=seed)
    _compare(features, init, max_iter=300, tol=1e-4)


@pytest.mark.parametrize("max_iter,tol", [(3, 1e-4), (300, 0.0), (300, 1e-2)])
def test_iteration_cap_and_tolerance_as_sklearn(max_iter: int, tol: float) -> None:
    features = _features("gamma", 5000, 7)
    init, _ = kmeans_plusplus(_normalized(features), 4, random_state=11)
    _compare(features, init, max_iter=max_iter, tol=tol)


def test_seeded_kmeans_is_deterministic_and_ordered() -> None:
    features = _features("blobs", 2000, 5)
    policy = {
        "criteria": [{"column": c, "normalizer": "minmax", "weight": w} for c, w in WEIGHTS.items()],
        "rule": {"kind": "kmeans", "seed": 3, "n_init": 2},
        "tiers": TIERS,
    }
    a = tk.fit(tk.Policy(policy), features)
    b = tk.fit(tk.Policy(policy), features)
    assert a.params["rule"]["parameters"]["centroids"] == b.params["rule"]["parameters"]["centroids"]
    out = a.assign(features)
    pd.testing.assert_series_equal(out["tier_index"], b.assign(features)["tier_index"])
    scores = a.params["rule"]["parameters"]["centroid_scores"]
    assert scores == sorted(scores, reverse=True)
    # The tier's mean composite score follows the centroid order.
    means = out.groupby("tier_index")["score"].mean().to_numpy()
    assert np.all(np.diff(means) < 0)
