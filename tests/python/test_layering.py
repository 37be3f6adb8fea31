"""scripts/check_layering.py: passes on the tree, fails on each planted violation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_layering.py"


def run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True)


def test_the_tree_keeps_its_layers():
    done = run(ROOT)
    assert done.returncode == 0, done.stderr
    assert "layering: ok" in done.stdout


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def clean_tree(tmp_path: Path) -> Path:
    """A small tree in tierkit's shape that keeps every layer."""
    write(tmp_path, "include/tierkit/core/parallel.hpp", "#pragma once\n#include <thread>\n")
    write(tmp_path, "include/tierkit/core/error.hpp", '#pragma once\n#include "tierkit/core/parallel.hpp"\n')
    write(tmp_path, "include/tierkit/model.hpp", '#pragma once\n#include "tierkit/core/error.hpp"\n')
    write(tmp_path, "include/tierkit/io/archives.hpp", "#pragma once\n#include <boost/archive/text_oarchive.hpp>\n")
    write(tmp_path, "include/tierkit/rules/rule.hpp", '#pragma once\n#include "tierkit/core/parallel.hpp"\n')
    write(tmp_path, "src/io.cpp", '#include "tierkit/io/archives.hpp"\n#include "tierkit/model.hpp"\n')
    write(
        tmp_path,
        "bindings/module.cpp",
        '#include <pybind11/pybind11.h>\n#include "tierkit/model.hpp"\nvoid f() { py::module_::import("builtins"); }\n',
    )
    return tmp_path


def test_a_clean_tree_passes(clean_tree: Path):
    done = run(clean_tree)
    assert done.returncode == 0, done.stderr


def test_a_registering_rule_cpp_may_include_the_archives(clean_tree: Path):
    write(
        clean_tree,
        "src/rules/builtin/abc.cpp",
        '#include "tierkit/io/archives.hpp"\n#include "tierkit/rules/register.hpp"\n'
        'TIERKIT_REGISTER_RULE(tierkit::AbcRule, "abc")\n',
    )
    write(
        clean_tree,
        "src/rules/builtin/group_by.cpp",
        '#include "tierkit/io/archives.hpp"\nTIERKIT_EXPORT_RULE(tierkit::GroupedRule, "grouped")\n',
    )
    done = run(clean_tree)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "rel, text, message",
    [
        ("src/scorer.cpp", "#include <pybind11/numpy.h>\n", "core includes Python or the bindings: pybind11/numpy.h"),
        ("include/tierkit/model.hpp", "#include <Python.h>\n", "core includes Python or the bindings: Python.h"),
        ("src/model.cpp", '#include "../bindings/common.hpp"\n', "core includes Python or the bindings"),
        ("include/tierkit/rules/builtin/abc.hpp", '#include "tierkit/io/archives.hpp"\n', "rule includes io/"),
        # a rule .cpp that registers nothing has no reason to include the archives
        ("src/rules/builtin/abc.cpp", '#include "tierkit/io/archives.hpp"\n', "rule includes io/"),
        # a registering .cpp may include io/archives.hpp, and no other io/ header
        (
            "src/rules/builtin/quantiles.cpp",
            '#include "tierkit/io/model_file.hpp"\nTIERKIT_REGISTER_RULE(tierkit::QuantileRule, "quantiles")\n',
            "rule includes io/: tierkit/io/model_file.hpp",
        ),
        # a rule header never does, even one that holds the macro
        (
            "include/tierkit/rules/builtin/chain.hpp",
            '#include "tierkit/io/archives.hpp"\nTIERKIT_REGISTER_RULE(tierkit::ChainRule, "chain")\n',
            "rule includes io/",
        ),
        (
            "include/tierkit/core/random.hpp",
            '#include "tierkit/model.hpp"\n',
            "a lower part (core/, table) includes the engine: tierkit/model.hpp",
        ),
        (
            "include/tierkit/core/error.hpp",
            '#include "tierkit/rules/rule.hpp"\n',
            "a lower part (core/, table) includes the engine",
        ),
        (
            "src/core/envelope.cpp",
            '#include "tierkit/io/archives.hpp"\n',
            "a lower part (core/, table) includes the engine",
        ),
        (
            "bindings/register_rules.cpp",
            'auto f = py::module_::import("tierkit._callable");\n',
            "bindings import the Python package: tierkit._callable",
        ),
        (
            "include/tierkit/serve.hpp",
            "#include <nlohmann/json_fwd.hpp>\n",
            "the serving header reaches a Boost, Eigen or JSON header: nlohmann/json_fwd.hpp",
        ),
    ],
)
def test_a_planted_violation_fails(clean_tree: Path, rel: str, text: str, message: str):
    write(clean_tree, "bindings/common.hpp", "#pragma once\n")
    write(clean_tree, rel, text)
    done = run(clean_tree)
    assert done.returncode == 1
    assert f"{rel}:1: {message}" in done.stderr
    assert "layering: 1 violation(s)" in done.stderr


def test_the_serving_header_reaches_no_boost_through_another_header(clean_tree: Path):
    write(clean_tree, "include/tierkit/serve.hpp", '#pragma once\n#include "tierkit/model.hpp"\n')
    assert run(clean_tree).returncode == 0
    write(clean_tree, "include/tierkit/model.hpp", '#pragma once\n#include "tierkit/io/archives.hpp"\n')
    done = run(clean_tree)
    assert done.returncode == 1
    assert (
        "include/tierkit/io/archives.hpp:2: the serving header reaches a Boost, Eigen or JSON header: "
        "boost/archive/text_oarchive.hpp (via include/tierkit/serve.hpp -> include/tierkit/model.hpp -> "
        "include/tierkit/io/archives.hpp)" in done.stderr
    )
