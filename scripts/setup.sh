#!/usr/bin/env bash
# Installs everything tierkit needs on a fresh Debian machine (run as root), and
# builds the Python package into .venv. Idempotent: a second run only rebuilds
# what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(g++ make ccache libeigen3-dev libboost-serialization-dev libboost-math-dev nlohmann-json3-dev
              libgtest-dev libgmock-dev libbenchmark-dev liblbfgspp-dev
              clang libclang-rt-14-dev  # libFuzzer for the parser fuzz targets
              chromium)  # chromium: the HTML report test renders the report headless
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Java for the PySpark tests (tierkit.spark runs in local mode); any java on PATH will do.
if ! command -v java >/dev/null 2>&1; then
  echo "setup: installing openjdk-17-jre-headless (for PySpark)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
# Build requirements live in the venv so the incremental build folder stays valid
# between runs (an isolated build would point CMake at a temporary folder).
.venv/bin/python -m pip install -q --disable-pip-version-check \
  "scikit-build-core>=0.10" "pybind11>=2.13" "cmake>=3.20" ninja \
  "numpy>=1.23" "pandas>=1.5" "pytest>=7" "hypothesis>=6" pyarrow \
  "scikit-learn>=1.6" "matplotlib>=3.9" tqdm "polars>=1.0" nbclient nbformat ipykernel \
  "dask[dataframe]>=2025.1" "distributed>=2025.1" "pyspark>=4.0" cloudpickle \
  duckdb lifetimes  # peers: DuckDB for benchmarks/compare.py, lifetimes for the CLV tests
echo "setup: building the tierkit Python package"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps .
