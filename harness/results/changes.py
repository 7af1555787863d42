"""Change detection over the results history (issue 12): which series moved, at which run, by
how much, and how sure that is.

From the history table (``harness.results.history``: one row per run, series and metric),
series by series; a series has one hardware fingerprint by construction of its id, so runs on
different hosts are never compared.

1. **Stability** (``harness.results.stability``): a run whose per-second throughput varies
   more than ``Settings.threshold_cv`` (coefficient of variation) is unstable: it makes no
   point and is listed (``runs``, ``usable: false``) to be drawn hollow. Failure figures, rows
   measured under a fault scenario and peer tools' rows have no such judgement and are used;
   each run's ``stability`` says which case applied.
2. **Points**: the runs of one batch (``harness.results.batch``) give one point, the median of
   their usable runs' values; a run outside any batch is a point of its own. A point's
   ``repeats`` says how many runs it stands for: fewer than ``MIN_REPEATS`` is shown, not hidden.
3. **Verdict**: fewer than ``MIN_POINTS`` points: "collecting baseline" (with the count).
   Otherwise Apache Otava's change points (E-divisive means confirmed by a t-test; the
   standalone ``otava_adapter.py`` run by the Otava virtualenv's python, made by ``make
   setup``: without it, EnvironmentProblem, never another method). A change point is reported
   only when

   - its segment after (up to the next change point or the end) has at least ``MIN_AFTER``
     points; with fewer at the end of the series it is "pending", listed with the points it
     still needs; with fewer before the next change point it is a transient and not reported;
   - a two-sided Mann-Whitney U test (``change_stats``, pure Python: the project's virtualenv
     has no scipy, and this way the test runs on exactly the points computed here and is unit
     tested with exact values) of the two segments' point values gives p <= ``Settings.alpha``;
   - the segments' medians differ;
   - the shift of the medians is beyond the series' noise (``change_stats.beyond_noise``):
     larger than ``Settings.noise_factor`` (1.96 * sqrt(2)) times one run's standard
     deviation, pooled over the repeated runs of the two segments' points (a batch's runs on
     fresh clusters), or, with too few repeats, estimated from successive points. A shift
     smaller than the difference two runs of one configuration show 95 % of the time is not
     told from noise, however many points make it "significant": on a long quiet history the
     host's slow drift of a tail percentile by a tenth passes Mann-Whitney (measured: the
     bench-proof's short-put p99 and p99.9, docs/examples/bench-proof).

   Its size is the change of the median in percent with a seeded bootstrap confidence
   interval; its direction (regression or improvement) follows the metric's ``better``; its
   attributes (software versions, harness commit) are shown before and after.

What a gradual drift does (measured with Otava 0.8.0, window 30, p 0.001): Otava cuts it into
steps, each reported once its segments differ by more than ``Settings.min_magnitude`` and
pass the Mann-Whitney test; 5% more per point over 20 points gives changes at points 5, 10 and
15, 1% per point (5% per five points) gives none at min_magnitude 0.05.
"""
from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from harness.errors import EnvironmentProblem, GbenchError
from harness.results.change_stats import (NOISE_FACTOR, beyond_noise, bootstrap_change_ci, change_percent,
                                          mann_whitney_u, run_noise)
from harness.results.history import SERIES_KEY
from harness.results.stability import LOAD_METRICS, Stability, judge
from harness.results.store import REPO_ROOT

#: No verdict on a series with fewer points than this.
MIN_POINTS = 10
#: A change point is reported only with at least this many points after it.
MIN_AFTER = 3
#: A point of fewer usable runs than this is flagged (``repeats``) in the output.
MIN_REPEATS = 3

OTAVA_PYTHON = REPO_ROOT / ".cache" / "otava" / "venv" / "bin" / "python"
OTAVA_ADAPTER = Path(__file__).with_name("otava_adapter.py")
OTAVA_TIMEOUT_S = 600.0

#: The series key's fields other than the fingerprint and the metric, shown with every series.
KEY_FIELDS = tuple(k for k in SERIES_KEY if k not in ("fingerprint", "metric"))


