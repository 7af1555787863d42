#!/usr/bin/env bash
# Issue 12 item 4: false alarms on repeated identical runs: 24 batches x 3 runs of the same suite, fresh clusters.
set -u
cd /work/main
R=/work/proof-identical/results
export GBENCH_DATA_DIR=/work/proof-identical/data GBENCH_STATE_DIR=/work/proof-identical/state
for i in $(seq -w 1 24); do
  t0=$(date +%s)
  make --no-print-directory bench-ci BENCH_SUITES=workloads/proof/suite-direct.yaml REPEATS=3 BATCH_ID=identical-$i \
    RESULTS=$R CHANGES_OUT=/work/proof-identical/changes-$i > /work/proof-identical/batch-$i.log 2>&1
  echo "$(date -u +%FT%TZ) batch $i rc=$? secs=$(( $(date +%s)-t0 )) exit-status=$(cat /work/proof-identical/changes-$i/exit-status 2>/dev/null) load=$(cut -d' ' -f1 /proc/loadavg)" >> /work/proof-identical/times.log
done
echo done >> /work/proof-identical/times.log
