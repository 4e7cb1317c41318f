"""The baseline: what fails before any change, and what must keep passing.

Runs the relevant tests on the untouched copy (tracing project source, for localisation), picks the targets
(named, or every failing relevant test), and re-runs the failing targets once: a test that passes on the
second run is flaky, reported and left alone, since "repairing" it would only fit noise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from greenloop import project
from greenloop.records import Selection
from greenloop.repair.check.judge import Baseline, JudgeSettings
from greenloop.repair.check.sandbox import Sandbox
from greenloop.select import selector
from greenloop.select.graph import ImportGraph


class BaselineError(Exception):
    """The repair cannot start: the message says why (unknown test, tests cannot run)."""


def relevant_tests(root: Path, path: Path, targets: list[str]) -> Selection:
    """The tests a patch for `path` must not break: what saving it would run, plus the named targets' files."""
    path = path.resolve()
    if path.is_dir():
        return Selection(whole_project=True)
    graph = ImportGraph(root)
    graph.build()
    selection = selector.select(graph, [path])
    files = set(selection.paths) | {(root / t.split("::", 1)[0]).resolve() for t in targets}
    return Selection(paths=sorted(files), whole_project=selection.whole_project)


async def establish(root: Path, path: Path, tests: list[str] | None, sandbox: Sandbox,
                    settings: JudgeSettings) -> Baseline:
    relevant = await asyncio.to_thread(relevant_tests, root, path, tests or [])  # parsing: keep the loop free
    if relevant.empty:
        raise BaselineError(f"no test imports {project.relpath(root, path)}: name the tests with --tests")
    focus = [p for p in project.iter_python_files(root) if not project.is_test_side(p)]
    run = await sandbox.run(settings.python, relevant, settings.timeout, trace=focus)
    if run.problem and not run.results:
        raise BaselineError(f"the tests cannot run: {run.problem}")
    results = {r.nodeid: r for r in run.results}
    if tests:
        unknown = [t for t in tests if t not in results]
        if unknown:
            raise BaselineError(f"no such test(s): {', '.join(unknown)}")
        failing = [t for t in tests if results[t].outcome.is_failure]
    else:
        failing = [r.nodeid for r in run.results if r.outcome.is_failure]
    flaky: list[str] = []
    if failing:
        again = await sandbox.run(settings.python, Selection(nodeids=failing), settings.timeout)
        passed_now = {r.nodeid for r in again.results if not r.outcome.is_failure}
        flaky = [t for t in failing if t in passed_now]
    targets = [t for t in failing if t not in flaky]
    return Baseline(relevant=relevant, results=results, targets=targets, flaky=flaky, run=run)
