#!/bin/bash
# Re-runs every measurement of BENCHMARKS.md for one dataset size.
#
#   cmd/loadgen/run.sh 100000 bench-data/b100k    # ~10 min
#   cmd/loadgen/run.sh 1000000 bench-data/b1m     # dump + import ~6 min, the rest ~25 min
#
# Everything targets 127.0.0.1 only; every loop is bounded in requests and
# time. Results are appended (JSON lines) to $OUT/results.jsonl and the
# console output to $OUT/*.log. Delete the data dir and the dump afterwards
# (1M songs: a 2.9 GB dump, a 6.3 GB data.db, as much again for compaction).
set -euo pipefail
N=${1:?songs}
BASE=${2:?directory for the data dir and logs}
PORT=${PORT:-8097}
RUNS=${RUNS:-3}
cd "$(dirname "$0")/../.."   # the module root
mkdir -p "$BASE"
OUT=$BASE
DIR=$BASE/pb_data
LABEL=$( [ "$N" -ge 1000000 ] && echo "$((N/1000000))M" || echo "$((N/1000))k" )

go build -o /tmp/songcommons .
go build -o /tmp/loadgen ./cmd/loadgen
{
  echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git rev-parse --short HEAD) $(git status --porcelain | wc -l) uncommitted paths"
  echo "nproc: $(nproc)"; grep -m1 'model name' /proc/cpuinfo; go version; echo "load: $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt"

if [ ! -f "$DIR/data.db" ]; then
  # the dataset is built the way an operator would: a dump, imported
  [ -f "$BASE/dump.jsonl" ] || /tmp/loadgen dump --songs "$N" --out "$BASE/dump.jsonl" | tee "$OUT/dump.log"
  /usr/bin/time -v /tmp/songcommons import "$BASE/dump.jsonl" --dir "$DIR" 2>&1 | grep -v '^import ' | tee "$OUT/import.log"
  # and the ingest path of uploads, offline (random order, random rowids)
  /tmp/loadgen seed --dir "$DIR" --songs 20000 --offset 900000000 --cpuprofile "$OUT/seed.pprof" | tee "$OUT/seed.log"
fi
/tmp/loadgen startup --dir "$DIR" --port "$PORT" --runs "$RUNS" --expect "$N" | tee "$OUT/startup.log"
/tmp/loadgen startup --dir "$DIR" --port "$PORT" --runs 1 --expect "$N" --cold | tee "$OUT/startup-cold.log"
/tmp/loadgen serve --dir "$DIR" --port "$PORT" --songs "$N" --runs "$RUNS" --label "$LABEL" \
  --scenarios lookup,similar,contribute,batch --json "$OUT/results.jsonl" | tee "$OUT/bench.log"
/tmp/loadgen serve --dir "$DIR" --port "$PORT" --songs "$N" --runs 1 --label "$LABEL" \
  --scenarios mixed --mixed-clients 100 --mixed-duration 60s --mixed-uploads 100 --json "$OUT/results.jsonl" | tee "$OUT/mixed.log"
# compaction (VACUUM INTO a snapshot, as the nightly job; needs as much free disk as data.db)
/tmp/loadgen compact --dir "$DIR" 2>&1 | tee "$OUT/compact.log"
