"""The built-in proposer: search small edits on the most suspicious lines, screen each against the failing tests.

No model, no network, no cost. Fault localisation ranks lines (Ochiai over the baseline's per-test coverage,
boosted where a traceback passes); `mutate.py` proposes edits on the top lines; candidates are tried cheapest
first, where cost grows with the line's rank, the kind of edit, and two penalties against overfitting (deleting
behaviour, introducing literals that appear in the tests). Each candidate is screened on the failing targets
only, stopping at the first failure, in the loop's warm forking worker. When no single edit passes, pairs of
edits are tried, bounded, seeded by singles that made progress. The first candidate to pass every target is
returned for the loop's full judgement; if the judge refuses it (a regression), the next round resumes the
search where it stopped. Every result is a patch that passes the tests, to be reviewed: not a proof.
"""

from __future__ import annotations

import hashlib
import re
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from greenloop import project, syntax
from greenloop.diagnose import suspicious
from greenloop.records import TestResult
from greenloop.repair.propose.context import Context, Screen
from greenloop.repair.propose.builtin.mutate import Mutation, mutations
from greenloop.repair.records import FileEdit, Patch, Proposal


@dataclass
class SearchBudget:
    lines: int = 12  # suspicious lines to mutate
    singles: int = 600  # single-edit candidates at most
    pairs: int = 300  # two-edit candidates at most
    seeds: int = 24  # singles combined into pairs
    seconds: float = 180.0  # per round


@dataclass(frozen=True)
class Candidate:
    edits: tuple[tuple[Path, Mutation], ...]
    cost: float

    def describe(self, root: Path, lines: dict[tuple[Path, int], int]) -> str:
        return "; ".join(f"{project.relpath(root, path)}:{lines.get((path, m.start), '?')}: {m.description}"
                         for path, m in self.edits)


@dataclass
class _Line:
    path: Path
    line: int
    score: float


@dataclass
class _State:
    queue: Iterator[Candidate] | None = None
    singles: list[Candidate] = field(default_factory=list)
    progress: list[tuple[int, Candidate]] = field(default_factory=list)  # (targets passed, candidate)
    tried: set[str] = field(default_factory=set)
    pairs_started: bool = False
    texts: dict[Path, bytes] = field(default_factory=dict)
    line_of: dict[tuple[Path, int], int] = field(default_factory=dict)


def rank_lines(root: Path, failures: list[TestResult], results: list[TestResult], limit: int) -> list[_Line]:
    """Suspicious lines of project source: Ochiai over coverage, plus traceback frames (a frame is strong
    evidence: the failure happened there or below)."""
    lines = [_Line(r.path, r.line, r.score) for r in suspicious.ranked_lines(root, failures, results)[:limit]]
    return lines + _constants_used(lines, limit)


