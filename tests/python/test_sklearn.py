"""tierkit.sklearn: scikit-learn's estimator checks, pipelines, and agreement with
the plain tierkit API (the peer result) and with hand-computed RFM scores."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import tierkit as tk
from tierkit.sklearn import DEFAULT_RFM_SEGMENTS, RFMSegmenter, TierClassifier, ValueScorer

# Checks that compare predict() outputs with assert_allclose (numbers only): tiers
# and segments are names. The same invariances are tested below on the names.
_NAME_CHECKS = {
    "check_methods_subset_invariance": "predict returns tier names; assert_allclose takes numbers only",
    "check_methods_sample_order_invariance": "predict returns tier names; assert_allclose takes numbers only",
    "check_fit_idempotent": "predict returns tier names; assert_allclose takes numbers only",
    "check_estimators_pickle": "predict returns tier names; assert_allclose takes numbers only",
}


def expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, ValueScorer):
        return {}
    checks = dict(_NAME_CHECKS)
    if isinstance(estimator, TierClassifier) and estimator.policy is not None:  # the kmeans instance
        checks["check_fit2d_1sample"] = (
            "the error for too few rows says 'needs at least as many rows as clusters "
            "(2), got 1' (tested below), not the words the check greps for"
        )
    return checks


@parametrize_with_checks(
    # RFMSegmenter on arbitrary check data: all three scores from column 0, which
    # every check's X has.
    [
        TierClassifier(),
        ValueScorer(),
        RFMSegmenter(recency=0, frequency=0, monetary=0),
        TierClassifier({"criteria": ["x0"], "rule": {"kind": "kmeans", "k": 2, "seed": 0}, "tiers": ["a", "b"]}),
    ],
    expected_failed_checks=expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return tk.summarize(tk.datasets.synthetic(3000, seed=13), margin="margin")


POLICY = {
    "scores": [
        {
            "name": "value",
            "criteria": [
                {"column": "revenue", "transform": "log1p"},
                "frequency",
                {"column": "days_since_last", "direction": "lower"},
            ],
            "weights": {"method": "manual"},
        },
        {"name": "potential", "criteria": ["trend", "aov"], "weights": {"method": "entropy"}},
    ],
    "rule": {"kind": "quantiles", "shares": [0.1, 0.3]},
    "tiers": ["A", "B", "C"],
}


# ---- agreement with the plain API ---------------------------------------------------


def test_tier_classifier_matches_fit_assign(features):
    clf = TierClassifier(POLICY).fit(features)
    expected = tk.fit(POLICY, features).assign(features)
    np.testing.assert_array_equal(clf.predict(features), expected["tier"].astype(str).to_numpy())
    np.testing.assert_allclose(clf.transform(features), expected[["value", "potential"]].to_numpy())
    assert clf.classes_.tolist() == ["A", "B", "C"]
    assert clf.get_feature_names_out().tolist() == ["value", "potential"]
    # non-numeric columns (purchase dates) are skipped, as tk.fit does
    assert "first_purchase" not in clf.feature_names_in_
    full = clf.assign(features)
    assert full.index.equals(features.index)
    # Without the purchase dates the estimator's assignment has no lifecycle stages.
    pd.testing.assert_frame_equal(full, expected.drop(columns=["stage", "stage_reason", "next_action"]))


def test_value_scorer_columns_and_contributions(features):
    vs = ValueScorer(POLICY).fit(features)
    names = vs.get_feature_names_out().tolist()
    assert names == [
        "value",
        "potential",
        "contrib_revenue",
        "contrib_frequency",
        "contrib_days_since_last",
        "contrib_potential_trend",
        "contrib_potential_aov",
    ]
    out = vs.transform(features)
    expected = tk.fit(POLICY, features).assign(features)
    np.testing.assert_allclose(out, expected[names].to_numpy())
    # contributions of the first score sum to it
    np.testing.assert_allclose(out[:, 2:5].sum(axis=1), out[:, 0], atol=1e-9)
    assert ValueScorer(POLICY, contributions=False).fit(features).transform(features).shape == (len(features), 2)


def test_default_policy_uses_every_column_equally():
    X = np.array([[1.0, 40.0], [2.0, 30.0], [3.0, 20.0], [4.0, 10.0], [5.0, 0.0]])
    with pytest.warns(tk.TierkitWarning) as caught:
        clf = TierClassifier().fit(X)  # every score ties at 50: all five in high-value (key's 5% is < 1 customer)
    assert [str(w.message).split(" (")[0] for w in caught] == [
        f"tier '{t}' has no customer of the 5 customers" for t in ("key", "ordinary", "potential")
    ]
    assert clf.policy_.to_dict()["scores"][0]["criteria"][1]["column"] == "x1"
    assert clf.model_.weights["weight"].tolist() == [0.5, 0.5]
    # percentiles of x0 are 0, .25, .5, .75, 1 and of x1 the reverse: every score is 50
    np.testing.assert_allclose(clf.transform(X).ravel(), [50.0] * 5)


# ---- pipelines ------------------------------------------------------------------------


def test_pipeline_with_scaler_gives_the_same_tiers(features):
    """Percentile normalizers ignore positive affine rescaling, so standardizing the
    columns first must not change a single tier."""
    cols = ["revenue", "frequency", "days_since_last", "trend", "aov"]
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "tiers",
                TierClassifier(
                    {
                        "criteria": [{"column": c, "normalizer": "percentile"} for c in cols],
                        "rule": {"kind": "quantiles", "shares": [0.2]},
                        "tiers": ["top", "rest"],
                        "privacy": {"min_group": 1},
                    }
                ),
            ),
        ]
    )  # exact knots: group means round differently once rescaled
    pipe.set_output(transform="pandas")
    got = pipe.fit(features[cols]).predict(features[cols])
    plain = TierClassifier(pipe.named_steps["tiers"].policy).fit(features[cols]).predict(features[cols])
    np.testing.assert_array_equal(got, plain)
    assert (got == "top").mean() == pytest.approx(0.2, abs=0.01)


def test_column_transformer_and_set_output(features):
    ct = ColumnTransformer(
        [
            ("value", ValueScorer(contributions=False), ["revenue", "frequency"]),
            ("rfm", RFMSegmenter(), ["days_since_last", "frequency", "revenue"]),
        ]
    )
    ct.set_output(transform="pandas")
    out = ct.fit_transform(features)
    assert list(out.columns) == ["value__score", "rfm__R", "rfm__F", "rfm__M"]
    assert out.index.equals(features.index)
    rfm = RFMSegmenter().fit(features).assign(features)
    np.testing.assert_array_equal(out["rfm__R"].to_numpy(), rfm["R"].to_numpy())
    vs = ValueScorer(contributions=False).fit(features[["revenue", "frequency"]])
    np.testing.assert_allclose(out["value__score"].to_numpy(), vs.transform(features[["revenue", "frequency"]])[:, 0])
    polars_out = (
        ValueScorer().set_output(transform="polars").fit(features[["revenue"]]).transform(features[["revenue"]])
    )
    assert isinstance(polars_out, pl.DataFrame) and polars_out.columns == ["score", "contrib_revenue"]


def test_arrow_and_polars_input_match_pandas(features):
    cols = ["revenue", "frequency", "days_since_last"]
    expected = TierClassifier().fit(features[cols]).predict(features[cols])
    data = pl.from_pandas(features[cols].reset_index())  # customer column becomes the index
    clf = TierClassifier().fit(data)
    assert clf.feature_names_in_.tolist() == cols
    np.testing.assert_array_equal(clf.predict(data), expected)


# ---- conventions ------------------------------------------------------------------------


def test_predictions_invariant_to_batches_order_and_refit(features):
    """The name-valued versions of the xfailed sklearn checks."""
    for est in (TierClassifier(POLICY), RFMSegmenter()):
        est.fit(features)
        full = est.predict(features)
        batches = np.concatenate([est.predict(features.iloc[i : i + 97]) for i in range(0, len(features), 97)])
        np.testing.assert_array_equal(full, batches)
        order = np.random.default_rng(0).permutation(len(features))
        np.testing.assert_array_equal(est.predict(features.iloc[order]), full[order])
        np.testing.assert_array_equal(clone(est).fit(features).predict(features), full)


def test_clone_params_and_pickle_unfitted():
    policy = tk.Policy(POLICY)
    clf = TierClassifier(policy)
    twin = clone(clf)
    assert twin.get_params()["policy"] == policy and twin.get_params()["policy"] is not policy
    assert pickle.loads(pickle.dumps(clf)).policy == policy
    assert clone(RFMSegmenter(bins=4, ties="dense")).get_params()["ties"] == "dense"


def test_not_fitted_and_bad_input_errors(features):
    with pytest.raises(NotFittedError):
        TierClassifier().predict(features)
    bad = features[["revenue", "frequency"]].copy()
    bad.iloc[7, 1] = np.nan
    with pytest.raises(tk.InvalidInputError, match=r"^X: column 'frequency', row 7: must be a finite number, got NaN$"):
        ValueScorer().fit(bad)
    X = np.ones((4, 2))
    X[2, 0] = np.inf
    with pytest.raises(tk.InvalidInputError, match=r"^X: column 'x0', row 2: must be a finite number, got inf$"):
        TierClassifier().fit(X)
    with pytest.raises(tk.ColumnNotFoundError, match=r"unknown column 'revenue'; available: x0, x1"):
        TierClassifier(
            {"criteria": ["revenue"], "rule": {"kind": "quantiles", "shares": [0.5]}, "tiers": ["a", "b"]}
        ).fit(np.ones((4, 2)))
    with pytest.warns(tk.TierkitWarning):
        clf = TierClassifier().fit(np.ones((4, 2)))  # constant columns: one tier holds everyone
    with pytest.raises(tk.InvalidInputError, match="X has 3 features, but TierClassifier is expecting 2 features"):
        clf.predict(np.ones((2, 3)))
    with pytest.raises(tk.PolicyError):
        TierClassifier({"criteria": [{"column": "x0", "weight": -1}], "tiers": ["a"]}).fit(np.ones((4, 2)))
    with pytest.raises(tk.InvalidInputError, match=r"^contributions: must be True or False, got 'yes'$"):
        ValueScorer(contributions="yes").fit(np.ones((3, 1)))


# ---- RFM ------------------------------------------------------------------------------------


def test_rfm_scores_by_hand():
    # 10 distinct values per column: p = (rank - 1) / 9, score = min(5, 1 + floor(5 p)) -> 2 per score.
    f = pd.DataFrame(
        {
            "days_since_last": [3.0, 1, 4, 10, 5, 9, 2, 6, 8, 7],  # lower is better
            "frequency": [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            "revenue": [10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100],
        },
        index=pd.Index(list("abcdefghij"), name="customer"),
    )
    out = RFMSegmenter().fit(f).assign(f)
    assert out["R"].tolist() == [4, 5, 4, 1, 3, 1, 5, 3, 2, 2]
    assert out["F"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["M"].tolist() == out["F"].tolist()
    assert out.loc["g", "cell"] == 544
    # (R, (F+M)/2): a (4, 1) Promising; b (5, 1) New; g (5, 4) Loyal; i (2, 5) At Risk; j (2, 5) At Risk;
    # d (1, 2) Lost; f (1, 3) At Risk; e (3, 3) Need Attention; h (3, 4) Loyal; c (4, 2) Potential Loyalist
    assert out["segment"].astype(str).to_dict() == {
        "a": "Promising",
        "b": "New Customers",
        "c": "Potential Loyalist",
        "d": "Lost",
        "e": "Need Attention",
        "f": "At Risk",
        "g": "Loyal Customers",
        "h": "Loyal Customers",
        "i": "At Risk",
        "j": "At Risk",
    }


def test_rfm_scores_match_pandas_qcut_on_distinct_values():
    rng = np.random.default_rng(5)
    n = 1000  # a multiple of 5: score = qcut of the ranks
    f = pd.DataFrame(
        {"days_since_last": rng.permutation(n) * 1.0, "frequency": rng.random(n), "revenue": rng.gamma(2.0, 50.0, n)}
    )
    out = RFMSegmenter(min_group=1).fit(f).assign(f)  # exact thresholds
    for col, score, sign in (("days_since_last", "R", -1), ("frequency", "F", 1), ("revenue", "M", 1)):
        expected = pd.qcut((sign * f[col]).rank(), 5, labels=False) + 1
        np.testing.assert_array_equal(out[score].to_numpy(), expected.to_numpy(), err_msg=score)


def test_default_segment_table_covers_every_cell_once():
    r, fm_half = np.meshgrid(np.arange(1, 6), np.arange(2, 11), indexing="ij")  # fm = 1, 1.5, ..., 5
    hits = np.zeros(r.shape, dtype=int)
    for rule in DEFAULT_RFM_SEGMENTS:
        lo, hi = rule["fm"]
        hits += (r >= rule["r"][0]) & (r <= rule["r"][1]) & (fm_half >= 2 * lo) & (fm_half <= 2 * hi)
    assert (hits == 1).all()
    assert len({rule["name"] for rule in DEFAULT_RFM_SEGMENTS}) == 11


def test_rfm_custom_table_fallback_and_errors():
    f = pd.DataFrame({"days_since_last": [1.0, 2, 3, 4], "frequency": [4.0, 3, 2, 1], "revenue": [4.0, 3, 2, 1]})
    table = [{"name": "top", "r": [2, 2], "f": [2, 2], "m": [2, 2]}]
    seg = RFMSegmenter(bins=2, segments=table, fallback="rest").fit(f)
    assert seg.classes_.tolist() == ["top", "rest"]
    assert seg.predict(f).tolist() == ["top", "top", "rest", "rest"]
    with pytest.raises(tk.PolicyError, match=r"cells match no segment: 111, 112, .*name a \"fallback\" segment"):
        RFMSegmenter(bins=2, segments=table).fit(f)
    with pytest.raises(tk.PolicyError, match=r"^segments: the default table is for bins=5"):
        RFMSegmenter(bins=3).fit(f)
    with pytest.raises(tk.InvalidInputError, match=r"^bins: must be an integer in 2..9, got 12$"):
        RFMSegmenter(bins=12).fit(f)
    with pytest.raises(tk.ColumnNotFoundError, match="unknown column 'monetary_value'"):
        RFMSegmenter(monetary="monetary_value").fit(f)


def _reference_segments(features: pd.DataFrame) -> pd.DataFrame:
    """An independent computation of RFMSegmenter's output: R, F, M from the core's
    ``bins`` normalizer (ties averaged) and the default table as a numpy look-up
    of all 125 cells (first matching rule wins)."""
    spec = {
        "name": "rfm",
        "rule": {"kind": "thresholds", "cuts": []},
        "tiers": ["all"],
        "privacy": {"min_group": 1},
        "scores": [
            {
                "name": s,
                "criteria": [
                    {"column": c, "normalizer": "bins", "bins": 5, "direction": "lower" if s == "R" else "higher"}
                ],
            }
            for s, c in zip("RFM", ("days_since_last", "frequency", "revenue"))
        ],
    }
    out = tk.fit(spec, features).assign(features, contributions=False)
    levels = np.column_stack([1 + np.rint(out[s].to_numpy() / 25.0) for s in "RFM"]).astype(np.int64)
    names: list[str] = []
    lut = np.full((5, 5, 5), -1)
    r, f, m = np.meshgrid(*(np.arange(1, 6),) * 3, indexing="ij")
    for rule in DEFAULT_RFM_SEGMENTS:
        if rule["name"] not in names:
            names.append(rule["name"])
        hit = (
            (r >= rule["r"][0]) & (r <= rule["r"][1]) & ((f + m) / 2 >= rule["fm"][0]) & ((f + m) / 2 <= rule["fm"][1])
        )
        lut[(lut < 0) & hit] = names.index(rule["name"])
    assert (lut >= 0).all()
    codes = lut[levels[:, 0] - 1, levels[:, 1] - 1, levels[:, 2] - 1]
    ref = pd.DataFrame({"R": levels[:, 0], "F": levels[:, 1], "M": levels[:, 2]}, index=features.index)
    ref["cell"] = 100 * ref["R"] + 10 * ref["F"] + ref["M"]
    ref["segment"] = pd.Categorical.from_codes(codes, categories=names)
    return ref


def test_rfm_segmenter_matches_an_independent_reference(features):
    """The core rfm_segments rule behind RFMSegmenter against the bins normalizer
    and a numpy look-up table of the same segment map."""
    out = RFMSegmenter(min_group=1).fit(features).assign(features)  # exact thresholds
    pd.testing.assert_frame_equal(out, _reference_segments(features))
    assert out["segment"].nunique() >= 8  # the synthetic book reaches most segments


def test_predict_proba_kmeans_memberships(features):
    policy = {
        "criteria": [
            {"column": "revenue", "transform": "log1p", "normalizer": "zscore"},
            {"column": "frequency", "normalizer": "zscore"},
        ],
        "rule": {"kind": "kmeans", "k": 3, "seed": 4},
        "tiers": ["gold", "silver", "bronze"],
    }
    clf = TierClassifier(policy).fit(features)
    proba = clf.predict_proba(features)
    assert proba.shape == (len(features), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # the most likely tier is the predicted (nearest-centre) tier
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(features))
    # by hand from the distance columns: u_t = d_t^-2 / sum_s d_s^-2
    d = clf.assign(features)[["distance_0", "distance_1", "distance_2"]].to_numpy()[:5]
    np.testing.assert_allclose(proba[:5], (d**-2) / (d**-2).sum(axis=1, keepdims=True), rtol=1e-12)


def test_predict_proba_only_for_kmeans():
    X = np.array([[0.0], [1.0], [9.0], [10.0]])
    assert not hasattr(TierClassifier(), "predict_proba")
    assert not hasattr(TierClassifier(POLICY), "predict_proba")
    clf = TierClassifier(
        {
            "criteria": [{"column": "x0", "normalizer": "minmax"}],
            "rule": {"kind": "kmeans", "k": 2, "seed": 1},
            "tiers": ["high", "low"],
        }
    )
    assert hasattr(clf, "predict_proba")
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    with pytest.raises(tk.InvalidInputError, match=r"^kmeans: needs at least as many rows as clusters \(2\), got 1$"):
        clone(clf).fit(X[:1])
    clf.fit(X)
    # minmax: 0, .1, .9, 1 -> centres .05 and .95; x = 1 is .85 from "high" and .05 from "low"
    high = (1 / 0.85**2) / (1 / 0.85**2 + 1 / 0.05**2)
    np.testing.assert_allclose(clf.predict_proba(X[1:2]), [[high, 1 - high]], rtol=1e-12)
    # a row on a centre belongs to it with 1
    on_centre = np.array([[0.5]])  # normalized .05: the "low" centre
    np.testing.assert_allclose(clf.predict_proba(on_centre), [[0.0, 1.0]], atol=1e-12)


def test_fitted_estimators_pickle(features):
    for est in (TierClassifier(POLICY), RFMSegmenter()):
        fitted = est.fit(features)
        again = pickle.loads(pickle.dumps(fitted))
        assert (again.predict(features) == fitted.predict(features)).all()
