#!/usr/bin/env bash
# Benchmarks: Google Benchmark (C++, release) and the side-by-side pandas comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export PATH="$PWD/.venv/bin:$PATH"
cmake -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIERKIT_BUILD_TESTS=ON -DTIERKIT_BUILD_BENCHMARKS=ON >/dev/null
cmake --build build/cpp -j 2 --target tierkit_bench
build/cpp/benchmarks/cpp/tierkit_bench --benchmark_min_time=0.1 "$@"
.venv/bin/python benchmarks/python/compare_pandas.py
.venv/bin/python benchmarks/python/compare_sklearn_kmeans.py
# The side-by-side table (pandas, polars, DuckDB, scikit-learn, lifetimes): the
# peers are the pyproject "bench" extras.
.venv/bin/python -m pip install -q "polars>=0.20" "duckdb>=0.9"
.venv/bin/python benchmarks/compare.py
