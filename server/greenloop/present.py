"""The last stage for the CLI: findings as `file:line:col: message` lines or one JSON document.

(The language server presents the same findings as LSP diagnostics: see `lsp/convert.py`.)
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from greenloop import project
from greenloop.engine import CheckReport
from greenloop.records import Finding, Severity


def finding_line(root: Path, finding: Finding) -> str:
    first, *rest = finding.message.splitlines() or [""]
    tag = f"{finding.source} {finding.code}" if finding.code else finding.source
    text = f"{project.relpath(root, finding.path)}:{finding.line}:{finding.col}: {finding.severity.value}: {first} [{tag}]"
    return "\n".join([text, *("    " + line.strip() for line in rest)])


def summary(report: CheckReport) -> str:
    parts = []
    if report.run is not None and report.run.results:
        counts = Counter(r.outcome.value for r in report.run.results)
        parts.append("tests: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
    elif report.selection.empty:
        parts.append("no tests selected")
    elif report.run is not None and report.run.exit_code == 5:
        parts.append("no tests collected")
    if report.types is not None and not report.types.problem:
        errors = sum(1 for f in report.types.findings if f.severity is Severity.ERROR)
        parts.append(f"type errors: {errors} ({len(report.types.checked)} file(s) checked)")
    parts.append(f"{report.duration:.2f} s")
    return "; ".join(parts)


def as_text(report: CheckReport, root: Path, explain: bool) -> list[str]:
    lines = []
    if explain:
        lines.append(f"interpreter: {report.interpreter.path} ({report.interpreter.reason})")
        lines.extend(report.explanation)
    lines.extend(finding_line(root, f) for f in report.findings)
    return lines


def finding_dict(root: Path, finding: Finding) -> dict[str, Any]:
    return {
        "file": project.relpath(root, finding.path),
        "line": finding.line,
        "col": finding.col,
        "end_line": finding.end_line,
        "end_col": finding.end_col,
        "severity": finding.severity.value,
        "source": finding.source,
        "code": finding.code,
        "message": finding.message,
        "related": [
            {"file": project.relpath(root, r.path), "line": r.line, "message": r.message} for r in finding.related
        ],
    }


def as_json(report: CheckReport, root: Path) -> dict[str, Any]:
    run = report.run
    return {
        "root": str(root),
        "interpreter": {"path": report.interpreter.path, "reason": report.interpreter.reason},
        "explain": report.explanation,
        "selected": {
            "whole_project": report.selection.whole_project,
            "files": [project.relpath(root, p) for p in report.selection.paths],
            "nodeids": report.selection.nodeids,
        },
        "tests": [
            {"nodeid": r.nodeid, "outcome": r.outcome.value, "duration": r.duration, "message": r.message}
            for r in (run.results if run else [])
        ],
        "diagnostics": [finding_dict(root, f) for f in report.findings],
        "problems": report.problems,
        "failed": report.failed,
        "duration": round(report.duration, 3),
        "first_result_after": None if report.first_result_after is None else round(report.first_result_after, 3),
    }


def dump(documents: list[dict[str, Any]]) -> str:
    return json.dumps(documents[0] if len(documents) == 1 else documents, indent=2)
