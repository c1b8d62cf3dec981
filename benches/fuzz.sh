#!/usr/bin/env bash
# Fuzzes every parser for a while (cargo-fuzz, libFuzzer, nightly toolchain):
#   cloudtrail_record     the CloudTrail scanner on any input and on records spliced into trail files
#   record_view           the in-place record view against serde_json's tree
#   input_file            reading files: gzip, cut, corrupt, bombs, first-look refusal
#   terminal_model        the terminal model and reconstruction, bare and at learned widths; the
#                         driver against vte byte by byte, determinism, clean command text
#   transcript_container  S3 `.log` objects, CloudWatch Logs documents framed any way, Session
#                         Manager messages, the transcript reader and the input scanner
# Findings land in fuzz/artifacts/<target>/; each fixed one gets a regression test beside the code.
#
#   benches/fuzz.sh [SECONDS] [TARGET...]    per target, default 120 s, default every target
#
# Seeds come from tests/data (examples, real logs, corrupt files, hostile transcripts) and
# tests/transcripts (real shells). An input slower than 10 s is a finding (-timeout). Installs
# cargo-fuzz when missing. Run it under the build lock on a shared machine: it keeps one core
# busy. Exits 1 when a target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-120}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(cloudtrail_record record_view input_file terminal_model transcript_container)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-fuzz-target}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || { echo "needs a nightly toolchain (rustup toolchain install nightly)" >&2; exit 2; }

seed() { # target files...
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/" 2>/dev/null || true; done
}
# Seeds for targets whose first byte picks a mode: the file behind that byte.
seed_mode() { # target mode-byte(octal) files...
  local dir="fuzz/corpus/$1" mode=$2; shift 2
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] || continue
    local out="$dir/m$mode-$(basename "$f")"
    [ -e "$out" ] || { printf "\\$mode" >"$out"; head -c 65000 "$f" >>"$out"; }
  done
}
seed cloudtrail_record tests/data/examples/*.json tests/data/realdata/stratus-red-team/*.json
seed record_view tests/data/examples/cloudtrail-*.json
seed input_file tests/data/corrupt/* tests/data/examples/cloudtrail-s3-log-file-decompressed.json \
  sample-data/AWSLogs/o-7kq2m9x4ab/111122223333/CloudTrail/us-east-1/2024/11/18/*.json.gz
shopt -s nullglob
LOGS=(tests/transcripts/*/*/*.log tests/data/hostile-transcripts/*/*.log tests/data/bad-transcripts/*
      tests/data/examples/*.log)
seed_mode terminal_model 000 "${LOGS[@]}"
seed_mode terminal_model 002 tests/transcripts/classes/dash-default/*.log
seed_mode terminal_model 005 tests/transcripts/classes/ash-default/*.log
seed_mode transcript_container 000 "${LOGS[@]}" tests/data/examples/cloudwatch-*.json
seed_mode transcript_container 003 tests/data/hostile-transcripts/dash-default/*.log
seed_mode transcript_container 004 tests/data/hostile-transcripts/bash-default/*.log

dict() {
  case $1 in
    terminal_model|transcript_container) echo terminal.dict ;;
    *) echo cloudtrail.dict ;;
  esac
}

cd fuzz
cargo +nightly fuzz build
found=0
for t in "${TARGETS[@]}"; do
  echo "== $t ($SECS s)"
  log=$(mktemp)
  status=0
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECS" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -dict="$(dict "$t")" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(#|==)|stat::number_of_executed_units|stat::peak_rss|ERROR|panicked|SUMMARY|Slowest unit|Test unit written" "$log" | tail -8
  if [ "$status" -ne 0 ]; then
    found=1
    echo "!! $t: finding (exit $status), see fuzz/artifacts/$t/"
  fi
  rm -f "$log"
done
exit $found
