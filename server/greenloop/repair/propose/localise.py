"""Localise a failure: the places in project source where the bug most likely is.

The ranking is `diagnose.suspicious.ranked_lines` (traceback frames in project source merged with the Ochiai
ranking of executed lines), the same the search uses. Here the strongest lines become places, each widened to
its enclosing function or class with tree-sitter, so the proposer sees whole units of code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from greenloop import syntax
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
    ranked = suspicious.ranked_lines(root, failures, run, per_file=3)
    places: list[Place] = []
    seen: set[tuple[Path, int, int]] = set()
    floor = ranked[0].score / 2 if ranked else 0.0  # weak evidence only dilutes the context
    for suspect in ranked:
        path, line, why = suspect.path, suspect.line, suspect.why
        if suspect.score < floor:
            break
        scope, start, end = _scope(path, line)
        if (path, start, end) in seen:
            continue
        seen.add((path, start, end))
        places.append(Place(path, line, scope, start, end, why))
        if len(places) == MAX_PLACES:
            break
    return places
