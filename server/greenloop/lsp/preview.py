"""The repair beside the code, in every client, without opening anything: code lenses on the function being
repaired ("greenloop: fixing, round 2/3 · Cancel", then "fix ready: passes 3 tests · Preview · Apply · Discard")
and the fix's replacement lines as inlay hints at the end of the lines they replace.

Why lenses and hints: they are the two places LSP gives a server to show something inside the text, and a client
that has neither still has the hover diff, the code actions and `greenloop.showPatch`. Every function here is
pure (a document's text and the repair's state in, protocol objects out), so the rules are tested without a
client; `lsp/repair_requests.py` serves them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from greenloop.repair.present.fix import Fix
from greenloop.repair.present.workspace import Progress
from greenloop.repair.records import FileEdit, RepairStatus
from greenloop.select.fingerprint import fingerprint

HINT_WIDTH = 60  # characters of a replacement line shown in a hint; the tooltip has the whole block
Width = Callable[[str], int]  # a line's length in the client's position units (UTF-16 for most clients)


def anchor(text: str, line: int) -> int:
    """The 0-based line of the `def` of the innermost function holding 0-based `line`; the line itself when no
    function holds it (module-level code), so a lens always sits next to what it is about."""
    spans = [s for s in fingerprint(text.encode("utf-8", "surrogatepass")).functions.values()
             if s.start_line <= line + 1 <= s.end_line]
    if not spans:
        return line
    return min(spans, key=lambda s: s.end_line - s.start_line).start_line - 1


def _lens(line: int, title: str, command: str = "", argument: dict[str, Any] | None = None) -> types.CodeLens:
    """A lens with an empty command is a label: VS Code draws it as plain text, and nothing runs on a click."""
    at = types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=0))
    return types.CodeLens(range=at, command=types.Command(title=title, command=command,
                                                          arguments=[argument] if argument is not None else None))


def running_lenses(path: Path, text: str, progress: Progress | None) -> list[types.CodeLens]:
    """Where the running repair was asked for: what it is doing, and a way to stop it."""
    if progress is None or progress.place.path != path.resolve():
        return []
    asked = (progress.place.line or 1) - 1
    line = anchor(text, asked) if progress.place.line is not None else 0
    doing = (f"greenloop: fixing, round {progress.round}/{progress.max_rounds}" if progress.round
             else "greenloop: fixing (running the failing tests first)")
    if progress.failing is not None and progress.round:
        doing += f" · {progress.failing} failing"
    return [_lens(line, doing), _lens(line, "Cancel", "greenloop.cancel", {})]


def fix_summary(fix: Fix) -> str:
    """The fix in a few words: 'fix ready: passes 3 tests', or 'partial fix: passes 2 of 3 tests'."""
    total = len(fix.result.targets)
    passing = total - fix.result.targets_failing_after
    if fix.result.status is RepairStatus.GREEN:
        return f"fix ready: passes {total} test{'s' if total != 1 else ''}"
    return f"partial fix: passes {passing} of {total} tests"


def _edit_of(fix: Fix | None, path: Path) -> FileEdit | None:
    if fix is None:
        return None
    path = path.resolve()
    return next((e for e in fix.patch.edits if e.path == path), None)


def fix_lenses(path: Path, text: str, fix: Fix | None) -> list[types.CodeLens]:
    """On the function of the fix's first change in this file: what the fix does, Preview, Apply, Discard."""
    edit = _edit_of(fix, path)
    if fix is None or edit is None:
        return []
    first = next(edit.blocks(), None)
    if first is None:
        return []
    line = _moved(edit.before, text, first[0])
    argument = {"repair_id": fix.repair_id}
    return [_lens(line, f"greenloop: {fix_summary(fix)}"),
            _lens(line, "Preview", "greenloop.showPatch", argument),
            _lens(line, "Apply", "greenloop.applyFix", argument),
            _lens(line, "Discard", "greenloop.discardFix", argument)]


def _moved(before: str, text: str, line: int) -> int:
    """The fix's line in the text as it is now: the same function's `def` line there, found by its name (the
    person may have typed above it since the repair began); the function's line in `before` otherwise."""
    def_line = anchor(before, line)
    if text == before:
        return def_line
    names = {s.start_line - 1: q for q, s in fingerprint(before.encode("utf-8", "surrogatepass")).functions.items()}
    name = names.get(def_line)
    now = fingerprint(text.encode("utf-8", "surrogatepass")).functions.get(name) if name else None
    return now.start_line - 1 if now is not None else min(def_line, max(len(text.splitlines()) - 1, 0))


def inlay_hints(path: Path, text: str, fix: Fix | None, wanted: types.Range, width: Width) -> list[types.InlayHint]:
    """Each changed block's new text at the end of the first line it replaces (or the line it follows, for an
    insertion), with the block's diff as the tooltip. Only while the text is exactly what the fix was made for:
    on any other text the lines would point at the wrong place (the fix is rebased when applied)."""
    edit = _edit_of(fix, path)
    if edit is None or text != edit.before:
        return []
    before, after = edit.before.splitlines(), edit.after.splitlines()
    hints = []
    for i1, i2, j1, j2 in edit.blocks():
        line = _shown_at(i1, i2)
        if not wanted.start.line <= line <= wanted.end.line or line >= len(before):
            continue
        new = after[j1:j2]
        if not new:
            label = f"greenloop: delete {i2 - i1} line{'s' if i2 - i1 != 1 else ''}"
        else:
            shown = new[0].strip()
            shown = shown if len(shown) <= HINT_WIDTH else shown[:HINT_WIDTH - 1] + "…"
            more = f" (+{len(new) - 1} more)" if len(new) > 1 else ""
            label = f"greenloop{' inserts' if i2 == i1 else ''}: {shown}{more}"
        diff = "\n".join([*(f"- {old}" for old in before[i1:i2]), *(f"+ {line_}" for line_ in new)])
        hints.append(types.InlayHint(
            position=types.Position(line=line, character=width(before[line])), label=label, padding_left=True,
            tooltip=types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```diff\n{diff}\n```")))
    return hints


def changed_lines(path: Path, text: str, fix: Fix | None) -> set[int]:
    """0-based lines of `text` the fix replaces (for the hover diff); none when the text is not the fix's."""
    edit = _edit_of(fix, path)
    if edit is None or text != edit.before:
        return set()
    return {line for i1, i2, _, _ in edit.blocks() for line in (range(i1, i2) if i2 > i1 else [_shown_at(i1, i2)])}


def _shown_at(i1: int, i2: int) -> int:
    """The line a block is shown on: its first replaced line, or for an insertion the line it follows."""
    return i1 if i2 > i1 else max(i1 - 1, 0)
