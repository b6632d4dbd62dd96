#!/usr/bin/env bash
# A throw-away PostgreSQL server on 127.0.0.1 for tests and benchmarks.
#   scripts/pg-throwaway.sh start DIR [PORT]   -> prints the DATABASE_URL of database "cbt"
#   scripts/pg-throwaway.sh stop DIR
# Installs Debian's postgresql when it is missing (these machines run as root). The server
# runs as the 'postgres' user (PostgreSQL refuses root), with trust auth on loopback only.
# PG_OPTS adds server options (the test suite passes fsync=off: a throw-away server).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data directory}; port=${3:-54329}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ "$cmd" = start ] && [ -z "$bindir" ]; then
  echo "installing PostgreSQL from Debian" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bindir/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=300 ${PG_OPTS:-}" \
      start >/dev/null
    as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA \
      -c "SELECT 1 FROM pg_database WHERE datname='cbt'" | grep -q 1 \
      || as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres cbt
    echo "postgresql://postgres@127.0.0.1:$port/cbt"
    ;;
  stop)
    [ -f "$dir/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
