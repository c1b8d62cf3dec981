#!/usr/bin/env bash
# Whole-process throughput of `execaudit ingest` over a generated organisation trail, beside
# decompression alone on the same files (libdeflate-gunzip on both cores, and gzip -dc), with
# records/s, uncompressed MB/s, the ratios, and peak RSS at two corpus sizes.
#
#   benches/throughput.sh [RECORDS]     default 1000000; corpora are kept under $BENCH_DIR
#
# Needs libdeflate-tools and time (Debian); installs them when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-1000000}
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

corpus() { # records -> dir
  local dir="$BENCH_DIR/corpus-$1"
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"; "$BIN" generate --out "$dir" --records "$1" >/dev/null 2>&1; touch "$dir/.complete"
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
libdeflate_par() { files_of "$1" | xargs -0 -P2 -n 8 libdeflate-gunzip -c >/dev/null; }
gzip_single() { files_of "$1" | xargs -0 gzip -dc >/dev/null; }
gzip_par() { files_of "$1" | xargs -0 -P2 -n 8 gzip -dc >/dev/null; }
ingest() { local s; s=$(mktemp -d); "$BIN" ingest "$1" --store "$s" -q; rm -rf "$s"; }
peak_rss_mb() { local s; s=$(mktemp -d); /usr/bin/time -f '%M' "$BIN" ingest "$1" --store "$s" -q 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'; rm -rf "$s"; }

DIR=$(corpus "$RECORDS")
GZ_BYTES=$(files_of "$DIR" | du -cb --files0-from=- | tail -1 | cut -f1)
RAW_BYTES=$(files_of "$DIR" | xargs -0 -P2 -n 16 libdeflate-gunzip -c | wc -c)
NFILES=$(files_of "$DIR" | tr -cd '\0' | wc -c)
export -f files_of libdeflate_par gzip_single gzip_par ingest; export BIN

T_LD=$(best bash -c "libdeflate_par $DIR")
T_GZ=$(best bash -c "gzip_single $DIR")
T_GZP=$(best bash -c "gzip_par $DIR")
T_EA=$(best bash -c "ingest $DIR")
SMALL=$(corpus $((RECORDS / 4)))
RSS_BIG=$(peak_rss_mb "$DIR")
RSS_SMALL=$(peak_rss_mb "$SMALL")

mbs() { echo "scale=0; $RAW_BYTES / 1000000 / $1" | bc -l; }
rps() { echo "scale=0; $RECORDS / $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
cat <<REPORT
corpus: $RECORDS background records (+ scenario), $NFILES gzip trail files, $((GZ_BYTES / 1000000)) MB gzip, $((RAW_BYTES / 1000000)) MB JSON ($(nproc) cores)
tool                            wall s   records/s    MB/s (JSON)  vs libdeflate
libdeflate-gunzip, 2 parallel   $T_LD    $(rps "$T_LD")    $(mbs "$T_LD")    1.00
gzip -dc, 1 process             $T_GZ    $(rps "$T_GZ")    $(mbs "$T_GZ")    $(ratio "$T_GZ" "$T_LD")
gzip -dc, 2 parallel            $T_GZP    $(rps "$T_GZP")    $(mbs "$T_GZP")    $(ratio "$T_GZP" "$T_LD")
execaudit ingest (fresh store)  $T_EA    $(rps "$T_EA")    $(mbs "$T_EA")    $(ratio "$T_EA" "$T_LD")
peak RSS of execaudit ingest: $RSS_SMALL MB at $((RECORDS / 4)) records, $RSS_BIG MB at $RECORDS records
REPORT
