"""Every example in the tested guide pages (docs/guide/rules.md, criteria.md,
lifecycle.md) runs: the fenced python blocks of a page in order, in one namespace,
then every fenced json block as a policy fitted and assigned on the page's
``features``. The other guide pages (clv, features, model files, ...) show
snippets that assume the reader's own data, so they are not run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tierkit as tk

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
TESTED = ("criteria.md", "lifecycle.md", "rules.md")
PAGES = [GUIDE / name for name in TESTED]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text(encoding="utf-8")) if lang == language]


def test_the_guide_has_its_pages():
    assert {p.name for p in GUIDE.glob("*.md")} >= set(TESTED)


def test_every_rule_kind_has_a_section_and_examples():
    text = (GUIDE / "rules.md").read_text(encoding="utf-8")
    kinds = set(tk._core.model.rule_kinds()) | {"group_by"}
    for kind in kinds:
        assert f"\n## {kind}\n" in text, kind
        section = text.split(f"\n## {kind}\n", 1)[1].split("\n## ", 1)[0]
        assert "```python" in section or "```json" in section, kind


def test_every_criterion_option_is_documented():
    text = (GUIDE / "criteria.md").read_text(encoding="utf-8")
    for word in (
        "`column`",
        "`direction`",
        "`transform`",
        "`clip`",
        "`normalizer`",
        "`bins`",
        "`weight`",
        "`minmax`",
        "`zscore`",
        "`robust`",
        "`percentile`",
        "`manual`",
        "`ahp`",
        "`entropy`",
        "`critic`",
        "`combined`",
        "`topsis`",
        "`weighted_sum`",
        "`order`",
        "`values`",
        "`unknown`",
        "`missing`",
        "`reject`",
        "`worst`",
        "`median`",
        "`zero`",
    ):
        assert word in text, word


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_run(page: Path):
    namespace: dict = {"__name__": f"guide_{page.stem}"}
    code = blocks(page, "python")
    assert code, f"{page.name}: no python example"
    for k, body in enumerate(code):
        try:
            exec(compile(body, f"{page.name}[python {k}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{page.name}, python block {k} failed: {exc!r}\n{body}") from exc
    features = namespace["features"]
    for k, body in enumerate(blocks(page, "json")):
        policy = tk.Policy(json.loads(body))
        tiers = tk.fit(policy, features, progress=False).assign(features)
        assert len(tiers) == len(features), f"{page.name}, json block {k}"
        assert set(tiers["tier"].cat.categories) == set(policy.tier_names)


def test_readme_links_the_guide():
    readme = (GUIDE.parents[1] / "README.md").read_text(encoding="utf-8")
    for page in ("docs/guide/rules.md", "docs/guide/criteria.md", "docs/guide/lifecycle.md"):
        assert page in readme
