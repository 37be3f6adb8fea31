#!/usr/bin/env bash
# Tries the README's commands as a new user would: on a bare Debian bookworm made
# by `debootstrap --variant=minbase`, as root, with the repository cloned and
# nothing else installed. Needs root and debootstrap (apt-get install debootstrap).
#
#   scripts/check_bare_debian.sh                  # ./scripts/demo, then ./scripts/test
#   scripts/check_bare_debian.sh ./scripts/demo   # only the first command
#   scripts/check_bare_debian.sh --rev main~3 --preinstall "make python3-venv python3-dev" "make demo"
#
# The chroot gets this machine's apt sources, pip configuration and CA
# certificates (so it reaches the same package registries) and nothing else.
# The clone is the committed HEAD (or --rev) plus, for HEAD, the uncommitted
# changes of the work tree. Each command is timed, and the chroot's disk use is
# printed before and after it. The chroot is build/bare-debian (removed at the
# start of the next run; --keep leaves its mounts for inspection until then).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# TIERKIT_REPO: the repository to clone when this script runs from a copy (bash
# reads a script as it goes: run a copy while editing the original).
REPO="${TIERKIT_REPO:-$(dirname "$HERE")}"
cd "$REPO"
ROOT="$REPO/build/bare-debian"
REV=HEAD
PREINSTALL=""
KEEP=0
while (($#)); do
  case "$1" in
    --rev) REV="$2"; shift 2 ;;
    --preinstall) PREINSTALL="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --root) ROOT="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
COMMANDS=("$@")
((${#COMMANDS[@]})) || COMMANDS=("./scripts/demo" "./scripts/test")

[ "$(id -u)" -eq 0 ] || { echo "check_bare_debian: run as root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "check_bare_debian: apt-get install debootstrap" >&2; exit 1; }

. "$HERE/lib/chroot.sh"
cleanup() { ((KEEP)) || chroot_unmount "$ROOT"; }
trap cleanup EXIT

echo "== debootstrap --variant=minbase $CHROOT_SUITE into $ROOT"
t0=$(date +%s)
chroot_create "$ROOT"
echo "   $(( $(date +%s) - t0 ))s"
chroot_connect "$ROOT"

echo "== clone $REV into /root/tierkit"
git clone -q --no-hardlinks "$REPO" "$ROOT/root/tierkit"
git -C "$ROOT/root/tierkit" checkout -q "$(git rev-parse "$REV")"
if [ "$REV" = HEAD ] && ! git diff --quiet HEAD; then
  git diff HEAD --binary | git -C "$ROOT/root/tierkit" apply --whitespace=nowarn
  echo "   with the work tree's uncommitted changes"
fi
if [ "$REV" = HEAD ]; then
  git ls-files --others --exclude-standard -z | xargs -0 -r -I{} cp --parents {} "$ROOT/root/tierkit/"
fi

if [ -n "$PREINSTALL" ]; then
  echo "== installed by hand first: $PREINSTALL"
  chroot_run "$ROOT" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PREINSTALL >/dev/null"
fi

disk() { du -sxm "$ROOT" 2>/dev/null | cut -f1; }
status=0
for cmd in "${COMMANDS[@]}"; do
  before=$(disk)
  echo "== $cmd   (chroot: ${before} MiB)"
  t0=$(date +%s)
  if chroot_run "$ROOT" "cd /root/tierkit && $cmd"; then rc=0; else rc=$?; fi
  secs=$(( $(date +%s) - t0 ))
  after=$(disk)
  echo "== $cmd: exit $rc in $((secs / 60))m$((secs % 60))s; chroot ${before} -> ${after} MiB (+$((after - before)) MiB)"
  if ((rc)); then status=$rc; break; fi
done
exit $status
