#!/usr/bin/env bash
# The machine's PostgreSQL baseline for hookd's ingest figures: what PostgreSQL alone stores of
# the same event, with no HTTP and no hookd. pgbench copies one event hookd stored (its columns,
# its search vector computed as hookd has PostgreSQL compute it, its derived push and activity
# rows, the sources' count) BATCH times per transaction from CLIENTS connections into a copy of
# hookd's schema. By default without hookd's write lock (which keeps ids in commit order): the
# most PostgreSQL stores here. LOCK=1 takes it in every transaction, computing the search vectors
# under it (hookd computes them before taking it).
#
# Usage: [LOCK=1] [SETUP_SQL=...] bench/postgres_baseline.sh DATABASE_URL [BATCH [CLIENTS [SECONDS]]]
#   DATABASE_URL: a database hookd has stored at least one event in (its first event is copied);
#   the copy goes to a new database beside it, dropped afterwards. Defaults: 30 rows per
#   transaction, 4 connections, 10 s (the best of 10/30/100 rows and 2/4/8 connections here).
# SETUP_SQL runs on the copy before the load: a schema change tried without touching hookd.
# Prints "postgres baseline: ... rows/s"; with HOOKD_BENCH_RATE_FILE set, writes the rate there.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: [LOCK=1] [SETUP_SQL=...] bench/postgres_baseline.sh DATABASE_URL [BATCH [CLIENTS [SECONDS]]]" >&2
  echo "  DATABASE_URL: a PostgreSQL database hookd has stored at least one event in" >&2
  exit 2
fi
url=$1 batch=${2:-30} clients=${3:-4} seconds=${4:-10}
server=${url%/*} source_db=${url##*/}
alone=${source_db}_alone

events=$(psql -qAt "$url" -c "SELECT count(*) FROM events")
if [ "$events" = 0 ]; then
  echo "bench/postgres_baseline.sh: $source_db holds no event to copy: send hookd one first" >&2
  exit 1
fi
psql -q "$server/postgres" -c "CREATE DATABASE $alone"
work=$(mktemp -d)
trap 'psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $alone WITH (FORCE)"; rm -rf "$work"' EXIT
pg_dump --schema-only "$url" | psql -q -o /dev/null "$server/$alone"
copy() { # table, select[, sql]: the first event's rows of that table, copied into the new
  # database (sql runs on the empty copy first)
  psql -q "$url" -c "\\copy ($2) TO '$work/$1'"
  psql -q "$server/$alone" -c "CREATE TABLE $1 AS $2 WITH NO DATA" ${3:+-c "$3"} \
    -c "\\copy $1 FROM '$work/$1'"
}
first="(SELECT min(id) FROM events)"
# The template keeps its payload uncompressed (EXTERNAL): copied into `events`, it is compressed
# there as hookd's are (lz4 where available). A payload compressed already in the template would
# be stored as it is, and PostgreSQL would compress the search vector instead.
copy event_template "SELECT source, type, received_at, headers, content_type, payload_encoding,
  payload, verified, subject, occurred_at, summary, search_text FROM events WHERE id = $first" \
  "ALTER TABLE event_template ALTER payload SET STORAGE EXTERNAL"
copy push_template "SELECT repo, branch, sha, message, author, time FROM pushes WHERE event_id = $first"
copy activity_template "SELECT repo, type, action, time, actor, number, title, state, branch, size
  FROM github_activity WHERE event_id = $first"
psql -q "$server/$alone" -c "CREATE SEQUENCE alone_delivery"
if [ -n "${SETUP_SQL:-}" ]; then psql -q "$server/$alone" -c "$SETUP_SQL"; fi

# One transaction: the events with their search vectors, their derived rows, and the sources'
# count (hookd's writer does the same, and looks the deliveries up).
lock=""
if [ "${LOCK:-0}" = 1 ]; then lock="SELECT pg_advisory_xact_lock(7525356009397121652);"; fi
cat >"$work/insert.sql" <<SQL
BEGIN;
$lock
WITH e AS (
  INSERT INTO events (source, type, delivery_id, received_at, headers, content_type,
    payload_encoding, payload, verified, subject, occurred_at, summary, search_text, search)
  SELECT source, type, 'alone-' || nextval('alone_delivery'), received_at, headers, content_type,
    payload_encoding, payload, verified, subject, occurred_at, summary, search_text,
    to_tsvector('simple', type || ' ' || coalesce(summary, '') || ' ' || coalesce(search_text, ''))
  FROM event_template, generate_series(1, :batch)
  RETURNING id
), p AS (
  INSERT INTO pushes (event_id, repo, branch, sha, message, author, time)
  SELECT e.id, t.* FROM e, push_template t
)
INSERT INTO github_activity (event_id, repo, type, action, time, actor, number, title, state,
  branch, size)
SELECT e.id, t.* FROM e, activity_template t;
INSERT INTO sources (source, count, last_received_at)
  SELECT source, :batch, received_at FROM event_template
  ON CONFLICT (source) DO UPDATE SET count = sources.count + excluded.count;
COMMIT;
SQL
tps=$(pgbench -n -f "$work/insert.sql" -D batch="$batch" -c "$clients" -j "$clients" \
  -T "$seconds" "$server/$alone" | awk '/^tps/ {print $3}')
rate=$(awk -v t="$tps" -v b="$batch" 'BEGIN {printf "%.0f", t * b}')
printf 'postgres baseline: the same event, %s per transaction, %s connections%s: %s rows/s\n' \
  "$batch" "$clients" "${lock:+, write lock}" "$(python3 -c "print(f'{$rate:,}')")"
if [ -n "${HOOKD_BENCH_RATE_FILE:-}" ]; then echo "$rate" >"$HOOKD_BENCH_RATE_FILE"; fi
