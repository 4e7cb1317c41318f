"""The handoff note: what a person needs to take over when the loop stops without green (and a summary when it
reaches green): what was tried, what still fails, where the bug probably is."""

from __future__ import annotations

from pathlib import Path

from greenloop import project
from greenloop.repair.records import Attempt, RepairResult, RepairStatus


def handoff_note(root: Path, result: RepairResult, best: Attempt | None) -> str:
    tried = f"{result.candidates} candidate(s) in {result.rounds} round(s)"
    if result.status is RepairStatus.GREEN and best is not None:
        files = ", ".join(project.relpath(root, p) for p in best.proposal.patch.files) if best.proposal.patch else ""
        return (f"Green after {tried}: all {len(result.targets)} target test(s) pass and no other relevant test "
                f"regressed. The patch touches {files}. It passes the tests; review it before accepting.")
    lines = [f"Not green after {tried}; stopped: {result.stop_reason or result.status.value}."]
    if best is not None:
        lines.append(f"Best patch (attempt {best.candidate}) makes {len(best.verdict.targets_passed)} of "
                     f"{len(result.targets)} target test(s) pass without regressions.")
    still = best.verdict.failures if best is not None else (result.attempts[-1].verdict.failures
                                                             if result.attempts else [])
    for failure in still[:5]:
        message = failure.message.strip().splitlines()[0] if failure.message.strip() else failure.outcome.value
        lines.append(f"Still failing: {failure.nodeid}: {message}")
    if result.suspects:
        lines.append(f"The bug is probably at: {', '.join(result.suspects[:3])}.")
    hypotheses = [a.proposal.hypothesis for a in result.attempts if a.proposal.hypothesis]
    if hypotheses:
        lines.append(f"Last hypothesis: {hypotheses[-1][:400]}")
    for attempt in result.attempts[-3:]:
        lines.append(f"Attempt {attempt.candidate}: {attempt.verdict.reason[:300]}")
    return "\n".join(lines)
