"""privacy.min_group: model files hold no customer id and no single customer's
amount, in any archive kind; values shared by >= K rows stay exact."""
from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

K = 10
FIRST_ID = 9753186420  # 10-digit ids


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    tx = tk.datasets.synthetic(600, seed=11)
    tx["customer"] = FIRST_ID + 7 * tx["customer"]
    # Amounts of 10+ significant digits, off any lattice of cents (so that a mean of
    # amounts is not one of them by chance).
    jitter = 1e-6 * np.sqrt(np.arange(len(tx)) + 2.0)
    tx["amount"] = tx["amount"] * 1.0123456789 + jitter
    tx["margin"] = tx["margin"] * 1.0123456789 + jitter
    return tk.summarize(tx, margin="margin")


def shortest_digits(x: float) -> int:
    """Significant digits of the shortest decimal that reads back as x."""
    return len(repr(float(x)).lstrip("-0.").replace(".", "").split("e")[0].rstrip("0") or "0")


def prefix8(x: float) -> str:
    """The first 8 significant digits of x as %.17g prints it ("1157.4234")."""
    out, seen = "", 0
    for ch in "%.17g" % abs(x):
        if seen == 8:
            break
        if ch not in ".0":
            out += ch if out or ch != "." else ""
            seen += 1
        elif out:
            out += ch
            seen += ch == "0"
    return out


def distinctive(features: pd.DataFrame) -> list[float]:
    """Amount values with >= 10 significant digits shared by fewer than K rows in
    each amount column."""
    shared: dict[float, int] = {}
    for col in ("revenue", "aov", "monetary_value", "margin"):
        for v, c in features[col].value_counts().items():
            shared[float(v)] = max(shared.get(float(v), 0), int(c))
    return [v for v, c in shared.items() if c < K and shortest_digits(v) >= 10]


def leaks(data: bytes, features: pd.DataFrame) -> list[str]:
    found = []
    for i in features.index:
        i = int(i)
        if struct.pack("<q", i) in data or struct.pack("<d", float(i)) in data or str(i)[:8].encode() in data:
            found.append(f"id {i}")
    for v in distinctive(features):
        if struct.pack("<d", v) in data or prefix8(v).encode() in data:
            found.append(f"amount {v!r}")
    return found


def with_privacy(policy: dict) -> dict:
    return {**policy, "privacy": {"min_group": K}}


POLICIES = {
    "default": tk.Policy.default().to_dict(),
    "kmeans": {"scores": [{"name": "value", "criteria": [
        {"column": "revenue", "transform": "log1p", "normalizer": "minmax"},
        {"column": "frequency", "normalizer": "percentile"},
        {"column": "aov", "normalizer": "zscore"}], "weights": {"method": "critic"}}],
        "rule": {"kind": "kmeans", "score": "value", "k": 3, "seed": 7, "n_init": 2},
        "tiers": ["gold", "silver", "bronze"]},
    "rfm_segments": {"criteria": ["revenue"],
                     "rule": {"kind": "rfm_segments", "bins": 5, "ties": "average",
                              "segments": [{"name": "Best", "r": [4, 5], "f": [4, 5], "m": [4, 5]},
                                           {"name": "Sleeping", "r": [1, 2]}], "fallback": "Others"},
                     "tiers": ["Best", "Sleeping", "Others"]},
    "clv": {"clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01,
                    "time_unit": "W"},
            "scores": [{"name": "value", "criteria": [{"column": "clv", "weight": 0.7},
                                                      {"column": "p_alive", "weight": 0.3, "normalizer": "minmax"}]}],
            "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]},
            "tiers": ["key", "growth", "rest"]},
    "mixed": {"scores": [{"name": "value", "method": "topsis", "criteria": [
        {"column": "revenue", "clip": [0.05, 0.95], "normalizer": "robust"},
        {"column": "aov", "normalizer": "bins", "bins": 4},
        {"column": "margin", "normalizer": "zscore"}], "weights": {"method": "entropy"}}],
        "rule": {"kind": "abc", "column": "revenue"}, "tiers": ["A", "B", "C"]},
}


