"""The repair beside the code, in any client, without opening anything (lsp/preview.py, lsp/status.py):

- one "Repair until green" per place, however many failures show there;
- while the repair runs, a code lens on the function says so (and offers Cancel); once the fix is ready, the lens
  offers Preview, Apply and Discard, an inlay hint shows the replacement line at the end of the line it replaces;
- `greenloop/status` says what a status bar shows (checking, N failing, repairing round k, fix ready), and the
  client is asked to refresh its lenses and hints when they change;
- nothing is applied or opened before the person asks; Discard leaves the file as it was and the ledger says so.
"""

from __future__ import annotations

import copy

from lsprotocol import types

from demokit import BUGGY, BUGGY_LINE_INDEX, COUPON, FIX, FIXED, PRICING, ROUNDING, ledger_actions
from editor import vscode_capabilities
from repair_helpers import by_title, demo_editor, model_settings
from stub_model import gated

DEF_LINE = 13  # 0-based: `def apply_discount` holds the bug on line 18


def _with_inlay_hints() -> types.ClientCapabilities:
    """VS Code's capabilities as pytest-lsp records them predate inlay hints; today's VS Code has them."""
    capabilities = copy.deepcopy(vscode_capabilities())
    assert capabilities.workspace is not None and capabilities.text_document is not None
    capabilities.workspace.inlay_hint = types.InlayHintWorkspaceClientCapabilities(refresh_support=True)
    capabilities.text_document.inlay_hint = types.InlayHintClientCapabilities()
    return capabilities


def _titles(lenses: list[types.CodeLens]) -> list[str]:
    return [lens.command.title if lens.command else "" for lens in lenses]


async def test_one_repair_action_per_place_even_where_two_tests_fail(tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)
    await editor.failure_diagnostics()
    on_pricing = await editor.wait_for(lambda: editor.diagnostics(PRICING, "greenloop"), 10,
                                       "diagnostics on the suspicious line")
    assert len(on_pricing) == 2, "both failing tests point at the same line"

    actions = await editor.code_actions(PRICING, BUGGY_LINE_INDEX, on_pricing)

    [repair] = by_title(actions, "Repair until green")
    assert repair.command.arguments[0] == {"uri": editor.uri(PRICING), "tests": sorted([COUPON, ROUNDING]),
                                           "line": BUGGY_LINE_INDEX}


async def test_a_running_repair_and_then_its_fix_show_beside_the_function_until_the_person_discards_it(
        tmp_path, start_editor, stub, gate) -> None:
    model = stub(gated(gate, FIX))
    root, editor = await demo_editor(start_editor, tmp_path, _with_inlay_hints(), **model_settings(model))
    on_disk = (root / PRICING).read_text()
    await editor.failure_diagnostics()
    await editor.wait_for(lambda: editor.status().get("failing") == 2 and not editor.status()["checking"], 30,
                          "a status with the two failing tests")
    assert editor.status()["state"] == "idle"
    assert any(s["state"] == "checking" for s in editor.statuses), "the check was announced while it ran"
    on_pricing = editor.diagnostics(PRICING, "greenloop")
    [repair] = by_title(await editor.code_actions(PRICING, BUGGY_LINE_INDEX, on_pricing), "Repair until green")

    assert await editor.execute(repair.command.command, repair.command.arguments[0]) == {"started": True}
    await editor.wait_for(lambda: model.calls, 60, "round 1's model call")
    running = await editor.wait_for(lambda: (editor.status().get("repair") or {}).get("round") == 1
                                    and editor.status(), 10, "a status saying round 1 runs")
    assert running["state"] == "repairing"
    assert running["repair"] == {"uri": editor.uri(PRICING), "line": BUGGY_LINE_INDEX, "round": 1, "max_rounds": 3,
                                 "failing": 2}
    lenses = await editor.code_lenses(PRICING)
    assert _titles(lenses) == ["greenloop: fixing, round 1/3 · 2 failing", "Cancel"], lenses
    assert {lens.range.start.line for lens in lenses} == {DEF_LINE}, "on the function the person was in"
    assert lenses[1].command.command == "greenloop.cancel"
    assert "codeLens" in editor.refreshes and "inlayHint" in editor.refreshes

    gate.set()
    fix = await editor.fix_ready(60)
    assert fix["summary"] == "fix ready: passes 2 tests" and fix["uri"] == editor.uri(PRICING), fix
    assert (fix["status"], fix["lines"], fix["tests"], fix["passing"], fix["line"]) == \
        ("green", 1, 2, 2, BUGGY_LINE_INDEX)
    lenses = await editor.code_lenses(PRICING)
    assert _titles(lenses) == ["greenloop: fix ready: passes 2 tests", "Preview", "Apply", "Discard"], lenses
    assert {lens.range.start.line for lens in lenses} == {DEF_LINE}
    assert [lens.command.command for lens in lenses[1:]] == \
        ["greenloop.showPatch", "greenloop.applyFix", "greenloop.discardFix"]
    [hint] = await editor.inlay_hints(PRICING)
    assert hint.position == types.Position(line=BUGGY_LINE_INDEX, character=len(BUGGY))
    assert hint.label == f"greenloop: {FIXED.strip()}"
    assert f"- {BUGGY}\n+ {FIXED}" in hint.tooltip.value
    hover = await editor.hover(PRICING, BUGGY_LINE_INDEX)
    assert hover is not None and f"+{FIXED}" in hover.contents.value
    assert editor.apply_requests == [] and editor.shown_documents() == [], "nothing applied or opened unasked"

    discard = lenses[3].command
    assert await editor.execute(discard.command, *discard.arguments) == {"discarded": True, "reason": None}

    await editor.wait_for(lambda: editor.status().get("fix") is None, 10, "a status without the fix")
    assert editor.status()["state"] == "idle" and editor.status()["failing"] == 2
    assert await editor.code_lenses(PRICING) == [] and await editor.inlay_hints(PRICING) == []
    assert editor.buffer(PRICING) == on_disk and (root / PRICING).read_text() == on_disk
    assert ledger_actions(root) == [(1, "declined")]
    assert await editor.execute("greenloop.status") == editor.status()
