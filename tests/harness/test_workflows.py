"""The GitHub workflows (issue 12): actionlint with shellcheck passes on them and fails on a
broken copy, and the bench job keeps the rules its users rely on (never on pull requests, one
run at a time on the NVMe runner, its work done by `make bench-ci`, not by the workflow)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ACTIONLINT = REPO / ".cache" / "bin" / "actionlint"
WORKFLOWS = REPO / ".github" / "workflows"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = shutil.which("shellcheck")
    if not ACTIONLINT.is_file() or shellcheck is None:
        pytest.fail(f"make setup builds {ACTIONLINT} and installs shellcheck (found: actionlint "
                    f"{ACTIONLINT.is_file()}, shellcheck {shellcheck})")
    return subprocess.run([str(ACTIONLINT), "-config-file", ".github/actionlint.yaml", "-shellcheck", shellcheck,
                           "-no-color"], cwd=root, capture_output=True, text=True, timeout=120)


def workflow(name: str) -> dict[Any, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def test_actionlint_and_shellcheck_pass_on_the_workflows() -> None:
    r = lint(REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def test_actionlint_fails_on_an_undeclared_runner_label_and_a_shell_mistake(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(REPO / ".github" / "actionlint.yaml", tmp_path / ".github" / "actionlint.yaml")
    text = (WORKFLOWS / "bench.yml").read_text()
    broken = text.replace("nvme-bench]", "nvme-fast]").replace(
        'head -c 1000000 results/changes/summary.md >> "$GITHUB_STEP_SUMMARY"', "cat $summary >> $GITHUB_STEP_SUMMARY")
    assert broken != text
    (tmp_path / ".github" / "workflows" / "bench.yml").write_text(broken)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # actionlint finds the project by its .git
    r = lint(tmp_path)
    assert r.returncode == 1
    assert 'label "nvme-fast" is unknown' in r.stdout and "SC2086" in r.stdout


def test_the_bench_job_never_runs_fork_code_and_never_overlaps() -> None:
    bench = workflow("bench.yml")
    assert set(bench["on"]) == {"schedule", "workflow_dispatch"}  # no pull_request, no push
    assert set(bench["on"]["workflow_dispatch"]["inputs"]) == {"suites", "repeats"}
    assert bench["concurrency"]["cancel-in-progress"] is False
    job = bench["jobs"]["bench"]
    assert job["runs-on"] == ["self-hosted", "linux", "x64", "nvme-bench"]
    labels = yaml.safe_load((REPO / ".github" / "actionlint.yaml").read_text())["self-hosted-runner"]["labels"]
    assert "nvme-bench" in labels
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert sum("make bench-ci" in r for r in runs) == 1  # the job's work is the Makefile's
    assert not any("gbench bench" in r or "gbench changes" in r or "gbench diagrams" in r for r in runs)
    # the diagrams' pull request: described by diagram-moves.md, carrying the batch's runs
    (pr,) = [r for r in runs if "gh pr create" in r]
    assert "diagram-moves.md" in pr and ".batch_runs[]" in pr and "git add results/diagrams" in pr


def test_ci_runs_the_readme_test_command_on_push_and_pull_requests() -> None:
    ci = workflow("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    runs = [s["run"] for s in ci["jobs"]["test"]["steps"] if "run" in s]
    assert any("bash .ci/run" in r for r in runs) and any("make lint-ci" in r for r in runs)
