#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) and run each for FUZZ_SECONDS
# (default 25; `make fuzz` runs 600). Inputs that crash are written to the build directory (FUZZ_DIR, default build/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
SECONDS_EACH="${FUZZ_SECONDS:-25}"
DIR="${FUZZ_DIR:-build/fuzz}"
CMAKE=.venv/bin/cmake
export PATH="$PWD/.venv/bin:$PATH"
$CMAKE -S . -B "$DIR" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTIERKIT_SANITIZE=ON -DTIERKIT_BUILD_FUZZERS=ON -DTIERKIT_BUILD_TESTS=OFF -DTIERKIT_BUILD_BENCHMARKS=OFF >/dev/null
$CMAKE --build "$DIR" -j "${JOBS:-2}"
ROOT="$PWD"
for exe in "$DIR"/fuzz_*; do
  [ -x "$exe" ] || continue
  name="$(basename "$exe")"; area="${name#fuzz_}"
  mkdir -p "$DIR/corpus-$area"
  dict=(); [ -f "tests/fuzz/$area.dict" ] && dict=(-dict="$ROOT/tests/fuzz/$area.dict")
  # Model files are larger than expressions: the golden seeds go up to ~40 kB.
  max_len=512; leaks=1
  [ "$area" = policy ] && max_len=4096
  [ "$area" = model_policy ] && max_len=4096
  # Boost 1.74 does not free an object loaded through a pointer when its own load
  # throws (pointer_iserializer::load_object_ptr): a corrupt nested rule leaks a few
  # hundred bytes per failed load. Leak checks would stop the loader's fuzzer there.
  [ "$area" = model_io ] && max_len=65536 && leaks=0
  echo "fuzz: $name for ${SECONDS_EACH}s"
  case "$DIR" in /*) log="$DIR/$name.log" ;; *) log="$ROOT/$DIR/$name.log" ;; esac
  if ! (cd "$DIR" && ASAN_OPTIONS=detect_leaks="$leaks" "./$name" -max_total_time="$SECONDS_EACH" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -detect_leaks="$leaks" \
      -print_final_stats=1 "${dict[@]}" "corpus-$area" "$ROOT/tests/fuzz/corpus/$area" >"$log" 2>&1); then
    # The report names the input it wrote (crash-*, leak-*, timeout-*) in $DIR.
    echo "fuzz: $name found a failing input; its report ($log):"
    grep -v '^#[0-9]' "$log" | tail -60
    exit 1
  fi
  tail -3 "$log"
done
