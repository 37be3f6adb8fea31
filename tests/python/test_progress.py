"""Progress bars for the fits that run in the C++ core: k-means Lloyd iterations and
CLV optimizer iterations (tk.fit, tk.clv, the scikit-learn estimators). Counts are
read from the bar objects (tqdm redraws at most every 0.1 s, so printed text may
lag); the fitted models are the same with and without bars; an exception raised
by a progress callable stops the fit and reaches the caller unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit import _core, clv
from tierkit.sklearn import TierClassifier, ValueScorer

pytest.importorskip("tqdm", reason="tqdm is not installed")

KMEANS = {"criteria": ["revenue", "frequency"], "rule": {"kind": "kmeans", "k": 3, "seed": 1}, "tiers": ["a", "b", "c"]}
CLV_KMEANS = {
    "name": "clv-kmeans",
    "clv": {"model": "bgnbd", "spend": "gammagamma", "time_unit": "W"},
    "scores": [
        {"name": "value", "criteria": [{"column": "clv", "weight": 0.6}, {"column": "frequency", "weight": 0.4}]}
    ],
    "rule": {"kind": "kmeans", "k": 3, "seed": 3},
    "tiers": ["key", "growth", "rest"],
}


@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    """Synthetic customers, recency and T in weeks."""
    return tk.summarize(tk.datasets.synthetic(2000, seed=8), freq_multiplier=7)


@pytest.fixture()
def bars(monkeypatch):
    """Every bar the fits make (real tqdm bars when progress is on), per module."""
    made: list = []

    def recording_bar(*args, **kwargs):
        made.append(tk.progress.bar(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tk.model, "bar", recording_bar)
    monkeypatch.setattr(tk.clv, "bar", recording_bar)
    return made


def kmeans_iterations(model: tk.Model) -> int:
    return int(model.params["rule"]["parameters"]["iterations"][0])


def postfix_values(bar) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=") for item in bar.postfix.split(", "))}


def test_fit_shows_one_step_per_lloyd_iteration(weekly, bars, capsys):
    model = tk.fit(KMEANS, weekly, progress=True)
    assert "kmeans" in capsys.readouterr().err
    assert len(bars) == 1 and type(bars[0]).__name__ == "tqdm"
    assert bars[0].desc == "kmeans" and bars[0].total == 300  # max_iter
    assert bars[0].n == kmeans_iterations(model) > 1
    assert set(postfix_values(bars[0])) == {"inertia", "shift"}
    assert model.to_bytes() == tk.fit(KMEANS, weekly, progress=False).to_bytes()


def test_progress_off_by_argument_and_by_environment(weekly, bars, capsys, monkeypatch):
    tk.fit(KMEANS, weekly, progress=False)
    monkeypatch.setenv("TIERKIT_PROGRESS", "0")
    tk.fit(KMEANS, weekly)
    clv.BGNBD(time_unit="W").fit(weekly)
    assert bars == [] and capsys.readouterr().err == ""
    # ... and on by the environment; the argument wins over it.
    monkeypatch.setenv("TIERKIT_PROGRESS", "1")
    tk.fit(KMEANS, weekly)
    assert len(bars) == 1 and type(bars[0]).__name__ == "tqdm"
    tk.fit(KMEANS, weekly, progress=False)
    assert len(bars) == 1
    monkeypatch.setenv("TIERKIT_PROGRESS", "maybe")
    with pytest.raises(tk.InvalidInputError, match="TIERKIT_PROGRESS"):
        tk.fit(KMEANS, weekly)


def test_clv_fit_shows_the_log_likelihood(weekly, bars):
    bg = clv.BGNBD(time_unit="W").fit(weekly, progress=True)
    assert [b.desc for b in bars] == ["clv bg/nbd"]
    summary = bg._fit_summary()
    assert bars[0].n == summary.iterations > 3  # L-BFGS iterations + Newton steps
    assert postfix_values(bars[0])["log_likelihood"] == pytest.approx(bg.log_likelihood_, rel=1e-5)
    gg = clv.GammaGamma().fit(weekly, progress=True)
    assert bars[1].desc == "clv gamma-gamma" and bars[1].n == gg._fit_summary().iterations
    assert postfix_values(bars[1])["log_likelihood"] == pytest.approx(gg.log_likelihood_, rel=1e-5)
    quiet = clv.BGNBD(time_unit="W").fit(weekly, progress=False)
    assert quiet.params_.tolist() == bg.params_.tolist()


def test_policy_fit_has_a_bar_per_stage(weekly, bars):
    model = tk.fit(CLV_KMEANS, weekly, progress=True)
    assert [b.desc for b in bars] == ["clv bg/nbd", "clv gamma-gamma", "kmeans"]
    assert bars[2].n == kmeans_iterations(model)
    assert model.to_bytes() == tk.fit(CLV_KMEANS, weekly, progress=False).to_bytes()


def test_estimators_take_progress(weekly, bars):
    clf = TierClassifier(KMEANS, progress=True).fit(weekly)
    assert clf.get_params()["progress"] is True
    assert len(bars) == 1 and bars[0].n == kmeans_iterations(clf.model_)
    TierClassifier(KMEANS, progress=False).fit(weekly)
    ValueScorer(KMEANS, progress=False).fit(weekly)
    assert len(bars) == 1


class Stop(Exception):
    pass


def test_keyboard_interrupt_in_the_bar_stops_the_fit(weekly, monkeypatch):
    class InterruptingBar:
        """A bar whose second update raises what Ctrl-C raises."""

        n = 0

        def update(self, n=1):
            self.n += n
            if self.n >= 2:
                raise KeyboardInterrupt

        def set_postfix_str(self, text, refresh=True):
            pass

        def close(self):
            pass

    made = []
    monkeypatch.setattr(tk.model, "bar", lambda *a, **k: made.append(InterruptingBar()) or made[-1])
    monkeypatch.setattr(tk.clv, "bar", lambda *a, **k: made.append(InterruptingBar()) or made[-1])
    with pytest.raises(KeyboardInterrupt):
        tk.fit(KMEANS, weekly, progress=True)
    with pytest.raises(KeyboardInterrupt):
        clv.BGNBD(time_unit="W").fit(weekly, progress=True)
    assert [b.n for b in made] == [2, 2]  # stopped at the second iteration
    # Nothing is left broken: the same fits run to the end afterwards.
    assert kmeans_iterations(tk.fit(KMEANS, weekly, progress=False)) > 2


def test_callable_exceptions_reach_the_caller_unchanged(weekly):
    calls = []

    def stop_at_third(stage, done, total, values):
        calls.append((stage, done, total, dict(values)))
        if len(calls) == 3:
            raise Stop("enough")

    patterns = clv.RfmHistogram()
    patterns.update(*(weekly[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")))
    data = patterns.finalize()
    # Not mistaken for the optimizer's own line-search failures, nor turned into a NumericError.
    with pytest.raises(Stop, match="enough"):
        _core.clv.fit_bg_nbd(data, progress=stop_at_third)
    assert [c[1] for c in calls] == [1.0, 2.0, 3.0]
    assert calls[0][0] == "clv bg/nbd" and calls[0][2] == 2020.0 and set(calls[0][3]) == {"log_likelihood"}
    calls.clear()
    with pytest.raises(Stop):
        tk.model._core.model.fit(tk.Policy(KMEANS)._core, *fit_arguments(weekly), progress=stop_at_third)
    assert [c[0] for c in calls] == ["kmeans"] * 3
    with pytest.raises(tk.InvalidInputError, match="progress: expected a callable"):
        _core.clv.fit_bg_nbd(data, progress=5)


def fit_arguments(features: pd.DataFrame) -> tuple:
    ids = np.arange(len(features), dtype=np.int64)
    names = ["revenue", "frequency"]
    return ids, names, [np.ascontiguousarray(features[n], dtype=np.float64) for n in names], []
