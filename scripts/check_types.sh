#!/usr/bin/env bash
# Static types: mypy --strict over python/tierkit (settings in pyproject.toml's
# [tool.mypy]) and stubtest of the installed extension tierkit._core against its
# stubs (python/tierkit/_core/*.pyi; allowed differences in scripts/stubtest_allowlist.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

echo "-- mypy --strict python/tierkit"
$PY -m mypy

# stubtest imports the installed package: its stubs must be the ones in the tree.
installed=$($PY -c "import os, tierkit; print(os.path.dirname(tierkit.__file__))")
if ! diff -r -x __pycache__ python/tierkit/_core "$installed/_core" >/dev/null; then
  echo "error: the installed tierkit has other _core stubs than python/tierkit/_core; reinstall it:" >&2
  echo "  $PY -m pip install --no-build-isolation --no-deps ." >&2
  exit 1
fi
echo "-- stubtest tierkit._core"
$PY -m mypy.stubtest tierkit._core --allowlist scripts/stubtest_allowlist.txt
