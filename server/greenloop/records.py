"""Plain typed records passed between the pipeline stages.

Every stage (select, run, typecheck, diagnose, present) speaks in these records, so each stage can be tested
alone and the CLI and the language server share one engine. Lines are 1-based and columns 1-based here, as a
person reads them; the LSP layer converts to 0-based positions at the edge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias


class Outcome(str, enum.Enum):
    """What happened to one test (or one collection unit)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # failed in setup/teardown, or could not be collected
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"
    TIMEOUT = "timeout"

    @property
    def is_failure(self) -> bool:
        return self in (Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT)


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    HINT = "hint"


@dataclass(frozen=True)
class Frame:
    """One traceback frame: where execution was when a test failed."""

    path: Path
    line: int
    name: str = ""


@dataclass
class TestResult:
    """The structured outcome of one test, as written by greenloop's pytest plugin."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: Outcome
    when: str = "call"  # "collect", "setup", "call", "teardown", "conftest"
    duration: float = 0.0
    message: str = ""  # the short reason: "AssertionError: assert 3 == 4"
    path: Path | None = None  # the test's file
    line: int | None = None  # the test function's first line
    frames: list[Frame] = field(default_factory=list)
    # Lines of "focus" files this test executed, in first-execution order (only when tracing was asked for).
    covered: dict[Path, list[int]] = field(default_factory=dict)
    # Functions this test executed (setup, call, teardown) as (file, qualname, first line), when recorded;
    # None when the run did not record them. A tuple of tuples of atoms: the garbage collector stops tracking it
    # (a list stays tracked and every collection walks its rows: 80 ms pauses while networkx's suite recorded).
    functions: tuple[tuple[str, str, int], ...] | None = None


@dataclass
class RunResult:
    """Everything one pytest run produced."""

    results: list[TestResult] = field(default_factory=list)
    exit_code: int | None = None
    duration: float = 0.0
    timed_out: bool = False
    problem: str | None = None  # a run-level failure: no pytest, crash, timeout; None when pytest ran normally
    output_tail: str = ""  # the last part of pytest's own output, for messages only
    notes: list[str] = field(default_factory=list)  # how the run went, for logs: "pytest-xdist missing: one process"

    @property
    def failures(self) -> list[TestResult]:
        return [r for r in self.results if r.outcome.is_failure]


@dataclass(frozen=True)
class Related:
    path: Path
    line: int
    message: str


@dataclass(frozen=True, order=True)
class TestOwner:
    """Findings of one test item, by its node id (`tests/test_a.py::test_b`), or of a node below a file whose
    collection failed (`tests/test_a.py::TestB`): a node pytest runs by id."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str

    @property
    def file(self) -> str:
        """The test file's part of the node id, as pytest spells it: `tests/test_a.py`."""
        return self.nodeid.split("::", 1)[0]


@dataclass(frozen=True, order=True)
class CollectionOwner:
    """Findings of a collection unit that failed to load: a test file or folder (by its node id, which names
    it) or a conftest (by its path)."""

    nodeid: str
    conftest: bool  # its node id names a conftest: re-judged by every run


@dataclass(frozen=True, order=True)
class TypesOwner:
    """Findings of the type checker in one file."""

    path: Path


@dataclass(frozen=True, order=True)
class FileNote:
    """Notes on one file itself, not on its code: an encoding problem."""

    path: Path


RunOwner: TypeAlias = TestOwner | CollectionOwner  # what one result of a test run owns
Owner: TypeAlias = RunOwner | TypesOwner | FileNote


def run_owner(nodeid: str) -> RunOwner:
    """The owner of a test run's result with node id `nodeid`: a node below a file (a test, or a class that did
    not collect) or a collection unit (a file or folder that did not collect, a conftest that did not load).
    Every owner of a run's findings is made here, so a finding and the key it is filed under always agree."""
    if "::" in nodeid:
        return TestOwner(nodeid)
    return CollectionOwner(nodeid, "conftest" in nodeid)


@dataclass
class Finding:
    """One diagnostic, independent of the protocol that shows it.

    `owner` groups findings by what produced them (a test, a collection unit, a file's type check, a note on a
    file) so a later run can replace exactly the findings it is responsible for.
    """

    path: Path
    line: int
    message: str
    severity: Severity = Severity.ERROR
    source: str = "greenloop"
    code: str | None = None
    col: int = 1
    end_line: int | None = None
    end_col: int | None = None
    related: list[Related] = field(default_factory=list)
    owner: Owner | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.path), self.line, self.col, self.message)


@dataclass
class Selection:
    """Which tests a change selects, and why (for `--explain` and the server log)."""

    paths: list[Path] = field(default_factory=list)  # test files to run whole
    nodeids: list[str] = field(default_factory=list)  # single tests re-run because they failed last time
    reasons: dict[str, str] = field(default_factory=dict)  # test file or node id -> why it was selected
    whole_project: bool = False
    first: list[str] = field(default_factory=list)  # node ids or relative paths to run before the rest

    @property
    def empty(self) -> bool:
        return not (self.whole_project or self.paths or self.nodeids)
