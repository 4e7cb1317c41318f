"""A client without change-annotation support (and without workDoneProgress) cannot ask the user before applying
an edit; the fix waits, as in every client, and greenloop.showPatch shows it (a .diff file via window/showDocument,
never opened unasked: it would steal the focus). While it waits, the failing lines offer "Apply greenloop fix (N lines)" and hovering them shows the
diff; greenloop.showPatch returns it, and greenloop.applyFix sends it as plain text edits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from demokit import BUGGY, BUGGY_LINE_INDEX, CART_TESTS, COUPON, FIX, FIXED, PRICING, ledger_actions
from editor import plain_capabilities
from repair_helpers import demo_editor, model_settings
from stub_model import always

APPLY_PREFIX = "Apply greenloop fix ("
APPLY_TITLE = "Apply greenloop fix (1 line)"  # the demo's fix replaces one line
DIFF_LINES = f"-{BUGGY}\n+{FIXED}\n"


async def _finished_repair_waiting(tmp_path, start_editor, stub, show_document: bool = True):
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, capabilities=plain_capabilities(show_document),
                                     **model_settings(model))
    diagnostics = await editor.failure_diagnostics()
    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: [m for m in editor.messages() if "green after" in m], 60,
                          "the message that the fix waits for review")
    return root, editor, diagnostics


async def test_without_change_annotations_the_fix_is_shown_not_applied_and_greenloop_apply_fix_sends_plain_edits(
        tmp_path, start_editor, stub) -> None:
    root, editor, _ = await _finished_repair_waiting(tmp_path, start_editor, stub)
    on_disk = (root / PRICING).read_text()

    await asyncio.sleep(1.0)
    assert editor.apply_requests == [], "without change annotations the server must not apply the fix by itself"
    assert editor.created_tokens == [] and editor.progress() == {}, \
        "no workDoneProgress for a client that did not declare window.workDoneProgress"
    message = next(m for m in editor.messages() if "green after" in m)
    assert APPLY_TITLE in message, message
    assert editor.shown_documents() == [], "nothing is opened before the user asks"

    patch = await editor.execute("greenloop.showPatch")
    shown = await editor.wait_for(lambda: editor.shown_documents(), 10, "window/showDocument of the patch")
    diff_path = Path(to_fs_path(shown[0].uri) or "")
    assert diff_path.suffix == ".diff" and diff_path.is_file(), shown[0]
    assert DIFF_LINES in diff_path.read_text()
    assert patch["patch"] is not None and DIFF_LINES in patch["patch"], patch
    assert patch["patch"].startswith("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n")

    applied = await editor.execute("greenloop.applyFix", {"repair_id": patch["repair_id"]})
    assert applied["applied"] is True, applied
    assert len(editor.apply_requests) == 1
    params = editor.apply_requests[0]
    assert not params.edit.change_annotations, "a client without annotation support gets no annotations"
    edits = [e for change in params.edit.document_changes or [] for e in change.edits] + \
        [e for edits in (params.edit.changes or {}).values() for e in edits]
    assert edits and all(type(e) is types.TextEdit for e in edits), edits
    assert [(e.range.start.line, e.new_text) for e in edits] == [(BUGGY_LINE_INDEX, FIXED + "\n")]
    assert FIXED in editor.buffer(PRICING)
    assert (root / PRICING).read_text() == on_disk, "the server must not write the user's file"
    await editor.wait_for(lambda: ledger_actions(root) == [(1, "accepted")], 10, "the ledger's user_action")
    assert await editor.execute("greenloop.applyFix") == {"applied": False, "reason": "no greenloop fix is waiting"}


async def test_while_a_fix_waits_the_failing_lines_offer_to_apply_it_and_hover_shows_the_diff(
        tmp_path, start_editor, stub) -> None:
    # This client cannot even show documents: the message, the code actions and the hover are all it gets.
    _, editor, diagnostics = await _finished_repair_waiting(tmp_path, start_editor, stub, show_document=False)
    coupon = next(d for d in diagnostics if d.code == COUPON)
    on_pricing = editor.diagnostics(PRICING, "greenloop")
    assert on_pricing, "the suspicious line of shop/pricing.py carries the failure too"

    titles: list[str] = []
    for rel, line, context in ((CART_TESTS, coupon.range.start.line, [coupon]),
                               (PRICING, BUGGY_LINE_INDEX, on_pricing)):
        actions = await editor.code_actions(rel, line, context)
        offers = [a for a in actions if getattr(a, "title", "").startswith(APPLY_PREFIX)]
        assert len(offers) == 1, f"{rel}:{line + 1}: {[getattr(a, 'title', a) for a in actions]}"
        titles.append(offers[0].title)
        assert offers[0].kind == types.CodeActionKind.QuickFix
        assert offers[0].command.command == "greenloop.applyFix"

        hover = await editor.hover(rel, line)
        assert hover is not None, f"no hover on the failing line {rel}:{line + 1}"
        assert isinstance(hover.contents, types.MarkupContent), hover.contents
        assert hover.contents.kind == types.MarkupKind.Markdown
        assert "```diff" in hover.contents.value and DIFF_LINES in hover.contents.value, hover.contents.value

    assert await editor.hover(PRICING, 2) is None, "a line that is not failing has no fix hover"
    assert editor.apply_requests == []
    assert editor.shown_documents() == [], "no window/showDocument for a client that does not support it"
    actions = await editor.code_actions(PRICING, BUGGY_LINE_INDEX, on_pricing)
    offer = next(a for a in actions if getattr(a, "title", "").startswith(APPLY_PREFIX))
    assert (await editor.execute(offer.command.command, *offer.command.arguments))["applied"] is True
    assert FIXED in editor.buffer(PRICING)
    # N counts the lines the fix changes: replacing one line is a 1-line fix, not "2 lines" (removed + added).
    assert titles == [APPLY_TITLE, APPLY_TITLE], titles
