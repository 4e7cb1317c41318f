"""One project, end to end: set-up, ground truth, then repeats in which greenloop and the baselines alternate.

Order, so that a noisy shared machine affects every configuration alike:

1. set-up (cached): sdist, venv, testmon's database on the pristine source; the suite's test ids.
2. ground truth per edit (untimed): testmon's selection (= the covering tests) and one cold run of them; for
   the planted bug, the covering tests that fail are the ones greenloop must report.
3. the language server is started and waited for (`wait_ready`), then `warmup` untimed edit/restore cycles.
4. each repeat, for the no-op edit then the bug: apply the edit; greenloop on save; testmon's re-run; the covering
   tests cold; warm; the full suite (no-op only: a planted bug does not change what the full suite costs);
   restore the file (verified) and save it, waiting for greenloop's check of the restored text.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from real import pytest_runs
from real.lsp_probe import GreenloopProbe, Ready, SaveSample
from real.projects import ProjectSpec, Workspace, set_up

KINDS = ("noop", "bug")


@dataclass(frozen=True)
class Settings:
    cache: Path
    python: Path  # the interpreter the project venvs are made from
    greenloop: Path  # the `greenloop` entry point to serve with
    repeats: int
    warmup: int
    save_timeout: float  # seconds to wait for greenloop's "check done" after a save
    ready_timeout: float  # seconds to wait for the server to be idle after opening the workspace
    run_timeout: float  # seconds for any one baseline pytest run
    keep_state: bool  # keep .greenloop/ (greenloop's recorded data) from earlier runs


async def measure(spec: ProjectSpec, settings: Settings, say: Callable[[str], None]) -> dict:
    ws = set_up(spec, settings.cache, settings.python, say)
    if not settings.keep_state:
        ws.clear_state()
    try:
        return await _measure(ws, settings, say)
    finally:
        ws.target.restore()  # the edits restore themselves; this is the belt to their braces


async def _measure(ws: Workspace, settings: Settings, say: Callable[[str], None]) -> dict:
    name = ws.spec.name
    python_version = ws.venv.name.rsplit("-py", 1)[-1]
    say(f"{name}: collecting the suite's test ids")
    all_ids = await pytest_runs.collect_all(ws, settings.run_timeout)
    testmon = pytest_runs.Testmon(ws, settings.cache)
    await testmon.ensure_database(settings.run_timeout, say)

    edits: dict[str, dict] = {}
    for kind in KINDS:
        text = ws.target.text_for(ws.spec.edit(kind))
        with ws.target.applied(text):
            selection = await testmon.selection(settings.run_timeout)
            truth = await pytest_runs.cold(ws, selection, settings.run_timeout)
        edits[kind] = {"kind": kind, "testmon_selection": selection, "ground_truth_run": truth.as_dict(),
                       "failing": [], "missed": [],
                       "samples": {k: [] for k in ("greenloop", "restore", "testmon", "cold", "warm")}}
        say(f"{name} {kind}: testmon selects {len(selection)} test(s); cold run {truth.counts}")
    baseline_failures = set(edits["noop"]["ground_truth_run"]["failed"])
    edits["bug"]["failing"] = sorted(set(edits["bug"]["ground_truth_run"]["failed"]) - baseline_failures)
    problems = []
    if baseline_failures:
        problems.append(f"covering tests that fail even after the no-op edit: {sorted(baseline_failures)}")
    if not edits["bug"]["failing"]:
        problems.append("the planted bug made no covering test fail: the bug rows measure nothing")
    for problem in problems:
        say(f"{name}: WARNING: {problem}")

    full_suite: list[dict] = []
    warm = pytest_runs.WarmServer(ws)
    await warm.start()
    probe = GreenloopProbe(ws, settings.greenloop, settings.cache / "logs" / f"{ws.spec.stem}-server.stderr")
    started = time.monotonic()
    say(f"{name}: starting greenloop serve and waiting until it is idle (at most {settings.ready_timeout:g} s)")
    warmups: list[dict] = []
    ready = Ready(0.0, True, [], [], [])
    try:
        try:
            await probe.start()
        except Exception as exc:  # a server that cannot start is a result: the saves below record it
            ready.lines.append(f"greenloop serve failed to start: {exc!r} (see {probe.stderr_log})")
            say(f"{name}: {ready.lines[-1]}")
        else:
            ready = await probe.wait_ready(settings.ready_timeout)
        say(f"{name}: server ready after {ready.seconds:.1f} s" + (" (timed out)" if ready.timed_out else ""))
        for round_ in range(settings.warmup):
            for kind in KINDS:
                sample = await _save_cycle(ws, probe, kind, set(edits[kind]["failing"]), settings)
                warmups.append({"round": round_, **sample[0].as_dict(), "restore": sample[1].as_dict()})
                say(f"{name} warm-up {kind}: check {_fmt(sample[0].check_done)}, restore {_fmt(sample[1].check_done)}")
        for repeat in range(settings.repeats):
            for kind in KINDS:
                await _one_round(ws, probe, warm, testmon, kind, edits[kind], full_suite, settings, all_ids, say,
                                 repeat)
    finally:
        await probe.stop()
        await warm.stop()
    return {
        "name": name, "version": ws.spec.version, "function": ws.spec.function, "file": ws.spec.module_file,
        "python": python_version, "root": str(ws.root), "venv": str(ws.venv), "tests_total": len(all_ids),
        "testmon_build_s": testmon.build_seconds, "problems": problems,
        "ready": {"seconds": ready.seconds, "timed_out": ready.timed_out, "progress": ready.progress_titles,
                  "log": [line[:300] for line in ready.lines][:40], "requests": _latencies(ready.requests)},
        "warmup": warmups, "full_suite": full_suite, "edits": edits,
        "elapsed_s": time.monotonic() - started,
    }


async def _save_cycle(ws: Workspace, probe: GreenloopProbe, kind: str, failing: set[str],
                      settings: Settings) -> tuple[SaveSample, SaveSample]:
    """Edit, save, measure; restore, save, wait for that check too. Returns (edit sample, restore sample)."""
    text = ws.target.text_for(ws.spec.edit(kind))
    with ws.target.applied(text):
        sample = await probe.save(text, kind, failing, settings.save_timeout)
    restore = await probe.save(ws.target.pristine, "restore", set(), settings.save_timeout)
    return sample, restore


async def _one_round(ws: Workspace, probe: GreenloopProbe, warm: pytest_runs.WarmServer,
                     testmon: pytest_runs.Testmon, kind: str, edit: dict, full_suite: list[dict],
                     settings: Settings, all_ids: list[str], say: Callable[[str], None], repeat: int) -> None:
    samples = edit["samples"]
    selection = edit["testmon_selection"]
    text = ws.target.text_for(ws.spec.edit(kind))
    with ws.target.applied(text):
        saved = await probe.save(text, kind, set(edit["failing"]), settings.save_timeout)
        rerun = await testmon.timed_rerun(settings.run_timeout)
        cold = await pytest_runs.cold(ws, selection, settings.run_timeout)
        warm_run = await warm.run(selection, settings.run_timeout)
        full = await pytest_runs.full_suite(ws, settings.run_timeout) if kind == "noop" else None
    restore = await probe.save(ws.target.pristine, "restore", set(), settings.save_timeout)
    record = saved.as_dict()
    record["ran_count"] = saved.ran.count(all_ids)
    samples["greenloop"].append(record)
    samples["restore"].append(restore.as_dict())
    samples["testmon"].append(rerun.as_dict())
    samples["cold"].append(cold.as_dict())
    samples["warm"].append(warm_run.as_dict())
    edit["missed"].append(saved.ran.missed(selection))
    if full is not None:
        full_suite.append(full.as_dict())
    first = saved.first_failure if kind == "bug" else saved.first_diagnostic
    say(f"{ws.spec.name} #{repeat + 1} {kind}: greenloop first {_fmt(first)}, done {_fmt(saved.check_done)}"
        f"{' (' + saved.error + ')' if saved.error else ''}; testmon {_fmt(rerun.seconds)}; "
        f"cold {_fmt(cold.seconds)}; warm {_fmt(warm_run.seconds)}"
        + (f"; full {_fmt(full.seconds)} ({full.tests} tests)" if full else "")
        + f"; restore check {_fmt(restore.check_done)}")


def _latencies(values: list[float]) -> dict:
    """Start-up latencies as a summary: thousands of samples over a long start-up say no more than this."""
    ordered = sorted(values)
    return {"n": len(ordered), "max_s": ordered[-1] if ordered else None,
            "p95_s": ordered[int(0.95 * (len(ordered) - 1))] if ordered else None}


def _fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"
