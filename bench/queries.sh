#!/usr/bin/env bash
# The read tools at scale: a release build of hookd on a fresh data dir, filled with N events
# through HTTP, each read tool timed through the official Python MCP SDK (p50/p99).
#
#   bench/queries.sh              # 10,000 events
#   bench/queries.sh 1000000 20   # a million events, 20 calls per tool
#   BENCH_DATA=target/bench-1m bench/queries.sh 1000000 20   # keep the filled store, reuse it
#   STORE=postgres bench/queries.sh 1000000 20   # PostgreSQL: database hookd_queries_1000000 on
#       BENCH_PG (default postgres://postgres@127.0.0.1:5432), created if missing, filled if empty
#       and kept (drop it with: psql postgres://postgres@127.0.0.1:5432/postgres -c 'DROP DATABASE hookd_queries_1000000')
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
REPEATS=${2:-50}
cargo build --release --quiet --bin hookd
if [ ! -x target/pyenv/bin/python ]; then
  python3 -m venv target/pyenv
  target/pyenv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
fi
if [ "${STORE:-sqlite}" = postgres ]; then
  BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  db=hookd_queries_$N
  psql -qAt "$BENCH_PG/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || psql -q "$BENCH_PG/postgres" -c "CREATE DATABASE $db"
  export BENCH_DATABASE_URL="$BENCH_PG/$db"
fi
exec target/pyenv/bin/python bench/queries.py target/release/hookd "$N" "$REPEATS"
