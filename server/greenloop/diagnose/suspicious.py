"""Spectrum-based fault localisation: which executed line is most likely to hold the bug.

Ochiai's formula ranks a line by how strongly executing it goes with failing: ef / sqrt(F * (ef + ep)), with ef
and ep the failing and passing tests that executed the line and F all failing tests. It is used when a failure
has no traceback frame in the saved file (a plain assert on a returned value), so the saved file still shows
which line the failing test most likely went wrong on. `ranked_lines` merges it with traceback frames: the
diagnostics (diagnose.placement), the model's context (repair.localise) and the search (repair.propose.builtin)
rank by the same evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenloop import project
from greenloop.records import Frame, Outcome, TestResult


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


@dataclass(frozen=True)
class Ranked:
    """A suspicious line of project source, with the strongest evidence against it."""

    path: Path
    line: int
    score: float  # Ochiai's scale (0..1); a traceback frame scores just above 1, the deepest highest
    why: str  # for people and prompts: "in the traceback of ..." / "most suspicious by coverage (...)"
    evidence: Frame | Suspect  # the traceback frame (its deepest in the failure), or the line's Ochiai counts


def ranked_lines(root: Path, failures: Iterable[TestResult], run: Sequence[TestResult],
                 per_file: int | None = None, files: Iterable[Path] | None = None) -> list[Ranked]:
    """The lines of project source most likely to hold the bug behind `failures`, best first: traceback frames
    (the failure happened there or below) merged with the Ochiai ranking of the lines they executed over `run`.
    `per_file`: keep only that many Ochiai lines per failure and file. `files`: rank by coverage only the lines
    of these files (ties between them go to the earlier), not of every source file a failure executed; frames
    count wherever they are. The one ranking the model's context, the search and the diagnostics use.

    A failure's deepest frame in source always comes first among its own lines: a line the traceback passes
    again further up (recursion) counts once, at its deepest, and a line of equal score ranks after it."""
    root = root.resolve()
    best: dict[tuple[Path, int], Ranked] = {}
    deepest: set[tuple[Path, int]] = set()  # some failure's deepest frame in source: first among equals

    def offer(path: Path, line: int, suspect: Suspect) -> None:
        known = best.get((path, line))
        if known is None or suspect.score > known.score:
            best[(path, line)] = Ranked(
                path, line, suspect.score,
                f"most suspicious by coverage (Ochiai {suspect.score:.2f}: {suspect.failing} failing, "
                f"{suspect.passing} passing test(s) ran it)", suspect)

    for failure in failures:
        for path in _ranked_files(root, failure, files):
            for suspect in rank(run, path, failure)[:per_file]:
                offer(path, suspect.line, suspect)
        frames = [f for f in failure.frames if project.is_source_file(root, f.path)]
        passed: set[tuple[Path, int]] = set()
        for depth, frame in enumerate(reversed(frames)):
            key = (frame.path.resolve(), frame.line)
            if key in passed:
                continue
            passed.add(key)
            if depth == 0:
                deepest.add(key)
            score = max(best[key].score if key in best else 0.0, 1.0 - 0.05 * depth) + 0.01
            best[key] = Ranked(key[0], frame.line, score, f"in the traceback of {failure.nodeid}", frame)
    return sorted(best.values(), key=lambda r: (-r.score, (r.path, r.line) not in deepest))


def _ranked_files(root: Path, failure: TestResult, files: Iterable[Path] | None) -> list[Path]:
    """The source files whose lines `failure` executed to rank by coverage, each once, in a stable order."""
    candidates = failure.covered if files is None else files
    return list(dict.fromkeys(p.resolve() for p in candidates if project.is_source_file(root, p)))
