"""tk.report (checked in headless Chromium), the Jupyter HTML reprs and progress bars."""

from __future__ import annotations

import base64
import html.parser
import io
import re
import shutil
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # before pyplot

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import tierkit as tk
from tierkit import progress as tkp


@pytest.fixture(scope="module")
def fitted():
    tx = tk.datasets.synthetic(3000, seed=8)
    before = tk.summarize(tx, as_of="2024-06-30")
    f = tk.summarize(tx)
    m = tk.fit(tk.Policy.default(), f)
    previous = tk.fit(tk.Policy.default(), before).assign(before)
    return f, m, m.assign(f), previous


class Outline(html.parser.HTMLParser):
    """Headings, images and table cells of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.images: list[str] = []
        self.cells: list[str] = []
        self._tag: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "td"):
            self._tag = tag
            if tag != "td":
                self.headings.append((tag, ""))
            else:
                self.cells.append("")
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag == self._tag:
            self._tag = None

    def handle_data(self, data):
        if self._tag in ("h1", "h2"):
            self.headings[-1] = (self._tag, self.headings[-1][1] + data)
        elif self._tag == "td":
            self.cells[-1] += data


def outline(page: str) -> Outline:
    o = Outline()
    o.feed(page)
    return o


EXPECTED_HEADINGS = [
    "Tier summary",
    "Revenue concentration",
    "Scores",
    "Weights and cut points",
    "Weights against value",
    "Customer profiles by tier",
    "Tiers and service",
    "Why customers are in their tier",
    "Migration from the previous assignment",
    "CLV by tier",
    "Backtest lift by tier",
]


@pytest.fixture(scope="module")
def page_file(fitted, tmp_path_factory):
    f, m, a, previous = fitted
    clv = pd.Series(np.random.default_rng(1).gamma(2.0, 80.0, len(a)), index=a.index)
    lift = pd.DataFrame({"lift": [3.0, 1.6, 0.8, 0.3]}, index=pd.Index(m.policy.tier_names, name="tier"))
    path = tmp_path_factory.mktemp("report") / "tiers.html"
    page = tk.report(
        a, f, model=m, previous=previous, values={"CLV": clv}, lift=lift, title="Tiers <Q4> & co", path=path
    )
    return page, path


def test_report_sections_tables_and_images(page_file, fitted):
    page, path = page_file
    f, _, a, _ = fitted
    assert path.read_text(encoding="utf-8") == page
    o = outline(page)
    assert o.headings[0] == ("h1", "Tiers <Q4> & co")  # escaped in the source, restored by the parser
    assert "<h1>Tiers &lt;Q4&gt; &amp; co</h1>" in page
    assert [h for tag, h in o.headings if tag == "h2"] == EXPECTED_HEADINGS
    # every chart is an embedded PNG: self-contained, nothing fetched
    assert len(o.images) == 8  # the profile heat map too
    for src in o.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"""(src|href)=["'](https?:|//)""", page)
    # the summary table holds tk.summary's numbers
    s = tk.summary(a, f)
    assert f"{int(s.loc['key', 'customers']):,}" in o.cells
    assert f"{100 * s.loc['key', 'revenue_share']:.1f}%" in o.cells
    assert "dedicated account manager; executive sponsor; one-to-one service; 7x24 priority support" in o.cells


def test_report_without_model_and_errors(fitted):
    f, _, a, _ = fitted
    page = tk.report(a.join(f[["revenue"]]))
    headings = [h for tag, h in outline(page).headings if tag == "h2"]
    assert headings == [
        "Tier summary",
        "Revenue concentration",
        "Scores",
        "Tiers and service",
        "Why customers are in their tier",
    ]
    with pytest.raises(tk.InvalidInputError, match=r"assignment: expected the DataFrame returned by Model\.assign"):
        tk.report(f)
    with pytest.raises(tk.ColumnNotFoundError, match="revenue: unknown column 'revenue'"):
        tk.report(a)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium found: scripts/setup.sh installs Debian's chromium package")


