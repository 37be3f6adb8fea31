"""tierkit's kmeans rule against scikit-learn's KMeans, in one process.

    python benchmarks/python/compare_sklearn_kmeans.py [--rows 1000000] [--k 4] [--iterations 20]

Both start from the same k-means++ centroids on the same normalized 6-column
data and run exactly --iterations Lloyd iterations (tol=0). Prints time per
iteration for each and the ratio; checks they end with the same inertia.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, kmeans_plusplus

import tierkit as tk


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--iterations", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    cols = [f"c{j}" for j in range(6)]
    features = pd.DataFrame(rng.gamma(2.0, 3.0, (args.rows, 6)), columns=cols)
    x = features.to_numpy()
    x = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0))
    init, _ = kmeans_plusplus(x, args.k, random_state=1)
    policy = tk.Policy(
        {
            "criteria": [{"column": c, "normalizer": "minmax", "weight": 1} for c in cols],
            "rule": {"kind": "kmeans", "init": init.tolist(), "max_iter": args.iterations, "tol": 0.0},
            "tiers": [f"t{k}" for k in range(args.k)],
        }
    )
    t0 = time.perf_counter()
    km = KMeans(n_clusters=args.k, init=init, n_init=1, max_iter=args.iterations, tol=0.0, algorithm="lloyd").fit(x)
    t_sk = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = tk.fit(policy, features)
    t_tk = time.perf_counter() - t0
    params = model.params["rule"]["parameters"]
    it_tk, it_sk = int(params["iterations"][0]), int(km.n_iter_)
    assert it_tk == it_sk, (it_tk, it_sk)
    assert abs(params["inertia"][0] - km.inertia_) <= 1e-9 * km.inertia_
    print(f"kmeans: {args.rows:,} x 6, k={args.k}, {it_sk} Lloyd iterations from the same centroids")
    print(f"  scikit-learn {1000 * t_sk / it_sk:8.2f} ms per iteration (fit {t_sk:.3f} s)")
    print(f"  tierkit      {1000 * t_tk / it_tk:8.2f} ms per iteration (fit {t_tk:.3f} s, includes normalizing)")
    print(f"  ratio        {t_sk / t_tk:8.2f}x (scikit-learn / tierkit); same inertia")


if __name__ == "__main__":
    main()
