"""Empty and starved tiers, hidden segments, and the small things a new user hits."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import tierkit as tk

FOUR = ["key", "high-value", "ordinary", "potential"]


def orders_book(values):
    return pd.DataFrame(
        {"orders": np.asarray(values, dtype=float), "revenue": np.arange(1.0, len(values) + 1)},
        index=pd.Index(range(1, len(values) + 1), name="customer"),
    )


# Eight customers tied at 1 order: the 70% cut lands on the tie, which goes to the
# better tier, so `potential` (quota 30%) gets no one.
TIED = orders_book([1] * 8 + [2, 5])
QUOTAS = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.05, 0.15, 0.5]}, "tiers": FOUR}


def test_a_tier_emptied_by_ties_warns_and_is_reported():
    with pytest.warns(
        tk.TierkitWarning,
        match=r"tier 'potential' has no customer of the 10 customers \(its quota "
        r"is 30%",
    ):
        model = tk.fit(QUOTAS, TIED)
    report = model.fit_report
    assert report["empty"] == ["potential"] and report["starved"] == []
    assert report["tiers"]["customers"].tolist() == [1, 1, 8, 0]
    assert report["tiers"]["target_share"].tolist() == pytest.approx([0.05, 0.15, 0.5, 0.3])
    assert report["tiers"]["share"].tolist() == pytest.approx([0.1, 0.1, 0.8, 0.0])
    assert len(report["warnings"]) == 1
    out = model.assign(TIED)
    assert out.attrs["tiers"] == {"empty": ["potential"], "starved": []}


def test_empty_tiers_error_and_allow():
    with pytest.raises(tk.PolicyError, match=r"^empty_tiers: tier 'potential' has no customer of the 10 customers"):
        tk.fit({**QUOTAS, "empty_tiers": "error"}, TIED)
    model = tk.fit({**QUOTAS, "empty_tiers": "allow"}, TIED)  # no warning (warnings are errors in the tests)
    assert model.fit_report["empty"] == ["potential"] and model.fit_report["warnings"] == []
    assert tk.Policy({**QUOTAS, "empty_tiers": "allow"}).to_dict()["empty_tiers"] == "allow"
    assert "empty_tiers" not in tk.Policy(QUOTAS).to_dict()  # the default is not written out


def test_empty_tiers_is_checked_with_its_json_path():
    with pytest.raises(tk.PolicyError, match=r"^empty_tiers: must be one of error, warn, allow, got 'sometimes'"):
        tk.Policy({**QUOTAS, "empty_tiers": "sometimes"})
    with pytest.raises(tk.PolicyError, match=r"^empty_tiers: must be one of error, warn, allow, got 1"):
        tk.Policy({**QUOTAS, "empty_tiers": 1})


def test_a_starved_tier_warns():
    # 30% quota on orders: the cut is the 3rd highest value, 2, shared by five more
    # customers, so the top tier takes 7 and `rest` keeps 3 of its 7 (under half).
    book = orders_book([1] * 3 + [2] * 5 + [3, 4])
    policy = {"criteria": ["orders"], "rule": {"kind": "quantiles", "shares": [0.3]}, "tiers": ["top", "rest"]}
    with pytest.warns(
        tk.TierkitWarning,
        match=r"tier 'rest' holds 3 of the 10 customers \(30%\), under half its "
        r"quota of 70%",
    ):
        model = tk.fit(policy, book)
    assert model.fit_report["starved"] == ["rest"]
    assert model.assign(book).attrs["tiers"] == {"empty": [], "starved": ["rest"]}
    assert model.assign(book.iloc[[0]]).attrs["tiers"] == {"empty": ["top"], "starved": []}


def test_a_threshold_no_one_reaches_is_an_empty_tier():
    policy = {"criteria": ["orders"], "rule": {"kind": "thresholds", "cuts": [101]}, "tiers": ["top", "rest"]}
    with pytest.warns(tk.TierkitWarning, match=r"^tier 'top' has no customer of the 10 customers$"):
        tk.fit(policy, TIED)


HIDDEN = {
    "criteria": ["revenue"],
    "tiers": ["recent", "champions", "others"],
    "rule": {
        "kind": "rfm_segments",
        "recency": "days_since_last",
        "frequency": "orders",
        "monetary": "revenue",
        "segments": [{"name": "recent", "r": [4, 5]}, {"name": "champions", "r": [5, 5], "f": [5, 5], "m": [5, 5]}],
        "fallback": "others",
    },
}


def test_a_hidden_segment_is_reported_by_the_policy_and_at_fit():
    expected = (
        "rfm_segments: segment 'champions' (rule 1: R 5, F 5, M 5) loses every cell it matches to earlier "
        "rules, so it gets no customer"
    )
    assert tk.Policy(HIDDEN).warnings == [expected]
    book = pd.DataFrame(
        {"days_since_last": np.arange(20.0), "orders": np.arange(20.0), "revenue": np.arange(20.0)},
        index=pd.Index(range(20), name="customer"),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = tk.fit(HIDDEN, book)
    messages = [str(w.message) for w in caught if issubclass(w.category, tk.TierkitWarning)]
    assert messages == [expected, "tier 'champions' has no customer of the 20 customers"]
    assert model.params["rule"]["parameters"]["unreachable_rules"] == [1.0]
    # a segment whose other rule still wins cells is reported, but not as empty
    twice = {
        **HIDDEN,
        "tiers": ["recent", "others"],
        "rule": {**HIDDEN["rule"], "segments": [{"name": "recent", "r": [4, 5]}, {"name": "recent", "r": [5, 5]}]},
    }
    assert tk.Policy(twice).warnings == [
        "rfm_segments: segment 'recent' (rule 1: R 5) loses every cell it matches to earlier rules; the segment's "
        "other rules still win cells"
    ]
    assert tk.Policy(tk.Policy.default()).warnings == []


def test_summary_and_tier_sizes_without_features_say_to_pass_them():
    f = tk.summarize(tk.datasets.synthetic(300, seed=1))
    tiers = tk.fit(tk.Policy.default(), f).assign(f)
    with pytest.raises(
        tk.ColumnNotFoundError,
        match=r"unknown column 'revenue'; the assignment has no revenue "
        r"column: pass the features too",
    ):
        tk.summary(tiers)
    with pytest.raises(tk.ColumnNotFoundError, match=r"pass the features too"):
        tk.plot.tier_sizes(tiers)
    with pytest.raises(tk.ColumnNotFoundError, match=r"pass the features too"):
        tk.plot.pareto_curve(tiers)
    plt.close("all")


def test_a_one_argument_callable_rule_names_the_signature():
    with pytest.raises(
        tk.PolicyError,
        match=r"rule: the callable .*\(frame\) cannot be called as "
        r"rule\(features, score\); expected def rule\(features: "
        r"pandas.DataFrame, score: numpy.ndarray\)",
    ):
        tk.Policy({"criteria": ["revenue"], "tiers": ["a", "b"], "rule": lambda frame: frame["revenue"] > 0})
    tk.Policy({"criteria": ["revenue"], "tiers": ["a", "b"], "rule": lambda frame, score, *rest: score > 50})


def test_criteria_summary_puts_weights_beside_rank_correlations():
    f = pd.DataFrame(
        {"revenue": [1.0, 2.0, 3.0, 4.0], "a": [4.0, 3.0, 2.0, 1.0], "b": [10.0, 20.0, 30.0, 40.0], "flat": 7.0},
        index=pd.Index([1, 2, 3, 4], name="customer"),
    )
    policy = {
        "criteria": [{"column": "a", "weight": 1}, {"column": "b", "weight": 3}, {"column": "flat", "weight": 0}],
        "rule": {"kind": "quantiles", "shares": [0.5]},
        "tiers": ["top", "rest"],
    }
    model = tk.fit(policy, f)
    table = model.criteria_summary(f, next_revenue=pd.Series([1.0, 2.0, 4.0, 3.0], index=f.index))
    assert table["criterion"].tolist() == ["a", "b", "flat"]
    assert table["weight"].tolist() == pytest.approx([0.25, 0.75, 0.0])
    assert table["rank_corr_revenue"].tolist()[:2] == pytest.approx([-1.0, 1.0])
    assert np.isnan(table["rank_corr_revenue"].iloc[2])
    # Spearman: 1 - 6 * sum d^2 / (n (n^2 - 1)) = 1 - 6 * 2 / 60
    assert table["rank_corr_next_revenue"].iloc[1] == pytest.approx(0.8)
    page = tk.report(model.assign(f), f, model=model)
    assert "Weights against value" in page and "-1.00" in page and "+1.00" in page


def test_backtest_and_report_show_the_next_period_correlation():
    tx = tk.datasets.synthetic(1200, seed=4)
    bt = tk.backtest(tk.Policy.default(), tx, periods=2, period="90D")
    assert set(bt.criteria["criterion"]) == {"revenue", "frequency", "days_since_last", "aov"}
    assert bt.criteria["rank_corr_next_revenue"].between(-1, 1).all()
    # revenue so far predicts next-period revenue
    assert bt.criteria.query("criterion == 'revenue'")["rank_corr_next_revenue"].min() > 0.2
    f = tk.summarize(tx)
    model = tk.fit(tk.Policy.default(), f)
    page = tk.report(model.assign(f), f, model=model, backtest=bt)
    assert "rank corr. with next-period revenue (backtest)" in page
    assert "Backtest lift by tier" in page and "Customer profiles by tier" in page


def test_rejects_csv_keeps_integer_ids(tmp_path, capsys):
    from tierkit.cli import main

    tx = tk.datasets.synthetic(300, seed=2)
    tx["customer"] = tx["customer"].astype(float)
    tx.loc[tx.index[5], "customer"] = np.nan  # a row without an id: the column reads back as floats
    late = tx.iloc[[0]].assign(customer=100000.0, date=pd.Timestamp("2031-01-01"))
    pd.concat([tx, late]).to_csv(tmp_path / "tx.csv", index=False)
    code = main(
        [
            "run",
            "--transactions",
            str(tmp_path / "tx.csv"),
            "--out",
            str(tmp_path / "out"),
            "--as-of",
            "2030-12-31",
            "--reject-invalid",
        ]
    )
    assert code == 0
    lines = (tmp_path / "out" / "rejects.csv").read_text().splitlines()
    assert lines[0] == "row,customer,reason"
    assert lines[1].startswith("5,,")  # the missing id stays empty
    assert lines[2].startswith("-1,100000,")  # not 100000.0
    _f, rejects = tk.summarize(
        pd.read_csv(tmp_path / "tx.csv", parse_dates=["date"]), errors="reject", return_rejects=True, as_of="2030-12-31"
    )
    assert str(rejects["customer"].dtype) == "Int64"
