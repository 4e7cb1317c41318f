"""What the repair loop tells its listener as it goes: one typed record per kind of moment.

Why records and not `(name, dict)`: the server's progress bar, the CLI's progress lines and the benchmarks read
these, and a renamed field should fail the type check, not print `KeyError` in an editor. Every text field is
masked for credentials before it leaves the loop (see repair.secrets).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from greenloop.repair.records import RepairStatus, VerdictStatus


@dataclass(frozen=True)
class BaselineStarted:
    isolation: str  # what isolation candidate code runs under here, for people


@dataclass(frozen=True)
class TargetsFound:
    targets: list[str]  # the failing tests the repair works on
    flaky: list[str]  # failing tests that passed on a re-run: left alone


@dataclass(frozen=True)
class RoundStarted:
    round: int
    max_rounds: int
    failing: int  # targets still failing with the best patch so far
    cost: float  # dollars spent on models so far


@dataclass(frozen=True)
class CandidateJudged:
    round: int
    candidates: int  # candidates tried so far, screened ones included
    verdict: VerdictStatus
    reason: str
    failing_before: int
    failing: int
    cost: float
    tokens: int


@dataclass(frozen=True)
class RepairDone:
    status: RepairStatus
    stop_reason: str


LoopEvent = BaselineStarted | TargetsFound | RoundStarted | CandidateJudged | RepairDone
Listener = Callable[[LoopEvent], None]


def masked(event: LoopEvent, mask: Callable[[str], str]) -> LoopEvent:
    """The event with `mask` applied to its text fields."""
    texts = {f.name: mask(value) for f in dataclasses.fields(event)
             if isinstance(value := getattr(event, f.name), str)}
    return dataclasses.replace(event, **texts) if texts else event  # type: ignore[arg-type]  # any event's str fields
