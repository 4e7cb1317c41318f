"""Place each failing test's diagnostics: on the failing line of the test, and on the line of project source that
most likely holds the bug, linked to each other.

The source placement is the deepest traceback frame inside the project's own non-test code. When no frame
reaches project source (a plain `assert f(x) == y`), a saved source file that the test exercised still gets a
diagnostic, on its most suspicious executed line by coverage, so the user sees in the file they saved which test
their change broke. Both come from `suspicious.ranked_lines`, the ranking the repair's context and search use, so
a diagnostic and the repair never disagree on where a failure is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from greenloop import project
from greenloop.diagnose import suspicious
from greenloop.diagnose.text import line_span
from greenloop.records import Finding, Frame, Outcome, Owner, Related, Severity, TestResult, run_owner


def test_name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1] if "::" in nodeid else nodeid


def _reason(result: TestResult) -> str:
    return result.message.strip().splitlines()[0] if result.message.strip() else result.outcome.value


def _deepest(frames: Sequence[Frame], keep) -> Frame | None:
    for frame in reversed(frames):
        if keep(frame.path):
            return frame
    return None


def _finding(path: Path, line: int, message: str, owner: Owner, code: str,
             severity: Severity = Severity.ERROR) -> Finding:
    col, end_col = line_span(path, line)
    return Finding(path=path.resolve(), line=line, col=col, end_line=line, end_col=end_col, message=message,
                   severity=severity, code=code, owner=owner)


def _link(a: Finding, b: Finding, a_says: str, b_says: str) -> None:
    a.related.append(Related(b.path, b.line, a_says))
    b.related.append(Related(a.path, a.line, b_says))


def place(
    root: Path,
    result: TestResult,
    run: Sequence[TestResult] = (),
    focus: Iterable[Path] = (),
    best_only: bool = False,
) -> list[Finding]:
    """Findings for one failed result. `run` is every result of the same run (for coverage ranking) and
    `focus` the source files that should show the failure even without a traceback frame in them: each saved
    file gets its most suspicious line, or with `best_only` (a whole-project check, where every source file is
    in focus) only the single most suspicious line of all."""
    if not result.outcome.is_failure:
        return []
    if result.when in ("collect", "conftest"):
        return _collection(root, result)
    name = test_name(result.nodeid)
    reason = _reason(result)
    owner = run_owner(result.nodeid)
    test_path = result.path.resolve() if result.path else None
    findings: list[Finding] = []

    test_frame = _deepest(result.frames, lambda p: test_path is not None and p.resolve() == test_path)
    if result.outcome is Outcome.TIMEOUT:
        # Stopped at test_timeout: slow, not proven wrong. A warning on the test's own line; the others ran.
        if test_path is None or not result.line:
            return []
        return [_finding(test_path, result.line, f"{name} is {reason}" if reason.startswith("slow") else
                         f"{name} {reason}", owner, result.nodeid, Severity.WARNING)]
    test_line, text = (test_frame.line if test_frame else result.line), f"{name} failed: {reason}"
    test_finding = None
    if test_path is not None and test_line:
        test_finding = _finding(test_path, test_line, text, owner, result.nodeid)
        findings.append(test_finding)

    for top in source_lines(root, result, run, focus, best_only):
        match top.evidence:
            case Frame(name=frame_name):
                where = f" (in {frame_name})" if frame_name and not frame_name.startswith("<") else ""
                source = _finding(top.path, top.line, f"{name} failed here{where}: {reason}", owner, result.nodeid)
                if test_finding is not None:
                    _link(test_finding, source, "the error was raised here", f"{name} fails here")
            case suspicious.Suspect(failing=failing, passing=passing):
                message = (f"{name} failed: {reason}; this line ran in the failing test and is the most suspicious "
                           f"by coverage ({failing} failing, {passing} passing test(s) ran it)")
                source = _finding(top.path, top.line, message, owner, result.nodeid)
                if test_finding is not None:
                    _link(test_finding, source, "most suspicious line by coverage", f"{name} fails here")
        findings.append(source)
    return findings


def source_lines(
    root: Path,
    result: TestResult,
    run: Sequence[TestResult] = (),
    focus: Iterable[Path] = (),
    best_only: bool = False,
) -> list[suspicious.Ranked]:
    """The lines of project source that show `result`'s failure, all from the top of `suspicious.ranked_lines`:
    its deepest traceback frame in source when it has one, else the most suspicious line by coverage over `run`
    of each source file in `focus` (in focus order), or with `best_only` the single best of them (ties to the
    earlier file)."""
    sources = [path for path in focus if project.is_source_file(root, path)]
    ranked = suspicious.ranked_lines(root, [result], run, per_file=1, files=sources)
    if not ranked or isinstance(ranked[0].evidence, Frame) or best_only:
        return ranked[:1]
    top = {r.path: r for r in ranked}  # one line per file: per_file=1 and one failure
    return [top[path.resolve()] for path in sources if path.resolve() in top]


def _collection(root: Path, result: TestResult) -> list[Finding]:
    """A file that cannot be collected (syntax error, import error) or a conftest that raises."""
    reason = _reason(result)
    what = "conftest.py failed to load" if result.when == "conftest" else "cannot collect tests"
    owner = run_owner(result.nodeid)
    findings = []
    collected = result.path.resolve() if result.path else None
    if collected is not None and collected.is_dir():
        collected = None
    own = _deepest(result.frames, lambda p: collected is not None and p.resolve() == collected)
    if collected is not None:
        line = own.line if own else 1
        findings.append(_finding(collected, line, f"{what} in {collected.name}: {reason}", owner, "collection"))
    elsewhere = _deepest(result.frames, lambda p: project.is_project_file(root, p) and p.resolve() != collected)
    if elsewhere is not None:
        finding = _finding(elsewhere.path, elsewhere.line,
                           f"{reason} (while collecting {result.nodeid})", owner, "collection")
        if findings:
            _link(findings[0], finding, "raised here", "breaks collection here")
        findings.append(finding)
    return findings


def place_all(
    root: Path, results: Sequence[TestResult], focus: Iterable[Path] = (), best_only: bool = False
) -> list[Finding]:
    focus = list(focus)
    findings: list[Finding] = []
    for result in results:
        findings.extend(place(root, result, results, focus, best_only))
    return findings


def touched_files(findings: Iterable[Finding]) -> set[Path]:
    return {f.path for f in findings}