def _constants_used(lines: list[_Line], limit: int) -> list[_Line]:
    """Module-level assignments (`WEEKEND = (5, 6)`) named on suspicious lines. They run at import time, outside
    any test's traced call phase, so coverage never ranks them; inherit a share of the using line's score."""
    extra: dict[tuple[Path, int], float] = {}
    by_file: dict[Path, list[_Line]] = {}
    for line in lines:
        by_file.setdefault(line.path, []).append(line)
    for path, used in by_file.items():
        try:
            tree = syntax.parse(path.read_bytes())
        except OSError:
            continue
        constants: dict[str, int] = {}
        for statement in tree.root_node.named_children:
            if statement.type == "expression_statement" and statement.named_children \
                    and statement.named_children[0].type == "assignment":
                target = statement.named_children[0].child_by_field_name("left")
                if target is not None and target.type == "identifier":
                    constants[syntax.text(target)] = statement.start_point[0] + 1
        source_lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in used:
            text = source_lines[line.line - 1] if line.line <= len(source_lines) else ""
            for name, where in constants.items():
                if where != line.line and re.search(rf"\b{re.escape(name)}\b", text):
                    key = (path, where)
                    extra[key] = max(extra.get(key, 0.0), line.score * 0.8)
    known = {(line.path, line.line) for line in lines}
    ranked = sorted(((k, v) for k, v in extra.items() if k not in known), key=lambda item: -item[1])
    return [_Line(path, line, score) for (path, line), score in ranked[: max(limit // 3, 1)]]


def test_literals(failures: list[TestResult]) -> frozenset[str]:
    """Numbers and strings in the failing tests' files: a patch introducing them may be special-casing."""
    found: set[str] = set()
    for path in {f.path.resolve() for f in failures if f.path is not None}:
        try:
            tree = syntax.parse(path.read_bytes())
        except OSError:
            continue
        for node in syntax.walk(tree.root_node, ("integer", "float", "string")):
            found.add(syntax.text(node))
    return frozenset(found)


def _apply(texts: dict[Path, bytes], edits: tuple[tuple[Path, Mutation], ...]) -> Patch | None:
    by_file: dict[Path, list[Mutation]] = {}
    for path, mutation in edits:
        by_file.setdefault(path, []).append(mutation)
    file_edits = []
    for path, changes in by_file.items():
        data = texts[path]
        changes.sort(key=lambda m: m.start, reverse=True)
        for earlier, later in zip(changes[1:], changes):
            if earlier.end > later.start:
                return None  # overlapping spans
        for mutation in changes:
            data = data[:mutation.start] + mutation.replacement.encode() + data[mutation.end:]
        before = texts[path].decode("utf-8", errors="replace")
        file_edits.append(FileEdit(path, before, data.decode("utf-8", errors="replace")))
    return Patch(file_edits)


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else ""


class BuiltinProposer:
    name = "builtin"

    def __init__(self, budget: SearchBudget | None = None) -> None:
        self.budget = budget or SearchBudget()
        self._state: _State | None = None

    def _prepare(self, context: Context) -> _State:
        state = _State()
        lines = rank_lines(context.root, context.failures, context.results, self.budget.lines)
        literals = test_literals(context.failures)
        singles = []
        for index, line in enumerate(lines):
            if line.path not in state.texts:
                try:
                    state.texts[line.path] = line.path.read_bytes()
                except OSError:
                    continue
            source = state.texts[line.path]
            tree = syntax.parse(source)
            for mutation in mutations(source, tree, line.line, literals):
                state.line_of[(line.path, mutation.start)] = line.line
                cost = (2.0 * (1.0 - min(line.score, 1.0)) + 0.15 * index + mutation.prior
                        + (1.0 if mutation.deletes else 0.0) + (2.0 if mutation.literals else 0.0))
                singles.append(Candidate(((line.path, mutation),), cost))
        singles.sort(key=lambda c: c.cost)
        state.singles = singles[: self.budget.singles]
        state.queue = iter(state.singles)
        return state

    def _pairs(self, state: _State) -> Iterator[Candidate]:
        seeds = [c for _, c in sorted(state.progress, key=lambda item: (-item[0], item[1].cost))]
        seeds += [c for c in state.singles if c not in seeds]
        seeds = seeds[: self.budget.seeds]
        pairs = []
        for a, b in itertools.combinations(seeds, 2):
            (path_a, m_a), (path_b, m_b) = a.edits[0], b.edits[0]
            if path_a == path_b and not (m_a.end <= m_b.start or m_b.end <= m_a.start):
                continue
            pairs.append(Candidate(a.edits + b.edits, a.cost + b.cost))
        pairs.sort(key=lambda c: c.cost)
        return iter(pairs[: self.budget.pairs])

    def _next(self, state: _State) -> Candidate | None:
        assert state.queue is not None
        candidate = next(state.queue, None)
        if candidate is None and not state.pairs_started:
            state.pairs_started = True
            state.queue = self._pairs(state)
            candidate = next(state.queue, None)
        return candidate

    async def propose(self, context: Context) -> Proposal:
        if context.screen is None:
            return Proposal(None, self.name, error="the built-in proposer needs the loop's test screen", fatal=True)
        if self._state is None:
            self._state = self._prepare(context)
        state = self._state
        baseline = {_first_line(f.message) for f in context.failures}
        started = time.monotonic()
        screened = 0
        while time.monotonic() - started < self.budget.seconds:
            candidate = self._next(state)
            if candidate is None:
                break
            patch = _apply(state.texts, candidate.edits)
            if patch is None or patch.empty:
                continue
            key = hashlib.sha1(repr([(e.path, e.after) for e in patch.edits]).encode()).hexdigest()
            if key in state.tried:
                continue
            state.tried.add(key)
            if any(syntax.parse(edit.after.encode()).root_node.has_error for edit in patch.edits):
                continue
            screen: Screen = await context.screen(patch)
            screened += 1
            if screen.ok:
                described = candidate.describe(context.root, state.line_of)
                return Proposal(patch, self.name, reply=described, screened=screened,
                                hypothesis=f"{described} (a suspicious line; the edit makes every failing target "
                                           "pass — it passes the tests, review it)")
            if len(candidate.edits) == 1 and (screen.passed > 0 or _first_line(screen.message) not in baseline):
                # Progress: more targets pass, or the failure changed (the edit got further): a seed for pairs.
                state.progress.append((screen.passed, candidate))
        reason = ("search exhausted" if time.monotonic() - started < self.budget.seconds
                  else "search time budget spent for this round")
        return Proposal(None, self.name, error=f"{reason}: no edit of {len(state.tried)} tried makes every target "
                        "pass", screened=screened, exhausted=reason == "search exhausted")
