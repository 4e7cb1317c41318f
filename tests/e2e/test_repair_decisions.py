"""What the user decides about a fix is what greenloop records, and no decision loses text.

- A client's `applied: true` is not proof: Neovim answers it even when its user declines the confirmation dialog.
  A fix counts as accepted only once the editor's text shows it; otherwise the ledger says `rejected` and the fix
  stays on offer ("Apply greenloop fix", greenloop.applyFix).
- A client that declines (`applied: false`) is told where the fix still is, and can take it later.
- A client without versioned `documentChanges` (Neovim) gets plain `changes`; for every client, the text is
  compared once more right before the edit is sent, so a fix is never applied over text typed meanwhile, even
  while the server was re-checking the fix against an earlier edit.
- An unreadable ledger file is moved aside with a message; the repair goes on with a new ledger.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from lsprotocol import types

from demokit import BUGGY, BUGGY_LINE_INDEX, FIX, FIXED, PRICING, copy_demo, ledger_actions
from editor import Editor, plain_capabilities, vscode_capabilities
from repair_helpers import by_title, demo_editor, model_settings
from stub_model import always

APPLY_TITLE = "Apply greenloop fix (1 line)"
STILL_OFFERED = "It stays available"
SLOW_IMPORT = "import time\n\ntime.sleep(2)  # new module-level code that is slow to import\n"


def neovim_capabilities() -> types.ClientCapabilities:
    """What Neovim 0.11 declares about workspace edits: change annotations, but no `documentChanges`."""
    capabilities = copy.deepcopy(vscode_capabilities())
    assert capabilities.workspace is not None and capabilities.workspace.workspace_edit is not None
    capabilities.workspace.workspace_edit.document_changes = None
    return capabilities


class NeovimDialog:
    """Neovim's answer to workspace/applyEdit: it asks the user, then answers `applied: true` whatever they chose
    (/work/shared/FIELD-NOTES.md). While `declines` is set, the user says no: the buffer stays as it was; otherwise
    the edit goes to the editor's ordinary handler, which applies it to the buffer."""

    def __init__(self, editor: Editor) -> None:
        self.editor = editor
        self.declines = True
        features = editor.client.protocol.fm.features
        self.accept = features[types.WORKSPACE_APPLY_EDIT]
        features[types.WORKSPACE_APPLY_EDIT] = self.answer

    def answer(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if not self.declines:
            return self.accept(params)
        self.editor.apply_requests.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)


async def _apply_offers(editor: Editor) -> list[Any]:
    on_pricing = editor.diagnostics(PRICING, "greenloop")
    return by_title(await editor.code_actions(PRICING, BUGGY_LINE_INDEX, on_pricing), APPLY_TITLE)


async def _green_fix_waiting(editor: Editor) -> None:
    """Repair the demo; the green fix waits for greenloop.applyFix."""
    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: [m for m in editor.messages() if "green after" in m], 90,
                          "the message that the fix waits for review")


async def test_a_declined_fix_is_recorded_as_rejected_stays_on_offer_and_can_be_taken_later(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))
    on_disk = (root / PRICING).read_text()
    editor.apply_answer = False  # the user discards the refactor preview

    assert await editor.repair() == {"started": True}
    assert (await editor.apply_when_ready(90))["applied"] is False
    await editor.wait_for(lambda: ledger_actions(root) == [(1, "rejected")], 10, "the rejection in the ledger")
    told = await editor.wait_for(lambda: [m for m in editor.messages() if STILL_OFFERED in m], 10,
                                 "a message that the fix stays available")
    assert "greenloop.applyFix" in told[0] and "Apply greenloop fix" in told[0], told
    assert editor.buffer(PRICING) == on_disk
    assert len(await _apply_offers(editor)) == 1, "the declined fix must still be offered on the failing line"

    editor.apply_answer = True  # the user changes their mind
    applied = await editor.execute("greenloop.applyFix")
    assert applied["applied"] is True, applied
    assert editor.buffer(PRICING) == on_disk.replace(BUGGY, FIXED)
    assert ledger_actions(root) == [(1, "accepted")]
    assert await _apply_offers(editor) == [], "an applied fix is no longer offered"
    assert (root / PRICING).read_text() == on_disk, "the server must not write the user's file"


async def test_neovim_answering_applied_true_for_a_declined_edit_is_recorded_as_rejected_not_accepted(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, capabilities=neovim_capabilities(),
                                     **model_settings(model))
    on_disk = (root / PRICING).read_text()
    dialog = NeovimDialog(editor)
    await editor.failure_diagnostics()
    await _green_fix_waiting(editor)

    answer = await editor.execute("greenloop.applyFix")  # the user declines Neovim's dialog; Neovim says "applied"

    assert answer["applied"] is False, answer
    assert "did not change" in answer["reason"], answer
    params = editor.apply_requests[0]
    assert params.edit.document_changes is None and params.edit.changes, \
        "a client without documentChanges gets plain changes"
    assert editor.buffer(PRICING) == on_disk
    assert ledger_actions(root) == [(1, "rejected")]
    assert [m for m in editor.messages() if "did not change" in m and STILL_OFFERED in m], editor.messages()
    assert len(await _apply_offers(editor)) == 1, "the fix must stay on offer"

    dialog.declines = False  # this time the user says yes
    answer = await editor.execute("greenloop.applyFix")
    assert answer["applied"] is True, answer
    assert editor.buffer(PRICING) == on_disk.replace(BUGGY, FIXED)
    assert ledger_actions(root) == [(1, "accepted")]
    assert len(editor.apply_requests) == 2


