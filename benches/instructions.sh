#!/usr/bin/env bash
# Instructions executed by an ingest of 2,000 transcripts (valgrind's cachegrind, no cache
# simulation): a measure of ingest's work that does not move with the machine's speed, for
# comparing builds when wall times do (on the 2-core VM the same binary's ingest took 7.6 s in
# one hour and 13.6 s in another). It does not see what memory costs (cache misses, page
# faults, the kernel's copies), so a change is judged by both this and alternating wall-time
# runs of `engine.sh`'s ingest. Under valgrind SHA-256 runs without the CPU's SHA extensions:
# its share here (7%) is far above its share of a real run (0.5%).
#
#   benches/instructions.sh [BIN...]     default: the release build; prints one line per binary
#
# Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/execaudit-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-target}
mkdir -p "$BENCH_DIR"
command -v valgrind >/dev/null || { echo "install valgrind first" >&2; exit 2; }

if [ $# -eq 0 ]; then
  cargo build --release --quiet
  set -- "$CARGO_TARGET_DIR/release/execaudit"
fi
CORPUS=$BENCH_DIR/sessions-2000
if [ ! -f "$CORPUS.complete" ]; then
  rm -rf "$CORPUS"
  "$1" generate --out "$CORPUS" --sessions 2000 >/dev/null 2>&1
  touch "$CORPUS.complete"
fi
for bin in "$@"; do
  store=$(mktemp -d)
  out=$(mktemp)
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out" \
    "$bin" ingest "$CORPUS/exec-logs" --store "$store/s" -q 2>&1 >/dev/null |
    sed -n 's/.*I *refs: *//p' | tr -d , |
    awk -v b="$bin" '{ printf "%s: %.1f M instructions\n", b, $1 / 1e6 }'
  rm -rf "$store" "$out"
done
