"""From raw samples to the figures the issue asks for: medians and p95, the targets, a Markdown table, a plot.

A sample that did not finish (a check with no "check done" within the save timeout, a baseline killed at its
timeout) is kept as `None` and counted as slower than every finished one: a median over mostly timed-out
samples is itself "timeout", never a flattering number computed from the few that finished.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

TARGETS = {
    "first": "first diagnostic <= 1 s",
    "vs_full": "affected set >= 20x faster than the full suite",
    "vs_testmon": "affected set >= 3x faster than testmon",
    "vs_warm": "affected set <= 1.5x the warm floor",
    "missed": "0 missed tests",
    "requests": "requests answered <= 100 ms",
}


@dataclass(frozen=True)
class Stat:
    median: float | None  # None: timed out (more than half the samples did not finish)
    p95: float | None
    n: int
    timeouts: int

    def as_dict(self) -> dict:
        return {"median_s": self.median, "p95_s": self.p95, "n": self.n, "timeouts": self.timeouts}


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if math.isinf(ordered[high]):
        return math.inf  # interpolating towards a timed-out sample: the quantile did not finish either
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stat(values: list[float | None]) -> Stat:
    finite = [math.inf if v is None else v for v in values]
    if not finite:
        return Stat(None, None, 0, 0)
    median, p95 = statistics.median(finite), _quantile(finite, 0.95)
    return Stat(None if math.isinf(median) else median, None if math.isinf(p95) else p95, len(values),
                sum(v is None for v in values))


def summarise(edit: dict, full_suite: list[dict]) -> dict:
    """The figures of one (project, edit) row from its raw samples; `full_suite` is shared by both edits."""
    samples = edit["samples"]
    greenloop = samples["greenloop"]
    first_key = "first_failure" if edit["kind"] == "bug" else "first_diagnostic"
    latencies = [x for s in greenloop + samples["restore"] for x in s["requests"]]
    missed = [len(m["missed"]) for m in edit["missed"]]
    # A clean check may publish nothing at all (no diagnostic changed): that is not a late diagnostic.
    firsts = [s[first_key] for s in greenloop if not (s[first_key] is None and s["check_done"] is not None
                                                        and first_key == "first_diagnostic")]
    silent = len(greenloop) - len(firsts)
    unknown = [len(m["unknown"]) for m in edit["missed"]]
    return {
        "full_suite": stat([r["seconds"] for r in full_suite]).as_dict(),
        "full_suite_tests": max((r["tests"] for r in full_suite), default=None),
        "testmon": stat([r["seconds"] for r in samples["testmon"]]).as_dict(),
        "testmon_tests": len(edit["testmon_selection"]),
        "cold": stat([r["seconds"] for r in samples["cold"]]).as_dict(),
        "warm": stat([r["seconds"] for r in samples["warm"]]).as_dict(),
        "greenloop_first": stat(firsts).as_dict(),
        "greenloop_first_silent": silent,
        "greenloop_first_kind": first_key,
        "greenloop_done": stat([s["check_done"] for s in greenloop]).as_dict(),
        "greenloop_ran": [s.get("ran_count") for s in greenloop],
        "greenloop_errors": [s["error"] for s in greenloop if s["error"]],
        "missed_max": max(missed, default=None),
        "unknown_max": max(unknown, default=None),
        "bug_reported": [bool(set(s["reported_failures"]) & set(edit["failing"])) for s in greenloop]
        if edit["kind"] == "bug" else None,
        "false_failures": sorted({f for s in greenloop for f in s["reported_failures"]} - set(edit["failing"])),
        "baseline_errors": sorted({r["error"] for key in ("testmon", "cold", "warm") for r in samples[key]
                                   if r.get("error")} | {r["error"] for r in full_suite if r.get("error")}),
        "requests_max_s": max(latencies, default=None),
        "requests_p95_s": _quantile(latencies, 0.95) if latencies else None,
        "requests_n": len(latencies),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _missed_met(missed: int | None, unknown: int | None) -> bool | None:
    if missed is None:
        return None
    if missed:
        return False
    return None if unknown else True  # unknown: selected, but the run was killed before we could tell


def targets(row: dict) -> dict[str, dict]:
    """Each target: the measured value and whether it is met (None: cannot tell)."""
    done = row["greenloop_done"]["median_s"]
    first = row["greenloop_first"]["median_s"]
    vs_full = _ratio(row["full_suite"]["median_s"], done)
    vs_testmon = _ratio(row["testmon"]["median_s"], done)
    vs_warm = _ratio(done, row["warm"]["median_s"])
    missed, unknown = row["missed_max"], row["unknown_max"]
    requests = row["requests_max_s"]
    silent_only = not row["greenloop_first"]["n"] and row.get("greenloop_first_silent")
    return {
        "first": {"value": first, "met": None if first is None and not row["greenloop_first"]["timeouts"]
                  else first is not None and first <= 1.0,
                  "note": "n/a: the check published nothing (clean)" if silent_only else None},
        "vs_full": {"value": vs_full, "met": None if vs_full is None and done is not None else
                    vs_full is not None and vs_full >= 20},
        "vs_testmon": {"value": vs_testmon, "met": None if vs_testmon is None and done is not None else
                       vs_testmon is not None and vs_testmon >= 3},
        "vs_warm": {"value": vs_warm, "met": None if vs_warm is None and done is not None else
                    vs_warm is not None and vs_warm <= 1.5},
        "missed": {"value": missed, "unknown": unknown, "met": _missed_met(missed, unknown)},
        "requests": {"value": requests, "met": None if requests is None else requests <= 0.1},
    }


def _s(value: float | None, timeout_label: str = "timeout") -> str:
    if value is None:
        return timeout_label
    return f"{value * 1000:.0f} ms" if value < 0.1 else f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def _cell(figure: dict, missing: str = "timed out or failed") -> str:
    """`missing` names what a None sample means here: a run that timed out, or a diagnostic that never came."""
    if not figure["n"]:
        return "–"
    label = "never" if missing == "never came" else "timeout"
    text = f"{_s(figure['median_s'], label)} (p95 {_s(figure['p95_s'], label)})"
    if figure["timeouts"]:
        text += f", {figure['timeouts']}/{figure['n']} {missing}"
    return text


def _mark(met: bool | None) -> str:
    return "?" if met is None else "✓" if met else "✗"


def table(data: dict) -> str:
    lines = ["| project (edit) | full suite | pytest --testmon | covering, cold | covering, warm (floor) "
             "| greenloop: first diagnostic | greenloop: affected set | tests: full / testmon / greenloop "
             "| missed | requests max / p95 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for project in data["projects"]:
        for kind, row in project["summary"].items():
            ran = [r for r in row["greenloop_ran"] if r is not None]
            ran_text = f"{statistics.median(ran):.0f}" if ran else "?"
            missed = "?" if row["missed_max"] is None else str(row["missed_max"])
            if row["unknown_max"]:
                missed += f" (+{row['unknown_max']} unknown)"
            requests = (f"{_s(row['requests_max_s'])} / {_s(row['requests_p95_s'])}"
                        if row["requests_max_s"] is not None else "–")
            first = _cell(row["greenloop_first"], "never came")
            if row.get("greenloop_first_silent"):
                silent = f"{row['greenloop_first_silent']}/{len(row['greenloop_ran'])} checks published nothing (clean)"
                first = silent if first == "–" else f"{first}; {silent}"
            if kind == "bug" and row["bug_reported"] is not None:
                first += f"; bug reported {sum(row['bug_reported'])}/{len(row['bug_reported'])}"
            lines.append(
                f"| {project['name']} ({kind} in `{project['function']}`) | {_cell(row['full_suite'])} "
                f"| {_cell(row['testmon'])} | {_cell(row['cold'])} | {_cell(row['warm'])} | {first} "
                f"| {_cell(row['greenloop_done'])} | {row['full_suite_tests']} / {row['testmon_tests']} / {ran_text} "
                f"| {missed} | {requests} |")
    return "\n".join(lines)


def targets_table(data: dict) -> str:
    lines = ["| project (edit) | " + " | ".join(TARGETS.values()) + " |",
             "|---|" + "---|" * len(TARGETS)]
    for project in data["projects"]:
        for kind, row in project["summary"].items():
            met = project["targets"][kind]
            cells = []
            for key in TARGETS:
                value = met[key]["value"]
                if met[key].get("note"):
                    cells.append(met[key]["note"])
                    continue
                if key == "first" or key == "requests":
                    shown = _s(value)
                elif key == "missed":
                    shown = "?" if value is None else str(value)
                    if met[key].get("unknown"):
                        shown += f" (+{met[key]['unknown']} unknown)"
                else:
                    shown = "?" if value is None else f"{value:.1f}x"
                cells.append(f"{_mark(met[key]['met'])} {shown}")
            lines.append(f"| {project['name']} ({kind}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(data: dict, path: Path) -> None:
    """Horizontal bars, log time axis: one panel per project, medians with a p95 whisker, timeouts hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [("full suite", "full_suite"), ("pytest --testmon", "testmon"), ("covering, cold", "cold"),
            ("covering, warm", "warm"), ("greenloop: first diagnostic", "greenloop_first"),
            ("greenloop: affected set", "greenloop_done")]
    colours = {"noop": "#4c78a8", "bug": "#e45756"}
    projects = data["projects"]
    figure, axes = plt.subplots(len(projects), 1, figsize=(9, 3.2 * len(projects) + 0.6), squeeze=False)
    cap = data["settings"]["save_timeout_s"]
    for axis, project in zip(axes[:, 0], projects):
        for offset, (kind, row) in enumerate(project["summary"].items()):
            for index, (label, key) in enumerate(bars):
                figure_ = row[key]
                y = index + (offset - 0.5) * 0.38
                if not figure_["n"]:
                    if key == "greenloop_first" and row.get("greenloop_first_silent"):
                        axis.text(0.02, y, "nothing published (clean check)", va="center", fontsize=7,
                                  color=colours[kind], transform=axis.get_yaxis_transform())
                    continue
                median = figure_["median_s"]
                if median is None:
                    axis.barh(y, cap, height=0.36, color="white", edgecolor=colours[kind], hatch="//")
                    continue
                p95 = figure_["p95_s"] if figure_["p95_s"] is not None else cap
                axis.barh(y, median, height=0.36, color=colours[kind],
                          xerr=[[0], [max(p95 - median, 0)]], error_kw={"elinewidth": 0.8, "capsize": 2})
        axis.set_yticks(range(len(bars)), [label for label, _ in bars])
        axis.invert_yaxis()
        axis.set_xscale("log")
        axis.axvline(1.0, color="grey", linestyle=":", linewidth=0.8)
        axis.set_title(f"{project['name']} {project['version']} (Python {project['python']}): "
                       f"edit in {project['function']}", fontsize=10)
        axis.set_xlabel("seconds (log scale; bar = median, whisker = p95, hatched = timed out)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    figure.legend(handles, ["no-op edit", "planted bug (greenloop: first failing-test diagnostic)"],
                  loc="lower center", ncol=2, fontsize=8)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
