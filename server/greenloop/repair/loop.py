"""The repair loop: baseline, then rounds of propose -> validate -> sandbox run -> judge -> record, until green
or a stop rule fires. Returns the best attempt (most target tests passing, no regressions, smallest), not
merely the last one, and a handoff note when it is not green.

Stop rules: green; the round cap; the token or money budget; the wall-clock timeout; stuck (the same failure
signature twice in a row); a proposer that cannot go on (model unreachable); cancellation.

Everything the loop hands on (the context a proposer sees, ledger rows, events, the result) has credential values
masked (see repair.secrets); a refused patch's diff is recorded without its edits of secret files.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from greenloop import project
from greenloop.repair import events, secrets
from greenloop.repair.check import validate
from greenloop.repair.check.baseline import BaselineError, establish
from greenloop.repair.propose.context import Context
from greenloop.repair.present.handoff import handoff_note
from greenloop.repair.check.judge import Baseline, JudgeSettings, judge
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.propose.localise import localise
from greenloop.repair.propose.base import Proposer
from greenloop.repair.records import (Attempt, Patch, Proposal, RepairResult, RepairStatus, Usage, Verdict,
                                      VerdictStatus)
from greenloop.repair.check.sandbox import Sandbox
from greenloop.repair.check.screen import Screener

log = logging.getLogger(__name__)


@dataclass
class Budget:
    max_rounds: int = 3
    usd: float | None = None
    tokens: int | None = None
    seconds: float | None = None


class RepairLoop:
    def __init__(self, root: Path, proposer: Proposer, judge_settings: JudgeSettings, budget: Budget,
                 ledger: Ledger | None = None, on_event: events.Listener | None = None,
                 secret_files: Sequence[str] | None = None) -> None:
        """`secret_files`: the patterns in force (the editor's settings included); None: the project's own."""
        self.root = root.resolve()
        self.proposer = proposer
        self.settings = judge_settings
        self.budget = budget
        self.ledger = ledger
        self._on_event = on_event or (lambda event: None)
        self.secret_files = tuple(secrets.configured(self.root) if secret_files is None else secret_files)
        self.redact = secrets.Redactor.gather()  # with the secret files' values once the run starts
        self._tests: validate.TestSide | None = None  # what counts as test code here, built once per loop

    def on_event(self, event: events.LoopEvent) -> None:
        self._on_event(events.masked(event, self.redact))

    async def run(self, path: Path, tests: list[str] | None = None) -> RepairResult:
        """Repair the failing tests relevant to `path` (or the named `tests`). Cancellation returns a result."""
        started = time.monotonic()
        result = RepairResult(status=RepairStatus.FAILED)
        repair_id = None
        # A file outside any project (a scratch file in /tmp) is repaired alone: its folder is not copied.
        alone = None if project.find_project_root(path) else [path]
        found = await asyncio.to_thread(secrets.file_values, self.root, self.secret_files)
        self.redact = self.redact.also(secrets.Redactor.of(found))
        try:
            sandbox = await asyncio.to_thread(Sandbox, self.root, alone)
        except OSError as exc:
            result.stop_reason = result.handoff = f"cannot make the sandbox copy of {self.root}: {exc}"
            self._conclude(result)
            self.on_event(events.RepairDone(result.status, result.stop_reason))
            return result
        try:
            isolation = sandbox.isolation
            result.isolation = isolation.how
            if not isolation.at_least(self.settings.sandbox):
                result.stop_reason = result.handoff = (
                    f"not run: candidate code would get only {isolation.level!r} isolation here ({isolation.how}); "
                    f"the `sandbox` setting asks for at least {self.settings.sandbox!r}")
                return result
            self.on_event(events.BaselineStarted(isolation.how))
            try:
                baseline = await establish(self.root, path, tests, sandbox, self.settings)
            except BaselineError as exc:
                result.stop_reason = str(exc)
                result.handoff = str(exc)
                return result
            result.targets, result.flaky = list(baseline.targets), list(baseline.flaky)
            result.targets_failing_before = result.targets_failing_after = len(baseline.targets)
            if not baseline.targets:
                result.status = RepairStatus.FLAKY if baseline.flaky else RepairStatus.NOTHING_TO_DO
                result.stop_reason = ("the failing tests pass on a re-run: flaky, not repaired" if baseline.flaky
                                      else "no failing tests to repair")
                result.handoff = result.stop_reason
                return result
            if self.ledger is not None:
                repair_id = result.repair_id = self.ledger.start(project.relpath(self.root, path),
                                                                 self.proposer.name, baseline.targets)
            self.on_event(events.TargetsFound(list(baseline.targets), list(baseline.flaky)))
            await self._rounds(baseline, result, started, sandbox)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            result.status = RepairStatus.CANCELLED
            result.stop_reason = "cancelled"
        finally:
            await asyncio.to_thread(sandbox.close)
            result.seconds = time.monotonic() - started
            self._conclude(result)
            if self.ledger is not None and repair_id is not None:
                self.ledger.finish(repair_id, result, self.redact)
            self.on_event(events.RepairDone(result.status, result.stop_reason))
        return result

    async def _rounds(self, baseline: Baseline, result: RepairResult, started: float, sandbox: Sandbox) -> None:
        screener = Screener(sandbox, baseline, self.settings)
        try:
            await self._round_loop(baseline, result, started, sandbox, screener)
        finally:
            result.screen_seconds, result.screened = screener.seconds, screener.count
            await screener.close()

    async def _round_loop(self, baseline: Baseline, result: RepairResult, started: float, sandbox: Sandbox,
                          screener: Screener) -> None:
        failures = [baseline.results[t] for t in baseline.targets]
        places = localise(self.root, failures, baseline.run.results if baseline.run else [])
        result.suspects = [f"{project.relpath(self.root, p.path)}:{p.line} ({p.scope})" for p in places]
        previous_signature = None
        for round_number in range(1, self.budget.max_rounds + 1):
            over = self._over_budget(result.usage, started)
            if over:
                result.stop_reason = over
                return
            result.rounds = round_number
            self.on_event(events.RoundStarted(round_number, self.budget.max_rounds, result.targets_failing_after,
                                              result.usage.cost))
            context = Context(self.root, failures, places, list(result.attempts), round_number,
                              self.budget.max_rounds, results=baseline.run.results if baseline.run else [],
                              screen=screener.screen, secret_files=self.secret_files, redact=self.redact)
            attempt_started = time.monotonic()
            proposal = await self._propose(context, started)
            result.usage.add(proposal.usage)
            result.candidates += proposal.screened or 1  # a search screens many; any other proposal is one
            verdict, diff = await self._evaluate(proposal, baseline, sandbox)
            attempt = Attempt(round_number, len(result.attempts) + 1, proposal, verdict, diff,
                              time.monotonic() - attempt_started)
            result.attempts.append(attempt)
            if self.ledger is not None and result.repair_id is not None:
                self.ledger.record(result.repair_id, attempt, len(baseline.targets), self.redact)
            best = self._best(result.attempts)
            result.targets_failing_after = (len(best.verdict.targets_failed) if best else len(baseline.targets))
            self.on_event(events.CandidateJudged(
                round_number, result.candidates, verdict.status, verdict.reason, len(baseline.targets),
                result.targets_failing_after, result.usage.cost, result.usage.tokens_in + result.usage.tokens_out))
            if verdict.status is VerdictStatus.GREEN:
                result.stop_reason = "green"
                return
            if proposal.fatal:
                result.stop_reason = f"the proposer cannot go on: {proposal.error}"
                return
            if proposal.exhausted:
                result.stop_reason = f"no more candidates: {proposal.error}"
                return
            signature = verdict.signature()
            if signature == previous_signature:
                result.stop_reason = "stuck: the same failure twice in a row"
                return
            previous_signature = signature
        result.stop_reason = f"round cap reached ({self.budget.max_rounds})"

    async def _propose(self, context: Context, started: float) -> Proposal:
        remaining = None
        if self.budget.seconds is not None:
            remaining = max(self.budget.seconds - (time.monotonic() - started), 0.1)
        try:
            return await asyncio.wait_for(self.proposer.propose(context), remaining)
        except asyncio.TimeoutError:
            return Proposal(None, self.proposer.name, error="the repair's time budget ran out while proposing",
                            fatal=True)

    async def _evaluate(self, proposal: Proposal, baseline: Baseline, sandbox: Sandbox) -> tuple[Verdict, str]:
        failed = [baseline.results[t] for t in baseline.targets]
        if proposal.patch is None:
            return Verdict(VerdictStatus.INVALID, [], list(baseline.targets), failures=failed,
                           reason=f"no usable patch: {proposal.error or 'the proposer returned nothing'}"), ""
        if self._tests is None:
            self._tests = validate.TestSide(self.root)
        refused = validate.problems(self.root, proposal.patch, self.secret_files, tests=self._tests)
        if refused:
            shown = Patch([e for e in proposal.patch.edits
                           if not secrets.secret_pattern(self.root, e.path, self.secret_files)])
            return Verdict(VerdictStatus.INVALID, [], list(baseline.targets), failures=failed,
                           reason="refused: " + "; ".join(refused)), shown.diff(self.root)
        return await judge(sandbox, baseline, proposal.patch, self.settings), proposal.patch.diff(self.root)

    def _over_budget(self, usage: Usage, started: float) -> str | None:
        if self.budget.tokens is not None and usage.tokens_in + usage.tokens_out >= self.budget.tokens:
            return f"token budget spent ({usage.tokens_in + usage.tokens_out} of {self.budget.tokens})"
        if self.budget.usd is not None and usage.cost >= self.budget.usd:
            return f"money budget spent (${usage.cost:.4f} of ${self.budget.usd:.4f})"
        if self.budget.seconds is not None and time.monotonic() - started >= self.budget.seconds:
            return f"time budget spent ({self.budget.seconds:g} s)"
        return None

    @staticmethod
    def _best(attempts: list[Attempt]) -> Attempt | None:
        useful = [a for a in attempts if a.verdict.status in (VerdictStatus.GREEN, VerdictStatus.BETTER)]
        if not useful:
            return None
        return max(useful, key=lambda a: (*a.verdict.rank(),
                                          -(a.proposal.patch.changed_lines() if a.proposal.patch else 0)))

    def _conclude(self, result: RepairResult) -> None:
        best = self._best(result.attempts)
        if best is not None and best.proposal.patch is not None:
            result.patch, result.diff = best.proposal.patch, best.diff
            result.targets_failing_after = len(best.verdict.targets_failed)
            if result.status is not RepairStatus.CANCELLED:
                result.status = (RepairStatus.GREEN if best.verdict.status is VerdictStatus.GREEN
                                 else RepairStatus.PARTIAL)
        result.regressions = list(best.verdict.regressions) if best else []  # the returned patch's: none by rank
        result.regressions_caught = sum(1 for a in result.attempts
                                        if a.verdict.regressions or a.verdict.new_type_errors)
        if not result.handoff:
            result.handoff = handoff_note(self.root, result, best)
        result.handoff, result.stop_reason = self.redact(result.handoff), self.redact(result.stop_reason)
