#!/usr/bin/env bash
# The ingest side only (kept for old habits): see benches/fuzz.sh.
exec "$(dirname "$0")/fuzz.sh" "${1:-120}" cloudtrail_record record_view input_file
