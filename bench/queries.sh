#!/usr/bin/env bash
# The read tools at scale: a release build of hookd on a fresh data dir, filled with N events
# through HTTP, each read tool timed through the official Python MCP SDK (p50/p99).
#
#   bench/queries.sh              # 10,000 events
#   bench/queries.sh 1000000 20   # a million events, 20 calls per tool
#   BENCH_DATA=target/bench-1m bench/queries.sh 1000000 20   # keep the filled store, reuse it
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
REPEATS=${2:-50}
cargo build --release --quiet --bin hookd
if [ ! -x target/pyenv/bin/python ]; then
  python3 -m venv target/pyenv
  target/pyenv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
fi
exec target/pyenv/bin/python bench/queries.py target/release/hookd "$N" "$REPEATS"