async def _apply_while_typing(editor: Editor, second_edit: Any) -> tuple[dict[str, Any], str]:
    """The fix waits; the user adds slow module-level code (so re-checking the rebased fix takes seconds), runs
    greenloop.applyFix, and types `second_edit(text)` while the server re-checks. Returns the answer and the text
    the user ended with."""
    await _green_fix_waiting(editor)
    first = editor.buffer(PRICING).replace('SHIPPING_CENTS = 495\n', 'SHIPPING_CENTS = 495\n' + SLOW_IMPORT)
    editor.change(PRICING, first)
    answer = asyncio.ensure_future(editor.execute("greenloop.applyFix"))
    await asyncio.sleep(1.0)  # the re-check runs the tests twice against the slow module: > 4 s
    assert not answer.done(), "the rebased fix should still be being re-checked"
    second = second_edit(first)
    editor.change(PRICING, second)
    return await asyncio.wait_for(answer, 90), second


async def test_a_fix_is_not_applied_over_lines_typed_while_it_was_being_rechecked(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, capabilities=plain_capabilities(),
                                     **model_settings(model))

    answer, typed = await _apply_while_typing(
        editor, lambda text: text.replace(BUGGY, BUGGY + "  # checked by hand"))

    assert answer["applied"] is False, answer
    assert "edited since the repair began" in answer["reason"], answer
    await asyncio.sleep(0.5)
    assert editor.apply_requests == [], "the fix must not be sent over newer text"
    assert editor.stale_versions == []
    assert editor.buffer(PRICING) == typed
    assert ledger_actions(root) == [(1, None)], "nothing was offered to the user, so nothing was decided"


async def test_a_fix_is_rebased_again_over_an_edit_typed_while_it_was_being_rechecked(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, capabilities=plain_capabilities(),
                                     **model_settings(model))

    answer, typed = await _apply_while_typing(editor, lambda text: "# a note typed at the top\n" + text)

    assert answer["applied"] is True, answer
    document_edit = editor.apply_requests[0].edit.document_changes[0]
    assert document_edit.text_document.version == editor.version(PRICING) - 1, \
        "the edit must name the version holding both of the user's edits"
    assert editor.buffer(PRICING) == typed.replace(BUGGY, FIXED)
    assert editor.stale_versions == []
    assert ledger_actions(root) == [(1, "accepted")]


async def test_an_unreadable_ledger_is_moved_aside_with_a_message_and_the_repair_goes_on(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root = copy_demo(tmp_path / "demo", **model_settings(model))
    state = root / ".greenloop"
    state.mkdir()
    garbage = b"this was a ledger until a disk hiccup\n" * 200
    (state / "ledger.sqlite3").write_bytes(garbage)
    editor = await start_editor(root)
    editor.open(PRICING)

    assert await editor.repair() == {"started": True}
    await editor.apply_when_ready(90)
    await editor.wait_for(lambda: ledger_actions(root) == [(1, "accepted")], 10, "the acceptance in a new ledger")
    moved = [p for p in state.iterdir() if p.name.startswith("ledger.sqlite3.unreadable-")]
    assert len(moved) == 1 and moved[0].read_bytes() == garbage, "the old ledger must be kept as it was"
    notice = [m for m in editor.messages() if "could not be read" in m]
    assert notice and str(moved[0]) in notice[0], editor.messages()


async def test_a_fix_to_a_file_the_editor_had_not_opened_counts_once_a_save_shows_it(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root = copy_demo(tmp_path / "demo", **model_settings(model))
    on_disk = (root / PRICING).read_text()
    editor = await start_editor(root, capabilities=neovim_capabilities())
    NeovimDialog(editor)  # Neovim edits a file it has not opened in a hidden buffer the server is not told about

    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: [m for m in editor.messages() if "green after" in m], 90, "the waiting fix")
    answer = await editor.execute("greenloop.applyFix")
    assert answer["applied"] is False and "did not change" in answer["reason"], answer
    assert ledger_actions(root) == [(1, "rejected")]

    (root / PRICING).write_text(on_disk.replace(BUGGY, FIXED))  # later, the user saves that buffer
    editor.client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=editor.uri(PRICING))))

    await editor.wait_for(lambda: ledger_actions(root) == [(1, "accepted")], 10, "the late acceptance")
    assert await editor.execute("greenloop.applyFix") == {"applied": False, "reason": "no greenloop fix is waiting"}