def test_report_renders_in_headless_chromium(page_file, tmp_path):
    _, path = page_file
    browser = chromium()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage"]
    shot = tmp_path / "report.png"
    r = subprocess.run(
        flags + [f"--screenshot={shot}", "--window-size=1200,2400", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    image = matplotlib.image.imread(shot)[..., :3]
    assert image.shape[:2] == (2400, 1200)
    # not blank: the header band is the report's blue, and the page has many colours (charts)
    assert np.allclose(image[20, 600], np.array([0x2F, 0x6F, 0x9F]) / 255, atol=0.02)
    assert image.std() > 0.1
    assert len(np.unique((image[::4, ::4] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 200
    dom = subprocess.run(
        flags + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    o = outline(dom.stdout)
    assert [h for tag, h in o.headings if tag == "h2"] == EXPECTED_HEADINGS
    assert len(o.images) == 8  # the profile heat map too


# ---- Jupyter reprs ---------------------------------------------------------------------


def test_policy_and_model_html(fitted):
    _, m, _, _ = fitted
    p = tk.Policy(
        {
            "name": "ahp <demo>",
            "scores": [
                {
                    "name": "value",
                    "criteria": ["revenue", "frequency", "days_since_last"],
                    "weights": {"method": "ahp", "matrix": [[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]]},
                }
            ],
            "rule": {"kind": "quantiles", "shares": [0.2, 0.5]},
            "tiers": [{"name": "A", "mode": "strategic", "actions": ["call"]}, "B", "C"],
        }
    )
    ph = p._repr_html_()
    o = outline(ph)
    assert "ahp &lt;demo&gt;" in ph
    assert ["revenue", "higher", "none", "", "percentile", ""] == o.cells[:6]
    assert "shares=[0.2, 0.5]" in ph and "call" in o.cells
    fm = tk.fit(p, tk.summarize(tk.datasets.synthetic(500, seed=2)))
    mh = fm._repr_html_()
    cr = fm.params["scores"][0]["ahp_consistency_ratio"]
    assert f"AHP consistency ratio {cr:.4f}" in mh
    weights = fm.weights["weight"].tolist()
    cells = outline(mh).cells
    assert f"{weights[0]:.4g}" in cells
    cuts = fm.params["rule"]["parameters"]["cuts"]
    assert "[" + ", ".join(f"{c:.4g}" for c in cuts) + "]" in cells
    assert any(r.startswith("quantiles: value >=") for r in cells)
    assert "<h4>Tiers</h4>" in m._repr_html_()


def test_summary_renders_with_share_bars(fitted):
    f, _, a, _ = fitted
    s = tk.summary(a, f)
    assert isinstance(s, pd.DataFrame)
    h = s._repr_html_()
    assert "class='bar rev'" in h and f"{100 * s['revenue_share'].iloc[0]:.1f}%" in h
    assert f"{len(f):,} customers" in h
    # anything derived is a plain DataFrame again
    assert type(s[["customers"]]) is pd.DataFrame and "class='bar" not in s[["customers"]]._repr_html_()


# ---- progress -------------------------------------------------------------------------------


def test_progress_switch(monkeypatch):
    monkeypatch.delenv(tkp.ENV, raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal, not Jupyter: not interactive
    assert tkp.enabled() is False
    assert tkp.enabled(True) is True
    monkeypatch.setenv(tkp.ENV, "on")
    assert tkp.enabled() is True and tkp.enabled(False) is False
    monkeypatch.setenv(tkp.ENV, "0")
    assert tkp.enabled() is False
    monkeypatch.setenv(tkp.ENV, "maybe")
    with pytest.raises(tk.InvalidInputError, match=r"^environment variable TIERKIT_PROGRESS: expected 1/0"):
        tkp.enabled()


def test_progress_bar_shows_only_when_enabled(fitted, capsys, monkeypatch):
    monkeypatch.delenv(tkp.ENV, raising=False)
    f, m, a, _ = fitted
    tk.report(a, f, model=m)
    assert capsys.readouterr().err == ""
    tk.report(a, f, model=m, progress=True)
    err = capsys.readouterr().err
    assert "report:" in err and "/8 [" in err and "section/s" in err
    monkeypatch.setenv(tkp.ENV, "1")
    assert list(tkp.progress(range(3), desc="chunks")) == [0, 1, 2]
    assert "chunks" in capsys.readouterr().err
    with tkp.bar(10, desc="bytes", enabled=True) as b:
        b.update(10)
    assert "bytes" in capsys.readouterr().err
