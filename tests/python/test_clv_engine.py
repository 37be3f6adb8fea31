"""CLV inside a policy: the ``clv`` section fits a CLV model with the policy, and
``p_alive``, ``expected_purchases`` and ``clv`` become columns that criteria and rules
read and that ``Model.assign`` returns. The columns equal what ``tierkit.clv``
computes with the same fitted parameters.

The CDNOW check fits the 2-decimal summary CSV (shared/data/cdnow; skipped when absent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit import clv

CLV_SECTION = {"model": "bgnbd", "spend": "gammagamma", "horizon_months": 12, "discount_rate": 0.01, "time_unit": "W"}


def clv_policy(**section) -> dict:
    return {
        "name": "clv-value",
        "clv": {**CLV_SECTION, **section},
        "scores": [
            {"name": "value", "criteria": [{"column": "clv", "weight": 0.7}, {"column": "p_alive", "weight": 0.3}]}
        ],
        "rule": {"kind": "quantiles", "score": "value", "shares": [0.1, 0.3]},
        "tiers": ["key", "growth", "rest"],
    }


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    """Synthetic customers, daily periods, recency and T in weeks."""
    return tk.summarize(tk.datasets.synthetic(3000, seed=21), freq_multiplier=7)


def test_policy_normalizes_the_clv_section():
    p = tk.Policy(clv_policy(columns={"T": "age"}))
    section = p.to_dict()["clv"]
    assert section == {
        "model": "bgnbd",
        "spend": "gammagamma",
        "horizon_months": 12,
        "discount_rate": 0.01,
        "time_unit": "weeks",
        "penalizer": 0.0,
        "spend_penalizer": 0.0,
        "columns": {"frequency": "frequency", "recency": "recency", "T": "age", "monetary_value": "monetary_value"},
    }
    assert tk.Policy(p.to_json()) == p
    assert "clv" not in tk.Policy.default().to_dict()


def test_assign_returns_clv_columns_equal_to_the_clv_api(weekly):
    model = tk.fit(clv_policy(), weekly)
    out = model.assign(weekly)
    for name in ("p_alive", "expected_purchases", "clv"):
        assert name in out.columns
        assert out[name].dtype == np.float64
    f, r, T, m = weekly["frequency"], weekly["recency"], weekly["T"], weekly["monetary_value"]
    bg = clv.BGNBD(time_unit="W").fit(weekly)
    gg = clv.GammaGamma().fit(weekly)
    # Same fit, same functions: the same doubles.
    np.testing.assert_array_equal(out["p_alive"].to_numpy(), bg.conditional_probability_alive(f, r, T).to_numpy())
    np.testing.assert_array_equal(
        out["expected_purchases"].to_numpy(),
        np.asarray(bg.conditional_expected_number_of_purchases_up_to_time(12 * 4.345, f, r, T)),
    )
    value = gg.customer_lifetime_value(bg, f, r, T, m, months=12, discount_rate=0.01)
    np.testing.assert_array_equal(out["clv"].to_numpy(), value.to_numpy())
    assert out.index.equals(weekly.index)
    assert out["p_alive"].between(0, 1).all()
    assert (out["clv"] >= 0).all() and out["clv"].max() > 0

    # The value score reads clv and p_alive: its contributions are named after them, and
    # the quantile tiers follow it.
    assert {"contrib_clv", "contrib_p_alive"} <= set(out.columns)
    np.testing.assert_allclose(out["contrib_clv"] + out["contrib_p_alive"], out["value"], atol=1e-9)
    assert out.loc[out["clv"].idxmax(), "contrib_clv"] == pytest.approx(70.0)
    shares = out["tier"].value_counts(normalize=True)
    assert shares["key"] == pytest.approx(0.1, abs=0.01)
    assert out.loc[out["tier"] == "key", "value"].min() >= out.loc[out["tier"] == "growth", "value"].max()


def test_criterion_on_clv_is_a_minmax_of_the_clv_column(weekly):
    policy = {
        "clv": {"model": "bgnbd", "spend": "gammagamma", "time_unit": "W"},
        "criteria": [{"column": "clv", "normalizer": "minmax"}],
        "rule": {"kind": "thresholds", "cuts": [50]},
        "tiers": ["high", "low"],
        "privacy": {"min_group": 1},
    }  # exact min and max
    model = tk.fit(policy, weekly)
    out = model.assign(weekly)
    lo, hi = out["clv"].min(), out["clv"].max()
    np.testing.assert_allclose(out["score"], 100 * (out["clv"] - lo) / (hi - lo), atol=1e-9)
    assert ((out["score"] >= 50) == (out["tier"] == "high")).all()
    # explain() shows the clv value though the features do not have the column.
    text = model.explain(weekly.index[0], weekly)
    assert f"clv = {out['clv'].iloc[0]:.6g}" in text


def test_without_a_spend_model_only_p_alive_and_expected_purchases(weekly):
    policy = {
        "clv": {"model": "paretonbd", "time_unit": "W", "horizon_months": 6},
        "criteria": [{"column": "expected_purchases"}, {"column": "p_alive"}],
        "rule": {"kind": "quantiles", "shares": [0.25]},
        "tiers": ["top", "rest"],
    }
    out = tk.fit(policy, weekly).assign(weekly)
    assert "clv" not in out.columns
    pnbd = clv.ParetoNBD(time_unit="W").fit(weekly)
    f, r, T = weekly["frequency"], weekly["recency"], weekly["T"]
    np.testing.assert_array_equal(out["p_alive"].to_numpy(), pnbd.conditional_probability_alive(f, r, T).to_numpy())
    np.testing.assert_array_equal(
        out["expected_purchases"].to_numpy(),
        np.asarray(pnbd.conditional_expected_number_of_purchases_up_to_time(6 * 4.345, f, r, T)),
    )


def test_errors_name_the_path_or_the_column(weekly):
    base = clv_policy()
    with pytest.raises(tk.PolicyError, match=r"^clv\.time_unit: required: the unit of recency and T"):
        tk.Policy({**base, "clv": {"model": "bgnbd", "spend": "gammagamma"}})
    with pytest.raises(tk.PolicyError, match=r"^clv\.model: must be one of bgnbd, mbgnbd, paretonbd, got 'bg'$"):
        tk.Policy(clv_policy(model="bg"))
    with pytest.raises(tk.PolicyError, match=r"^clv\.horizon_months: must be > 0, got -1$"):
        tk.Policy(clv_policy(horizon_months=-1))
    taken = weekly.assign(clv=1.0)
    with pytest.raises(tk.InvalidInputError, match=r"^clv: the table already has a column 'clv'"):
        tk.fit(base, taken)
    model = tk.fit(base, weekly)
    with pytest.raises(tk.InvalidInputError, match=r"^clv: the table already has a column 'clv'"):
        model.assign(taken)
    with pytest.raises(tk.ColumnNotFoundError, match=r"^\"?clv\.columns\.T: unknown column 'T'"):
        tk.fit(base, weekly.drop(columns="T"))


def test_cdnow_p_alive_equals_bgnbd_fitted_on_the_same_summary(cdnow_dir):
    # 2-decimal summary CSV, weeks.
    summary = (
        pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv")
        .rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
        .set_index("ID")
    )
    model = tk.fit(clv_policy(), summary)
    out = model.assign(summary)
    bg = clv.BGNBD(time_unit="W").fit(summary)
    assert bg.log_likelihood_ == pytest.approx(-9582.4256, abs=1e-3)
    alive = bg.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
    np.testing.assert_allclose(out["p_alive"].to_numpy(), alive.to_numpy(), rtol=0, atol=1e-12)
    gg = clv.GammaGamma().fit(summary)
    value = gg.customer_lifetime_value(
        bg,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        summary["monetary_value"],
        months=12,
        discount_rate=0.01,
    )
    np.testing.assert_allclose(out["clv"].to_numpy(), value.to_numpy(), rtol=1e-12, atol=0)
    # The best-valued customers are the frequent, recent ones.
    top = out.nlargest(20, "value").index
    assert summary.loc[top, "frequency"].median() > summary["frequency"].quantile(0.9)
