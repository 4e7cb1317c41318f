"""Where a line's code starts and ends, so a diagnostic underlines the statement rather than a point."""

from __future__ import annotations

from pathlib import Path

from greenloop import project


def line_span(path: Path, line: int) -> tuple[int, int]:
    """1-based (first non-blank column, column after the last character) of `line`; (1, 1) if unreadable."""
    try:
        text, _ = project.read_text(path)
    except OSError:
        return 1, 1
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return 1, 1
    content = lines[line - 1].rstrip()
    stripped = content.lstrip()
    start = len(content) - len(stripped) + 1
    return start, max(len(content) + 1, start)
