#!/usr/bin/env bash
# Builds the images the integration tests run, locally: no registry is reachable, nothing is pulled,
# and installs tmux, which the terminal tests drive. stackctl-test/busybox:1 is a root filesystem
# holding Debian's static busybox and its applets. Idempotent; the test set-up runs it too.
set -euo pipefail

IMAGE=stackctl-test/busybox:1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
updated=""
install() {
  [ -n "$updated" ] || { $SUDO apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# The terminal tests drive stackctl on real pseudo-terminals through tmux.
command -v tmux >/dev/null 2>&1 || install tmux

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already built"
  exit 0
fi

[ -x /bin/busybox ] || install busybox-static

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/var/www"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'ok' > "$rootfs/var/www/index.html"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' \
  -c 'LABEL io.stackctl.test-image=true' - "$IMAGE" >/dev/null
echo "built $IMAGE"
