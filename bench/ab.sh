#!/usr/bin/env bash
# Two or three builds of hookd compared on durable ingest: each run starts one build on a fresh
# SQLite store (on the project's disk), drives it with wrk (256 connections, 10 s, the signed
# GitHub push of bench/run.sh) and prints its requests per second; the builds take turns going
# first, ROUNDS times (default 5), so a machine that drifts during the batch weighs on each alike.
#
#   bench/ab.sh /tmp/hookd-old target/release/hookd [third build]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/ab.sh BIN_A BIN_B [BIN_C]" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench/ab.sh needs wrk (bench/run.sh installs it)" >&2; exit 2; }
BODY=tests/fixtures/github/push.json
secret=bench-secret
sig=$(python3 -c 'import hmac,hashlib,sys; print("sha256="+hmac.new(sys.argv[1].encode(), open(sys.argv[2],"rb").read(), hashlib.sha256).hexdigest())' "$secret" "$BODY")
export HOOKD_BENCH_BODY="$BODY" HOOKD_BENCH_SIGNATURE="$sig"

one() { # binary: prints its requests per second
  local bin=$1 data pid webhook
  data=$(mktemp -d "$PWD/target/ab.XXXXXX")
  GITHUB_WEBHOOK_SECRET=$secret HOOKD_LOG=warn,hookd::app=info "$bin" serve --data-dir "$data/db" \
    --webhook-addr 127.0.0.1:0 --mcp-addr 127.0.0.1:0 --rate-limit off 2>"$data/log" &
  pid=$!
  for _ in $(seq 100); do grep -qs "hookd listening" "$data/log" && break; sleep 0.1; done
  webhook=$(grep -o 'webhook_addr=[0-9.:]*' "$data/log" | cut -d= -f2)
  HOOKD_BENCH_RUN=c256 wrk -t2 -c256 -d10s -s bench/webhook.lua "http://$webhook" |
    awk '/Requests\/sec/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$data"
}

builds=("$@")
for round in $(seq "${ROUNDS:-5}"); do
  n=${#builds[@]}
  for k in $(seq 0 $((n - 1))); do
    bin=${builds[$(((k + round - 1) % n))]}
    echo "round $round  $bin  $(one "$bin") req/s"
    sleep 3
  done
done