def test_the_check_finds_leaks_without_privacy(features):
    assert len(distinctive(features)) > 1000
    assert prefix8(1157.4234567890001) == "1157.4234"
    assert prefix8(0.00123456789) == "12345678"
    for name in ("rfm_segments", "mixed"):
        data = tk.fit(tk.Policy(POLICIES[name]), features).to_bytes("text")
        assert leaks(data, features), name


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_no_id_or_amount_in_any_archive(features, name):
    model = tk.fit(tk.Policy(with_privacy(POLICIES[name])), features)
    assert model.policy.to_dict()["privacy"] == {"min_group": K}
    expected = model.assign(features)["tier"]
    for kind in ("binary", "text", "xml"):
        data = model.to_bytes(kind)
        found = leaks(data, features)
        assert not found, f"{name} {kind}: {len(found)} leaks, first {found[0]}"
        assert tk.Model.from_bytes(data).assign(features)["tier"].equals(expected)


def test_values_shared_by_k_rows_stay_exact():
    # frequency: every value shared by >= K rows (kept exactly); revenue: 0 x 12
    # (kept exactly), then distinct values averaged in groups of >= K.
    n = 60
    freq = np.repeat([1.0, 2.0, 3.0, 5.0], 15)
    revenue = np.concatenate([np.zeros(12), 1000.0 + 13.0 * np.arange(n - 12)])
    f = pd.DataFrame({"frequency": freq, "revenue": revenue}, index=pd.Index(np.arange(n) + 1, name="customer"))
    policy = {"criteria": ["frequency", "revenue"], "rule": {"kind": "quantiles", "shares": [0.5]},
              "tiers": ["top", "rest"]}
    exact = tk.fit(tk.Policy(policy), f).params["scores"][0]["criteria"]
    grouped = tk.fit(tk.Policy(with_privacy(policy)), f).params["scores"][0]["criteria"]
    for key in ("min", "max", "median", "iqr"):
        assert grouped[0][key] == exact[0][key], key
    assert grouped[1]["min"] == 0.0  # the 10 lowest are all 0
    # the 10 highest distinct revenues: their mean
    assert grouped[1]["max"] == pytest.approx(np.mean(revenue[-K:]), rel=1e-15)
    assert exact[1]["max"] == revenue[-1]


def test_policy_validation():
    base = {"criteria": ["revenue"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]}}
    with pytest.raises(tk.PolicyError, match="privacy.min_group: must be a whole number"):
        tk.Policy({**base, "privacy": {"min_group": 2.5}})
    with pytest.raises(tk.PolicyError, match="privacy"):
        tk.Policy({**base, "privacy": {"k": 2}})
    assert "privacy" not in tk.Policy(base).to_dict()
    assert json.loads(tk.Policy({**base, "privacy": {"min_group": 3}}).to_json())["privacy"] == {"min_group": 3}


def test_too_few_rows_and_small_clusters_are_refused():
    f = pd.DataFrame({"revenue": np.arange(12.0)}, index=pd.Index(np.arange(12) + 1, name="customer"))
    with pytest.raises(tk.InvalidInputError, match="privacy.min_group 13 needs at least that many rows"):
        tk.fit(tk.Policy({"criteria": ["revenue"], "tiers": ["a", "b"], "rule": {"kind": "quantiles", "shares": [0.5]},
                          "privacy": {"min_group": 13}}), f)
    with pytest.raises(tk.PolicyError, match="fewer than privacy.min_group 5"):
        tk.fit(tk.Policy({"criteria": [{"column": "revenue", "normalizer": "minmax"}], "tiers": ["a", "b", "c"],
                          "rule": {"kind": "kmeans", "k": 3, "seed": 1}, "privacy": {"min_group": 5}}), f)
