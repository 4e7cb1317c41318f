"""What the editor offers on a failing test: "Repair until green" on the diagnostic, a file-wide source action,
and both start a real repair of exactly what they name."""

from __future__ import annotations

from lsprotocol import types

from demokit import CART_TESTS, COUPON, PRICING, ROUNDING
from repair_helpers import by_title, demo_editor

REPAIR_TITLE = "Repair until green"
SOURCE_TITLE = "greenloop: repair failing tests in this file"


def _one_diagnostic(diagnostics: list[types.Diagnostic], code: str) -> types.Diagnostic:
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, f"expected one greenloop diagnostic for {code}, got {diagnostics}"
    return found[0]


async def test_a_failing_test_diagnostic_offers_repair_until_green_for_that_test_and_a_file_wide_source_action(
        tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)
    diagnostics = await editor.failure_diagnostics()
    coupon = _one_diagnostic(diagnostics, COUPON)

    actions = await editor.code_actions(CART_TESTS, coupon.range.start.line, [coupon])

    assert all(isinstance(a, types.CodeAction) for a in actions), actions
    quickfixes = by_title(actions, REPAIR_TITLE)
    assert len(quickfixes) == 1, actions
    quickfix = quickfixes[0]
    assert quickfix.kind == types.CodeActionKind.QuickFix
    assert quickfix.diagnostics is not None and [d.code for d in quickfix.diagnostics] == [COUPON]
    assert quickfix.command is not None and quickfix.command.command == "greenloop.repair"
    assert quickfix.command.arguments is not None and len(quickfix.command.arguments) == 1
    argument = quickfix.command.arguments[0]
    assert argument == {"uri": editor.uri(CART_TESTS), "tests": [COUPON], "line": coupon.range.start.line}

    sources = by_title(actions, SOURCE_TITLE)
    assert len(sources) == 1, actions
    source = sources[0]
    assert source.kind is not None and str(source.kind).startswith("source"), source.kind
    assert source.command is not None and source.command.command == "greenloop.repair"
    assert source.command.arguments[0]["uri"] == editor.uri(CART_TESTS)
    assert not source.command.arguments[0].get("tests")  # the whole file: every failing test in it


async def test_the_suspicious_source_line_offers_repair_until_green_too(tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)
    await editor.failure_diagnostics()
    on_pricing = await editor.wait_for(lambda: editor.diagnostics(PRICING, "greenloop"), 10,
                                       "diagnostics on shop/pricing.py")

    actions = await editor.code_actions(PRICING, on_pricing[0].range.start.line, on_pricing)

    [repair] = by_title(actions, REPAIR_TITLE)  # one for the line, though two tests fail there
    assert repair.command.arguments[0]["tests"] == sorted({COUPON, ROUNDING})
    assert repair.command.arguments[0]["uri"] == editor.uri(PRICING)
    assert by_title(actions, SOURCE_TITLE)


async def test_running_the_quickfix_command_repairs_only_the_named_test(tmp_path, start_editor) -> None:
    _, editor = await demo_editor(start_editor, tmp_path)
    diagnostics = await editor.failure_diagnostics()
    coupon = _one_diagnostic(diagnostics, COUPON)
    quickfix = by_title(await editor.code_actions(CART_TESTS, coupon.range.start.line, [coupon]), REPAIR_TITLE)[0]

    started = await editor.execute(quickfix.command.command, quickfix.command.arguments[0])

    assert started == {"started": True}
    token = await editor.progress_token()
    reports = await editor.wait_for(
        lambda: [v.message for v in editor.progress()[token] if isinstance(v, types.WorkDoneProgressReport)
                 and v.message and "failing test" in v.message], 30, "the targets report")
    assert reports[0] == "1 failing test(s)", reports  # the node id was honoured, not both failing tests
    assert await editor.execute("greenloop.cancel") == {"cancelled": True}
