"""Where the repair shows beside the code (lsp/preview.py): lenses on the function that holds the place, hints at the
end of the lines a fix replaces, and nothing at all when the text is no longer the one the fix was made for."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from greenloop.lsp import preview
from greenloop.repair.present.fix import Fix
from greenloop.repair.present.workspace import Place, Progress
from greenloop.repair.records import FileEdit, Patch, RepairResult, RepairStatus

SOURCE = '''import math


class Cart:
    def total(self, items):
        subtotal = sum(items)
        return subtotal * 2

    def count(self, items):
        return len(items)


def area(r):
    return math.pi * r
'''
EVERYTHING = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=99, character=0))


def _fix(path: Path, before: str, after: str, status: RepairStatus = RepairStatus.GREEN, failing: int = 0) -> Fix:
    result = RepairResult(status=status, repair_id=7, rounds=1, targets=["t.py::a", "t.py::b", "t.py::c"],
                          targets_failing_after=failing)
    return Fix(7, result, Patch([FileEdit(path, before, after)]), path.parent)


def _titles(lenses: list[types.CodeLens]) -> list[tuple[int, str, str]]:
    return [(lens.range.start.line, lens.command.title, lens.command.command) for lens in lenses if lens.command]


def test_a_lens_sits_on_the_def_of_the_innermost_function_holding_the_line() -> None:
    assert preview.anchor(SOURCE, 6) == 4, "return subtotal * 2 is in Cart.total"
    assert preview.anchor(SOURCE, 13) == 12
    assert preview.anchor(SOURCE, 2) == 2, "module-level code: the line itself"


def test_a_running_repair_shows_its_round_where_the_person_asked_and_a_cancel(tmp_path: Path) -> None:
    path = tmp_path / "cart.py"
    starting = Progress(Place(path, 7))
    assert _titles(preview.running_lenses(path, SOURCE, starting)) == [
        (4, "greenloop: fixing (running the failing tests first)", ""), (4, "Cancel", "greenloop.cancel")]
    round_two = Progress(Place(path, 7), 2, 3, 1)
    assert _titles(preview.running_lenses(path, SOURCE, round_two))[0] == \
        (4, "greenloop: fixing, round 2/3 · 1 failing", "")
    assert _titles(preview.running_lenses(path, SOURCE, Progress(Place(path))))[0][0] == 0, "a whole file: line 0"
    assert preview.running_lenses(tmp_path / "other.py", SOURCE, round_two) == []
    assert preview.running_lenses(path, SOURCE, None) == []


def test_a_ready_fix_offers_preview_apply_and_discard_on_its_function_even_after_lines_moved(tmp_path: Path) -> None:
    path = tmp_path / "cart.py"
    fix = _fix(path, SOURCE, SOURCE.replace("subtotal * 2", "subtotal"))
    expected = [(4, "greenloop: fix ready: passes 3 tests", ""), (4, "Preview", "greenloop.showPatch"),
                (4, "Apply", "greenloop.applyFix"), (4, "Discard", "greenloop.discardFix")]
    assert _titles(preview.fix_lenses(path, SOURCE, fix)) == expected
    assert all(lens.command.arguments == [{"repair_id": 7}] for lens in preview.fix_lenses(path, SOURCE, fix)[1:])
    typed_above = "# a note the person added\n\n" + SOURCE
    assert {line for line, _, _ in _titles(preview.fix_lenses(path, typed_above, fix))} == {6}
    partial = _fix(path, SOURCE, SOURCE.replace("subtotal * 2", "subtotal"), RepairStatus.PARTIAL, failing=1)
    assert _titles(preview.fix_lenses(path, SOURCE, partial))[0][1] == "greenloop: partial fix: passes 2 of 3 tests"
    assert preview.fix_lenses(tmp_path / "other.py", SOURCE, fix) == []


def test_hints_show_each_replacement_at_the_end_of_the_line_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "cart.py"
    after = SOURCE.replace("        return subtotal * 2\n", "        return subtotal\n") \
        .replace("        return len(items)\n", "") \
        .replace("def area(r):\n", "def area(r):\n    r = abs(r)\n")
    fix = _fix(path, SOURCE, after)

    hints = preview.inlay_hints(path, SOURCE, fix, EVERYTHING, len)

    assert [(h.position.line, h.position.character, h.label) for h in hints] == [
        (6, len("        return subtotal * 2"), "greenloop: return subtotal"),
        (9, len("        return len(items)"), "greenloop: delete 1 line"),
        (12, len("def area(r):"), "greenloop inserts: r = abs(r)")]
    assert "-         return subtotal * 2\n+         return subtotal" in hints[0].tooltip.value
    lines_6_to_8 = types.Range(start=types.Position(line=6, character=0), end=types.Position(line=8, character=0))
    assert len(preview.inlay_hints(path, SOURCE, fix, lines_6_to_8, len)) == 1, "only the range asked for"
    assert preview.changed_lines(path, SOURCE, fix) == {6, 9, 12}


def test_hints_are_measured_in_the_clients_units_and_long_lines_are_cut(tmp_path: Path) -> None:
    path = tmp_path / "cart.py"
    before = 'def f():\n    return "🍵"\n'
    after = 'def f():\n    return "🍵 " + "x" * 80 + "' + "y" * 80 + '"\n'
    utf16 = lambda line: len(line.encode("utf-16-le")) // 2  # noqa: E731 - the client's own measure

    [hint] = preview.inlay_hints(path, before, _fix(path, before, after), EVERYTHING, utf16)

    assert hint.position.character == len('    return "🍵"') + 1, "the emoji is two UTF-16 units"
    assert isinstance(hint.label, str) and len(hint.label) <= len("greenloop: ") + preview.HINT_WIDTH
    assert hint.label.endswith("…")


def test_text_the_fix_was_not_made_for_gets_no_hints(tmp_path: Path) -> None:
    path = tmp_path / "cart.py"
    fix = _fix(path, SOURCE, SOURCE.replace("subtotal * 2", "subtotal"))
    typed = SOURCE.replace("import math", "import math  # typed since")
    assert preview.inlay_hints(path, typed, fix, EVERYTHING, len) == []
    assert preview.changed_lines(path, typed, fix) == set()
    assert preview.inlay_hints(path, SOURCE, None, EVERYTHING, len) == []
