#!/usr/bin/env bash
# Builds the images the integration tests run, locally: no registry is reachable, nothing is pulled,
# and installs tmux, which the terminal tests drive. stackctl-test/busybox:1 is a root filesystem
# holding Debian's static busybox and its applets; stackctl-test/postgres:3 and stackctl-test/redis:2
# are real PostgreSQL and Redis, stackctl-test/postgres-vector:1 PostgreSQL 17 with pgvector (Debian
# 13's packages), stackctl-test/nginx:1 real nginx, stackctl-test/prometheus:1 real Prometheus,
# stackctl-test/exporters:1 the node, PostgreSQL and Redis exporters, stackctl-test/jmeter:1 JMeter,
# from debootstrap roots of Debian's packages. Idempotent; the test set-up runs it too. Also
# installs moto, the S3 server the backup tests use.
set -euo pipefail

IMAGE=stackctl-test/busybox:1
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
updated=""
install() {
  # Some test tools are only in Debian 13 (moto); its source is added pinned low, as for the engine.
  "$(dirname "$0")/trixie-source.sh"
  [ -n "$updated" ] || { $SUDO apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# The terminal tests drive stackctl on real pseudo-terminals through tmux.
command -v tmux >/dev/null 2>&1 || install tmux
# Scheduled backups: crontab (cron) and systemd's own calendar parser (systemd-analyze).
command -v crontab >/dev/null 2>&1 || install cron
command -v systemd-analyze >/dev/null 2>&1 || install systemd
# The S3 backup tier is tested against moto's S3 server on loopback.
/usr/bin/python3 -c 'import moto.server, flask_cors' >/dev/null 2>&1 || install python3-moto python3-flask python3-flask-cors
# pull and upgrade are tested against a real registry on loopback (the Docker registry's own server).
command -v docker-registry >/dev/null 2>&1 || install docker-registry
# The import tests run each original checkout's own setup_secrets.py (PyYAML, Jinja2).
/usr/bin/python3 -c 'import yaml, jinja2' >/dev/null 2>&1 || install python3-yaml python3-jinja2

build_busybox() {
  [ -x /bin/busybox ] || install busybox-static
  local rootfs applet
  rootfs=$(mktemp -d)
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
  rm -rf "$rootfs"
  echo "built $IMAGE"
}

# Real data services from Debian's packages (a debootstrap root, imported), with entrypoints that
# behave as the official images' do where stackctl relies on it (.ci/images/).
build_root_image() { # NAME SUITE PACKAGES
  command -v debootstrap >/dev/null 2>&1 || install debootstrap
  local root mirror
  root=$(mktemp -d)
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / && !/security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  $SUDO debootstrap --variant=minbase --include="$3" "$2" "$root" \
    "${mirror:-http://deb.debian.org/debian}" >/dev/null
  # The package's own cluster and caches are not needed: the entrypoint makes the cluster.
  $SUDO rm -rf "$root"/var/lib/postgresql/* "$root"/etc/postgresql/* "$root"/var/cache/apt/* \
    "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  $SUDO tar -C "$root" -c . | docker import -c 'LABEL io.stackctl.test-image=true' - "$1" >/dev/null
  $SUDO rm -rf "$root"
  echo "built $1"
}
DATA_BASE=stackctl-test/data-base:2

build_from_base() { # NAME DOCKERFILE-TEXT
  local context
  context=$(mktemp -d)
  cp "$(dirname "$0")"/images/* "$context"/
  printf '%s\n' "$2" > "$context/Dockerfile"
  docker build -q -t "$1" "$context" >/dev/null
  rm -rf "$context"
  echo "built $1"
}

have() { docker image inspect "$1" >/dev/null 2>&1; }

if have "$IMAGE"; then echo "$IMAGE already built"; else build_busybox; fi
have "$DATA_BASE" || build_root_image "$DATA_BASE" bookworm postgresql,redis-server,nginx-light
have stackctl-test/postgres:3 || build_from_base stackctl-test/postgres:3 "FROM $DATA_BASE
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data
LABEL io.stackctl.test-image=true
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]
CMD [\"postgres\"]"
have stackctl-test/redis:2 || build_from_base stackctl-test/redis:2 "FROM $DATA_BASE
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.stackctl.test-image=true
WORKDIR /data
EXPOSE 6379
CMD [\"redis-server\"]"
# PostgreSQL 17 with pgvector, from Debian 13's packages (bookworm has no pgvector): a debootstrap
# root of its own, with the same entrypoint as stackctl-test/postgres:3.
VECTOR_BASE=stackctl-test/postgres-vector-base:1
have "$VECTOR_BASE" || build_root_image "$VECTOR_BASE" trixie postgresql-17,postgresql-17-pgvector
have stackctl-test/postgres-vector:1 || build_from_base stackctl-test/postgres-vector:1 "FROM $VECTOR_BASE
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data
LABEL io.stackctl.test-image=true
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]
CMD [\"postgres\"]"

# Prometheus and promtool from Debian's package, run as the official image runs them (its
# ENTRYPOINT is the server, its arguments the command): retention is tested against the real TSDB.
have stackctl-test/prometheus:1 || build_from_base stackctl-test/prometheus:1 "FROM $DATA_BASE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.stackctl.test-image=true
EXPOSE 9090
ENTRYPOINT [\"/usr/bin/prometheus\"]
CMD [\"--config.file=/etc/prometheus/prometheus.yml\", \"--storage.tsdb.path=/prometheus\"]"
# The exporters the monitoring stack scrapes, from Debian's packages: the node exporter as the
# image's entrypoint; the PostgreSQL and Redis exporters are in it too (run them as the command).
have stackctl-test/exporters:1 || build_from_base stackctl-test/exporters:1 "FROM $DATA_BASE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-node-exporter prometheus-postgres-exporter prometheus-redis-exporter >/dev/null && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.stackctl.test-image=true
EXPOSE 9100
CMD [\"prometheus-node-exporter\"]"
# JMeter from Debian's packages (2.13, which predates the HTML dashboard of 3.0). Debian's XStream
# (1.4.20) forbids every class JMeter 2.13 loads a plan with; the image's copy of it allows them, as
# later JMeter does itself (.ci/images/NoTypePermission.java says how).
have stackctl-test/jmeter:1 || build_from_base stackctl-test/jmeter:1 "FROM $DATA_BASE AS jmeter
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jmeter jmeter-http >/dev/null && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
FROM $DATA_BASE AS xstream
RUN mkdir -p /usr/share/man/man1 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jdk-headless libxstream-java >/dev/null
COPY NoTypePermission.java /build/src/com/thoughtworks/xstream/security/
RUN cd /build && javac -nowarn -cp /usr/share/java/xstream.jar -d classes src/com/thoughtworks/xstream/security/NoTypePermission.java && cp /usr/share/java/xstream.jar xstream.jar && jar uf xstream.jar -C classes com/thoughtworks/xstream/security/NoTypePermission.class
FROM jmeter
COPY --from=xstream /build/xstream.jar /usr/share/java/xstream.jar
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.stackctl.test-image=true
ENTRYPOINT [\"jmeter\"]
CMD [\"--version\"]"
# nginx as the official image runs it: in the foreground, a graceful stop on SIGQUIT, logs to the
# container's output (the generated nginx.conf says so).
have stackctl-test/nginx:1 || build_from_base stackctl-test/nginx:1 "FROM $DATA_BASE
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL io.stackctl.test-image=true
STOPSIGNAL SIGQUIT
EXPOSE 80
CMD [\"nginx\", \"-g\", \"daemon off;\"]"
