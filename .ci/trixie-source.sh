#!/usr/bin/env bash
# Adds Debian 13 (trixie) as a package source pinned low (priority 100), so that only packages asked
# for by name in the pkg/trixie form, or found nowhere else (python3-moto, kustomize,
# postgresql-17-pgvector), come from it; everything else, libc included, stays bookworm's.
# Idempotent. Sourced or run by install-docker.sh and build-test-images.sh.
set -euo pipefail

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ -f /etc/apt/sources.list.d/trixie.sources ] || [ -f /etc/apt/sources.list.d/trixie.list ]; then
  exit 0
fi
if grep -qs '^VERSION_CODENAME=trixie' /etc/os-release; then
  exit 0 # already Debian 13
fi
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  # deb822 format (Debian 12 images): copy the main stanzas, suite renamed.
  awk -v RS= -v ORS='\n\n' '!/security/' /etc/apt/sources.list.d/debian.sources \
    | sed 's/^Suites:.*/Suites: trixie/' | $SUDO tee /etc/apt/sources.list.d/trixie.sources >/dev/null
else
  # One-line format (/etc/apt/sources.list): the mirror of its first non-security deb line.
  # (no .list file, or no match, is no error: the default mirror is used)
  mirror=$({ grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
    | { grep -v security || true; } | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
  echo "deb ${mirror:-http://deb.debian.org/debian} trixie main" | $SUDO tee /etc/apt/sources.list.d/trixie.list >/dev/null
fi
printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/trixie >/dev/null
