#!/usr/bin/env bash
# Whole-process throughput and peak memory of `execaudit ingest` and `execaudit audit` over a
# generated organisation trail, beside decompression alone on the same files
# (libdeflate-gunzip on both cores: the limit; gzip -dc for scale), at two corpus sizes.
#
#   benches/throughput.sh [RECORDS]   default 4000000 (and RECORDS/4 for the memory slope)
#
#   PROFILE=realistic|simple   the generator's profile (default realistic: ~1.5 KB records in
#                              ~355-record files, 1.4% generic changes; README figures)
#   RUNS=3                     timed runs per tool after one warm-up (best is reported)
#   GZIP=1                     also time gzip -dc (slow: ~10x libdeflate)
#   BENCH_DIR                  where corpora are kept between runs (default $TMPDIR/execaudit-bench)
#
# Needs libdeflate-tools and time (Debian); installs them when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-4000000}
PROFILE=${PROFILE:-realistic}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/execaudit-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-target}
RUNS=${RUNS:-3}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need libdeflate-gunzip || [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq libdeflate-tools time >/dev/null; else
    echo "install libdeflate-tools and time first" >&2; exit 2; fi
fi

cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/execaudit

corpus() { # records -> dir (the completion mark sits beside the corpus, not in it)
  local dir="$BENCH_DIR/$PROFILE-$1"
  if [ ! -f "$dir.complete" ]; then
    rm -rf "$dir"; "$BIN" generate --out "$dir" --records "$1" --profile "$PROFILE" >/dev/null 2>&1
    touch "$dir.complete"
  fi
  echo "$dir"
}

best() { # command... -> best wall seconds of $RUNS runs (page cache warm after the first)
  local best=
  for _ in $(seq 0 "$RUNS"); do
    local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    local d; d=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || (( $(echo "$d < $best" | bc -l) )); then best=$d; fi
  done
  printf '%.3f' "$best"
}

files_of() { find "$1" -name '*.json.gz' -not -path '*CloudTrail-Digest*' -print0; }
# 64 files per process: process starts cost libdeflate little (with 8 they add ~40% on 11k files).
libdeflate_par() { files_of "$1" | xargs -0 -P2 -n 64 libdeflate-gunzip -c >/dev/null; }
gzip_par() { files_of "$1" | xargs -0 -P2 -n 64 gzip -dc >/dev/null; }
ingest() { local s; s=$(mktemp -d); "$BIN" ingest "$1" --store "$s" -q; rm -rf "$s"; }
audit_table() { "$BIN" audit "$1" >/dev/null 2>&1; }
audit_jsonl() { "$BIN" audit "$1" --format jsonl >/dev/null 2>&1; }
peak_mb() { # command... -> peak RSS in MB
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'
}
ingest_rss() { local s; s=$(mktemp -d); peak_mb "$BIN" ingest "$1" --store "$s" -q; rm -rf "$s"; }

DIR=$(corpus "$RECORDS")
SMALL=$(corpus $((RECORDS / 4)))
GZ_BYTES=$(files_of "$DIR" | du -cb --files0-from=- | tail -1 | cut -f1)
RAW_BYTES=$(files_of "$DIR" | xargs -0 -P2 -n 64 libdeflate-gunzip -c | wc -c)
NFILES=$(files_of "$DIR" | tr -cd '\0' | wc -c)
export -f files_of libdeflate_par gzip_par ingest audit_table audit_jsonl; export BIN

T_LD=$(best bash -c "libdeflate_par $DIR")
T_EA=$(best bash -c "ingest $DIR")
T_AT=$(best bash -c "audit_table $DIR")
T_AJ=$(best bash -c "audit_jsonl $DIR")
if [ "${GZIP:-0}" = 1 ]; then T_GZP=$(best bash -c "gzip_par $DIR"); fi

mbs() { echo "scale=0; $RAW_BYTES / 1000000 / $1" | bc -l; }
rps() { echo "scale=2; $RECORDS / 1000000 / $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
row() { printf '| %s | %s | %s M | %s | %s | %s |\n' "$1" "$2" "$(rps "$2")" "$(mbs "$2")" "$(ratio "$2" "$T_LD")" "$3"; }
echo "corpus: $PROFILE, $RECORDS records, $NFILES gzip files, $((GZ_BYTES / 1000000)) MB gzip, $((RAW_BYTES / 1000000)) MB JSON ($(nproc) cores)"
echo
echo "| tool | wall s | records/s | MB/s of JSON | vs libdeflate | peak RSS MB ($((RECORDS / 4)) / $RECORDS records) |"
echo "| --- | --- | --- | --- | --- | --- |"
row "libdeflate-gunzip, 2 in parallel" "$T_LD" "-"
if [ -n "${T_GZP:-}" ]; then row "gzip -dc, 2 in parallel" "$T_GZP" "-"; fi
row "execaudit ingest (fresh store)" "$T_EA" "$(ingest_rss "$SMALL") / $(ingest_rss "$DIR")"
row "execaudit audit (table)" "$T_AT" "$(peak_mb "$BIN" audit "$SMALL") / $(peak_mb "$BIN" audit "$DIR")"
row "execaudit audit --format jsonl" "$T_AJ" "$(peak_mb "$BIN" audit "$SMALL" --format jsonl) / $(peak_mb "$BIN" audit "$DIR" --format jsonl)"
