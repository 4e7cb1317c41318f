"""Turn "these files changed" into "run these tests", with a reason for every choice.

Rules, in order:
- a changed test file selects itself;
- a changed conftest.py selects the test files it governs (its directory and below);
- a changed source file selects every test file that imports it, directly or through other modules;
- a change to pytest or project configuration selects the whole project;
- any test that failed on the last run and touched a changed file is re-run by node id, even where the import
  graph cannot see the link (dynamic imports, data files read by a test).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from greenloop import project
from greenloop.records import Selection
from greenloop.select.graph import ImportGraph

CONFIG_FILES = frozenset({"pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini"})


def select(
    graph: ImportGraph,
    changed: Iterable[Path],
    last_failed: Mapping[str, set[Path]] | None = None,
) -> Selection:
    """`last_failed` maps the node id of each test that failed last time to the files its failure touched."""
    root = graph.root
    selection = Selection()
    chosen: dict[Path, str] = {}
    changed = [path.resolve() for path in changed]

    def rel(path: Path) -> str:
        return project.relpath(root, path)

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
        for test, chain in sorted(graph.test_files_reaching(path).items()):
            steps = " -> ".join(rel(step) for step in chain.files)
            chosen.setdefault(test, f"{rel(test)} imports {rel(path)} (via {steps})")

    changed_set = set(changed)
    for nodeid, touched in sorted((last_failed or {}).items()):
        hit = touched & changed_set
        if not hit:
            continue
        test_file = root / nodeid.split("::", 1)[0]
        if test_file.resolve() in chosen or selection.whole_project:
            continue
        selection.nodeids.append(nodeid)
        selection.reasons[nodeid] = f"{nodeid} failed last time in {', '.join(sorted(rel(p) for p in hit))}"

    if not selection.whole_project:
        selection.paths = sorted(chosen)
        selection.reasons.update({rel(path): why for path, why in sorted(chosen.items())})
    return selection


def explain(selection: Selection) -> list[str]:
    """Lines for `--explain` and the server log."""
    if selection.empty:
        return ["no tests selected: no test file imports the changed files"]
    return [why if key == "<project>" else f"selected {why}" for key, why in selection.reasons.items()]
