#!/usr/bin/env bash
# The weekly report at scale (issue 8's goal: the HTML report of a week with 100,000 sessions
# and 5 million commands in under 10 s, peak RSS under 1 GB). Each format is timed as a whole
# process: best wall of $RUNS with the page cache warm, and the peak RSS of that run.
#
#   benches/report.sh [SESSIONS]     default 100000
#
# The store is $STORE when set (read only: the report writes nothing into it), else the one
# benches/engine.sh leaves in $BENCH_DIR, generated and ingested here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${1:-100000}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/execaudit-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-target}
RUNS=${RUNS:-3}
WEEK=${WEEK:-2024-W47}
mkdir -p "$BENCH_DIR"

if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq time >/dev/null; else
    echo "install GNU time first" >&2; exit 2; fi
fi

cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/execaudit

STORE=${STORE:-$BENCH_DIR/store-$SESSIONS}
if [ ! -f "$STORE/manifest.json" ]; then
  CORPUS=$BENCH_DIR/sessions-$SESSIONS
  # The marker lies beside the corpus, as engine.sh keeps it: everything in the corpus is input.
  if [ ! -f "$CORPUS.complete" ]; then
    rm -rf "$CORPUS"
    "$BIN" generate --out "$CORPUS" --sessions "$SESSIONS" >/dev/null 2>&1
    touch "$CORPUS.complete"
  fi
  rm -rf "$STORE"
  "$BIN" ingest "$CORPUS" --store "$STORE" --quiet
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT" "${TIMING:-}"' EXIT

TIMING=$(mktemp)
# measure LABEL command... : best wall of $RUNS runs and the peak RSS of the best run.
measure() {
  local label=$1; shift
  local best= rss=
  for _ in $(seq 1 "$RUNS"); do
    local out
    # GNU time writes to its own stderr, which the command's redirection would swallow: -o.
    /usr/bin/time -o "$TIMING" -f '%e %M' "$@" >/dev/null 2>/dev/null || true
    out=$(tail -1 "$TIMING")
    local wall=${out% *} kb=${out#* }
    if [ -z "$best" ] || (( $(echo "$wall < $best" | bc -l) )); then best=$wall; rss=$kb; fi
  done
  printf '| %s | %s | %d |\n' "$label" "$best" "$((rss / 1024))"
}

SESS=$("$BIN" query "SELECT count(*) AS n FROM sessions" --store "$STORE" --format csv | tail -1)
CMDS=$("$BIN" query "SELECT count(*) AS n FROM commands" --store "$STORE" --format csv | tail -1)
echo "store: $STORE ($SESS sessions, $CMDS commands); week $WEEK"
echo
echo "| report | wall s | peak RSS MB |"
echo "| --- | --- | --- |"
for f in html md json; do
  measure "--format $f" "$BIN" report --store "$STORE" --week "$WEEK" --policy queries/policy.toml \
    --format "$f" --out "$OUT/report.$f"
done
measure "--format html, no --policy" "$BIN" report --store "$STORE" --week "$WEEK" --format html \
  --out "$OUT/nopolicy.html"
ls -l "$OUT" | awk 'NR > 1 { printf "%s: %d KB\n", $9, $5 / 1024 }'
