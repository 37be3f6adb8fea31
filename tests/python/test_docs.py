"""The documentation site: the C++ API page names only types and functions the
headers declare, and the built site (scripts/docs.sh builds it, then runs this file
with TIERKIT_DOCS_HTML set) renders in headless Chromium: headings in the DOM,
pages not blank, the quickstart notebook's plots there as images."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILT = os.environ.get("TIERKIT_DOCS_HTML")
needs_site = pytest.mark.skipif(not BUILT, reason="the docs are checked after their build: scripts/docs.sh (make docs)")


def test_cpp_page_names_declared_symbols():
    headers = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "include").rglob("*.hpp"))
    names = set(re.findall(r"tierkit::([A-Za-z_]+)", (ROOT / "docs" / "cpp.md").read_text(encoding="utf-8")))
    names.discard("tierkit")  # the CMake target tierkit::tierkit
    assert len(names) >= 20
    missing = [
        n for n in sorted(names) if not re.search(rf"\b(class|struct|using|enum class)\s+{n}\b|[\s&*>]{n}\(", headers)
    ]
    assert not missing, f"docs/cpp.md names what include/ does not declare: {missing}"


class Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.images: list[dict] = []
        self.text: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = True
            self.headings.append("")
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_heading:
            self.headings[-1] += data


def chromium() -> list[str]:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return [path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage"]
    pytest.skip("no Chromium found: scripts/setup.sh --test installs Debian's chromium package")


def render(page: Path, tmp_path: Path) -> tuple[Page, np.ndarray]:
    assert page.exists(), f"{page} was not built"
    flags = chromium()
    dom = subprocess.run(
        flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = Page()
    parsed.feed(dom.stdout)
    shot = tmp_path / f"{page.stem}.png"
    r = subprocess.run(
        flags + [f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    import matplotlib.image

    return parsed, matplotlib.image.imread(shot)[..., :3]


def not_blank(image: np.ndarray) -> None:
    assert image.shape[:2] == (1600, 1200)
    assert image.std() > 0.05, "the page is blank"
    assert len(np.unique((image[::4, ::4] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 20


@needs_site
def test_index_renders(tmp_path):
    page, image = render(Path(BUILT) / "index.html", tmp_path)
    not_blank(image)
    assert page.headings[0].startswith("tierkit")
    text = " ".join(page.text)
    for entry in ("Install", "API reference", "Policy reference", "C++ API", "Command line"):
        assert entry in text, f"the index does not link {entry}"


@needs_site
def test_quickstart_notebook_renders_with_its_plots(tmp_path):
    page, image = render(Path(BUILT) / "generated" / "quickstart.html", tmp_path)
    not_blank(image)
    assert len(page.headings) >= 5
    plots = [i for i in page.images if i.get("src", "").endswith(".png") or i.get("src", "").startswith("data:image")]
    assert len(plots) >= 4, page.images
    for img in plots:
        if not img["src"].startswith("data:"):
            assert (Path(BUILT) / "generated" / img["src"]).resolve().stat().st_size > 1000


@needs_site
def test_policy_reference_renders(tmp_path):
    page, image = render(Path(BUILT) / "generated" / "policy.html", tmp_path)
    not_blank(image)
    headings = [h.replace("¶", "").replace("#", "").strip() for h in page.headings]
    assert headings[0] == "Policy reference"
    for section in ("criterion", "weights", "rule", "kind: quantiles", "kind: kmeans"):
        assert section in headings, headings
    assert (Path(BUILT) / "policy.schema.json").exists()
