#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) and run each for FUZZ_SECONDS
# (default 20; `make fuzz` runs 600). Inputs that crash are written to build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-20}"
CMAKE=.venv/bin/cmake
export PATH="$PWD/.venv/bin:$PATH"
$CMAKE -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTIERKIT_SANITIZE=ON -DTIERKIT_BUILD_FUZZERS=ON -DTIERKIT_BUILD_TESTS=OFF -DTIERKIT_BUILD_BENCHMARKS=OFF >/dev/null
$CMAKE --build build/fuzz -j "${JOBS:-2}"
for exe in build/fuzz/fuzz_*; do
  [ -x "$exe" ] || continue
  name="$(basename "$exe")"; area="${name#fuzz_}"
  mkdir -p "build/fuzz/corpus-$area"
  dict=(); [ -f "tests/fuzz/$area.dict" ] && dict=(-dict="tests/fuzz/$area.dict")
  echo "fuzz: $name for ${SECONDS_EACH}s"
  (cd build/fuzz && "./$name" -max_total_time="$SECONDS_EACH" -max_len=512 -print_final_stats=1 "${dict[@]/#-dict=/-dict=$PWD/../../}" \
      "corpus-$area" "../../tests/fuzz/corpus/$area" 2>&1 | tail -3)
done
