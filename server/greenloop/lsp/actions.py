"""Code actions and hovers for repairs: what the editor offers on a failing test's diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from greenloop.repair.present.fix import Fix
from greenloop.repair.records import RepairStatus

SOURCE_REPAIR = f"{types.CodeActionKind.Source.value}.greenloop.repair"
NOT_REPAIRABLE = {"encoding"}


def _command(title: str, name: str, argument: dict) -> types.Command:
    return types.Command(title=title, command=name, arguments=[argument])


def code_actions(uri: str, diagnostics: Sequence[types.Diagnostic], fix: Fix | None, covers: bool,
                 running: bool) -> list[types.CodeAction]:
    """Quick fixes on greenloop diagnostics, the file-wide source action, and the waiting fix if any."""
    ours = [d for d in diagnostics if _ours(d)]
    actions: list[types.CodeAction] = []
    if fix is not None and covers:
        size = f"{fix.lines} line" if fix.lines == 1 else f"{fix.lines} lines"
        passing = len(fix.result.targets) - fix.result.targets_failing_after
        title = (f"Apply greenloop fix ({size})" if fix.result.status is RepairStatus.GREEN
                 else f"Apply greenloop fix ({size}, partial: {passing} of {len(fix.result.targets)} tests)")
        actions.append(types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=ours or None,
                                        is_preferred=True,
                                        command=_command(title, "greenloop.applyFix", {"repair_id": fix.repair_id})))
        actions.append(types.CodeAction(title="Show greenloop patch", kind=types.CodeActionKind.QuickFix,
                                        command=_command("Show greenloop patch", "greenloop.showPatch", {})))
    if running:
        actions.append(types.CodeAction(title="Cancel greenloop repair", kind=types.CodeActionKind.QuickFix,
                                        command=_command("Cancel greenloop repair", "greenloop.cancel", {})))
    if ours and not running:
        actions.append(_repair_here(uri, ours))
    actions.append(types.CodeAction(title="greenloop: repair failing tests in this file", kind=SOURCE_REPAIR,
                                    command=_command("greenloop: repair failing tests in this file",
                                                     "greenloop.repair", {"uri": uri, "tests": None})))
    return actions


def _repair_here(uri: str, diagnostics: Sequence[types.Diagnostic]) -> types.CodeAction:
    """One "Repair until green" for the place, however many failures show there (a line where two tests fail
    carries two diagnostics; a client lists one action per diagnostic as two identical entries). It repairs the
    tests of all of them (every failing test of the file when one has no test id), and remembers the line, where
    the running repair is then shown."""
    codes = [d.code for d in diagnostics]
    tests = sorted({c for c in codes if isinstance(c, str) and "::" in c})
    every = all(isinstance(c, str) and "::" in c for c in codes)
    argument = {"uri": uri, "tests": tests if every else None,
                "line": min(d.range.start.line for d in diagnostics)}
    return types.CodeAction(title="Repair until green", kind=types.CodeActionKind.QuickFix,
                            diagnostics=list(diagnostics),
                            command=_command("Repair until green", "greenloop.repair", argument))


def _ours(diagnostic: types.Diagnostic) -> bool:
    """A repairable greenloop diagnostic. The client sends diagnostics back in any shape it likes (lsprotocol
    lets a list or an object through as `code`): only the shapes greenloop publishes, a node id or no code, count,
    so nothing else is echoed back or mistaken for a test id."""
    code = diagnostic.code
    return diagnostic.source == "greenloop" and (code is None or isinstance(code, str) and code not in NOT_REPAIRABLE)


def hover(fix: Fix) -> types.Hover:
    status = fix.result.status.value
    size = f"{fix.lines} line" if fix.lines == 1 else f"{fix.lines} lines"
    text = (f"**greenloop fix** ({status}, {size}, {fix.result.rounds} round(s)) — it passes the tests; "
            f"review it.\n\n```diff\n{fix.result.diff.rstrip()}\n```")
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))
