#!/usr/bin/env bash
# The whole C++ suite under ThreadSanitizer (`make tsan`). Build directory: TSAN_DIR
# (default build/tsan). Any data race fails the run (halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
DIR="${TSAN_DIR:-build/tsan}"
CMAKE=.venv/bin/cmake
export PATH="$PWD/.venv/bin:$PATH"
$CMAKE -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIERKIT_TSAN=ON \
  -DTIERKIT_BUILD_TESTS=ON -DTIERKIT_BUILD_BENCHMARKS=OFF >/dev/null
$CMAKE --build "$DIR" -j "${JOBS:-2}"
start=$(date +%s)
(cd "$DIR" && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --output-on-failure -j "${JOBS:-2}")
echo "tsan: C++ suite passed in $(( $(date +%s) - start )) s"
