"""Typed records of the repair loop: patches, proposals, verdicts, attempts and the final result."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from greenloop.records import TestResult


@dataclass(frozen=True)
class FileEdit:
    """The whole new text of one file (absolute path inside the project), with the text it replaces."""

    path: Path
    before: str
    after: str

    def blocks(self) -> Iterator[tuple[int, int, int, int]]:
        """(i1, i2, j1, j2) of each changed block of whole lines (line ends kept): before[i1:i2] became
        after[j1:j2]. The one line diff every reader of an edit uses (sizes, rebase, editor edits, verdicts)."""
        before, after = self.before.splitlines(keepends=True), self.after.splitlines(keepends=True)
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                yield i1, i2, j1, j2


@dataclass
class Patch:
    edits: list[FileEdit] = field(default_factory=list)

    def diff(self, root: Path) -> str:
        """A unified diff with paths relative to the project root (`a/...`, `b/...`)."""
        chunks: list[str] = []
        for edit in self.edits:
            rel = edit.path.relative_to(root).as_posix() if edit.path.is_relative_to(root) else edit.path.as_posix()
            chunks.extend(difflib.unified_diff(
                edit.before.splitlines(keepends=True), edit.after.splitlines(keepends=True),
                fromfile=f"a/{rel}", tofile=f"b/{rel}"))
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks)

    @property
    def files(self) -> list[Path]:
        return [edit.path for edit in self.edits]

    def _changes(self) -> list[tuple[int, int]]:
        """(lines removed, lines added) for every changed block of every file."""
        return [(i2 - i1, j2 - j1) for edit in self.edits for i1, i2, j1, j2 in edit.blocks()]

    def changed_lines(self) -> int:
        """Lines removed plus lines added: the size of the edit, for preferring small fixes."""
        return sum(removed + added for removed, added in self._changes())

    def lines_touched(self) -> int:
        """Lines the user sees changed: a replaced line counts once (for labels, unlike `changed_lines`)."""
        return sum(max(removed, added) for removed, added in self._changes())

    @property
    def empty(self) -> bool:
        return all(edit.before == edit.after for edit in self.edits)


@dataclass
class Usage:
    """Model usage of one call or a whole repair."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    seconds: float = 0.0  # time spent waiting for the model
    calls: int = 0

    def add(self, other: Usage) -> None:
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.cost += other.cost
        self.seconds += other.seconds
        self.calls += other.calls


@dataclass
class Proposal:
    """What a proposer returned: a patch, or an explanation of why there is none (fed back next round)."""

    patch: Patch | None
    proposer: str
    reply: str = ""  # the raw model reply (or a description of the built-in edit)
    hypothesis: str = ""  # the root-cause hypothesis, if the proposer gave one
    error: str | None = None  # malformed reply, edit that does not apply, model call failure
    fatal: bool = False  # the proposer cannot go on (model unreachable after retries)
    exhausted: bool = False  # the proposer has nothing more to offer (a finished search)
    screened: int = 0  # candidates a search-based proposer evaluated to find this one
    usage: Usage = field(default_factory=Usage)


class VerdictStatus(str, enum.Enum):
    GREEN = "green"  # every target passes, nothing regressed, no new type errors
    BETTER = "better"  # more targets pass than before, nothing regressed
    NO_BETTER = "no_better"
    REGRESSED = "regressed"  # breaks tests that passed before, or adds type errors
    INVALID = "invalid"  # refused by the guards, or did not apply


@dataclass
class Verdict:
    status: VerdictStatus
    targets_passed: list[str] = field(default_factory=list)
    targets_failed: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)  # passed at baseline, fail with the patch
    new_type_errors: list[str] = field(default_factory=list)
    failures: list[TestResult] = field(default_factory=list)  # for the next round's feedback
    reason: str = ""  # a sentence for the history: why this verdict

    def signature(self) -> str:
        """What "the same failure" means for the stuck rule: the verdict's reason, which tests fail and with what
        message, and what regressed. Two different unusable replies differ by their reason."""
        parts = sorted(f"{r.nodeid}:{r.message.splitlines()[0] if r.message else r.outcome.value}"
                       for r in self.failures)
        return "|".join([self.status.value, self.reason, *parts, *sorted(self.regressions),
                         *sorted(self.new_type_errors)])

    def rank(self) -> tuple[int, int, int]:
        """Higher is better: most targets passing, then fewest regressions, then fewest new type errors."""
        return (len(self.targets_passed), -len(self.regressions), -len(self.new_type_errors))


@dataclass
class Attempt:
    round: int
    candidate: int
    proposal: Proposal
    verdict: Verdict
    diff: str = ""
    seconds: float = 0.0  # wall time of the whole attempt (model time included)


class RepairStatus(str, enum.Enum):
    GREEN = "green"
    PARTIAL = "partial"  # a patch that makes some targets pass without regressions
    FAILED = "failed"
    FLAKY = "flaky"  # the targets fail only sometimes: not repaired
    CANCELLED = "cancelled"
    NOTHING_TO_DO = "nothing_to_do"  # no failing target tests


@dataclass
class RepairResult:
    status: RepairStatus
    repair_id: int | None = None
    rounds: int = 0
    candidates: int = 0
    targets: list[str] = field(default_factory=list)
    targets_failing_before: int = 0
    targets_failing_after: int = 0
    regressions: list[str] = field(default_factory=list)
    regressions_caught: int = 0  # candidates the judge refused because they broke passing tests or types
    flaky: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    screened: int = 0  # candidates a search proposer screened on the failing targets
    screen_seconds: float = 0.0  # time spent screening them
    patch: Patch | None = None
    diff: str = ""
    handoff: str = ""
    suspects: list[str] = field(default_factory=list)  # "file:line (scope)" from localisation, likeliest first
    stop_reason: str = ""
    isolation: str = ""  # what kept candidate code from the user's machine (see greenloop.run.contain)
    attempts: list[Attempt] = field(default_factory=list)
