#!/usr/bin/env bash
# The soak: a release hookd for SECONDS (default 600) at RATE webhooks/s (default 3000, about half
# the maximum measured in docs/PERFORMANCE.md) with four MCP clients waiting and querying; prints
# RSS, open descriptors, the data dir's size and webhook p50/p99 minute by minute. Flat is the pass.
#
#   bench/soak.sh                 # 10 minutes at 3000/s
#   bench/soak.sh 120 1000        # 2 minutes at 1000/s
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-600}
RATE=${2:-3000}
cargo build --release --quiet --bin hookd --example soak
target/release/examples/soak target/release/hookd "$SECONDS_TO_RUN" "$RATE"
