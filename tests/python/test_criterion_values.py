"""Criteria that are not numbers: letter ratings, label maps and missing values,
through the example B2B policy (examples/b2b_policy.json) on synthetic accounts."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

import tierkit as tk

POLICY = pathlib.Path(__file__).resolve().parents[2] / "examples" / "b2b_policy.json"
RATINGS = ["D", "C", "CC", "CCC", "B", "BB", "BBB", "A", "AA", "AAA"]


def accounts(n: int = 300, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "revenue": rng.lognormal(11, 1.2, n),
            "margin": rng.uniform(0.05, 0.45, n),
            "credit_rating": rng.choice(RATINGS[3:], n),  # object dtype: plain strings
            "renewal_rate": rng.uniform(0, 1, n),
            "nps": rng.integers(-100, 101, n).astype(float),
            "complaints": rng.poisson(2, n).astype(float),
            "potential": pd.Categorical(rng.choice(["low", "medium", "high"], n), categories=["low", "medium", "high"]),
        },
        index=pd.Index(np.arange(1000, 1000 + n), name="customer"),
    )
    df.loc[df.index[::10], "nps"] = np.nan  # NPS surveys answered by 90% of accounts
    return df


@pytest.fixture(scope="module")
def policy() -> tk.Policy:
    return tk.Policy(POLICY)


def test_example_policy_fits_labels_and_missing_values(policy):
    df = accounts()
    # Two accounts equal in everything but the rating: AAA and BB.
    df.iloc[1] = df.iloc[0]
    df.iloc[0, df.columns.get_loc("credit_rating")] = "AAA"
    df.iloc[1, df.columns.get_loc("credit_rating")] = "BB"
    df.iloc[0, df.columns.get_loc("nps")] = 40.0
    df.iloc[1, df.columns.get_loc("nps")] = 40.0
    # Exact quotas and the data's own min and max need the opt-out of the default
    # privacy grouping (which averages the 5 lowest and highest values).
    model = tk.fit(tk.Policy({**policy.to_dict(), "privacy": {"min_group": 1}}), df)
    out = model.assign(df)
    assert len(out) == len(df) and set(out["tier"].cat.categories) == {"strategic", "key", "core", "transactional"}
    # Quotas of 10%, 20% and 30% of the 300 accounts, the other 40% transactional.
    assert out["tier"].value_counts().to_dict() == {"transactional": 120, "core": 90, "key": 60, "strategic": 30}
    a, b = out.iloc[0], out.iloc[1]
    assert a["score"] > b["score"]
    # The rating is the only difference: ranks 9 (AAA) and 5 (BB) of the order; the fitted
    # min and max are those of the data (CCC = 3 .. AAA = 9), weight 0.15 of 100 points.
    lo, hi = 3, 9
    assert a["score"] - b["score"] == pytest.approx(100 * 0.15 * (9 - 5) / (hi - lo), abs=1e-9)
    assert a["contrib_credit_rating"] == pytest.approx(15.0, abs=1e-12)

    # A missing NPS scores as the median of the answered ones, min-max normalized.
    answered = df["nps"].dropna()
    median = float(np.median(answered))
    y = (median - answered.min()) / (answered.max() - answered.min())
    missing = out.loc[df["nps"].isna(), "contrib_nps"]
    assert len(missing) == 29  # every 10th row but row 0, set above
    np.testing.assert_allclose(missing, 100 * 0.1 * y, rtol=0, atol=1e-12)
    assert out.attrs["missing"]["score.nps"] == 29
    assert out.attrs["missing"]["score.credit_rating"] == 0
    crit = {c["column"]: c for c in model.params["scores"][0]["criteria"]}
    assert crit["nps"]["missing_fill"] == median and crit["nps"]["missing_count"] == 29
    # Potential: low 0, medium 50, high 100 over [0, 100].
    np.testing.assert_allclose(
        out["contrib_potential"],
        10 * df["potential"].map({"low": 0.0, "medium": 0.5, "high": 1.0}).astype(float),
        atol=1e-12,
    )
    # Saved and loaded, the model scores the same bits.
    again = tk.Model.from_bytes(model.to_bytes()).assign(df)
    np.testing.assert_array_equal(again["score"].to_numpy(), out["score"].to_numpy())


def test_unknown_label_is_a_typed_error_naming_column_row_and_label(policy):
    df = accounts(50)
    model = tk.fit(policy, df)
    df.iloc[7, df.columns.get_loc("credit_rating")] = "BBB+"
    with pytest.raises(tk.TierkitError, match=r"column 'credit_rating', row 7 .*unknown label 'BBB\+'"):
        model.assign(df)


def test_missing_rating_takes_the_worst_seen_at_fit(policy):
    df = accounts(60)
    df["credit_rating"] = pd.Categorical(df["credit_rating"], categories=RATINGS, ordered=True)
    df.iloc[3, df.columns.get_loc("credit_rating")] = np.nan
    out = tk.fit(policy, df).assign(df)
    # worst seen = CCC, the lowest rating present, which min-max maps to 0.
    assert out["contrib_credit_rating"].iloc[3] == 0.0
    assert out.attrs["missing"]["score.credit_rating"] == 1


def test_one_nan_still_fails_a_criterion_without_a_missing_option():
    p = tk.Policy({"criteria": ["revenue", "nps"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]})
    df = accounts(20)[["revenue", "nps"]]
    with pytest.raises(tk.TierkitError, match="nps"):
        tk.fit(p, df)


def test_labels_without_a_map_say_what_to_add():
    p = tk.Policy(
        {"criteria": ["revenue", "credit_rating"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]}
    )
    with pytest.raises(tk.TierkitError, match=r"column 'credit_rating': holds labels .*\"order\""):
        tk.fit(p, accounts(20))


def test_policy_paths_for_bad_maps():
    bad = {
        "criteria": [{"column": "r", "order": ["A", "A"]}],
        "rule": {"kind": "quantiles", "shares": [0.5]},
        "tiers": ["a", "b"],
    }
    with pytest.raises(tk.TierkitError, match=r"criteria\[0\]\.order\[1\]: label 'A' appears twice"):
        tk.Policy(bad)


def with_attributes(n: int = 12) -> pd.DataFrame:
    """Accounts with an industry (plain strings, one missing) and a region (categorical)."""
    industries = ["retail", "energy", "services", "retail"] * (n // 4)
    df = pd.DataFrame(
        {
            "revenue": np.arange(1.0, n + 1) * 100,
            "industry": np.array(industries, dtype=object),
            "region": pd.Categorical(
                ["north", "south", "east"] * (n // 3), categories=["north", "south", "east", "west"]
            ),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer"),
    )
    df.loc["c2", "industry"] = None
    return df


def test_expression_compares_labelled_columns():
    p = tk.Policy(
        {
            "criteria": ["revenue"],
            "rule": {
                "kind": "expression",
                "branches": [
                    {"when": "industry in ['retail', 'energy'] and region != 'east'", "tier": "focus"},
                    {"when": 'industry == "services"', "tier": "services"},
                    {"else": "rest"},
                ],
            },
            "tiers": ["focus", "services", "rest"],
        }
    )
    df = with_attributes()
    out = tk.fit(p, df).assign(df)
    industry, region = df["industry"], df["region"].astype(object)
    focus = industry.isin(["retail", "energy"]) & region.ne("east")
    services = ~focus & industry.eq("services")
    expected = np.where(focus, "focus", np.where(services, "services", "rest"))
    assert out["tier"].astype(str).tolist() == expected.tolist()
    assert out["tier"].value_counts().to_dict() == {"focus": 6, "rest": 4, "services": 2}
    assert out.loc["c2", "tier"] == "rest"  # a missing industry matches no label
    # A string column given as a pandas categorical (other codes) gives the same tiers.
    df2 = df.assign(industry=df["industry"].astype("category"))
    assert tk.fit(p, df2).assign(df2)["tier"].tolist() == out["tier"].tolist()


def test_expression_label_errors_and_unseen_labels():
    df = with_attributes()
    as_number = {
        "criteria": ["revenue"],
        "rule": {"kind": "expression", "branches": [{"when": "industry > 1", "tier": "a"}, {"else": "b"}]},
        "tiers": ["a", "b"],
    }
    with pytest.raises(tk.InvalidInputError, match=r"rule\.branches\[0\]\.when: column 'industry' holds labels"):
        tk.fit(as_number, df)
    typo = {
        "criteria": ["revenue"],
        "rule": {"kind": "expression", "branches": [{"when": "industry == 'retial'", "tier": "a"}, {"else": "b"}]},
        "tiers": ["a", "b"],
    }
    with pytest.warns(tk.TierkitWarning, match=r"column 'industry' has no label 'retial' in the fit data"):
        tk.fit(typo, df)
    with pytest.raises(tk.PolicyError, match=r"rule\.branches\[0\]\.when: expected a label in quotes, got '1'"):
        tk.Policy(
            {
                "criteria": ["revenue"],
                "rule": {
                    "kind": "expression",
                    "branches": [{"when": "industry in ['retail', 1]", "tier": "a"}, {"else": "b"}],
                },
                "tiers": ["a", "b"],
            }
        )


@pytest.mark.parametrize("as_category", [False, True])
def test_group_by_a_string_column(as_category):
    df = pd.DataFrame(
        {"revenue": np.arange(1.0, 13.0), "industry": np.array(["retail", "energy", "energy"] * 4)},
        index=pd.Index([f"c{i}" for i in range(12)], name="customer"),
    )
    if as_category:
        df["industry"] = df["industry"].astype("category")
    p = {
        "criteria": [{"column": "revenue", "normalizer": "minmax"}],
        "rule": {"kind": "quantiles", "shares": [0.5], "group_by": "industry"},
        "tiers": ["top", "rest"],
    }
    out = tk.fit(p, df).assign(df)
    # Within each industry, the higher-revenue half is "top".
    for _, rows in df.groupby(df["industry"].astype(str)):
        tiers = out.loc[rows.sort_values("revenue").index, "tier"].astype(str).tolist()
        half = len(tiers) // 2
        assert tiers == ["rest"] * (len(tiers) - half) + ["top"] * half, tiers


def test_scorer_fills_missing_values_and_refuses_value_maps(policy):
    df = accounts(80)
    model = tk.fit(policy, df)
    with pytest.raises(tk.InvalidInputError, match=r"criterion 'credit_rating' maps labels to numbers"):
        model.scorer()
    numeric = tk.Policy(
        {
            "criteria": [
                {"column": "revenue", "normalizer": "minmax"},
                {"column": "nps", "normalizer": "minmax", "missing": "median"},
            ],
            "rule": {"kind": "thresholds", "cuts": [50]},
            "tiers": ["a", "b"],
        }
    )
    m = tk.fit(numeric, df)
    score = m.scorer()
    out = m.assign(df)
    unanswered = df.index[df["nps"].isna()][0]
    one = score({"revenue": df.loc[unanswered, "revenue"], "nps": float("nan")})
    assert one.scores["score"] == out.loc[unanswered, "score"]
    with pytest.raises(tk.InvalidInputError, match="column 'revenue': must be a finite number"):
        score({"revenue": float("nan"), "nps": 1.0})
