#!/usr/bin/env bash
# make wheel: dist/tierkit-<version>.tar.gz (the sdist) and
# dist/tierkit-<version>-<python tag>-manylinux_<glibc>_<arch>.whl.
#
#   scripts/wheel.sh                the wheel is built from the sdist with build
#                                   isolation, as `pip install tierkit-*.tar.gz` would:
#                                   this checks that pyproject.toml's build requirements
#                                   and the sdist's file list are complete
#   scripts/wheel.sh --reuse-build  the wheel is built from the work tree with the
#                                   .venv's build requirements and its incremental
#                                   build folder (what the test command does: seconds
#                                   instead of a full build)
#
# `auditwheel repair` then copies the one shared library the extension needs beyond
# the C and C++ runtime, libboost_serialization, into the wheel (tierkit.libs/,
# renamed so it cannot clash with another copy, found through the extension's
# RPATH) and gives the wheel the manylinux tag its symbol versions allow: nothing at
# run time needs Boost or a Debian -dev package. (Debian's static Boost archive is
# not built as position-independent code, so it cannot be linked into the module.)
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keys on paths relative to the checkout, so every clone shares the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export PATH="$PWD/.venv/bin:$PATH"
PY=.venv/bin/python
REUSE=0
[ "${1:-}" = "--reuse-build" ] && REUSE=1
rm -rf dist build/wheel-raw
mkdir -p dist build/wheel-raw
TREE="$(mktemp -d)/tierkit"
trap 'rm -rf "$(dirname "$TREE")"' EXIT
mkdir -p "$TREE"
# The sdist is made from the files git tracks or would track (not from build/ and
# other ignored folders, which may hold large chroots).
git ls-files -z --cached --others --exclude-standard \
  | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$TREE"
if ((REUSE)); then
  $PY -m build --sdist --no-isolation --outdir dist "$TREE" >build/wheel-raw/sdist.log 2>&1
  $PY -m pip wheel -q --disable-pip-version-check --no-build-isolation --no-deps -w build/wheel-raw .
else
  # Without --sdist/--wheel, build makes the sdist, then the wheel from the unpacked sdist.
  $PY -m build --outdir build/wheel-raw "$TREE" >build/wheel-raw/build.log 2>&1 \
    || { tail -40 build/wheel-raw/build.log >&2; exit 1; }
  mv build/wheel-raw/tierkit-*.tar.gz dist/
fi
auditwheel repair -w dist build/wheel-raw/tierkit-*.whl >build/wheel-raw/repair.log 2>&1 \
  || { cat build/wheel-raw/repair.log >&2; exit 1; }
ls dist/
