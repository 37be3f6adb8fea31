#!/usr/bin/env bash
# Every test: lint and format, the C++ suite (release), the C++ suite under ASan+UBSan, the static types, and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
JOBS="${JOBS:-2}"
CMAKE=.venv/bin/cmake
export PATH="$PWD/.venv/bin:$PATH"

# The build trees, the venv and the wheel's chroot take about NEED_GB; say so before a build fails half-way.
NEED_GB=8
free_gb=$(df -Pk . | awk 'NR==2 {print int($4 / 1048576)}')
if [ "$free_gb" -lt "$NEED_GB" ]; then
  echo "warning: ${free_gb} GB free where the tests run; a full run needs about ${NEED_GB} GB" >&2
fi

echo "== layering: core without Python, rules without io/, core/ below the engine, bindings without the package"
.venv/bin/python scripts/check_layering.py

echo "== lint and format: ruff, clang-format, clang-tidy"
t0=$SECONDS
scripts/lint.sh
echo "   (lint step $((SECONDS - t0))s)"

echo "== C++ tests (release)"
# The C++ library and its tests need no Python: pybind11 and Python may not be looked for.
$CMAKE -S . -B build/cpp -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIERKIT_BUILD_TESTS=ON -DTIERKIT_BUILD_BENCHMARKS=ON \
  -DTIERKIT_BUILD_PYTHON=OFF -DCMAKE_DISABLE_FIND_PACKAGE_pybind11=ON -DCMAKE_DISABLE_FIND_PACKAGE_Python=ON >/dev/null
$CMAKE --build build/cpp -j "$JOBS"
(cd build/cpp && ctest --output-on-failure -j "$JOBS")

echo "== C++ host: cmake --install, then find_package(tierkit) from examples/cpp_host and examples/quickstart"
rm -rf build/install build/host build/quickstart
$CMAKE --install build/cpp --prefix build/install >/dev/null
$CMAKE -S examples/cpp_host -B build/host -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null
$CMAKE --build build/host
build/host/tierkit_host tests/data/golden/kmeans.text.tkm tests/data/golden/features.csv >/dev/null
build/host/tierkit_host tests/data/golden/kmeans.text.tkm tests/data/golden/features.csv --one >/dev/null
# The host includes only tierkit/serve.hpp: no Boost, Eigen or JSON header reaches it.
if ninja -C build/host -t deps | grep -E "/(boost|eigen3|nlohmann)/"; then
  echo "error: examples/cpp_host (tierkit/serve.hpp) includes a Boost, Eigen or JSON header" >&2
  exit 1
fi
# The README's C++ quickstart is examples/quickstart/main.cpp; it runs and prints what it should.
.venv/bin/python - <<'EOF'
import pathlib, re, sys
section = pathlib.Path("README.md").read_text().split("\n## C++\n", 1)[1].split("\n## ", 1)[0]
if pathlib.Path("examples/quickstart/main.cpp").read_text() not in re.findall(r"```cpp\n(.*?)```", section, re.S):
    sys.exit("error: the README's C++ program differs from examples/quickstart/main.cpp")
EOF
$CMAKE -S examples/quickstart -B build/quickstart -G Ninja -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null
$CMAKE --build build/quickstart
build/quickstart/tierkit_quickstart | diff -u examples/quickstart/expected_output.txt -
# tests/python/test_cpp_host.py runs the host on models saved by Python.
export TIERKIT_CPP_HOST="$PWD/build/host/tierkit_host"

echo "== C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer"
# Line tables only (-g1): sanitizer reports keep file and line, and the tree stays near 1 GB instead of 6 GB.
$CMAKE -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DTIERKIT_SANITIZE=ON -DTIERKIT_BUILD_TESTS=ON -DTIERKIT_BUILD_BENCHMARKS=OFF >/dev/null
$CMAKE --build build/asan -j "$JOBS"
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$JOBS")

echo "== fuzz targets, briefly (make fuzz runs them for 10 minutes each)"
scripts/fuzz.sh

echo "== types: mypy --strict on python/tierkit, stubtest on tierkit._core"
scripts/check_types.sh

echo "== Python tests"
.venv/bin/python -m pytest tests/python --doctest-modules --pyargs tierkit -q

echo "== wheel: auditwheel's manylinux tag, installed into a fresh venv in a Debian without Boost, README quickstart"
t0=$SECONDS
scripts/check_wheel.sh
echo "   (${SECONDS}s in all, wheel step $((SECONDS - t0))s)"

echo "== docs: the Sphinx site with warnings as errors, rendered in headless Chromium"
t0=$SECONDS
scripts/docs.sh
echo "   (docs step $((SECONDS - t0))s)"

echo "== disk: build/ $(du -sh build | cut -f1), .venv/ $(du -sh .venv | cut -f1)"
