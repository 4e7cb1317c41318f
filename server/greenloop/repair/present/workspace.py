"""Repair until green for one workspace open in an editor: one background repair at a time, its progress and
cancel, the fix kept until the person decides, and what they decided, in the ledger.

The editor is reached only through `EditorPort` (`port.py`), so every rule here is tested without one:

- a second repair while one runs is refused with a message, never queued behind it;
- a finished fix waits for the person, in every editor: it is previewed where the bug is (the editor face shows
  `fix` and `place`, and `on_change` says when they change) and applied only when the person asks (`apply`),
  through the editor's own confirmation where it has one (a refactor preview), or dropped (`discard`);
- a fix is never applied over text the person typed since the repair began: it is fitted to the text of the
  moment (`handover.fit`: as it is, rebased and re-checked, or refused), and sent with no await in between;
- what the person did is decided by the text, not the editor's word (`fix.landed`, `fix.Verdicts`): a fix counts
  as accepted only once the text shows it; otherwise it is recorded as rejected and stays on offer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop import project
from greenloop.repair import events
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.present import handover
from greenloop.repair.present.fix import Fix, Verdicts, landed
from greenloop.repair.present.port import EditorPort, Level
from greenloop.repair.records import FileEdit, Patch, RepairResult, RepairStatus
from greenloop.repair.session import RepairSetup
from greenloop.state import state_dir

log = logging.getLogger(__name__)
HOW_TO_DECIDE = ("Preview it, then Apply or Discard: the code lens above the function, the code action "
                 "\"Apply greenloop fix ({size})\", or the commands greenloop.showPatch, greenloop.applyFix and "
                 "greenloop.discardFix.")

VERIFY_SECONDS = 3.0  # how long after answering `applied: true` an editor may take to show the change


@dataclass(frozen=True)
class Place:
    """Where the person asked for the repair: the file, and the line of the failure they were on (1-based; None
    for a whole file or folder). The editor face shows the running repair there."""

    path: Path
    line: int | None = None


@dataclass(frozen=True)
class Progress:
    """The running repair, as the editor shows it beside the code."""

    place: Place
    round: int = 0  # 0 until the first round starts (the baseline runs)
    max_rounds: int = 0
    failing: int | None = None  # target tests still failing with the best patch so far


class WorkspaceRepair:
    """The repairs of one workspace (project root), served to one editor through its port."""

    def __init__(self, root: Path, editor: EditorPort, setup: Callable[[], RepairSetup],
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.root = root
        self.editor = editor
        self._setup = setup  # built when needed: the settings in force then
        self._on_change = on_change  # the running repair's progress, or the waiting fix, changed
        self.task: asyncio.Task[None] | None = None
        self.progress: Progress | None = None  # while a repair runs
        self.fix: Fix | None = None
        self.verdicts = Verdicts()  # fixes the editor said it applied, watched until their files are saved
        self._applying = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # -- start and cancel ---------------------------------------------------------------------------------

    def start(self, path: Path, tests: list[str] | None, line: int | None = None) -> dict[str, Any]:
        """Start a repair of the failures in `path` (or of `tests`) in the background; `line` is where the person
        was (see `Place`)."""
        if self.running:
            message = "greenloop: a repair is already running in this workspace; cancel it first (greenloop.cancel)"
            self.editor.show("warning", message)
            return {"started": False, "reason": message}
        self.progress = Progress(Place(path.resolve(), line))
        self.task = asyncio.get_running_loop().create_task(self._run(path, tests))
        self._on_change()
        return {"started": True}

    def cancel(self) -> bool:
        if not self.running:
            return False
        assert self.task is not None
        self.task.cancel()
        return True

    def cancel_progress(self, progress_id: object) -> None:
        """The person cancelled a progress: this repair's, if the id is the one it shows."""
        if progress_id is not None and progress_id == self.editor.progress_id:
            self.cancel()

    # -- the background run -------------------------------------------------------------------------------

    def _on_event(self, event: events.LoopEvent, max_rounds: int) -> None:
        match event:
            case events.TargetsFound(targets=targets):
                self.editor.progress(f"{len(targets)} failing test(s)")
            case events.RoundStarted():
                self.editor.progress(f"round {event.round}/{max_rounds} · {event.failing} failing · "
                                     f"${event.cost:.2f}", int(100 * (event.round - 1) / max_rounds))
                if self.progress is not None:
                    self.progress = Progress(self.progress.place, event.round, max_rounds, event.failing)
                    self._on_change()
            case events.CandidateJudged():
                self.editor.progress(f"round {event.round}/{max_rounds} · {event.failing_before} failing → "
                                     f"{event.failing} · ${event.cost:.2f}", int(100 * event.round / max_rounds))

    async def _run(self, path: Path, tests: list[str] | None) -> None:
        setup = self._setup()
        ledger = self._ledger("the repair ledger could not be opened", "error")
        if ledger is None:
            return
        with ledger:
            max_rounds = setup.budget.max_rounds
            try:
                loop = setup.loop(ledger, lambda event: self._on_event(event, max_rounds))
            except ValueError as exc:
                self.editor.show("error", f"greenloop: {exc}")
                return
            result = RepairResult(status=RepairStatus.FAILED, stop_reason="internal error (see the log)")
            try:
                await self.editor.progress_begin(f"repairing {project.relpath(self.root, path)}")
                result = await loop.run(path, tests)  # returns a result when cancelled
            except asyncio.CancelledError:  # cancelled while the progress was being created: before any work
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                result = RepairResult(status=RepairStatus.CANCELLED, stop_reason="cancelled",
                                      handoff="cancelled before the repair began")
            finally:
                self.editor.progress_end(f"{result.status.value}: {result.stop_reason}")
        try:
            await self._finish(result)
        finally:
            self.progress = None
            self._on_change()

    async def _finish(self, result: RepairResult) -> None:
        """The repair ended: its best patch, if any, becomes the fix on offer (previewed, never applied here)."""
        if result.patch is None:
            level: Level = "info" if result.status in (RepairStatus.NOTHING_TO_DO, RepairStatus.CANCELLED) \
                else "warning"
            self.editor.show(level, f"greenloop repair {result.status.value}: {result.handoff}")
            return
        fix = Fix(result.repair_id, result, result.patch, self.root)
        fix.diff_file = self._write_diff(fix)
        self.fix = fix
        self._on_change()
        if result.status is not RepairStatus.GREEN:
            self.editor.show("warning", f"greenloop repair {result.status.value}: {result.handoff} The best patch "
                                        f"so far is on offer. {_how_to_decide(fix)}")
            return
        # Checked now, not only when the person asks: what they typed meanwhile may already rule the fix out.
        fitted = await handover.fit(self._setup(), fix.patch, result.targets, self.text_now)
        if isinstance(fitted, str):
            self.editor.show("warning", f"greenloop: the fix was not applied: {fitted}. The patch stays available "
                                        "(greenloop.showPatch).")
            return
        if fitted is not fix.patch:  # rebased onto what the person typed meanwhile, and re-checked: preview that
            fix.patch = fitted
            self._on_change()
        self.editor.show("info", f"greenloop: fix ready: green after {result.rounds} round(s), "
                                 f"passes {len(result.targets)} test(s). {_how_to_decide(fix)}")

    def _write_diff(self, fix: Fix) -> Path | None:
        try:
            directory = state_dir(self.root) / "patches"
            directory.mkdir(exist_ok=True)
            path = directory / f"repair-{fix.repair_id or 'latest'}.diff"
            path.write_text(fix.result.diff, encoding="utf-8")
            return path
        except OSError:
            return None

    # -- handing the patch over ---------------------------------------------------------------------------

    def text_now(self, path: Path) -> str | None:
        """The file as the person has it: the editor's buffer if open, else the file on disk (None: unreadable)."""
        buffer = self.editor.buffer(path)
        return buffer if buffer is not None else handover.read_disk(path)

    async def apply(self) -> dict[str, Any]:
        """Send the waiting fix, after making sure it fits the text as it is now, and count it as applied only
        once the text shows it: the editor's `applied: true` alone proves nothing."""
        fix = self.fix
        if fix is None:
            return {"applied": False, "reason": "no greenloop fix is waiting"}
        if self._applying:
            return {"applied": False, "reason": "greenloop is already applying this fix"}
        self._applying = True
        try:
            return await self._apply(fix)
        finally:
            self._applying = False

    async def _apply(self, fix: Fix) -> dict[str, Any]:
        patch = await handover.fit(self._setup(), fix.patch, fix.result.targets, self.text_now)
        if isinstance(patch, str):
            message = f"greenloop: the fix was not applied: {patch}. The patch stays available (greenloop.showPatch)."
            self.editor.show("warning", message)
            return {"applied": False, "reason": message}
        # No await between the fit's last look at the text and the send: the edit is made for that text.
        sent = await self.editor.send(patch, annotate=self.editor.asks_before_applying,
                                      description=_description(fix))
        if not sent.applied:
            return self._declined(fix, sent.reason or "the editor declined it", "info")
        unchanged = await self._wait_until_landed(patch)
        fix.sent = patch
        if unchanged:
            # A file the editor does not show us may still be saved with the fix later: `saved` watches for it.
            fix.awaiting_save = {path for path in unchanged if self.editor.buffer(path) is None}
            self.verdicts.watch(fix, bool(fix.awaiting_save))
            names = ", ".join(project.relpath(self.root, path) for path in unchanged)
            return self._declined(fix, f"the editor answered that it applied it, but {names} did not change", "warning")
        fix.awaiting_save = set()
        self._record(fix, "accepted")
        if self.fix is fix:
            self.fix = None
            self._on_change()
        self.verdicts.watch(fix)
        return {"applied": True, "reason": None}

    def discard(self) -> dict[str, Any]:
        """The person does not want the fix: it is no longer on offer, and the ledger says `declined`."""
        fix = self.fix
        if fix is None:
            return {"discarded": False, "reason": "no greenloop fix is waiting"}
        self.fix = None
        self._record(fix, "declined")
        self._on_change()
        return {"discarded": True, "reason": None}

    async def _wait_until_landed(self, patch: Patch) -> list[Path]:
        """The files whose text does not show the patch within VERIFY_SECONDS: an editor may report its change
        (didChange, didOpen) or write the file a moment after it answers."""
        deadline = time.monotonic() + VERIFY_SECONDS
        while True:
            unchanged = [e.path for e in patch.edits if not _shows(e, self.text_now(e.path))]
            if not unchanged or time.monotonic() >= deadline:
                return unchanged
            await asyncio.sleep(0.05)

    def _declined(self, fix: Fix, reason: str, level: Level) -> dict[str, Any]:
        """Not applied: the ledger says so, and the fix stays where the person can take it later."""
        self._record(fix, "rejected")
        self.editor.show(level, f"greenloop: the fix was not applied ({reason}). It stays available: the code "
                                "action \"Apply greenloop fix\" or the command greenloop.applyFix.")
        return {"applied": False, "reason": reason}

    async def show_patch(self, open_file: bool = True) -> dict[str, Any]:
        """The waiting fix's diff; with `open_file`, also shown in the editor as a .diff file (for editors without
        a greenloop client, which show the diff themselves and pass False)."""
        fix = self.fix
        if fix is None:
            return {"patch": None}
        if open_file and fix.diff_file is not None:
            await self.editor.open_file(fix.diff_file)
        passing = len(fix.result.targets) - fix.result.targets_failing_after
        return {"patch": fix.result.diff, "file": str(fix.diff_file) if fix.diff_file else None,
                "status": fix.result.status.value, "repair_id": fix.repair_id, "lines": fix.lines,
                "tests": len(fix.result.targets), "passing": passing}

    # -- the person's verdict -----------------------------------------------------------------------------

    def saved(self, path: Path) -> None:
        """A file was saved: what its text decides about fixes the editor said it applied goes to the ledger."""
        if not self.verdicts.watched:
            return
        text = self.text_now(path)
        for fix, action in self.verdicts.saved(path, text or ""):
            self._record(fix, action)
            if action == "accepted" and self.fix is fix:
                self.fix = None
                self._on_change()

    def _ledger(self, failure: str, level: Level) -> Ledger | None:
        """The ledger, opened; a ledger that cannot be opened costs a message, never the fix or the server."""
        try:
            ledger = Ledger(self.root)
        except (sqlite3.Error, OSError) as exc:
            self.editor.show(level, f"greenloop: {failure}: {exc}")
            return None
        if ledger.notice:
            self.editor.show("warning", f"greenloop: {ledger.notice}")
        return ledger

    def _record(self, fix: Fix, action: str) -> None:
        """What the person did with the fix, in the ledger."""
        if fix.repair_id is None:
            return
        failure = f"the repair ledger could not record {action!r}"
        ledger = self._ledger(failure, "warning")
        if ledger is None:
            return
        with ledger:
            try:
                ledger.set_user_action(fix.repair_id, action)
            except sqlite3.Error as exc:
                self.editor.show("warning", f"greenloop: {failure}: {exc}")


def _how_to_decide(fix: Fix) -> str:
    return HOW_TO_DECIDE.format(size=f"{fix.lines} line" + ("s" if fix.lines != 1 else ""))


def _description(fix: Fix) -> str:
    return (f"{fix.result.status.value} after {fix.result.rounds} round(s): "
            f"{len(fix.result.targets)} target test(s): {', '.join(fix.result.targets[:5])}. "
            "It passes the tests; review it.")


def _shows(edit: FileEdit, text: str | None) -> bool:
    return text is not None and landed(edit, text)
