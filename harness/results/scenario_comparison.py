"""The same fault scenario run several ways (netns + iptables, docker + iptables, docker +
Toxiproxy...), its failure summaries side by side: one row per (metric, run), tidy, with
the file and path each value came from, plus a Markdown table for people.

Why a table and not a verdict: "agree within noise" needs the noise. The election and
recovery figures come from polls every ``poll_interval`` (a 300 ms step), and a run's
faults land at a random point of the leader's heartbeat cycle, so differences of a poll
interval or two are noise. The table prints each figure with its measurement step so a
reader can judge; ``spread`` is max - min across the runs.

Example::

    doc = compare_scenarios([run_a, run_b, run_c], "etcd-leader-in-minority")
    write_scenario_comparison(out_dir, doc)   # scenario-comparison.json + .md
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from harness.results.store import RunDirectory, dig, git_commit, read_json

SCHEMA_VERSION = 2

Metric = tuple[str, str, str, str]
#: (metric, dotted path in failure_summary.json, unit, what it is): the figures every scenario
#: summary has, whatever the system. The per-level rows (``level_metrics``) come between them.
BEFORE: tuple[Metric, ...] = (
    ("partition_applied_ms", "partition.applied_over_ms", "ms", "time to put the partition in place"),
    ("election_after_s", "partition.election.elected_after_s", "s", "majority leader seen (poll upper bound)"),
    ("election_not_before_s", "partition.election.elected_not_before_s", "s", "majority leader not yet seen (poll lower bound)"),
    ("old_leader_stepped_down_after_s", "partition.election.old_leader_stepped_down_after_s", "s", "old leader no longer leading (poll upper bound)"),
    ("majority_first_ok_write_after_s", "partition.unavailability.writes.first_ok_after_s", "s", "first successful majority write after the partition"),
    ("majority_write_gap_s", "partition.unavailability.writes.gap_s", "s", "longest gap between successful majority writes"),
    ("minority_writes_attempted", "partition.minority_behaviour.writes.attempted", "ops", "writes sent to minority nodes"),
    ("minority_writes_ok", "partition.minority_behaviour.writes.ok", "ops", "of which acknowledged"),
)
RECOVERY: tuple[Metric, ...] = (
    ("recovery_full_service_after_s", "partition.recovery_after_heal.full_service_after_s", "s", "every node serves every op class again, after the heal"),
    ("recovery_slowest_node", "partition.recovery_after_heal.slowest_node", "", "node that recovered last"),
)
AFTER: tuple[Metric, ...] = (
    ("lost_writes", "lost_writes.count", "ops", "acknowledged writes never read back"),
    ("late_writes", "late_writes.count", "ops", "timed-out (info) writes seen to take effect later"),
)


def _levels(docs: Sequence[dict[str, Any]], section: str) -> list[tuple[str, str]]:
    """(class, level) pairs under ``section`` (a dotted path to ``{class: {level: ...}}``) in
    any of the summaries, classes in strong, session, weak order, levels in name order."""
    from harness.api import CONSISTENCY_CLASSES

    found = {(c, lv) for d in docs if isinstance(sec := dig(d, section), dict)
             for c, lvs in sec.items() if isinstance(lvs, dict) for lv in lvs}
    order = {c: k for k, c in enumerate(CONSISTENCY_CLASSES)}
    return sorted(found, key=lambda x: (order.get(x[0], len(order)), x[1]))


def level_metrics(docs: Sequence[dict[str, Any]]) -> tuple[Metric, ...]:
    """Every metric, for the read levels the summaries hold (named by the level, as the
    history spells it; its class in ``what``)."""
    served = tuple((f"minority_{lv}_reads_ok", f"partition.minority_behaviour.reads.{c}.{lv}.ok", "ops",
                    f"{lv} reads ({c}) served by the minority") for c, lv in
                   _levels(docs, "partition.minority_behaviour.reads"))
    wat = "partition.minority_behaviour.writes_at"
    write_levels = sorted({lv for d in docs if isinstance(sec := dig(d, wat), dict) for lv in sec})
    writes_at = tuple(m for lv in write_levels
                      for m in ((f"minority_{lv}_writes_attempted", f"{wat}.{lv}.attempted", "ops",
                                 f"writes at {lv} sent to minority nodes"),
                                (f"minority_{lv}_writes_ok", f"{wat}.{lv}.ok", "ops", "of which acknowledged")))
    stale = tuple((f"minority_{lv}_stale_share", f"partition.minority_behaviour.staleness.{c}.{lv}.stale_share",
                   "ratio", f"share of the minority's {lv} reads that were stale") for c, lv in
                  _levels(docs, "partition.minority_behaviour.staleness"))
    verdicts = tuple((f"{lv}_reads_linearizable", f"linearizability.{c}.{lv}.verdict", "bool",
                      f"checker verdict, {lv} reads ({c})") for c, lv in _levels(docs, "linearizability"))
    converged = tuple((f"{lv}_reads_converged", f"convergence.{c}.{lv}.verdict", "bool",
                       f"convergence verdict, {lv} reads ({c}): every node's last read after the writes agreed")
                      for c, lv in _levels(docs, "convergence"))
    sequential = tuple((f"{lv}_reads_sequential", f"sequential_consistency.{c}.{lv}.verdict", "bool",
                        f"sequential-consistency verdict, {lv} reads ({c})")
                       for c, lv in _levels(docs, "sequential_consistency"))
    return BEFORE + writes_at + served + stale + RECOVERY + process_fault_metrics(docs) + verdicts + sequential + \
        converged + AFTER


def process_fault_metrics(docs: Sequence[dict[str, Any]]) -> tuple[Metric, ...]:
    """For a scenario whose first process fault (kill, pause) window the summaries hold:
    per operation class the others served while it lasted (ok of attempted), and what the
    system's own after-fault finding (Cassandra: hints replayed to the node) counted."""
    base = "process_faults.windows.0"
    classes = sorted({c for d in docs if isinstance(sec := dig(d, f"{base}.others_served"), dict) for c in sec})
    out: list[Metric] = []
    for c in classes:
        out.append((f"fault_{c}_attempted", f"{base}.others_served.{c}.attempted", "ops",
                    f"{c} sent to the other nodes while the first process fault lasted"))
        out.append((f"fault_{c}_ok", f"{base}.others_served.{c}.ok", "ops", "of which succeeded"))
    findings = sorted({k for d in docs if isinstance(w := dig(d, base), dict) for k, v in w.items()
                       if isinstance(v, dict) and "files" in v})
    for f in findings:
        out.append((f"{f}_files", f"{base}.{f}.files", "files", f"{f.replace('_', ' ')} after the restore"))
        out.append((f"{f}_first_after_restore_s", f"{base}.{f}.first_after_restore_s", "s",
                    "first of them, after the restore"))
    return tuple(out)


