#!/usr/bin/env bash
# The analysis engine at scale: ingest a week of 100,000 sessions with transcripts (about 5
# million commands), then time the queries users run, each as a whole process (wall time, best
# of $RUNS with the page cache warm, and peak RSS), beside DuckDB running the same search over
# the store's own `commands` Parquet files.
#
#   benches/engine.sh [SESSIONS]     default 100000; the corpus is kept under $BENCH_DIR
#
# Needs GNU time and python3 (installs `time` with apt and DuckDB from PyPI into a venv).
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${1:-100000}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/execaudit-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-target}
RUNS=${RUNS:-3}
mkdir -p "$BENCH_DIR"

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null; else
    echo "install GNU time first" >&2; exit 2; fi
fi
VENV=$BENCH_DIR/duckdb-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q duckdb
fi

cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/execaudit

CORPUS=$BENCH_DIR/sessions-$SESSIONS
# The marker lies beside the corpus, not in it: everything in the corpus is read as input.
if [ ! -f "$CORPUS.complete" ]; then
  rm -rf "$CORPUS"
  "$BIN" generate --out "$CORPUS" --sessions "$SESSIONS" >/dev/null 2>&1
  touch "$CORPUS.complete"
fi
# Bytes of the files themselves (not the blocks they take), in MB (10^6 bytes).
TRANSCRIPT_MB=$(( $(du -sb "$CORPUS/exec-logs" | cut -f1) / 1000000 ))
STORE=${STORE:-$BENCH_DIR/store-$SESSIONS}

TIMING=$(mktemp)
trap 'rm -f "$TIMING"' EXIT
# measure LABEL command... : best wall of $RUNS runs and the peak RSS of the best run; the
# function named by $PREPARE, if any, runs before each run, untimed.
measure() {
  local label=$1; shift
  local best= rss=
  for _ in $(seq 1 "$RUNS"); do
    local out
    if [ -n "${PREPARE:-}" ]; then "$PREPARE"; fi
    # GNU time writes to its own stderr, which the command's redirection would swallow: -o.
    /usr/bin/time -o "$TIMING" -f '%e %M' "$@" >/dev/null 2>/dev/null || true
    out=$(tail -1 "$TIMING")
    local wall=${out% *} kb=${out#* }
    if [ -z "$best" ] || (( $(echo "$wall < $best" | bc -l) )); then best=$wall; rss=$kb; fi
  done
  printf '| %s | %s | %d |\n' "$label" "$best" "$((rss / 1024))"
  BEST=$best
}

echo "corpus: $SESSIONS sessions, $TRANSCRIPT_MB MB of transcripts ($CORPUS)"
echo
echo "| step | wall s | peak RSS MB |"
echo "| --- | --- | --- |"
# Ingest into a fresh store each run. Removing the last run's store (0.1 s) and reading the
# corpus into the page cache (the machine may have dropped it) come before the timed run.
fresh() {
  rm -rf "$STORE"
  find "$CORPUS" -type f -print0 | xargs -0 -r cat >/dev/null
}
PREPARE=fresh measure "ingest (fresh store)" "$BIN" ingest "$CORPUS" --store "$STORE" --quiet
INGEST_BEST=$BEST
fresh
/usr/bin/time -o "$TIMING" -f '%e' "$BIN" ingest "$CORPUS" --store "$STORE" --quiet >/dev/null 2>/dev/null
WALL_LINE=$(tail -1 "$TIMING")
COMMANDS=$("$BIN" query 'SELECT count(*) AS n FROM commands' --store "$STORE" --format csv | tail -1)
SID=$("$BIN" query "SELECT session_id FROM sessions WHERE principal = 'user007@example.com' ORDER BY start_time LIMIT 1" --store "$STORE" --format csv | tail -1)

measure "sessions --principal user007@example.com" "$BIN" sessions --store "$STORE" --principal user007@example.com
measure "show ID" "$BIN" show "$SID" --store "$STORE"
measure "commands --session ID" "$BIN" commands --session "$SID" --store "$STORE"
measure "search 'nc -e /bin/sh'" "$BIN" search 'nc -e /bin/sh' --store "$STORE"
measure "search --regex 'nc\\s+-e\\s+/bin/(ba)?sh'" "$BIN" search 'nc\s+-e\s+/bin/(ba)?sh' --regex --store "$STORE"
measure "query SELECT principal, count(*) FROM sessions GROUP BY 1" "$BIN" query 'SELECT principal, count(*) FROM sessions GROUP BY 1' --store "$STORE"
cat > "$BENCH_DIR/duck_search.py" <<'EOF'
import sys, duckdb
store = sys.argv[1]
duckdb.sql(f"""SELECT session_id, seq, command FROM read_parquet('{store}/commands/*/*.parquet')
               WHERE command ILIKE '%nc -e /bin/sh%' ORDER BY session_id, seq""").fetchall()
EOF
measure "DuckDB: the same search over the commands Parquet files" "$VENV/bin/python" "$BENCH_DIR/duck_search.py" "$STORE"
echo
echo "commands stored: $COMMANDS; ingest throughput: $(echo "$TRANSCRIPT_MB / $INGEST_BEST" | bc -l | xargs printf '%.0f') MB/s of transcript (best run; $(echo "$TRANSCRIPT_MB / $WALL_LINE" | bc -l | xargs printf '%.0f') MB/s in one more)"
