"""Findings to LSP diagnostics: 1-based lines and code-point columns become 0-based client positions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from greenloop.records import Finding, Severity

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}

LinesOf = Callable[[Path], Sequence[str]]
ToClient = Callable[[Sequence[str], types.Position], types.Position]


def uri(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()


def _position(lines: Sequence[str], line: int, col: int, to_client: ToClient | None) -> types.Position:
    position = types.Position(line=max(line - 1, 0), character=max(col - 1, 0))
    return to_client(lines, position) if to_client and lines else position


def diagnostic(finding: Finding, lines: Sequence[str] = (), to_client: ToClient | None = None) -> types.Diagnostic:
    start = _position(lines, finding.line, finding.col, to_client)
    end_line = finding.end_line or finding.line
    end_col = finding.end_col if finding.end_col is not None else finding.col
    end = _position(lines, end_line, end_col, to_client)
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(
                uri=uri(r.path),
                range=types.Range(start=types.Position(line=r.line - 1, character=0),
                                  end=types.Position(line=r.line - 1, character=0)),
            ),
            message=r.message,
        )
        for r in finding.related
    ]
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        source=finding.source,
        code=finding.code,
        related_information=related or None,
    )


def by_file(findings: Iterable[Finding]) -> dict[Path, list[Finding]]:
    grouped: dict[Path, list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[finding.path.resolve()].append(finding)
    return grouped
