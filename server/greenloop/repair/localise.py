"""Localise a failure: the places in project source where the bug most likely is.

Two kinds of evidence, merged: traceback frames inside the project's non-test code (deepest first), and lines
ranked by the Ochiai formula from which lines the failing and passing tests executed. Each place is widened to
its enclosing function or class with tree-sitter, so the proposer sees whole units of code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from greenloop import project, syntax
from greenloop.diagnose import suspicious
from greenloop.records import TestResult

MAX_PLACES = 4
MAX_SCOPE_LINES = 80


@dataclass(frozen=True)
class Place:
    path: Path
    line: int  # the suspicious line, 1-based
    scope: str  # "function apply_discount", "module"
    start: int  # first line of the scope shown
    end: int
    why: str  # "raised here in test_x" / "most suspicious by coverage (score 1.00)"


def _scope(path: Path, line: int) -> tuple[str, int, int]:
    try:
        tree = syntax.parse(path.read_bytes())
    except OSError:
        return "module", max(line - 10, 1), line + 10
    scopes = syntax.enclosing_scopes(tree, line)
    for scope in scopes:  # innermost that is not too long to show whole
        if scope.end_line - scope.start_line < MAX_SCOPE_LINES:
            return f"{scope.kind} {scope.name}", scope.start_line, scope.end_line
    return "module", max(line - 15, 1), line + 15


def localise(root: Path, failures: Sequence[TestResult], run: Sequence[TestResult]) -> list[Place]:
    root = root.resolve()
    candidates: list[tuple[float, Path, int, str]] = []
    for failure in failures:
        frames = [f for f in failure.frames if project.is_source_file(root, f.path)]
        for depth, frame in enumerate(reversed(frames)):
            # Same scale as Ochiai (0..1): a frame is strong evidence, slightly above a perfect coverage score.
            candidates.append((1.01 - depth * 0.05, frame.path.resolve(), frame.line,
                               f"in the traceback of {failure.nodeid}"))
        files = {p.resolve() for p in failure.covered if project.is_source_file(root, p)}
        for path in files:
            for suspect in suspicious.rank(run, path, failure)[:3]:
                candidates.append((suspect.score, path, suspect.line,
                                   f"most suspicious by coverage (Ochiai {suspect.score:.2f}: "
                                   f"{suspect.failing} failing, {suspect.passing} passing test(s) ran it)"))
    places: list[Place] = []
    seen: set[tuple[Path, int, int]] = set()
    ranked = sorted(candidates, key=lambda c: -c[0])
    floor = ranked[0][0] / 2 if ranked else 0.0  # weak evidence only dilutes the context
    for score, path, line, why in ranked:
        if score < floor:
            break
        scope, start, end = _scope(path, line)
        if (path, start, end) in seen:
            continue
        seen.add((path, start, end))
        places.append(Place(path, line, scope, start, end, why))
        if len(places) == MAX_PLACES:
            break
    return places
