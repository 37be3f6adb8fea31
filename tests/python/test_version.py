"""The version is written once (CMakeLists.txt); everything else reads it."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

import tierkit as tk

ROOT = Path(__file__).resolve().parents[2]


def cmake_version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"project\(tierkit\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", text)
    assert m, "CMakeLists.txt has no project(tierkit VERSION x.y.z)"
    return m.group(1)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_pyproject_reads_the_version_from_cmake():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    provider = pyproject["tool"]["scikit-build"]["metadata"]["version"]
    assert provider["provider"] == "scikit_build_core.metadata.regex"
    assert provider["input"] == "CMakeLists.txt"
    m = re.search(provider["regex"], (ROOT / provider["input"]).read_text(), re.MULTILINE)
    assert m and m.group("value") == cmake_version()


def test_every_version_agrees():
    version = cmake_version()
    assert tk.__version__ == version
    assert tk._core.__version__ == version  # the C++ constant tierkit::version
    assert metadata.version("tierkit") == version  # the installed distribution


def test_no_other_copy_of_the_version():
    # Only CMakeLists.txt writes it; golden-file notes and recorded outputs may name
    # the version that wrote them.
    version = cmake_version()
    pattern = re.compile(r"(?<![0-9.])" + re.escape(version) + r"(?![0-9])")
    allowed = {"CMakeLists.txt", "tests/data/golden/README.md", "examples/quickstart.ipynb"}
    # Build outputs (the docs site, its generated pages) name the version they were built with.
    built = ("docs/_build/", "docs/generated/", "docs/api/generated/")
    found = []
    for sub in ("include", "src", "bindings", "python", "cmake", "pyproject.toml", "README.md", "docs"):
        base = ROOT / sub
        files = [base] if base.is_file() else (base.rglob("*") if base.is_dir() else [])
        for f in files:
            if not f.is_file() or f.suffix in {".so", ".pyc"} or "__pycache__" in f.parts:
                continue
            rel = f.relative_to(ROOT).as_posix()
            if rel in allowed or rel.startswith(built):
                continue
            try:
                if pattern.search(f.read_text(errors="ignore")):
                    found.append(rel)
            except OSError:
                continue
    assert found == []
