"""privacy.min_group: model files hold no customer id and no single customer's
amount, in any archive kind, by default (min(5, rows / 50)) and with an explicit K;
values shared by >= K rows stay exact; "min_group": 1 opts out."""

from __future__ import annotations

import json
import math
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
    for ch in f"{abs(x):.17g}":
        if seen == 8:
            break
        if ch not in ".0":
            out += ch if out or ch != "." else ""
            seen += 1
        elif out:
            out += ch
            seen += ch == "0"
    return out


def distinctive(features: pd.DataFrame, k: int = K) -> list[float]:
    """Amount values with >= 10 significant digits shared by fewer than k rows in
    each amount column."""
    shared: dict[float, int] = {}
    for col in ("revenue", "aov", "monetary_value", "margin"):
        for v, c in features[col].value_counts().items():
            shared[float(v)] = max(shared.get(float(v), 0), int(c))
    return [v for v, c in shared.items() if c < k and shortest_digits(v) >= 10]


def leaks(data: bytes, features: pd.DataFrame, k: int = K) -> list[str]:
    """Ids, and amounts fewer than k rows share or their log1p (what a log1p
    criterion stores), found in ``data``."""
    found = []
    for i in features.index:
        i = int(i)
        if struct.pack("<q", i) in data or struct.pack("<d", float(i)) in data or str(i)[:8].encode() in data:
            found.append(f"id {i}")
    for v in distinctive(features, k):
        for x in (v, math.log1p(v)):
            # binary, JSON-like (%.17g, 8 digits) and text/xml archive (%.17e, as written) forms
            if struct.pack("<d", x) in data or prefix8(x).encode() in data or f"{x:.17e}".encode() in data:
                found.append(f"amount {v!r}")
                break
    return found


def with_privacy(policy: dict, k: int | None = K) -> dict:
    """``policy`` with "privacy": {"min_group": k}; as it is (the default) for None."""
    return dict(policy) if k is None else {**policy, "privacy": {"min_group": k}}


POLICIES = {
    "default": tk.Policy.default().to_dict(),
    "kmeans": {
        "scores": [
            {
                "name": "value",
                "criteria": [
                    {"column": "revenue", "transform": "log1p", "normalizer": "minmax"},
                    {"column": "frequency", "normalizer": "percentile"},
                    {"column": "aov", "normalizer": "zscore"},
                ],
                "weights": {"method": "critic"},
            }
        ],
        "rule": {"kind": "kmeans", "score": "value", "k": 3, "seed": 7, "n_init": 2},
        "tiers": ["gold", "silver", "bronze"],
    },
    "rfm_segments": {
        "criteria": ["revenue"],
        "rule": {
            "kind": "rfm_segments",
            "bins": 5,
            "ties": "average",
            "segments": [{"name": "Best", "r": [4, 5], "f": [4, 5], "m": [4, 5]}, {"name": "Sleeping", "r": [1, 2]}],
            "fallback": "Others",
        },
        "tiers": ["Best", "Sleeping", "Others"],
    },
    "clv": {
        "clv": {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01, "time_unit": "W"},
        "scores": [
            {
                "name": "value",
                "criteria": [
                    {"column": "clv", "weight": 0.7},
                    {"column": "p_alive", "weight": 0.3, "normalizer": "minmax"},
                ],
            }
        ],
        "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]},
        "tiers": ["key", "growth", "rest"],
    },
    "mixed": {
        "scores": [
            {
                "name": "value",
                "method": "topsis",
                "criteria": [
                    {"column": "revenue", "clip": [0.05, 0.95], "normalizer": "robust"},
                    {"column": "aov", "normalizer": "bins", "bins": 4},
                    {"column": "margin", "normalizer": "zscore"},
                ],
                "weights": {"method": "entropy"},
            }
        ],
        "rule": {"kind": "abc", "column": "revenue"},
        "tiers": ["A", "B", "C"],
    },
}