def format_value(v: float | None, unit: str = "") -> str:
    """A median as the summary, issues and index write it: 4 significant digits and the unit
    (none for a share)."""
    if v is None:
        return "not defined"
    return f"{v:.4g}{' ' + unit if unit and unit != 'share' else ''}"


def format_percent(v: float | None) -> str:
    """A change in percent with its sign, one decimal."""
    return "not defined" if v is None else f"{v:+.1f}%"


def format_in_noise(c: "Change") -> str:
    """A change's shift in run standard deviations, one decimal ("∞": every repeat identical,
    noise 0; "not measured": no noise estimate)."""
    if c.noise_sd is None:
        return "not measured"
    return "∞" if c.shift_in_noise is None else f"{c.shift_in_noise:.1f}"


@dataclass(frozen=True)
class Settings:
    """``threshold_cv``: above this coefficient of variation of per-second throughput a run is
    unstable. ``max_pvalue``, ``min_magnitude`` (a fraction of the mean), ``window_len``: Otava's
    (``compute_change_points``); a 5% floor because repeated identical runs on a shared 2-core
    host move by several percent. ``alpha``: the Mann-Whitney confirmation's level.
    ``noise_factor``: how many run standard deviations a shift must exceed.
    ``resamples``, ``seed``, ``confidence``: the bootstrap interval's."""

    threshold_cv: float = 0.25
    max_pvalue: float = 0.001
    min_magnitude: float = 0.05
    window_len: int = 30
    alpha: float = 0.05
    noise_factor: float = NOISE_FACTOR
    resamples: int = 2000
    seed: int = 20261205
    confidence: float = 0.95


@dataclass
class RunValue:
    """One run's value in a series; ``point``: the index of the point it went into, None when
    it made none (unstable)."""

    run_id: str
    started_utc: str | None
    batch: str | None
    value: float
    usable: bool
    cv: float | None
    stability: str
    point: int | None = None


@dataclass
class Point:
    """A batch's (or a lone run's) median of its usable runs."""

    index: int
    key: str
    batch: str | None
    started_utc: str | None
    value: float
    repeats: int
    runs: list[str]
    unstable_runs: list[str]
    harness_commits: list[str]
    software: list[str]


@dataclass
class Change:
    """A reported change point. ``index``: the first point after it; ``at_run``: that point's
    first run; ``id``: stable across re-analyses of a longer history (series and point key), for
    a tracker to update rather than duplicate; ``fewest_repeats``: the fewest runs behind any
    point of the two segments (under MIN_REPEATS: points of single runs, noisier);
    ``noise_sd``, ``noise_method``: one run's standard deviation and how it was found;
    ``shift_in_noise``: the shift of the medians in those standard deviations (None: the noise
    is 0)."""

    id: str
    index: int
    at_point: str
    at_run: str
    started_utc: str | None
    direction: str
    before_median: float
    after_median: float
    change_percent: float | None
    ci_percent: tuple[float, float] | None
    ci_note: str
    mann_whitney_p: float
    mann_whitney_u: float
    mann_whitney_method: str
    otava_pvalue: float | None
    points_before: int
    points_after: int
    fewest_repeats: int
    noise_sd: float | None
    noise_method: str
    shift_in_noise: float | None
    runs_before: list[str]
    runs_after: list[str]
    commits_before: list[str]
    commits_after: list[str]
    attributes: dict[str, dict[str, Any]]


@dataclass
class NotReported:
    """A change point Otava found that is not (yet) reported, and why."""

    index: int
    at_point: str
    otava_pvalue: float | None
    why: str
    pending: bool = False
    #: a change point within noise: its shift in run standard deviations
    shift_in_noise: float | None = None


