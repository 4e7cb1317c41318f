"""A green repair waits for the user; their "Apply" reaches the client as a workspace/applyEdit it confirms:
versioned document edits, annotated with `needsConfirmation`, never written to disk by the server. The ledger records the user's answer.
If the user typed over the lines the fix changes while it ran, the fix is refused; an edit elsewhere is rebased,
rechecked and offered."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from demokit import BUGGY, BUGGY_LINE_INDEX, CART_TESTS, FIX, FIXED, PRICING, ledger_actions
from repair_helpers import demo_editor, model_settings
from stub_model import always, gated


def _only_document_edit(params: types.ApplyWorkspaceEditParams) -> types.TextDocumentEdit:
    changes = params.edit.document_changes
    assert changes is not None and len(changes) == 1, params.edit
    assert isinstance(changes[0], types.TextDocumentEdit), changes[0]
    return changes[0]


async def test_a_green_fix_is_sent_as_an_annotated_versioned_workspace_edit_and_acceptance_is_recorded(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))
    on_disk = (root / PRICING).read_text()
    editor.apply_answer = True
    await editor.failure_diagnostics()  # the user saw the failures (this saves pricing.py unchanged)

    assert await editor.repair() == {"started": True}
    await editor.fix_ready(90)
    assert editor.apply_requests == [], "nothing is sent before the user asks"
    assert await editor.execute("greenloop.applyFix") == {"applied": True, "reason": None}

    params = editor.apply_requests[0]
    document_edit = _only_document_edit(params)
    assert document_edit.text_document.uri == editor.uri(PRICING)
    assert document_edit.text_document.version == 1, "the edit must name the buffer version it was made for"
    assert len(document_edit.edits) == 1, document_edit.edits
    text_edit = document_edit.edits[0]
    assert isinstance(text_edit, types.AnnotatedTextEdit), text_edit
    replaced = "".join(on_disk.splitlines(keepends=True)[text_edit.range.start.line:text_edit.range.end.line])
    assert text_edit.range.start.line == BUGGY_LINE_INDEX
    assert replaced == BUGGY + "\n" and text_edit.new_text == FIXED + "\n"
    annotations = params.edit.change_annotations
    assert annotations is not None and text_edit.annotation_id in annotations, params.edit
    annotation = annotations[text_edit.annotation_id]
    assert annotation.label == "greenloop repair"
    assert annotation.needs_confirmation is True
    assert annotation.description  # what the fix is: the user decides on it

    await editor.wait_for(lambda: ledger_actions(root) and ledger_actions(root)[-1][1] == "accepted", 10,
                          "the ledger's user_action")
    assert ledger_actions(root) == [(1, "accepted")]
    assert FIXED in editor.buffer(PRICING)  # the client applied it to the buffer
    assert (root / PRICING).read_text() == on_disk, "the server must not write the user's file"

    # The user saves the buffer the client edited: the failures go away.
    editor.save(PRICING)
    await editor.wait_for(lambda: editor.diagnostics(CART_TESTS, "greenloop") == [], 30,
                          "cleared diagnostics after saving the fix")


async def test_a_rejected_fix_is_recorded_as_rejected_and_nothing_changes(tmp_path, start_editor,
                                                                          stub) -> None:
    model = stub(always(FIX))
    root, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))
    on_disk = (root / PRICING).read_text()
    editor.apply_answer = False

    assert await editor.repair() == {"started": True}
    assert (await editor.apply_when_ready(60))["applied"] is False
    await editor.wait_for(lambda: ledger_actions(root) and ledger_actions(root)[-1][1] is not None, 10,
                          "the ledger's user_action")

    assert ledger_actions(root) == [(1, "rejected")]
    assert editor.buffer(PRICING) == on_disk
    assert (root / PRICING).read_text() == on_disk, "the server must not write the user's file"
    assert len(editor.apply_requests) == 1


async def test_a_fix_whose_lines_the_user_edited_meanwhile_is_refused_with_a_message_and_not_sent(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(gated(gate, FIX))
    root, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))

    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: model.calls, 60, "round 1's model call")
    typed = editor.buffer(PRICING).replace(BUGGY, "    return total_cents - total_cents * percent // 10 + 0")
    editor.change(PRICING, typed)  # unsaved: the user typed over the very line the fix changes
    gate.set()

    await editor.wait_for(editor.progress_ends, 60, "the end of the repair")
    refusal = await editor.wait_for(
        lambda: [m for m in editor.client.messages if "not applied" in m.message], 30, "the refusal message")
    assert refusal[0].type in (types.MessageType.Warning, types.MessageType.Error)
    assert "edited since the repair began" in refusal[0].message, refusal[0].message
    await asyncio.sleep(1.0)
    assert editor.apply_requests == [], "a stale fix must not be sent"
    assert editor.buffer(PRICING) == typed
    assert BUGGY in (root / PRICING).read_text()


async def test_a_fix_is_rebased_over_an_edit_elsewhere_in_the_file_rechecked_and_sent(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(gated(gate, FIX))
    root, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))

    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: model.calls, 60, "round 1's model call")
    typed = "# edited while the repair ran\n" + editor.buffer(PRICING)  # every line moves down by one
    editor.change(PRICING, typed)
    gate.set()

    await editor.apply_when_ready(60)
    document_edit = _only_document_edit(editor.apply_requests[0])
    assert document_edit.text_document.version == editor.version(PRICING) - 1, \
        "the edit must be for the buffer as it is now (the client's applying it bumps the version once)"
    assert [e.range.start.line for e in document_edit.edits] == [BUGGY_LINE_INDEX + 1]
    assert editor.buffer(PRICING) == typed.replace(BUGGY, FIXED)
    assert not [m for m in editor.messages() if "not applied" in m]


async def test_a_rebased_fix_that_no_longer_passes_with_the_users_other_edit_is_refused(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(gated(gate, FIX))
    root, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))

    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: model.calls, 60, "round 1's model call")
    typed = editor.buffer(PRICING).replace("SHIPPING_CENTS = 495", "SHIPPING_CENTS = 500")
    editor.change(PRICING, typed)  # far from the fix, but the rounding test expects 495 cents of shipping
    gate.set()

    refusal = await editor.wait_for(
        lambda: [m.message for m in editor.client.messages if "not applied" in m.message], 60, "the refusal")
    assert "no longer makes tests/test_cart.py::test_discount_rounds_down_to_the_cent pass" in refusal[0], refusal
    await asyncio.sleep(0.5)
    assert editor.apply_requests == []
    assert editor.buffer(PRICING) == typed
