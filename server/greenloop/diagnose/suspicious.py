"""Spectrum-based fault localisation: which executed line is most likely to hold the bug.

Ochiai's formula ranks a line by how strongly executing it goes with failing: ef / sqrt(F * (ef + ep)), with ef
and ep the failing and passing tests that executed the line and F all failing tests. It is used when a failure
has no traceback frame in the saved file (a plain assert on a returned value), so the saved file still shows
which line the failing test most likely went wrong on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from greenloop.records import Outcome, TestResult


@dataclass(frozen=True)
class Suspect:
    line: int
    score: float
    failing: int  # failing tests that executed the line
    passing: int  # passing tests that executed the line


def rank(results: Iterable[TestResult], path: Path, failing_test: TestResult) -> list[Suspect]:
    """Lines of `path` executed by `failing_test`, most suspicious first.

    Ties (common when few tests exist) go to the line the failing test executed last in the file: for a
    function that returns a wrong value, that is usually the line that computes it.
    """
    path = path.resolve()
    traced = [r for r in results if r.covered and r.outcome in (Outcome.PASSED, Outcome.FAILED)]
    own = _lines(failing_test, path)
    if not own:
        return []
    total_failing = sum(1 for r in traced if r.outcome is Outcome.FAILED) or 1
    order = {line: i for i, line in enumerate(own)}
    suspects = []
    for line in own:
        ef = sum(1 for r in traced if r.outcome is Outcome.FAILED and line in _lines(r, path))
        ep = sum(1 for r in traced if r.outcome is Outcome.PASSED and line in _lines(r, path))
        ef = max(ef, 1)  # the failing test itself executed it
        score = ef / math.sqrt(total_failing * (ef + ep))
        suspects.append(Suspect(line, score, ef, ep))
    suspects.sort(key=lambda s: (-s.score, -order[s.line]))
    return suspects


def _lines(result: TestResult, path: Path) -> list[int]:
    for file, lines in result.covered.items():
        if file.resolve() == path:
            return lines
    return []
