"""A workspace's repairs as an editor sees them, through the editor port (repair/present/workspace.py), without an
editor: one repair at a time, a finished fix kept for the person in every editor until they apply or discard it
(through the editor's own confirmation where it has one), never applied over newer text, and what the person did
decided by the text, not the editor's word, and kept in the ledger.

The editor here is `Editor`, a plain implementation of `EditorPort` that keeps buffers in a dict and records what
it was asked; the repair, the sandbox, the ledger and the hand-over are the real ones.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from repairkit import BUGGY, FIXED, MODEL, PRICING, TARGETS, always, hang, pricing_edit

from greenloop import config
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.present import workspace
from greenloop.repair.present.port import EditorPort, Level, Sent
from greenloop.repair.present.workspace import Place, Progress, WorkspaceRepair
from greenloop.repair.records import FileEdit, Patch, RepairResult, RepairStatus
from greenloop.repair.session import RepairSetup


class Editor:
    """An editor as the port sees it: open buffers, and a record of every call."""

    def __init__(self, previews: bool = True, applies: bool = True, shows_change: bool = True) -> None:
        self.previews, self.applies, self.shows_change = previews, applies, shows_change
        self.buffers: dict[Path, str] = {}
        self.shown: list[tuple[Level, str]] = []
        self.progress_log: list[str] = []
        self.sent: list[tuple[Patch, bool]] = []
        self.opened: list[Path] = []
        self.progress_id: object | None = None

    @property
    def asks_before_applying(self) -> bool:
        return self.previews

    def show(self, level: Level, message: str) -> None:
        self.shown.append((level, message))

    async def progress_begin(self, title: str) -> None:
        self.progress_id = "bar-1"
        self.progress_log.append(f"begin {title}")

    def progress(self, message: str, percentage: int | None = None) -> None:
        self.progress_log.append(message)

    def progress_end(self, message: str) -> None:
        self.progress_log.append(f"end {message}")
        self.progress_id = None

    def buffer(self, path: Path) -> str | None:
        return self.buffers.get(path)

    async def send(self, patch: Patch, *, annotate: bool, description: str) -> Sent:
        self.sent.append((patch, annotate))
        if self.applies and self.shows_change:
            for edit in patch.edits:
                self.buffers[edit.path] = edit.after
        return Sent(True) if self.applies else Sent(False, "the person declined it")

    async def open_file(self, path: Path) -> None:
        self.opened.append(path)


def setup_of(root: Path, **settings: object) -> RepairSetup:
    return RepairSetup(root, config.Settings(type_checker="off", **settings), sys.executable)  # type: ignore[arg-type]


def green_result(root: Path) -> RepairResult:
    """A finished green repair of the demo's bug, as the loop hands it over, with its row in the ledger."""
    path = (root / PRICING).resolve()
    text = path.read_text()
    patch = Patch([FileEdit(path, text, text.replace(BUGGY, FIXED))])
    with Ledger(root) as ledger:
        repair_id = ledger.start(PRICING, "llm", TARGETS)
    return RepairResult(status=RepairStatus.GREEN, repair_id=repair_id, rounds=1, targets=TARGETS, patch=patch,
                        diff="--- a/shop/pricing.py\n+++ b/shop/pricing.py\n", handoff="green")


def user_action(root: Path, repair_id: int | None) -> str | None:
    assert repair_id is not None
    with Ledger(root) as ledger:
        row = ledger.repair(repair_id)
    assert row is not None
    return row["user_action"]


def test_the_test_editor_implements_the_whole_port() -> None:
    editor: EditorPort = Editor()  # mypy checks the protocol; this checks nothing was left out at runtime
    assert all(hasattr(editor, name) for name in EditorPort.__dict__ if not name.startswith("_"))


async def test_a_green_fix_waits_for_the_person_and_then_goes_through_the_editors_own_confirmation(
        demo: Path) -> None:
    editor = Editor(previews=True)
    changes: list[bool] = []
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo), on_change=lambda: changes.append(True))
    result = green_result(demo)

    await repairs._finish(result)

    assert editor.sent == [] and editor.opened == [], "nothing is applied or opened before the person asks"
    assert repairs.fix is not None and changes, "the editor face is told a fix is on offer"
    assert any(level == "info" and "fix ready" in m and "passes 2 test(s)" in m for level, m in editor.shown)

    assert await repairs.apply() == {"applied": True, "reason": None}
    [(patch, annotate)] = editor.sent
    assert annotate and patch.edits[0].after.count(FIXED) == 1, "annotated: the editor asks the person first"
    assert repairs.fix is None, "an accepted fix is no longer on offer"
    assert user_action(demo, result.repair_id) == "accepted"


async def test_an_editor_without_previews_gets_the_diff_when_asked_and_a_plain_edit(demo: Path) -> None:
    editor = Editor(previews=False)
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    await repairs._finish(green_result(demo))

    quiet = await repairs.show_patch(open_file=False)  # a greenloop client shows the diff itself
    assert editor.opened == [] and quiet["patch"].startswith("--- a/shop/pricing.py")
    assert (quiet["lines"], quiet["tests"], quiet["passing"]) == (1, 2, 2)
    await repairs.show_patch()
    [opened] = editor.opened
    assert opened.suffix == ".diff" and opened.read_text().startswith("--- a/shop/pricing.py")

    assert (await repairs.apply())["applied"] is True
    [(_, annotate)] = editor.sent
    assert annotate is False


