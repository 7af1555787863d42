"""The scheduled benchmark job's work end to end on real clusters (issue 12): `make bench-ci` with
a short suite, 3 repeats on fresh 3-node etcd clusters as one batch, over a history holding the
committed proof runs (docs/examples/bench-proof: a change at its 13th batch), then `gbench
history`'s table, `gbench changes`' outputs (changes.json, summary.md, the tracker issue bodies,
the plots) and the diagrams rebuilt with the batch, all in the test's own directories. The
workflow (.github/workflows/bench.yml) only calls this target, so this is the job as the NVMe
host runs it, shortened."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from diagram_gen.reference import read_run_list
from harness.results.history import load_history
from tests.diagram_gen.test_committed import committed_render_is_faithful

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.cluster


def destination(into: Path) -> Path:
    """What the repository's results/ holds for the diagrams: the reference runs (linked), their
    list and the committed diagrams (copied)."""
    into.mkdir()
    shutil.copy(REPO / "results" / "reference-runs.txt", into)
    for run in read_run_list():
        (into / run).symlink_to(REPO / "results" / run, target_is_directory=True)
    shutil.copytree(REPO / "results" / "diagrams", into / "diagrams")
    return into


def short_suite_named_like_the_etcd_suite(d: Path) -> Path:
    """The short suite under the etcd suite's name, its put workload under the name of the etcd
    suite's: the linearizability performance diagram then takes its put figures from the batch."""
    d.mkdir()
    put = yaml.safe_load((REPO / "workloads" / "ci" / "etcd-short-put-256B.yaml").read_text())
    (d / "etcd-put-256B.yaml").write_text(yaml.safe_dump({**put, "name": "etcd-put-256B"}))
    shutil.copy(REPO / "workloads" / "ci" / "etcd-short-get-serializable-256B.yaml", d)
    (d / "etcd.yaml").write_text(yaml.safe_dump({
        "name": "etcd", "description": "the bench job's test: short, under the etcd suite's name", "system": "etcd",
        "nodes": 3, "workloads": ["etcd-put-256B.yaml", "etcd-short-get-serializable-256B.yaml"]}))
    return d / "etcd.yaml"


def test_make_bench_ci_runs_a_batch_and_writes_history_changes_and_diagrams(require_cluster: None,
                                                                           tmp_path: Path) -> None:
    results, out = tmp_path / "results", tmp_path / "changes"
    results.mkdir()
    into = destination(tmp_path / "into")
    suite = short_suite_named_like_the_etcd_suite(tmp_path / "suite")
    env = dict(os.environ, GBENCH_DATA_DIR=str(tmp_path / "data"), GBENCH_STATE_DIR=str(tmp_path / "state"),
               GBENCH_RUNNER_LABEL="test-runner")
    env.pop("GBENCH_RESULTS_DIR", None)
    # the nights before: the committed proof history (18 batches, 2 ms of client latency from the 13th)
    earlier = sorted((REPO / "docs" / "examples" / "bench-proof" / "results").iterdir())
    for run in earlier:
        shutil.copytree(run, results / run.name)
    r = subprocess.run(["make", "--no-print-directory", "bench-ci", f"BENCH_SUITES={suite}", "REPEATS=3",
                        "BATCH_ID=test-batch", f"RESULTS={results}", f"CHANGES_OUT={out}", f"DIAGRAMS_INTO={into}"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    old = {p.name for p in earlier}
    runs = sorted(p for p in results.iterdir() if (p / "manifest.json").is_file() and p.name not in old)
    assert len(runs) == 3 and len(earlier) == 54
    batches = [json.loads((p / "manifest.json").read_text())["batch"] for p in runs]
    assert batches == [{"id": "test-batch", "index": i, "of": 3} for i in (1, 2, 3)]

    h = load_history([results])
    assert h.runs_read == 57
    mine = h.frame[h.frame.batch == "test-batch"]
    assert mine.fingerprint.nunique() == 1 and set(mine.runner_label) == {"test-runner"}
    assert set(mine.workload) == {"etcd-put-256B", "etcd-short-get-serializable-256B"}
    assert mine.groupby("series").run_id.nunique().eq(3).all()  # every series: one value per repeat

    # The earlier nights' change is reported (exit 10), with its tracker issue bodies and plots;
    # the batch's own series (another suite, runner label and fingerprint) are collecting a baseline.
    assert (out / "exit-status").read_text().strip() == "10"
    changes = json.loads((out / "changes.json").read_text())
    assert {c["at_run"] for c in changes["changes"]} == {"20261205T044506Z-proof"}
    assert {c["label"] for c in changes["changes"]} >= {"etcd proof-register/register put c6 p50_ms",
                                                        "etcd proof-register/register put c6 throughput_ops_s"}
    assert not any("short" in c["label"] for c in changes["changes"])  # the unchanged workload: no false alarm
    states = {s["series"]: s["status"] for s in changes["series"]}
    assert {states[sid] for sid in set(mine.series)} == {"collecting baseline"}
    issues = json.loads((out / "issues.json").read_text())
    assert len(issues) == len(changes["changes"]) and all((out / i["file"]).is_file() for i in issues)
    assert all(f"[gbench change {i['id']}]" in i["title"] for i in issues)
    plots = sorted(p.name for p in (out / "plots").iterdir())
    stems = sorted({p.rsplit(".", 1)[0] for p in plots})
    assert plots == sorted([f"{s}.{x}" for s in stems for x in ("png", "svg")])
    assert len(stems) == changes["counts"]["series_with_change"] > 0  # one trend plot per changed series
    summary = (out / "summary.md").read_text()
    assert "[plot](plots/" in summary and "Collecting baseline" in summary
    assert (out / "summary.md").stat().st_size < 1_000_000 and (out / "index.html").is_file()

    # The diagrams, rebuilt from the reference runs plus the batch (copied in), newest runs first.
    batch = [p.name for p in runs]
    assert all((into / b / "manifest.json").is_file() and not (into / b).is_symlink() for b in batch)
    perf = json.loads((into / "diagrams" / "linearizability" / "performance.json").read_text())
    assert perf["inputs"] == {"runs": sorted([*read_run_list(), *batch]), "selection": "newest", "fresh": batch}
    put_p50 = next(f for f in perf["figures"] if f["key"] == "put_p50")
    assert put_p50["provenance"]["run_id"] == batch[-1]  # the newest run of the etcd suite: the batch's last
    assert any(batch[-1] in line for line in perf["footer"]["lines"])
    committed_render_is_faithful(into / "diagrams", into)  # what make test checks of results/diagrams

    moves = json.loads((out / "diagram-moves.json").read_text())
    assert (moves["batch"], moves["batch_runs"], moves["adopted_runs"]) == ("test-batch", batch, batch)
    assert batch[-1] in moves["fresh_runs"]
    (m,) = [m for m in moves["moves"] if (m["diagram"], m["key"]) == ("linearizability/performance", "put_p50")]
    # its history here is the batch alone: 3 repeats (2 degrees of freedom) do not measure its noise
    assert (m["status"], m["noise_note"]) == ("noise not measured",
                                              "3 run(s) with this figure: too few to measure its noise")
    md = (out / "diagram-moves.md").read_text()
    assert md.startswith("# Diagrams regenerated from fresh runs") and "## Runs the footers name" in md
    assert len(md) < 60_000
