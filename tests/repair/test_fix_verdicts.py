"""What the person did with a fix, decided by the text and never by the client's word (repair/present/fix.py): a fix
counts as applied only once the text shows it, is judged again at the next save when the editor was slow to show
it, and is recorded as edited when the lines it wrote are changed before that save."""

from __future__ import annotations

from pathlib import Path

from greenloop.repair.present.fix import Fix, Verdicts, added_lines, landed
from greenloop.repair.records import FileEdit, Patch, RepairResult, RepairStatus

BEFORE = "def f(x):\n    y = x\n    return y * 10\n\n\ndef g():\n    return 1\n"
AFTER = BEFORE.replace("y * 10", "y * 100")


def sent_fix(tmp_path: Path, awaiting: bool) -> tuple[Fix, FileEdit]:
    path = (tmp_path / "mod.py").resolve()
    edit = FileEdit(path, BEFORE, AFTER)
    fix = Fix(1, RepairResult(status=RepairStatus.GREEN), Patch([edit]), tmp_path, sent=Patch([edit]),
              awaiting_save={path} if awaiting else set())
    return fix, edit


def test_the_text_shows_an_edit_exactly_or_with_the_persons_later_typing_around_it(tmp_path: Path) -> None:
    _, edit = sent_fix(tmp_path, False)
    assert landed(edit, AFTER)
    assert not landed(edit, BEFORE)
    assert landed(edit, AFTER.replace("return 1", "return 2"))  # typed on elsewhere
    assert not landed(edit, AFTER.replace("y * 100", "y * 1000"))  # the fixed line itself changed
    assert added_lines(edit) == ["    return y * 100"]


def test_a_fix_the_editor_was_slow_to_show_is_accepted_when_a_save_shows_it(tmp_path: Path) -> None:
    fix, edit = sent_fix(tmp_path, awaiting=True)
    verdicts = Verdicts()
    verdicts.watch(fix)

    assert verdicts.saved(tmp_path / "other.py", AFTER) == []
    assert verdicts.saved(edit.path, AFTER) == [(fix, "accepted")]


def test_a_save_without_the_awaited_fix_confirms_it_was_not_applied_and_stops_watching(tmp_path: Path) -> None:
    fix, edit = sent_fix(tmp_path, awaiting=True)
    verdicts = Verdicts()
    verdicts.watch(fix)

    assert verdicts.saved(edit.path, BEFORE) == []
    assert verdicts.watched == []


def test_an_accepted_fix_whose_lines_change_before_the_next_save_is_recorded_as_edited(tmp_path: Path) -> None:
    fix, edit = sent_fix(tmp_path, awaiting=False)
    verdicts = Verdicts()
    verdicts.watch(fix)

    assert verdicts.saved(edit.path, AFTER.replace("y * 100", "y * 99")) == [(fix, "accepted_then_edited")]
    assert verdicts.watched == []


def test_an_accepted_fix_saved_as_it_is_needs_no_further_record(tmp_path: Path) -> None:
    fix, edit = sent_fix(tmp_path, awaiting=False)
    verdicts = Verdicts()
    verdicts.watch(fix)

    assert verdicts.saved(edit.path, AFTER.replace("return 1", "return 2")) == []
    assert verdicts.watched == []
