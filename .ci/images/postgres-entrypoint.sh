#!/bin/bash
# The behaviour stackctl relies on from the official postgres image's docker-entrypoint.sh:
# POSTGRES_USER (default postgres), POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) and POSTGRES_DB
# (default: the user) are read once, when the data directory (PGDATA, default
# /var/lib/postgresql/data) is empty; later starts ignore them. The scripts in
# /docker-entrypoint-initdb.d run then too. Connections over TCP authenticate
# with scram-sha-256; local socket connections are trusted. The server runs as the postgres user.
set -euo pipefail

BIN=$(echo /usr/lib/postgresql/*/bin)
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
[ "${1:-postgres}" = postgres ] || exec "$@"
[ "${1:-}" = postgres ] && shift

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE"); fi
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo 'error: database is uninitialized and POSTGRES_PASSWORD is not set' >&2
    exit 1
  fi
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  as_postgres "$BIN/initdb" --username="$user" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  as_postgres "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then
    as_postgres psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres \
      -c "CREATE DATABASE \"$db\"" >/dev/null
  fi
  # As the official image: /docker-entrypoint-initdb.d/*.sql and *.sh, in name order, into $db,
  # on the first start only; an error stops the container (and the next start tries again).
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sql) echo "running $script"
        as_postgres psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -q -f "$script" \
          || { as_postgres "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; rm -rf "${PGDATA:?}"/*; exit 1; } ;;
      *.sh) echo "running $script"; . "$script" ;;
    esac
  done
  as_postgres "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  echo "database initialized: user $user, database $db"
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups "$BIN/postgres" -D "$PGDATA" \
  -c listen_addresses='*' "$@"
