"""Turn "these files changed" into "run these tests", with a reason for every choice.

Rules, in order:
- a changed test file selects itself;
- a changed conftest.py selects the test files it governs (its directory and below);
- a changed source file selects the tests that executed one of its changed functions, by recorded coverage
  (`select/affected.py`), plus test files that import it but were never recorded; where coverage cannot decide
  (no data yet, a module-level or class-body change, syntax errors, a new or deleted file), it selects every
  test file that imports it, directly or through other modules;
- a change to pytest or project configuration selects the whole project;
- any test that failed on the last run and touched a changed file is re-run by node id, even where the import
  graph cannot see the link (dynamic imports, data files read by a test).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

from greenloop import project
from greenloop.records import Selection
from greenloop.select.affected import Affected
from greenloop.select.graph import ImportGraph

CONFIG_FILES = project.PYTEST_CONFIG_FILES


def select(
    graph: ImportGraph,
    changed: Iterable[Path],
    last_failed: Mapping[str, set[Path]] | None = None,
    affected: Affected | None = None,
    recorded_test_files: set[str] | None = None,
) -> Selection:
    """`last_failed` maps the node id of each test that failed last time to the files its failure touched;
    `affected` is the coverage verdict for the changed source files, `recorded_test_files` the test files
    (relative paths) that coverage data exists for."""
    root = graph.root
    selection = Selection()
    chosen: dict[Path, str] = {}
    changed = [path.resolve() for path in changed]
    # Every test file of a large project may pass through here (networkx: 268 files, 621 node ids): resolving
    # each path once per call, not once per use, took networkx's selection from 0.13-0.2 s to 0.09 s. The graph's
    # paths and `changed` are resolved already, so naming them relative to the root needs no file system call.
    resolved = functools.cache(Path.resolve)
    rel = functools.cache(functools.partial(project.relative, root))

    for path in changed:
        if path.name in CONFIG_FILES and path.parent == root:
            selection.whole_project = True
            selection.reasons["<project>"] = f"running every test: {rel(path)} (project configuration) changed"
            continue
        if project.is_test_file(path):
            if path.is_file():
                chosen.setdefault(path, f"{rel(path)} is the saved test file")
            continue
        if project.is_conftest(path):
            for test in graph.test_files():
                if test.is_relative_to(path.parent):
                    chosen.setdefault(test, f"{rel(test)} runs under {rel(path)}")
            continue
        decided = affected is not None and path in affected.sure
        why_unsure = affected.unsure.get(path) if affected is not None else None
        for test, chain in sorted(graph.test_files_reaching(path).items()):
            if decided and rel(test) in (recorded_test_files or set()):
                continue  # coverage decides for this test file
            steps = " -> ".join(rel(step) for step in chain.files)
            because = (" and has no coverage data yet" if decided
                       else f" and coverage cannot decide ({why_unsure})" if why_unsure else "")
            chosen.setdefault(test, f"{rel(test)} imports {rel(path)} (via {steps}){because}")

    if affected is not None:
        for nodeid, why in sorted(affected.tests.items()):
            if resolved(root / nodeid.split("::", 1)[0]) in chosen or selection.whole_project:
                continue
            selection.nodeids.append(nodeid)
            selection.reasons[nodeid] = why

    changed_set = set(changed)
    for nodeid, touched in sorted((last_failed or {}).items()):
        hit = touched & changed_set
        if not hit:
            continue
        test_file = root / nodeid.split("::", 1)[0]
        if resolved(test_file) in chosen or selection.whole_project or nodeid in selection.reasons:
            continue
        selection.nodeids.append(nodeid)
        selection.reasons[nodeid] = f"{nodeid} failed last time in {', '.join(sorted(rel(p) for p in hit))}"

    if not selection.whole_project:
        selection.paths = sorted(chosen)
        selection.reasons.update({rel(path): why for path, why in sorted(chosen.items())})
    selection.first = _first(root, changed, last_failed or {}, graph)
    return selection


def _first(root: Path, changed: list[Path], last_failed: Mapping[str, set[Path]], graph: ImportGraph) -> list[str]:
    """What to run first: tests that failed last time, then the test modules that mirror the changed modules
    (`test_x.py` or `x_test.py` for `x.py`), as node ids or paths relative to the root."""
    first = sorted(last_failed)
    stems = {path.stem for path in changed if not project.is_test_file(path)}
    for test in graph.test_files():
        if test.stem.removeprefix("test_") in stems or test.stem.removesuffix("_test") in stems:
            first.append(project.relative(root, test))
    return first


def explain(selection: Selection) -> list[str]:
    """Lines for `--explain` and the server log."""
    if selection.empty:
        return ["no tests selected: no recorded test executed a changed function, and no test file imports "
                "a changed file that coverage cannot decide for"]
    return [why if key == "<project>" else f"selected {why}" for key, why in selection.reasons.items()]
