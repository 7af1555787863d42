#!/usr/bin/env bash
# Issue 12 item 5 on real runs: the etcd default suite x3 as one batch, then diagrams-refresh into a copy of
# the repository's results (reference runs linked, diagrams copied), the noise over the committed etcd runs + batch.
set -u
cd /work/main
D=/work/item5
rm -rf $D/results $D/into $D/changes $D/data $D/state
mkdir -p $D/results $D/into
for r in $(ls -d results/2026*/ | xargs -n1 basename); do ln -s /work/main/results/$r $D/results/$r; done
cp results/reference-runs.txt $D/into/
for r in $(grep -v '^#' results/reference-runs.txt | sed 's/#.*//' | grep .); do ln -s /work/main/results/$r $D/into/$r; done
cp -r results/diagrams $D/into/diagrams
export GBENCH_DATA_DIR=$D/data GBENCH_STATE_DIR=$D/state
t0=$(date +%s)
make --no-print-directory bench-ci BENCH_SUITES=workloads/suites/etcd.yaml REPEATS=3 BATCH_ID=item5-etcd \
  RESULTS=$D/results CHANGES_OUT=$D/changes DIAGRAMS_INTO=$D/into > $D/bench-ci.log 2>&1
echo "rc=$? secs=$(( $(date +%s)-t0 ))" > $D/done
