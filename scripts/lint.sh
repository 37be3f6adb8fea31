#!/usr/bin/env bash
# Lint and format checks, run by scripts/test.sh: ruff (lint and format) on the
# Python code, clang-format on the C++ code, clang-tidy (.clang-tidy's checks) on
# src/ and the include/ headers it reaches. `scripts/lint.sh --fix` rewrites what
# ruff and clang-format can fix, then checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# ninja and cmake come from the venv (scripts/setup.sh), as in scripts/test.sh.
export PATH="$PWD/.venv/bin:$PATH"
JOBS="${JOBS:-2}"
FIX=0
[ "${1:-}" = "--fix" ] && FIX=1
mapfile -t CXX < <(git ls-files '*.cpp' '*.hpp' '*.h' | grep -v '^tests/data/')

if ((FIX)); then
  .venv/bin/ruff check --fix --quiet . || true
  .venv/bin/ruff format --quiet .
  clang-format -i "${CXX[@]}"
fi

echo "-- ruff check"
.venv/bin/ruff check --quiet .
echo "-- ruff format --check"
.venv/bin/ruff format --check --quiet .
echo "-- clang-format ($(clang-format --version | grep -o 'version [0-9.]*'), ${#CXX[@]} files)"
clang-format --dry-run -Werror "${CXX[@]}"
echo "-- clang-tidy"
.venv/bin/cmake -S . -B build/tidy -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DTIERKIT_BUILD_TESTS=OFF -DTIERKIT_BUILD_BENCHMARKS=OFF -DTIERKIT_BUILD_PYTHON=OFF >/dev/null
run-clang-tidy -p build/tidy -j "$JOBS" -quiet "$PWD/src/.*" >build/tidy/report.txt 2>&1 || {
  sed 's/\x1b\[[0-9;]*m//g' build/tidy/report.txt | grep -E "(error|warning):" | sort -u >&2
  echo "clang-tidy: the findings above (full output: build/tidy/report.txt)" >&2
  exit 1
}
