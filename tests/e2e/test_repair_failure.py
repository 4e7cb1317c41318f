"""When the repair does not reach green, the user gets the handoff note as a message (what was tried, what still
fails, where the bug probably is), and no edit; a partial patch stays available but is never applied by itself."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from demokit import BUGGY, CART_TESTS, COUPON, PRICING, PROSE, ROUNDING
from repair_helpers import demo_editor, model_settings
from stub_model import always, search_replace

# Right for 10 % (the coupon test), still wrong for 25 % (the rounding test): one of two targets passes.
PARTIAL_LINE = "    return total_cents - total_cents * percent // (100 if percent == 10 else 10)"
PARTIAL = search_replace(PRICING, BUGGY, PARTIAL_LINE, "the divisor is wrong for ten percent")


async def test_a_repair_that_fails_tells_the_user_the_handoff_note_and_sends_no_edit(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(PROSE))  # a model that only talks: no edit, ever
    _, editor = await demo_editor(start_editor, tmp_path, **model_settings(model, max_rounds=1))

    assert await editor.repair() == {"started": True}
    shown = await editor.wait_for(lambda: [m for m in editor.client.messages if "Not green" in m.message], 60,
                                  "the handoff message")

    message = shown[0]
    assert message.type == types.MessageType.Warning
    assert message.message.startswith("greenloop repair failed: "), message.message
    assert "Not green after 1 candidate(s) in 1 round(s); stopped: round cap reached (1)." in message.message
    assert f"Still failing: {COUPON}" in message.message
    assert "The bug is probably at: shop/pricing.py:18" in message.message
    assert "the reply contains no edit" in message.message  # what the attempt came to
    token = editor.created_tokens[0]
    end = editor.progress()[token][-1]
    assert isinstance(end, types.WorkDoneProgressEnd) and (end.message or "").startswith("failed"), end
    await asyncio.sleep(0.5)
    assert editor.apply_requests == []
    assert await editor.execute("greenloop.showPatch") == {"patch": None}
    actions = await editor.code_actions(PRICING, 17)
    assert not [a for a in actions if getattr(a, "title", "").startswith("Apply greenloop fix")], actions


async def test_a_partial_repair_reports_the_handoff_and_keeps_its_patch_available_without_applying_it(
        tmp_path, start_editor, stub) -> None:
    model = stub(always(PARTIAL))
    _, editor = await demo_editor(start_editor, tmp_path, **model_settings(model, max_rounds=1))

    assert await editor.repair() == {"started": True}
    shown = await editor.wait_for(lambda: [m for m in editor.client.messages if "partial" in m.message], 60,
                                  "the partial repair's message")

    assert shown[0].type == types.MessageType.Warning
    assert f"Still failing: {ROUNDING}" in shown[0].message, shown[0].message
    assert "greenloop.showPatch" in shown[0].message
    await asyncio.sleep(0.5)
    assert editor.apply_requests == [], "a partial patch must never be applied without the user asking"
    patch = await editor.execute("greenloop.showPatch")
    assert patch["status"] == "partial" and f"+{PARTIAL_LINE}\n" in patch["patch"], patch
    actions = await editor.code_actions(CART_TESTS, 20)
    offers = [a for a in actions if getattr(a, "title", "").startswith("Apply greenloop fix")]
    assert len(offers) == 1 and "partial: 1 of 2 tests" in offers[0].title, [getattr(a, "title", a) for a in actions]
