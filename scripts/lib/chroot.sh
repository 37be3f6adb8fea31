# Sourced by scripts/check_bare_debian.sh and scripts/check_wheel.sh: a minimal
# Debian bookworm (debootstrap --variant=minbase) that reaches the same package
# registries as this machine, and nothing else of it.
#
#   chroot_create ROOT [PKG,PKG...]  debootstrap into ROOT (removed first), with
#                             those packages (and their dependencies) included
#   chroot_connect ROOT       apt sources, pip configuration (and the local folders
#                             it names, read-only), CA certificates, DNS; mounts
#                             /proc, /dev, /dev/pts, /dev/shm
#   chroot_run ROOT COMMAND   COMMAND in bash inside ROOT with a clean environment
#   chroot_unmount ROOT       every mount below ROOT, deepest first

CHROOT_SUITE=bookworm
CHROOT_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

chroot_unmount() {
  local root m
  [ -d "$1" ] || return 0
  root="$(realpath "$1")"
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

chroot_create() {
  local root="$1" include=() cache
  [ -n "${2:-}" ] && include=(--include="$2")
  cache="$(dirname "$root")/debootstrap-cache"
  chroot_unmount "$root"
  rm -rf "$root"
  mkdir -p "$root" "$cache"
  debootstrap --variant=minbase "${include[@]}" --cache-dir="$cache" "$CHROOT_SUITE" "$root" "$CHROOT_MIRROR" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; return 1; }
  # debootstrap may leave its own /proc mount behind.
  chroot_unmount "$root"
}

chroot_connect() {
  local root="$1" f p top
  # The machine's sources replace debootstrap's (which would list the mirror twice).
  [ -f /etc/apt/sources.list ] || rm -f "$root/etc/apt/sources.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && install -D -m 644 "$f" "$root$f"
  done
  for f in /usr/share/keyrings/*.gpg; do
    [ -f "$f" ] && [ ! -f "$root$f" ] && install -D -m 644 "$f" "$root$f"
  done
  local configs=()
  for f in /etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf" "${PIP_CONFIG_FILE:-}"; do
    [ -n "$f" ] && [ -f "$f" ] || continue
    case "$f" in
      "$HOME"/*) install -D -m 644 "$f" "$root/root${f#"$HOME"}" ;;
      *) install -D -m 644 "$f" "$root/etc/pip.conf" ;;
    esac
    configs+=("$f")
  done
  # Local package folders that the pip configuration names (find-links, file:// indexes).
  if ((${#configs[@]})); then
    grep -hoE '(file://)?/[^ ,]+' "${configs[@]}" | sed 's|^file://||' | while read -r p; do
      case "$p" in /etc/*|/usr/*|/root/*) continue ;; esac
      top="/$(echo "$p" | cut -d/ -f2-3)"
      if [ -d "$top" ] && ! mountpoint -q "$root$top"; then
        mkdir -p "$root$top" && mount --bind "$top" "$root$top" && mount -o remount,bind,ro "$root$top" 2>/dev/null || true
      fi
    done
  fi
  install -D -m 644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  # Every installed Debian and every container has an /etc/hosts naming localhost (the
  # installer or the container runtime writes it); debootstrap leaves it out.
  [ -e "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
  mountpoint -q "$root/dev/pts" || mount --bind /dev/pts "$root/dev/pts" 2>/dev/null || true
  mountpoint -q "$root/dev/shm" || mount -t tmpfs tmpfs "$root/dev/shm" 2>/dev/null || true
}

chroot_run() {
  chroot "$1" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c "$2"
}
