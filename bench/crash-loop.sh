#!/usr/bin/env bash
# The crash loop: load with unique delivery ids, `kill -9` at random moments, restart, N cycles;
# prints acknowledged / stored / lost / duplicated. Passes only with 0 lost and 0 duplicated.
#
#   bench/crash-loop.sh            # SQLite, 20 cycles, release build
#   bench/crash-loop.sh 3          # 3 cycles
#   STORE=postgres bench/crash-loop.sh   # on a fresh database of the PostgreSQL at BENCH_PG
#   PROFILE=dev bench/crash-loop.sh 3    # debug build (what CI runs, to reuse its build)
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-20}
STORE=${STORE:-sqlite}
PROFILE=${PROFILE:-release}
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
dir=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")

cargo build --quiet --profile "$PROFILE" --bin hookd --example crash_loop
args=(target/"$dir"/hookd "$CYCLES")
if [ "$STORE" = postgres ]; then
  db=hookd_crash_$$
  psql -q "$BENCH_PG/postgres" -c "CREATE DATABASE $db"
  trap 'psql -q "$BENCH_PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
  args+=("$BENCH_PG/$db")
fi
target/"$dir"/examples/crash_loop "${args[@]}"
