#!/usr/bin/env bash
# hookd's benchmark: durable webhook ingest under concurrent load, with the machine's HTTP
# reference measured in the same run, and the wait_for_event wake-up latency.
#
#   bench/run.sh                   # SQLite, 10 s per load step
#   DURATION=30s bench/run.sh
#   STORE=postgres bench/run.sh    # PostgreSQL + Redis, and the wake-up across two instances
#   HOOKD_BIN=/tmp/hookd-old bench/run.sh   # another build of hookd (e.g. a commit to compare with)
#
# Starts a release build of hookd on a fresh data dir (on the project's disk, not tmpfs, so every
# commit is a real fsync), or on a fresh database of the PostgreSQL at BENCH_PG (default the
# machine's postgres://postgres@127.0.0.1:5432) with wake-ups over the Redis at BENCH_REDIS
# (default redis://127.0.0.1:6379), drives it with wrk, prints the figures, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
BODY=${BODY:-tests/fixtures/github/push.json}
STORE=${STORE:-sqlite}
BENCH_PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
BENCH_REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)..." >&2
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
fi
cargo build --release --quiet --bin hookd --example wake_latency
HOOKD_BIN=${HOOKD_BIN:-target/release/hookd}

data=$(mktemp -d "$PWD/target/bench-data.XXXXXX")
log="$data/hookd.log"
# Deliveries are signed and verified, as in production: GitHub signs only the body, so one
# signature computed here serves every request.
secret=bench-secret
sig=$(python3 -c 'import hmac,hashlib,sys; print("sha256="+hmac.new(sys.argv[1].encode(), open(sys.argv[2],"rb").read(), hashlib.sha256).hexdigest())' "$secret" "$BODY")
store_args=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ "$STORE" = postgres ]; then
    psql -q "$BENCH_PG/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  fi
  rm -rf "$data"
}
if [ "$STORE" = postgres ]; then
  db=hookd_bench_$$
  psql -q "$BENCH_PG/postgres" -c "CREATE DATABASE $db"
  store_args=(--database-url "$BENCH_PG/$db" --redis-url "$BENCH_REDIS")
fi
trap cleanup EXIT

start() { # log file; sets $webhook and $mcp to the new instance's addresses
  GITHUB_WEBHOOK_SECRET=$secret HOOKD_LOG=warn,hookd::app=info "$HOOKD_BIN" serve --data-dir "$data/db" \
    "${store_args[@]}" --webhook-addr 127.0.0.1:0 --mcp-addr 127.0.0.1:0 --rate-limit off 2>"$1" &
  pids+=($!)
  for _ in $(seq 100); do grep -qs "hookd listening" "$1" && break; sleep 0.1; done
  webhook=$(grep -o 'webhook_addr=[0-9.:]*' "$1" | cut -d= -f2)
  mcp=$(grep -o 'mcp_addr=[0-9.:]*' "$1" | cut -d= -f2)
}
start "$log"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "store: $STORE"
echo "payload: $BODY ($(stat -c %s "$BODY") bytes, signed and verified); wrk and hookd share the machine; $DURATION per step"
echo

run() { # name, connections, extra wrk args...
  local name=$1 conns=$2; shift 2
  local out
  out=$(wrk -t2 -c"$conns" -d"$DURATION" --latency "$@")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "$out" >&2; echo "FAILED: errors in $name" >&2; exit 1; fi
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '%-34s %4s conns  %10s req/s   p50 %8s   p99 %8s\n' "$name" "$conns" "$rps" "$p50" "$p99"
  last_rps=$rps
}

wal_max=0
watch_wal() { # records the largest WAL size seen (bytes) in $data/wal-max until killed
  while sleep 0.2; do
    local size
    size=$(stat -c %s "$data/db/hookd.db-wal" 2>/dev/null || echo 0)
    if [ "$size" -gt "$wal_max" ]; then wal_max=$size; echo "$wal_max" >"$data/wal-max"; fi
  done
}

export HOOKD_BENCH_BODY="$BODY" HOOKD_BENCH_SIGNATURE="$sig"
# The same payload written by the store alone (no HTTP, no hookd), in the same run and before
# hookd's load (whose checkpoints would still be writing during it afterwards): SQLite, 100 rows
# per commit; or PostgreSQL, copying one event hookd stored (sent first), with pgbench.
if [ "$STORE" = postgres ]; then
  curl -sf -o /dev/null "http://$webhook/webhook/github" -H 'Content-Type: application/json' \
    -H 'X-GitHub-Event: push' -H "X-Hub-Signature-256: $sig" -H 'X-GitHub-Delivery: baseline' \
    --data-binary "@$BODY"
  HOOKD_BENCH_RATE_FILE="$data/baseline" bench/postgres_baseline.sh "$BENCH_PG/$db"
  baseline_name="PostgreSQL alone"
else
  HOOKD_BENCH_RATE_FILE="$data/baseline" python3 bench/sqlite_baseline.py 100
  baseline_name="SQLite alone"
fi
run "GET /healthz (HTTP reference)" 256 "http://$webhook/healthz"
if [ "$STORE" = sqlite ]; then watch_wal & pids+=($!); fi
HOOKD_BENCH_RUN=c32 run "POST /webhook/github (durable)" 32 -s bench/webhook.lua "http://$webhook"
HOOKD_BENCH_RUN=c256 run "POST /webhook/github (durable)" 256 -s bench/webhook.lua "http://$webhook"
hookd_rps=$last_rps
python3 -c 'import sys; print(f"hookd at 256 connections / {sys.argv[3]}: {float(sys.argv[1]) / float(sys.argv[2]):.2f}")' \
  "$hookd_rps" "$(cat "$data/baseline")" "$baseline_name"
# The wake-ups measure a store at rest: let the writes the load leaves behind (checkpoints, the
# search index catching up) finish first.
sleep 10

if [ "$STORE" = postgres ]; then
  # PostgreSQL spreads the checkpoint the load started over minutes: finish it now, or the first
  # wake-ups measured would wait behind its writes.
  psql -q "$BENCH_PG/$db" -c CHECKPOINT
  echo "events stored: $(psql -qAt "$BENCH_PG/$db" -c 'select count(*) from events')"
  echo
  echo "wake-up, same instance:"
  target/release/examples/wake_latency "$webhook" "http://$mcp/mcp" 200
  webhook_a=$webhook
  start "$data/hookd-b.log"
  echo "wake-up across instances (webhook to A, waiter on B, over Redis):"
  target/release/examples/wake_latency "$webhook_a" "http://$mcp/mcp" 200
else
  stored=$(python3 - "$data/db/hookd.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])
PY
)
  echo "events stored: $stored"
  wal() { stat -c %s "$data/db/hookd.db-wal" | awk '{printf "%.0f MiB", $1/1048576}'; }
  echo "WAL file after the load: $(wal); largest during the load: $(awk '{printf "%.0f MiB", $1/1048576}' "$data/wal-max" 2>/dev/null || echo "?")"
  echo
  target/release/examples/wake_latency "$webhook" "http://$mcp/mcp" 200
fi
