#!/usr/bin/env bash
# The wheel works where tierkit was never built: scripts/wheel.sh --reuse-build,
# then `auditwheel show` (the extension links only what its manylinux tag allows;
# Boost.Serialization is the one library bundled beside it), then, in a minimal Debian with Python and no
# Boost, Eigen, nlohmann headers or libraries and no compiler, a fresh venv
# installs the wheel from dist/ and runs the README's Python quickstart.
# The chroot is made once (debootstrap with python3 and python3-venv) and kept in
# build/wheel-chroot; its pip cache too. Needs root and debootstrap.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE/.."
REPO="$PWD"
export PATH="$PWD/.venv/bin:$PATH"
. "$HERE/lib/chroot.sh"
ROOT="$REPO/build/wheel-chroot"
STAMP="$ROOT/.tierkit-wheel-chroot-1"

t0=$(date +%s)
scripts/wheel.sh --reuse-build >/dev/null
WHEEL="$(ls dist/tierkit-*.whl)"
SDIST="$(ls dist/tierkit-*.tar.gz)"
echo "wheel: $(basename "$WHEEL"), sdist: $(basename "$SDIST") ($(( $(date +%s) - t0 ))s)"

# The platform tag: a manylinux tag that auditwheel confirms.
case "$(basename "$WHEEL")" in
  *-manylinux_*_x86_64.whl|*-manylinux_*_aarch64.whl) ;;
  *) echo "error: $(basename "$WHEEL") has no manylinux platform tag" >&2; exit 1 ;;
esac
tag="$(basename "$WHEEL" .whl)"; tag="${tag##*-}"
show="$(auditwheel show "$WHEEL")"
if ! tr '\n' ' ' <<<"$show" | grep -q "consistent with the following platform tag: \"${tag%%.*}\""; then
  echo "error: auditwheel show does not confirm $tag:" >&2; echo "$show" >&2; exit 1
fi
.venv/bin/python - "$WHEEL" <<'PY'
# The extension needs the C and C++ runtime, and libboost_serialization only as the
# copy auditwheel put in tierkit.libs/ (found through its RPATH); no Python library.
import pathlib, subprocess, sys, tempfile, zipfile
runtime = {"libstdc++.so.6", "libgcc_s.so.1", "libm.so.6", "libc.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2"}
with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(sys.argv[1]) as z:
    names = z.namelist()
    core = [n for n in names if n.startswith("tierkit/_core") and n.endswith(".so")]
    assert len(core) == 1, core
    # The type information ships too: py.typed and the extension's stubs.
    typing = {"tierkit/py.typed"} | {f"tierkit/_core/{p.name}" for p in pathlib.Path("python/tierkit/_core").glob("*.pyi")}
    if typing - set(names):
        sys.exit(f"error: the wheel lacks {sorted(typing - set(names))}")
    bundled = {pathlib.PurePath(n).name for n in names if n.startswith("tierkit.libs/") and not n.endswith("/")}
    z.extract(core[0], tmp)
    dyn = subprocess.run(["readelf", "-d", str(pathlib.Path(tmp, core[0]))], check=True, capture_output=True,
                         text=True).stdout
needed = {line.split("[", 1)[1].split("]", 1)[0] for line in dyn.splitlines() if "(NEEDED)" in line}
rpath = [line.split("[", 1)[1].split("]", 1)[0] for line in dyn.splitlines() if "(RUNPATH)" in line or "(RPATH)" in line]
extra = needed - runtime - bundled
if extra:
    sys.exit(f"error: the extension needs {sorted(extra)}, neither the C/C++ runtime nor bundled")
if not all(b.startswith("libboost_serialization") for b in bundled) or not any(
        n.startswith("libboost_serialization") for n in needed & bundled):
    sys.exit(f"error: expected libboost_serialization alone in tierkit.libs/, got {sorted(bundled)}")
if rpath != ["$ORIGIN/../tierkit.libs"]:
    sys.exit(f"error: the extension's RPATH is {rpath}, not $ORIGIN/../tierkit.libs")
print(f"extension needs: {', '.join(sorted(needed))}; bundled: {', '.join(sorted(bundled))}")
PY

trap 'chroot_unmount "$ROOT"' EXIT
if [ ! -f "$STAMP" ]; then
  echo "wheel: making the chroot $ROOT (once)"
  chroot_create "$ROOT" python3,python3-venv
  chroot_connect "$ROOT"
  touch "$STAMP"
else
  chroot_connect "$ROOT"
fi
rm -rf "$ROOT/tmp/tierkit-wheel" && mkdir -p "$ROOT/tmp/tierkit-wheel"
cp "$WHEEL" README.md "$ROOT/tmp/tierkit-wheel/"
cat >"$ROOT/tmp/tierkit-wheel/quickstart.py" <<'PY'
# The README's first Python block, then its summary checked.
import re, sys
readme = open("/tmp/tierkit-wheel/README.md", encoding="utf-8").read()
block = re.findall(r"^```python\n(.*?)^```", readme, flags=re.S | re.M)[0]
ns = {}
exec(compile(block, "README.md: python block 1", "exec"), ns)
tk = ns["tk"]
summary = tk.summary(ns["tiers"], ns["features"])
assert summary.index.tolist() == ["key", "high-value", "ordinary", "potential"], summary.index
assert summary["customers"].sum() == len(ns["features"]) == 100_000
print(f"quickstart from the wheel: tierkit {tk.__version__} at {tk.__file__}")
print(summary[["customers", "customer_share", "revenue_share"]].to_string())
PY
chroot_run "$ROOT" '
set -euo pipefail
for p in /usr/include/boost /usr/include/eigen3 /usr/include/nlohmann; do
  [ ! -e "$p" ] || { echo "error: $p exists in the clean chroot" >&2; exit 1; }
done
if ls /usr/lib/*/libboost* /usr/lib/libboost* >/dev/null 2>&1 || command -v g++ >/dev/null || command -v c++ >/dev/null; then
  echo "error: Boost or a compiler in the clean chroot" >&2; exit 1
fi
cd /tmp/tierkit-wheel
rm -rf venv && python3 -m venv venv
venv/bin/python -m pip install -q --disable-pip-version-check --only-binary=:all: ./tierkit-*.whl >pip.log 2>&1 \
  || { grep -v "^WARNING: Location" pip.log >&2; exit 1; }
venv/bin/python quickstart.py
'
echo "wheel: installed and ran the quickstart in a chroot without Boost ($(( $(date +%s) - t0 ))s in all)"