def test_the_check_finds_leaks_with_the_opt_out(features):
    assert len(distinctive(features)) > 1000
    assert prefix8(1157.4234567890001) == "1157.4234"
    assert prefix8(0.00123456789) == "12345678"
    for name in ("default", "rfm_segments", "mixed"):
        data = tk.fit(tk.Policy(with_privacy(POLICIES[name], 1)), features).to_bytes("text")
        assert leaks(data, features), name


@pytest.mark.parametrize("k", [None, K], ids=["default", "explicit"])
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_no_id_or_amount_in_any_archive(features, name, k):
    # No privacy section: min(5, 600 / 50) = 5 on these 600 customers.
    used = 5 if k is None else k
    model = tk.fit(tk.Policy(with_privacy(POLICIES[name], k)), features)
    assert model.policy.to_dict()["privacy"] == {"min_group": used}
    assert model.params["privacy"] == {"min_group": used}
    expected = model.assign(features)["tier"]
    for kind in ("binary", "text", "xml"):
        data = model.to_bytes(kind)
        found = leaks(data, features, used)
        assert not found, f"{name} {kind}: {len(found)} leaks, first {found[0]}"
        loaded = tk.Model.from_bytes(data)
        assert loaded.assign(features)["tier"].equals(expected)
        assert loaded.params["privacy"] == {"min_group": used}


PLANTED = 98765.4321
PLANTED_POLICIES = {
    "percentile": {
        "criteria": [{"column": "revenue", "transform": "log1p", "normalizer": "percentile"}],
        "rule": {"kind": "quantiles", "shares": [0.2]},
        "tiers": ["top", "rest"],
    },
    "minmax": {
        "criteria": [{"column": "revenue", "normalizer": "minmax"}, {"column": "aov", "normalizer": "minmax"}],
        "rule": {"kind": "quantiles", "shares": [0.2]},
        "tiers": ["top", "rest"],
    },
    "abc": {"criteria": ["revenue"], "rule": {"kind": "abc", "column": "revenue"}, "tiers": ["A", "B", "C"]},
    "kmeans": {
        "criteria": [{"column": "revenue", "transform": "log1p", "normalizer": "minmax"}, "frequency"],
        "rule": {"kind": "kmeans", "k": 3, "seed": 3},
        "tiers": ["a", "b", "c"],
    },
    "expression": {
        "criteria": ["revenue"],
        "rule": {
            "kind": "expression",
            "branches": [{"when": "pct(revenue) >= 0.9 or revenue >= 50000", "tier": "key"}, {"else": "rest"}],
        },
        "tiers": ["key", "rest"],
    },
    "default": tk.Policy.default().to_dict(),
}


@pytest.mark.parametrize("name", sorted(PLANTED_POLICIES))
def test_a_planted_amount_is_in_no_default_archive(name):
    # One customer's exact amount (the largest revenue and aov) and its log1p: in
    # no archive kind of a model fitted on the default policy; with the opt-out they are.
    f = tk.summarize(tk.datasets.synthetic(400, seed=5))
    planted = f.index[7]
    f.loc[planted, ["revenue", "aov", "monetary_value"]] = PLANTED
    # Its bytes, and 8 digits as text and xml archives (%.17e) or JSON (%.17g) print it.
    needles = [
        form
        for x in (PLANTED, math.log1p(PLANTED))
        for form in (struct.pack("<d", x), f"{x:.17g}"[:9].encode(), f"{x:.17e}"[:9].encode())
    ]
    policy = PLANTED_POLICIES[name]
    model = tk.fit(policy, f)
    assert model.params["privacy"] == {"min_group": 5}
    for kind in ("binary", "text", "xml"):
        data = model.to_bytes(kind)
        assert not [n for n in needles if n in data], kind
    opt_out = tk.fit(with_privacy(policy, 1), f)
    assert any(n in opt_out.to_bytes("text") for n in needles)


