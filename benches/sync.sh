#!/usr/bin/env bash
# `execaudit sync` pulling a trail bucket from a local AWS-compatible server (moto on 127.0.0.1),
# against `aws s3 sync` of the same prefix followed by a local `execaudit ingest`: wall time,
# objects/s, and peak RSS at 1,000 and 5,000 objects (memory must follow the concurrency, not the
# object count).
#
#   benches/sync.sh [OBJECTS]      default 5000; the small run is OBJECTS/5
#
# The objects are trail files of an organisation layout (25 accounts, 2 regions, 5 days), bodies
# taken round-robin from `execaudit generate` output, uploaded with the AWS CLI. moto and the AWS
# CLI are installed into virtualenvs under $EXECAUDIT_MOTO_HOME (default ~/.cache/execaudit-moto).
# moto is a single Python process: it is the bottleneck for both tools, so compare the two
# columns with each other, not with S3.
set -euo pipefail
cd "$(dirname "$0")/.."
OBJECTS=${1:-5000}
SMALL=$((OBJECTS / 5))
CONCURRENCY=${CONCURRENCY:-16}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/execaudit-sync-bench}
MOTO_HOME=${EXECAUDIT_MOTO_HOME:-$HOME/.cache/execaudit-moto}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/execaudit-target}

if ! "$MOTO_HOME/venv/bin/python" -c 'import moto, werkzeug' 2>/dev/null; then
  python3 -m venv "$MOTO_HOME/venv"; "$MOTO_HOME/venv/bin/pip" install -q 'moto[server]==5.2.5'
fi
if [ ! -x "$MOTO_HOME/awscli-venv/bin/aws" ]; then
  python3 -m venv "$MOTO_HOME/awscli-venv"; "$MOTO_HOME/awscli-venv/bin/pip" install -q awscli
fi
AWS=$MOTO_HOME/awscli-venv/bin/aws

cargo build --release --quiet
BIN=$CARGO_TARGET_DIR/release/execaudit

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MOTO_HOME/venv/bin/python" tests/moto/execaudit_moto.py --port "$PORT" --parent-pid $$ \
  > "$BENCH_DIR.moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
URL=http://127.0.0.1:$PORT
for _ in $(seq 1 300); do curl -sf "$URL/execaudit-test/ping" >/dev/null && break; sleep 0.1; done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=$URL

# Trail files: OBJECTS keys over 25 accounts x 2 regions x 5 days, bodies from a generated trail.
layout() { # objects dir
  local n=$1 dir=$2
  rm -rf "$dir"; mkdir -p "$dir"
  local gen="$BENCH_DIR/gen"
  [ -d "$gen/AWSLogs" ] || "$BIN" generate --out "$gen" --records 3000 >/dev/null 2>&1
  python3 - "$n" "$dir" "$gen" <<'EOF'
import os, sys, glob
n, out, gen = int(sys.argv[1]), sys.argv[2], sys.argv[3]
bodies = [open(p, "rb").read() for p in sorted(glob.glob(f"{gen}/AWSLogs/*/*/CloudTrail/*/*/*/*/*.json.gz"))]
accounts = [f"{100000000000 + i * 7919:012d}" for i in range(25)]
folders = [(a, r, d) for a in accounts for r in ("us-east-1", "eu-west-1") for d in range(18, 23)]
for i in range(n):
    a, r, d = folders[i % len(folders)]
    k = i // len(folders)
    path = f"{out}/AWSLogs/o-bench12345/{a}/CloudTrail/{r}/2024/11/{d:02d}"
    os.makedirs(path, exist_ok=True)
    name = f"{a}_CloudTrail_{r}_202411{d:02d}T{k // 60 % 24:02d}{k % 60:02d}Z_B{i:07d}.json.gz"
    open(f"{path}/{name}", "wb").write(bodies[i % len(bodies)])
EOF
}

seconds() { python3 -c 'import sys; print(f"{float(sys.argv[1]):.2f}")' "$1"; }
timed() { # cmd... -> "wall_s peak_rss_mb cpu_s" of the command
  /usr/bin/time -f '%e %M %U %S' -o "$BENCH_DIR/time" "$@" >/dev/null 2>"$BENCH_DIR/err" || {
    cat "$BENCH_DIR/err" >&2; exit 1; }
  awk '{printf "%s %.0f %.2f\n", $1, $2/1024, $3 + $4}' "$BENCH_DIR/time"
}

mkdir -p "$BENCH_DIR"
printf '| objects | tool | wall s | objects/s | CPU s | peak RSS MB |\n| --- | --- | --- | --- | --- | --- |\n'
for n in "$SMALL" "$OBJECTS"; do
  bucket=bench-trail-$n
  src=$BENCH_DIR/objects-$n
  layout "$n" "$src"
  "$AWS" s3 mb "s3://$bucket" >/dev/null
  "$AWS" s3 cp --recursive --quiet "$src" "s3://$bucket/" >/dev/null
  mb=$(du -sm "$src" | cut -f1)

  store=$BENCH_DIR/store-$n; rm -rf "$store"
  read -r wall rss cpu < <(timed "$BIN" sync --store "$store" --quiet --concurrency "$CONCURRENCY" \
    --cloudtrail-bucket "s3://$bucket" --since 2024-11-18 --until 2024-11-23)
  printf '| %s (%s MB gzip) | `execaudit sync --concurrency %s` | %s | %.0f | %s | %s |\n' \
    "$n" "$mb" "$CONCURRENCY" "$(seconds "$wall")" "$(echo "$n / $wall" | bc -l)" "$cpu" "$rss"

  read -r wall2 rss2 cpu2 < <(timed "$BIN" sync --store "$store" --quiet \
    --cloudtrail-bucket "s3://$bucket" --since 2024-11-18 --until 2024-11-23)
  printf '| | `execaudit sync` again (nothing new) | %s | | %s | %s |\n' "$(seconds "$wall2")" "$cpu2" "$rss2"

  copy=$BENCH_DIR/copy-$n; rm -rf "$copy"
  read -r wall_cp rss_cp cpu_cp < <(timed "$AWS" s3 sync --quiet "s3://$bucket/" "$copy")
  store2=$BENCH_DIR/store2-$n; rm -rf "$store2"
  read -r wall_in rss_in cpu_in < <(timed "$BIN" ingest "$copy" --store "$store2" -q)
  total=$(echo "$wall_cp + $wall_in" | bc -l)
  printf '| | `aws s3 sync` + `execaudit ingest` | %s (%s + %s) | %.0f | %s + %s | %s / %s |\n' \
    "$(seconds "$total")" "$(seconds "$wall_cp")" "$(seconds "$wall_in")" "$(echo "$n / $total" | bc -l)" \
    "$cpu_cp" "$cpu_in" "$rss_cp" "$rss_in"

  a=$("$BIN" sessions --store "$store" --format csv | md5sum)
  b=$("$BIN" sessions --store "$store2" --format csv | md5sum)
  [ "$a" = "$b" ] || { echo "sync and s3 sync + ingest stored different sessions" >&2; exit 1; }
done
