"""Progress through window/workDoneProgress, and the two ways to stop a repair: the progress bar's cancel button
(window/workDoneProgress/cancel) and the greenloop.cancel command. A cancelled repair ends its progress, sends
no edit, and leaves the workspace free for the next repair."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from lsprotocol import types

from demokit import FIX, FIXED, PRICING
from repair_helpers import demo_editor, model_settings
from stub_model import Call, Reply


async def test_a_repair_reports_progress_created_begun_by_round_and_ended(tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)  # no model: the built-in offline search

    assert await editor.repair() == {"started": True}
    await editor.wait_for(editor.progress_ends, 90, "the end of the repair's progress")

    assert len(editor.created_tokens) == 1, "the server must create its progress token first"
    token = editor.created_tokens[0]
    values = editor.progress()[token]
    begin, *reports, end = values
    assert isinstance(begin, types.WorkDoneProgressBegin), values
    assert begin.title == "greenloop repair"
    assert begin.cancellable is True
    assert reports and all(isinstance(r, types.WorkDoneProgressReport) for r in reports), values
    messages = [r.message or "" for r in reports]
    assert any(m.startswith("round 1/3") for m in messages), messages
    percentages = [r.percentage for r in reports if r.percentage is not None]
    assert percentages == sorted(percentages) and all(0 <= p <= 100 for p in percentages), percentages
    assert isinstance(end, types.WorkDoneProgressEnd), values
    assert end.message and end.message.startswith("green"), end.message
    await editor.fix_ready(10)


def _hang_first_call_then_fix(gate: threading.Event) -> Callable[[Call], Reply]:
    """Call 1 (the repair that gets cancelled) hangs until the test ends; later calls fix the bug."""

    def script(call: Call) -> Reply:
        if call.number == 1:
            gate.wait(60)
        return Reply(FIX)

    return script


async def _assert_stopped_without_an_edit(editor, token) -> None:
    await editor.wait_for(lambda: any(isinstance(v, types.WorkDoneProgressEnd) for v in editor.progress()[token]),
                          10, "the cancelled repair's progress end")
    end = editor.progress()[token][-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and "cancelled" in (end.message or ""), end
    await editor.wait_for(lambda: [m for m in editor.messages() if "cancelled" in m], 10, "the cancel message")
    await asyncio.sleep(1.0)
    assert editor.apply_requests == [], "a cancelled repair must not send an edit"


async def test_the_progress_cancel_button_stops_the_repair_and_a_new_repair_can_then_run_to_green(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(_hang_first_call_then_fix(gate))
    _, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))

    assert await editor.repair() == {"started": True}
    token = await editor.progress_token()
    await editor.wait_for(lambda: model.calls, 60, "round 1's model call")
    editor.cancel_progress(token)  # window/workDoneProgress/cancel

    await _assert_stopped_without_an_edit(editor, token)
    assert await editor.repair() == {"started": True}
    await editor.apply_when_ready(60)
    assert FIXED in editor.buffer(PRICING)
    assert len(editor.created_tokens) == 2 and editor.created_tokens[0] != editor.created_tokens[1]


async def test_the_cancel_command_stops_the_repair_and_a_new_repair_can_then_start(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(_hang_first_call_then_fix(gate))
    _, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))

    assert await editor.repair() == {"started": True}
    token = await editor.progress_token()
    await editor.wait_for(lambda: model.calls, 60, "round 1's model call")

    assert await editor.execute("greenloop.cancel") == {"cancelled": True}
    await _assert_stopped_without_an_edit(editor, token)
    assert await editor.execute("greenloop.cancel") == {"cancelled": False}  # nothing left to cancel
    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: len(editor.created_tokens) == 2, 10, "the new repair's progress")
    editor.cancel_progress(editor.created_tokens[1])
    await editor.wait_for(lambda: len(editor.progress_ends()) == 2, 15, "the end of the new repair")


async def test_a_repair_cancelled_while_its_progress_bar_is_being_created_says_cancelled_and_frees_the_workspace(
        tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)
    editor.hold_progress_create = asyncio.Event()

    assert await editor.repair() == {"started": True}
    await editor.wait_for(lambda: editor.created_tokens, 10, "the progress creation request")
    assert await editor.execute("greenloop.cancel") == {"cancelled": True}
    editor.hold_progress_create.set()

    await editor.wait_for(lambda: [m for m in editor.messages() if "cancelled" in m], 10, "the cancel message")
    assert [m for m in editor.messages() if "cancelled" in m] == [
        "greenloop repair cancelled: cancelled before the repair began"]
    assert not [m for m in editor.messages() if "error" in m.lower()], editor.messages()
    editor.hold_progress_create = None
    assert await editor.repair() == {"started": True}
    await editor.fix_ready(90)