def test_the_default_grouping_follows_the_table_size():
    # min(5, rows // 50), at least 1: the fit without a privacy section is the fit
    # with that min_group, byte for byte (the model's policy records it either way).
    tx = tk.datasets.synthetic(700, seed=3)
    f = tk.summarize(tx)
    policy = tk.Policy.default().to_dict()
    assert "privacy" not in policy
    for rows, k in ((60, 1), (99, 1), (100, 2), (180, 3), (249, 4), (250, 5), (len(f), 5)):
        part = f.iloc[:rows]
        model = tk.fit(policy, part)
        assert model.policy.to_dict()["privacy"] == {"min_group": k}, rows
        assert model.to_bytes() == tk.fit(with_privacy(policy, k), part).to_bytes(), rows
    # The opt-out keeps single customers' values: another model on a large table.
    assert tk.fit(with_privacy(policy, 1), f).to_bytes() != tk.fit(policy, f).to_bytes()


@pytest.mark.parametrize("mode", ["sketch", "refine"])
def test_sketch_and_refine_fit_only_the_opt_out(features, mode):
    policy = tk.Policy.default().to_dict()
    with pytest.raises(tk.PolicyError, match=r'set "privacy": \{"min_group": 1\} to fit single rows'):
        tk.Fitter(policy, mode=mode)
    with pytest.raises(tk.PolicyError, match="needs the exact mode"):
        tk.Fitter(with_privacy(policy, 5), mode=mode)
    model = tk.Fitter(with_privacy(policy, 1), mode=mode).fit([features.iloc[:300], features.iloc[300:]])
    assert model.params["privacy"] == {"min_group": 1}
    # The exact mode applies the default grouping as tk.fit does, bit for bit.
    exact = tk.Fitter(policy).fit([features.iloc[:300], features.iloc[300:]])
    assert exact.to_bytes() == tk.fit(policy, features).to_bytes()


def test_values_shared_by_k_rows_stay_exact():
    # frequency: every value shared by >= K rows (kept exactly); revenue: 0 x 12
    # (kept exactly), then distinct values averaged in groups of >= K.
    n = 60
    freq = np.repeat([1.0, 2.0, 3.0, 5.0], 15)
    revenue = np.concatenate([np.zeros(12), 1000.0 + 13.0 * np.arange(n - 12)])
    f = pd.DataFrame({"frequency": freq, "revenue": revenue}, index=pd.Index(np.arange(n) + 1, name="customer"))
    policy = {
        "criteria": ["frequency", "revenue"],
        "rule": {"kind": "quantiles", "shares": [0.5]},
        "tiers": ["top", "rest"],
    }
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
    with pytest.raises(tk.PolicyError, match=r"privacy\.min_group: must be a whole number"):
        tk.Policy({**base, "privacy": {"min_group": 2.5}})
    with pytest.raises(tk.PolicyError, match="privacy"):
        tk.Policy({**base, "privacy": {"k": 2}})
    assert "privacy" not in tk.Policy(base).to_dict()
    assert json.loads(tk.Policy({**base, "privacy": {"min_group": 3}}).to_json())["privacy"] == {"min_group": 3}


def test_too_few_rows_and_small_clusters_are_refused():
    f = pd.DataFrame({"revenue": np.arange(12.0)}, index=pd.Index(np.arange(12) + 1, name="customer"))
    with pytest.raises(tk.InvalidInputError, match=r"privacy\.min_group 13 needs at least that many rows"):
        tk.fit(
            tk.Policy(
                {
                    "criteria": ["revenue"],
                    "tiers": ["a", "b"],
                    "rule": {"kind": "quantiles", "shares": [0.5]},
                    "privacy": {"min_group": 13},
                }
            ),
            f,
        )
    with pytest.raises(tk.PolicyError, match=r"fewer than privacy\.min_group 5"):
        tk.fit(
            tk.Policy(
                {
                    "criteria": [{"column": "revenue", "normalizer": "minmax"}],
                    "tiers": ["a", "b", "c"],
                    "rule": {"kind": "kmeans", "k": 3, "seed": 1},
                    "privacy": {"min_group": 5},
                }
            ),
            f,
        )
