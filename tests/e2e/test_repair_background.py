"""A repair runs in the background: the command answers at once, the server keeps serving saves, code actions
and hovers while it runs, and a second repair in the same workspace is refused with a message."""

from __future__ import annotations

import asyncio
import time

from lsprotocol import types

from demokit import BUGGY_LINE_INDEX, CART_TESTS, COUPON, FIX, PRICING
from repair_helpers import by_title, demo_editor, model_settings
from stub_model import gated

BOUND = 2.0  # seconds: generous; an idle server answers in milliseconds


async def _timed(awaitable) -> tuple[float, object]:
    started = time.monotonic()
    result = await awaitable
    return time.monotonic() - started, result


async def test_the_repair_command_returns_at_once_and_the_server_keeps_answering_while_the_repair_runs(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(gated(gate, FIX))  # the model does not answer until the test says so
    _, editor = await demo_editor(start_editor, tmp_path, **model_settings(model))
    diagnostics = await editor.failure_diagnostics()
    coupon = next(d for d in diagnostics if d.code == COUPON)

    elapsed, started = await _timed(editor.repair())
    assert started == {"started": True}
    assert elapsed < 1.0, f"greenloop.repair took {elapsed:.2f} s to answer: it must not wait for the repair"

    # While the repair works (baseline, then waiting on the model): code action and hover side by side, and a save.
    latencies: list[tuple[float, float]] = []
    saved_in = None
    while not model.calls or saved_in is None or len(latencies) < 3:
        (action_s, actions), (hover_s, _) = await asyncio.gather(
            _timed(editor.code_actions(CART_TESTS, coupon.range.start.line, [coupon])),
            _timed(editor.hover(PRICING, BUGGY_LINE_INDEX)))
        latencies.append((action_s, hover_s))
        assert by_title(actions, "Cancel greenloop repair"), \
            f"a running repair should offer its cancellation (iteration {len(latencies)}); {editor.story()}"
        if saved_in is None:
            editor.client.diagnostics.pop(editor.uri(CART_TESTS), None)
            save_started = time.monotonic()
            editor.save(CART_TESTS)
            await editor.wait_for(lambda: editor.uri(CART_TESTS) in editor.client.diagnostics, 20,
                                  "diagnostics after a save during the repair")
            saved_in = time.monotonic() - save_started
        await asyncio.sleep(0.3)
        assert len(latencies) < 200, "the repair never reached the model"

    slowest_action, slowest_hover = max(a for a, _ in latencies), max(h for _, h in latencies)
    assert slowest_action < BOUND, f"codeAction took {slowest_action:.2f} s during a repair ({latencies})"
    assert slowest_hover < BOUND, f"hover took {slowest_hover:.2f} s during a repair ({latencies})"
    assert saved_in < 10.0, f"diagnostics after a save took {saved_in:.1f} s during a repair"
    assert len(editor.diagnostics(CART_TESTS, "greenloop")) == 2, \
        "the save's diagnostics should still show both failures"

    # All of this happened while the repair was still running; it then finishes on its own.
    assert not editor.progress_ends() and not editor.apply_requests
    gate.set()
    await editor.fix_ready(60)
    assert editor.progress_ends()


async def test_a_second_repair_while_one_runs_is_refused_with_a_message(tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)  # the built-in search: ~10 s of work

    assert await editor.repair() == {"started": True}
    second = await editor.repair(CART_TESTS)

    assert second["started"] is False
    assert "already running" in second["reason"]
    warning = await editor.wait_for(
        lambda: [m for m in editor.client.messages if "already running" in m.message], 10, "the refusal message")
    assert warning[0].type == types.MessageType.Warning
    await editor.progress_token()
    assert len(editor.created_tokens) == 1, "the refused repair must not have started a progress of its own"
    assert await editor.execute("greenloop.cancel") == {"cancelled": True}
    await editor.wait_for(editor.progress_ends, 15, "the end of the cancelled repair")
