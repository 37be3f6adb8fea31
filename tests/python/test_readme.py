"""The README's code runs: its Python blocks are executed, its C++ lines are the
example host's (which the test command builds and runs)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot

import matplotlib.pyplot as plt
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def test_python_quickstart_runs(tmp_path, monkeypatch):
    """The first block is the quickstart; the others continue it in one namespace."""
    python = blocks("python")
    assert len(python) >= 2
    assert python[0].startswith("import tierkit as tk")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        exec(compile(python[0], "README.md: python block 1", "exec"), namespace)
        summary = namespace["tk"].summary(namespace["tiers"], namespace["features"])
        assert summary.index.tolist() == ["key", "high-value", "ordinary", "potential"]
        assert summary["customers"].sum() == len(namespace["features"])
        for k, code in enumerate(python[1:], start=2):
            exec(compile(code, f"README.md: python block {k}", "exec"), namespace)
    finally:
        plt.close("all")
    assert (tmp_path / "tiers.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert set(namespace["rfm"]["segment"].cat.categories) >= {"Champions", "Lost"}
    tiers_pl = namespace["tiers_pl"]
    assert tiers_pl["tier"].to_list() == namespace["tiers"]["tier"].astype(str).tolist()
    assert isinstance(namespace["tiers"], pd.DataFrame)


def test_two_commands_section_is_intact():
    assert "./scripts/demo   # the whole flow" in README
    assert "./scripts/test   # every test" in README
    # .ci/run runs the README's test command
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8").split("\n")[-2]


def code_lines(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.split("//", 1)[0].strip()
        if line:
            out.append(" ".join(line.split()))
    return out


def test_cpp_quickstart_is_the_tested_host():
    cpp = blocks("cpp")
    assert cpp, "README has no C++ block"
    host = code_lines((ROOT / "examples" / "quickstart" / "main.cpp").read_text(encoding="utf-8"))
    missing = [line for line in code_lines(cpp[0]) if line not in host]
    if missing:
        pytest.fail(f"README C++ lines not in examples/quickstart/main.cpp (copy them from there): {missing}")


def public_callables():
    import inspect

    import tierkit as tk
    import tierkit.sklearn

    for module in (tk.plot, tk.progress, tierkit.sklearn):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj
                for attr, member in vars(obj).items():
                    if callable(member) and not attr.startswith("_"):
                        yield f"{module.__name__}.{name}.{attr}", member
            elif callable(obj):
                yield f"{module.__name__}.{name}", obj
    yield "tierkit.report", tk.report


@pytest.mark.parametrize("name,obj", list(public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_help_shows_an_example(name, obj):
    """help() on every public function of the notebook modules shows an example
    (the doctests run them)."""
    doc = obj.__doc__ or ""
    assert ">>> " in doc, f"{name}: no example in its docstring"
