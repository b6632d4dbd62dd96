#!/usr/bin/env bash
# Run the test suite against a throw-away PostgreSQL server on 127.0.0.1, then stop it.
# Arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/cbt-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { bash "$here/pg-throwaway.sh" stop "$dir"; rm -rf "$dir"; }
trap cleanup EXIT
# A throw-away server: durability settings off, so the suite runs at the speed of SQLite.
url=$(PG_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      bash "$here/pg-throwaway.sh" start "$dir" "$port")
echo "PostgreSQL test server: $url"
CBT_TEST_DATABASE_URL="$url" "${PYTHON:-python3}" -m pytest "$@"
