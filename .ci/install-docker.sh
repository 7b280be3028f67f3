#!/usr/bin/env bash
# Installs and starts a real Docker engine and docker compose v2 on a Debian bookworm machine
# (see DESIGN.md §6): the engine packages come from Debian's trixie suite, pinned low so nothing
# else is upgraded. Idempotent: does nothing when a daemon already answers.
set -euo pipefail

if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  echo "docker engine already running: $(docker version --format '{{.Server.Version}}')"
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if ! command -v dockerd >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
  "$(dirname "$0")/trixie-source.sh"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    docker.io/trixie docker-cli/trixie docker-compose/trixie >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  # A daemon that is still exiting holds /var/run/docker.pid; retry for a while.
  for attempt in 1 2 3 4 5; do
    $SUDO sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break 2
      sleep 0.5
    done
    echo "dockerd did not answer (attempt $attempt); log tail:" >&2
    tail -5 /var/log/dockerd.log >&2 || true
  done
fi

docker info >/dev/null
echo "docker engine $(docker version --format '{{.Server.Version}}') (API $(docker version --format '{{.Server.APIVersion}}')), $(docker compose version)"
