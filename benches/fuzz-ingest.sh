#!/usr/bin/env bash
# Fuzzes the ingest side for a while (cargo-fuzz, libFuzzer, nightly toolchain): the CloudTrail
# scanner on any input and on records spliced into trail files (`cloudtrail_record`), the
# in-place record view against serde_json's tree (`record_view`), and reading files: gzip,
# cut, corrupt, bombs, first-look refusal (`input_file`). Findings land in
# fuzz/artifacts/<target>/; each fixed one gets a regression test beside the code.
#
#   benches/fuzz-ingest.sh [SECONDS]    per target, default 120
#
# Seeds come from tests/data (examples, real logs, corrupt files). Installs cargo-fuzz when
# missing. Run it under the build lock on a shared machine: it keeps one core busy per target.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-120}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-fuzz-target}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || { echo "needs a nightly toolchain (rustup toolchain install nightly)" >&2; exit 2; }

seed() { # target files...
  local dir="fuzz/corpus/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/" 2>/dev/null || true; done
}
seed cloudtrail_record tests/data/examples/*.json tests/data/realdata/stratus-red-team/*.json
seed record_view tests/data/examples/cloudtrail-*.json
seed input_file tests/data/corrupt/* tests/data/examples/cloudtrail-s3-log-file-decompressed.json \
  sample-data/AWSLogs/o-7kq2m9x4ab/111122223333/CloudTrail/us-east-1/2024/11/18/*.json.gz

cd fuzz
cargo +nightly fuzz build
for t in cloudtrail_record record_view input_file; do
  echo "== $t ($SECS s)"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECS" -max_len=65536 \
    -rss_limit_mb=2048 -dict=cloudtrail.dict -print_final_stats=1 2>&1 | grep -E "^(#|==|stat::number_of_executed_units|stat::peak_rss)|ERROR|panicked|SUMMARY" | tail -6
done