@dataclass
class SeriesChanges:
    series: str
    fingerprint: str
    metric: str
    unit: str
    better: str
    key: dict[str, Any]
    status: str  # "collecting baseline" | "no change" | "change"
    points: list[Point]
    runs: list[RunValue]
    changes: list[Change] = field(default_factory=list)
    not_reported: list[NotReported] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``system workload op [level] cN metric`` (plus provider, nodes, tool when not the
        harness): what a reader needs to find the series."""
        k = self.key
        parts = [k.get("system"), k.get("workload") or None, k.get("op"), k.get("level") or None,
                 f"write {k['write_level']}" if k.get("write_level") else None,
                 f"c{k['concurrency']}" if k.get("concurrency") is not None else None,
                 k.get("tool") if k.get("tool") != "harness" else None, self.metric]
        return " ".join(str(p) for p in parts if p not in (None, ""))


@dataclass
class ChangeReport:
    settings: Settings
    series: list[SeriesChanges]
    runs_read: int
    left_out: list[tuple[str, str, str]]

    @property
    def changes(self) -> list[tuple[SeriesChanges, Change]]:
        return [(s, c) for s in self.series for c in s.changes]

    def counts(self) -> dict[str, Any]:
        """Headline counts: series by status, points, runs per point, unstable runs."""
        runs = [r for s in self.series for r in s.runs]
        points = [p for s in self.series for p in s.points]
        by_status = Counter(s.status for s in self.series)
        return {
            "runs_read": self.runs_read, "series": len(self.series),
            "series_with_change": by_status["change"], "series_no_change": by_status["no change"],
            "series_collecting_baseline": by_status["collecting baseline"],
            "changes": len(self.changes),
            "regressions": sum(c.direction == "regression" for _, c in self.changes),
            "improvements": sum(c.direction == "improvement" for _, c in self.changes),
            "pending": sum(n.pending for s in self.series for n in s.not_reported),
            "fingerprints": len({s.fingerprint for s in self.series}),
            "points": len(points), "points_under_min_repeats": sum(p.repeats < MIN_REPEATS for p in points),
            "run_values": len(runs), "unstable_run_values": sum(not r.usable for r in runs),
            "stability_not_measured": sum(r.stability.startswith("not measured") for r in runs),
            "left_out_runs": len(self.left_out)}

    def runs_per_point(self) -> dict[str, Any]:
        """How many usable runs the points stand for (``{"1": 40, "3": 12}``), and the rule."""
        c = Counter(p.repeats for s in self.series for p in s.points)
        return {"rule": "a point is the median of its batch's usable runs; a run outside any batch is a point "
                        f"of its own; a point of fewer than {MIN_REPEATS} runs says so (repeats)",
                "repeats": {str(k): v for k, v in sorted(c.items())}}

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1, "settings": asdict(self.settings),
            "rules": {"min_points": MIN_POINTS, "min_after": MIN_AFTER, "min_repeats": MIN_REPEATS},
            "counts": self.counts(), "runs_per_point": self.runs_per_point(),
            "changes": [{"series": s.series, "label": s.label, "fingerprint": s.fingerprint, "metric": s.metric,
                         "unit": s.unit, "better": s.better, **asdict(c)} for s, c in self.changes],
            "series": [{**asdict(s), "label": s.label} for s in self.series],
            "left_out": [{"run_id": r, "path": p, "why": w} for r, p, w in self.left_out]}


ChangePointFinder = Callable[[dict[str, list[float]], Settings], dict[str, list[dict[str, Any]]]]


def otava_change_points(series: dict[str, list[float]], settings: Settings,
                        python: Path = OTAVA_PYTHON) -> dict[str, list[dict[str, Any]]]:
    """Otava's change points of every series (``otava_adapter.py``'s output), in one call of
    the adapter under the Otava virtualenv's ``python``. EnvironmentProblem when that
    virtualenv is missing or the adapter fails to run; GbenchError when it refuses the request
    or answers something else than every series asked for."""
    if not series:
        return {}
    if not Path(python).is_file():
        raise EnvironmentProblem(f"Apache Otava is not installed: {python} is missing; run `make setup` "
                                 "(it installs apache-otava into .cache/otava/venv)")
    request = json.dumps({"series": series, "max_pvalue": settings.max_pvalue,
                          "min_magnitude": settings.min_magnitude, "window_len": settings.window_len})
    try:
        done = subprocess.run([str(python), str(OTAVA_ADAPTER)], input=request, capture_output=True, text=True,
                              timeout=OTAVA_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise GbenchError(f"{OTAVA_ADAPTER.name}: no answer in {OTAVA_TIMEOUT_S:g} s") from None
    except OSError as e:
        raise EnvironmentProblem(f"{python}: cannot run: {e.strerror or e}; run `make setup`") from None
    last = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
    if done.returncode == 2:
        raise GbenchError(f"{OTAVA_ADAPTER.name} refused the request: {last}")
    if done.returncode != 0:
        raise EnvironmentProblem(f"{OTAVA_ADAPTER.name} under {python} failed (exit {done.returncode}): {last}; "
                                 "run `make setup`")
    try:
        out = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise GbenchError(f"{OTAVA_ADAPTER.name}: its answer is not JSON: {e}") from None
    if not isinstance(out, dict) or set(out) != set(series):
        raise GbenchError(f"{OTAVA_ADAPTER.name}: its answer does not name exactly the {len(series)} series asked for")
    for sid, cps in out.items():
        if not (isinstance(cps, list) and all(isinstance(c, dict) and isinstance(c.get("index"), int)
                                              and 0 < c["index"] < len(series[sid]) for c in cps)):
            raise GbenchError(f"{OTAVA_ADAPTER.name}: series {sid}: not a list of change points with an index "
                              f"inside its {len(series[sid])} points")
    return out


def _unique(values: Sequence[str]) -> list[str]:
    return sorted(set(values))


def series_points(rows: Sequence[dict[str, Any]], run_paths: dict[str, Path], settings: Settings,
                  judged: dict[tuple[Any, ...], Stability] | None = None) -> tuple[list[Point], list[RunValue]]:
    """One series' rows (oldest first) as its points and the run values they came from.
    ``judged``: stability already judged, shared across series (a run's throughput, p50, p99
    and p99.9 share one interval log)."""
    judged = {} if judged is None else judged
    runs: list[RunValue] = []
    groups: dict[str, list[tuple[RunValue, dict[str, Any]]]] = {}
    for r in rows:
        log_key = (r["run_id"], r["metric"] in LOAD_METRICS, r["tool"], r["workload"], r["op"], r.get("duration_s"))
        if log_key not in judged:
            judged[log_key] = judge(run_paths[r["run_id"]], r["metric"], r["tool"], r["workload"], r["op"],
                                    r.get("duration_s"), settings.threshold_cv)
        st = judged[log_key]
        rv = RunValue(r["run_id"], r.get("started_utc"), r.get("batch"), float(r["value"]), st.usable, st.cv, st.note)
        runs.append(rv)
        groups.setdefault(rv.batch or rv.run_id, []).append((rv, r))
    points: list[Point] = []
    for key, members in groups.items():  # in order of each group's first run
        usable = [(m, r) for m, r in members if m.usable]
        if not usable:
            continue
        for m, _ in usable:
            m.point = len(points)
        first = members[0][0]
        points.append(Point(len(points), key, first.batch, first.started_utc,
                            statistics.median(m.value for m, _ in usable), len(usable), [m.run_id for m, _ in usable],
                            [m.run_id for m, _ in members if not m.usable],
                            _unique([str(r.get("harness_commit")) for _, r in usable]),
                            _unique([str(r.get("software")) for _, r in usable])))
    return points, runs


def _direction(better: str, before: float, after: float) -> str:
    worse = after < before if better == "higher" else after > before
    return "regression" if worse else "improvement"


def judge_change_point(s: SeriesChanges, cp: dict[str, Any], lo: int, hi: int,
                       settings: Settings) -> Change | NotReported:
    """Otava's change point ``cp`` of series ``s``, its segments being points [lo, index) and
    [index, hi): a Change, or NotReported with the reason."""
    i = int(cp["index"])
    values = [p.value for p in s.points]
    before, after = values[lo:i], values[i:hi]
    at = s.points[i]
    otava_p = cp.get("pvalue")
    if len(after) < MIN_AFTER:
        if hi == len(values):
            return NotReported(i, at.key, otava_p, f"pending: {len(after)} point(s) after it, reported at {MIN_AFTER}",
                               pending=True)
        return NotReported(i, at.key, otava_p, f"a transient: {len(after)} point(s) before the next change point, "
                                               f"fewer than {MIN_AFTER}")
    mw = mann_whitney_u(before, after)
    if mw.p > settings.alpha:
        return NotReported(i, at.key, otava_p, f"not confirmed: Mann-Whitney p {mw.p:.3g} > {settings.alpha:g}")
    mb, ma = statistics.median(before), statistics.median(after)
    if mb == ma:
        return NotReported(i, at.key, otava_p, "not confirmed: the segments' medians are equal")
    by_point: dict[int, list[float]] = {}
    for r in s.runs:
        if r.point is not None and lo <= r.point < hi:
            by_point.setdefault(r.point, []).append(r.value)
    noise = run_noise([by_point.get(k, []) for k in range(lo, hi)])
    shift = ma - mb
    beyond = beyond_noise(shift, noise, settings.noise_factor)
    if beyond is False:
        assert noise is not None
        return NotReported(i, at.key, otava_p, f"within noise: the shift {format_value(shift, s.unit)} is "
                                               f"{abs(shift) / noise.sd:.2f} x the {noise.describe()}, "
                                               f"not above {settings.noise_factor:.2f}",
                           shift_in_noise=abs(shift) / noise.sd)
    pct = change_percent(before, after)
    ci = bootstrap_change_ci(before, after, settings.resamples, settings.seed, settings.confidence) if pct is not None \
        else None
    ci_note = (f"{settings.confidence:.0%} percentile bootstrap, {settings.resamples} resamples, seed {settings.seed}"
               if ci is not None else "not defined: a median before is 0")
    last_before, first_after = s.points[i - 1], at
    attributes = {name: {"before": "; ".join(getattr(last_before, attr)), "after": "; ".join(getattr(first_after, attr)),
                         "changed": getattr(last_before, attr) != getattr(first_after, attr)}
                  for name, attr in (("software", "software"), ("harness_commit", "harness_commits"))}
    cid = hashlib.sha256(f"{s.series}\n{at.key}".encode()).hexdigest()[:12]
    return Change(cid, i, at.key, at.runs[0], at.started_utc, _direction(s.better, mb, ma), mb, ma, pct, ci, ci_note,
                  mw.p, mw.u, mw.method, otava_p, len(before), len(after), min(p.repeats for p in s.points[lo:hi]),
                  None if noise is None else noise.sd,
                  "not measured" if noise is None else noise.describe(),
                  None if noise is None or noise.sd == 0 else abs(shift) / noise.sd,
                  [r for p in s.points[lo:i] for r in p.runs], [r for p in s.points[i:hi] for r in p.runs],
                  _unique([c for p in s.points[lo:i] for c in p.harness_commits]),
                  _unique([c for p in s.points[i:hi] for c in p.harness_commits]), attributes)


def detect_changes(frame: Any, run_paths: dict[str, Path], runs_read: int = 0,
                   left_out: Sequence[tuple[str, str, str]] = (), settings: Settings = Settings(),
                   find: ChangePointFinder | None = None) -> ChangeReport:
    """Every series of the history ``frame`` (``History.frame``; ``run_paths`` from
    ``History.run_paths``) judged as the module's docstring says. ``find``: the change-point
    finder (default: Otava through its adapter)."""
    finder = find or otava_change_points
    result: list[SeriesChanges] = []
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    by_series: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_series.setdefault(r["series"], []).append(r)
    judged: dict[tuple[Any, ...], Stability] = {}
    for sid, rows in by_series.items():
        rows.sort(key=lambda r: (r.get("started_utc") or "", r["run_id"]))
        points, runs = series_points(rows, run_paths, settings, judged)
        first = rows[0]
        status = "collecting baseline" if len(points) < MIN_POINTS else "no change"
        result.append(SeriesChanges(sid, first["fingerprint"], first["metric"], first["unit"], first["better"],
                                    {k: first[k] for k in KEY_FIELDS}, status, points, runs))
    ready = {s.series: [p.value for p in s.points] for s in result if s.status != "collecting baseline"}
    found = finder(ready, settings)
    for s in result:
        if s.series not in ready:
            continue
        cps = sorted(found.get(s.series, []), key=lambda c: int(c["index"]))
        bounds = [0, *(int(c["index"]) for c in cps), len(s.points)]
        for k, cp in enumerate(cps):
            verdict = judge_change_point(s, cp, bounds[k], bounds[k + 2], settings)
            if isinstance(verdict, Change):
                s.changes.append(verdict)
            else:
                s.not_reported.append(verdict)
        s.status = "change" if s.changes else "no change"
    return ChangeReport(settings, result, runs_read, list(left_out))