async def test_a_discarded_fix_is_gone_untouched_and_recorded_as_declined(demo: Path) -> None:
    editor = Editor()
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    result = green_result(demo)
    on_disk = (demo / PRICING).read_text()
    await repairs._finish(result)

    assert repairs.discard() == {"discarded": True, "reason": None}

    assert repairs.fix is None and editor.sent == []
    assert (demo / PRICING).read_text() == on_disk
    assert user_action(demo, result.repair_id) == "declined"
    assert repairs.discard()["discarded"] is False, "nothing is left to discard"


async def test_a_fix_the_person_declines_stays_on_offer_and_is_recorded_as_rejected(demo: Path) -> None:
    editor = Editor(applies=False)
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    result = green_result(demo)
    await repairs._finish(result)

    await repairs.apply()

    assert repairs.fix is not None
    assert user_action(demo, result.repair_id) == "rejected"
    assert any(level == "info" and "the person declined it" in m for level, m in editor.shown)


async def test_an_editor_that_says_applied_without_changing_the_text_is_not_believed(
        demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neovim answers `applied: true` even when its user declines: the text decides."""
    monkeypatch.setattr(workspace, "VERIFY_SECONDS", 0.2)
    editor = Editor(shows_change=False)
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    result = green_result(demo)
    await repairs._finish(result)

    await repairs.apply()

    assert repairs.fix is not None
    assert user_action(demo, result.repair_id) == "rejected"
    assert any(level == "warning" and "did not change" in m for level, m in editor.shown)


async def test_a_fix_whose_lines_the_person_edited_meanwhile_is_never_sent(demo: Path) -> None:
    editor = Editor()
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    path = (demo / PRICING).resolve()
    editor.buffers[path] = path.read_text().replace(BUGGY, BUGGY + "  # looking into this")

    await repairs._finish(green_result(demo))

    assert editor.sent == []
    assert repairs.fix is not None
    assert any("the lines it changes were edited since the repair began" in m for _, m in editor.shown)


async def test_a_file_that_is_no_longer_utf8_on_disk_is_never_written_over(demo: Path) -> None:
    editor = Editor()
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    result = green_result(demo)
    path = demo / PRICING
    data = path.read_bytes() + b"# caf\xe9, saved by an editor set to Latin-1\n"
    path.write_bytes(data)

    await repairs._finish(result)

    assert editor.sent == [] and path.read_bytes() == data
    assert any("shop/pricing.py cannot be read as UTF-8 text now" in m for _, m in editor.shown)


async def test_an_accepted_fix_changed_before_the_next_save_is_recorded_as_such(demo: Path) -> None:
    editor = Editor()
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo))
    result = green_result(demo)
    await repairs._finish(result)
    await repairs.apply()
    path = (demo / PRICING).resolve()

    editor.buffers[path] = editor.buffers[path].replace(FIXED, FIXED.replace("100", "1000"))
    repairs.saved(path)

    assert user_action(demo, result.repair_id) == "accepted_then_edited"


async def test_a_real_repair_runs_in_the_background_with_progress_and_one_at_a_time(demo: Path, stub) -> None:
    model = stub(always(pricing_edit(FIXED)))
    editor = Editor()
    seen: list[tuple[Progress | None, bool]] = []  # what the editor face could show at each change
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo, model=MODEL, api_base=model.api_base),
                              on_change=lambda: seen.append((repairs.progress, repairs.fix is not None)))

    assert repairs.start(demo / PRICING, None, line=12) == {"started": True}
    second = repairs.start(demo / PRICING, None)
    assert second["started"] is False and "already running" in second["reason"]
    assert repairs.task is not None
    await asyncio.wait_for(repairs.task, 120)

    assert editor.progress_log[0] == "begin repairing shop/pricing.py"
    assert "2 failing test(s)" in editor.progress_log
    assert editor.progress_log[-1].startswith("end green")
    place = Place((demo / PRICING).resolve(), 12)
    assert seen[0] == (Progress(place), False), "started: shown where the person asked, before any round"
    assert (Progress(place, 1, 3, 2), False) in seen, "round 1 of 3 began with 2 tests failing"
    assert seen[-1] == (None, True), "ended: no repair running, a fix on offer"
    assert editor.sent == [], "the fix waits for the person"
    await repairs.apply()
    [(patch, _)] = editor.sent
    assert FIXED in patch.edits[0].after


async def test_cancelling_the_editors_progress_cancels_the_repair(demo: Path, stub, gate) -> None:
    model = stub(hang(gate))
    editor = Editor()
    repairs = WorkspaceRepair(demo, editor, lambda: setup_of(demo, model=MODEL, api_base=model.api_base))
    repairs.start(demo / PRICING, None)
    for _ in range(600):
        if editor.progress_id is not None and len(editor.progress_log) > 1:
            break
        await asyncio.sleep(0.1)

    repairs.cancel_progress("another-bar")
    assert repairs.running, "another progress's cancel is not this repair's"
    repairs.cancel_progress(editor.progress_id)
    assert repairs.task is not None
    await asyncio.wait_for(repairs.task, 60)

    assert editor.progress_log[-1].startswith("end cancelled")
    assert editor.sent == [] and repairs.fix is None