def partition_mechanism(manifest: dict[str, Any]) -> str:
    """How the run's partitions were made: ``toxiproxy`` when its peer links went through
    Toxiproxy (the provider's facts in the manifest say so), else ``iptables``."""
    return "toxiproxy" if dig(manifest, "cluster.provider_facts.peer_links.via") == "toxiproxy" else "iptables"


def _how(manifest: dict[str, Any]) -> str:
    provider = dig(manifest, "cluster.provider") or "?"
    return f"{provider} + {partition_mechanism(manifest)}"


def compare_scenarios(runs: Sequence[Path], scenario: str) -> dict[str, Any]:
    """Rows for every metric of every run's ``scenarios/<scenario>/failure_summary.json``
    (DamagedFile naming the file when one is missing or unreadable)."""
    from harness.scenario.failure_summary import read_failure_summary

    cols: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    docs = [read_failure_summary(run / "scenarios" / scenario / "failure_summary.json") for run in runs]
    metrics = level_metrics(docs)
    for run, fs in zip(runs, docs):
        manifest = read_json(run / "manifest.json")
        how = _how(manifest)
        poll_ms = dig(fs, "partition.election.poll_interval_median_ms")
        cols.append({"run_id": run.name, "how": how, "harness_commit": dig(manifest, "harness.commit"),
                     "time_to_ready_s": dig(manifest, "cluster.time_to_ready_s"),
                     "poll_interval_ms": poll_ms})
        for metric, path, unit, what in metrics:
            rows.append({"metric": metric, "run_id": run.name, "how": how, "value": dig(fs, path), "unit": unit,
                         "file": f"{run.name}/scenarios/{scenario}/failure_summary.json", "path": path, "what": what})
    spreads: dict[str, Any] = {}
    for metric, _, unit, _ in metrics:
        vals = [r["value"] for r in rows if r["metric"] == metric]
        nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        spreads[metric] = round(max(nums) - min(nums), 6) if len(nums) == len(vals) and nums else None
    return {"schema_version": SCHEMA_VERSION, "scenario": scenario, "runs": cols, "rows": rows, "spread": spreads,
            "metrics": [{"metric": m, "path": p, "unit": u, "what": w} for m, p, u, w in metrics],
            "noise": "election/step-down/recovery figures are poll bounds (step = poll_interval_ms); the partition "
                     "lands at a random point of the heartbeat cycle; counts depend on the open-loop schedule"}


def _fmt(v: Any) -> str:
    if v is None:
        return "not measured"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def to_markdown(doc: dict[str, Any]) -> str:
    runs = doc["runs"]
    head = "| metric | unit | " + " | ".join(f"{c['how']}<br>`{c['run_id']}`" for c in runs) + " | spread |"
    lines = [f"# {doc['scenario']}: the same scenario, {len(runs)} ways", "", head,
             "|" + "---|" * (len(runs) + 3)]
    by = {(r["metric"], r["run_id"]): r for r in doc["rows"]}
    for m in doc["metrics"]:
        metric, unit, what = m["metric"], m["unit"], m["what"]
        cells = [_fmt(by[(metric, c["run_id"])]["value"]) for c in runs]
        sp = doc["spread"].get(metric)
        lines.append(f"| {metric} ({what}) | {unit} | " + " | ".join(cells) + f" | {_fmt(sp) if sp is not None else ''} |")
    lines += ["", "Poll interval (the step of the election and recovery figures): " +
              ", ".join(f"{c['how']} {_fmt(c['poll_interval_ms'])} ms" for c in runs) + ".",
              "Cluster time to ready: " + ", ".join(f"{c['how']} {_fmt(c['time_to_ready_s'])} s" for c in runs) + ".",
              "", f"Noise: {doc['noise']}.", "",
              "Every value: `results/<run_id>/scenarios/<scenario>/failure_summary.json` at the path in "
              "scenario-comparison.json."]
    return "\n".join(lines) + "\n"


def publish_scenario_comparison(runs: Sequence[Path], scenario: str, root: Path | None = None) -> Path:
    """``results/<ts>-<scenario>-compared/`` with scenario-comparison.{json,md} and a manifest,
    published atomically like any run."""
    doc = compare_scenarios(runs, scenario)
    rd = RunDirectory.create(f"{scenario}-compared", root)
    (rd.path / "scenario-comparison.md").write_text(to_markdown(doc))
    rd.write_json("scenario-comparison.json", doc)
    rd.write_json("manifest.json", {"schema_version": 1, "run_id": rd.run_id, "kind": "scenario-comparison",
                                    "scenario": scenario, "source_runs": [r.name for r in runs],
                                    "harness": git_commit()})
    return rd.complete()
