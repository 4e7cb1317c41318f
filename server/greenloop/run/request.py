"""What one test run is asked to do, and how that is told to pytest and to greenloop's plugin.

Cold runs (`pytest_runner.run_tests`) and warm runs (`worker.PytestWorker.run`) take the same options; both turn
a `RunRequest` into the same pytest arguments and plugin environment, so a test behaves the same either way.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from greenloop.records import Selection, TestResult

PLUGIN_DIR = Path(__file__).parent / "plugin"
PLUGIN_NAME = "greenloop_pytest"
PLUGIN_VARIABLES = ("GREENLOOP_REPORT", "GREENLOOP_TRACE", "GREENLOOP_TIMEOUT", "GREENLOOP_FUNCTIONS",
                    "GREENLOOP_ORDER", "GREENLOOP_SKIP", "GREENLOOP_CODE_CACHE")
# `python -m pytest` as `python -c`: the working directory first on the path, as -m puts it.
PYTEST_MAIN = "import os, sys; sys.path.insert(0, os.getcwd()); import pytest; sys.exit(pytest.main(sys.argv[1:]))"
_STOP_FLAGS = ("-x", "--exitfirst", "--maxfail", "--sw", "--stepwise")


@dataclass(frozen=True)
class RunRequest:
    selection: Selection
    timeout: float  # seconds for ONE test (setup + call + teardown); the run as a whole has no cap
    trace_files: tuple[Path, ...] = ()  # focus files whose executed lines each test's call phase records (slow)
    extra: tuple[str, ...] = ()  # more pytest arguments
    on_result: Callable[[TestResult], None] | None = None  # each result as soon as the plugin wrote it
    record_functions: bool = False
    order: tuple[str, ...] = ()  # node ids or paths relative to the root: matching tests run first
    nice: bool = False  # lowest CPU priority (background runs)

    @property
    def stops_early(self) -> bool:
        """The caller asked pytest to stop at a failure: a killed run is then not resumed."""
        return any(arg == flag or arg.startswith(flag + "=") for arg in self.extra for flag in _STOP_FLAGS)

    def args(self, root: Path, workers: int = 1, spawn: Spawn | None = None) -> list[str]:
        """Arguments after `python -m pytest` (the warm worker passes the same ones to `pytest.main`).
        `spawn`: the xdist workers are forked by a warm worker instead of started cold."""
        spread: list[str] = []
        if workers > 1:
            spread = ["-n", str(workers)] if spawn is None else ["--dist=load", f"--tx={workers}*{spawn.spec()}"]
        return pytest_args(self.selection, root, [*spread, *self.extra])

    def plugin_env(self, report: Path, scratch: Path, skip: Collection[str] = ()) -> dict[str, str]:
        """The GREENLOOP_* variables for one pytest process writing `report`; list files go in `scratch`."""
        env = {
            "GREENLOOP_REPORT": str(report),
            "GREENLOOP_TRACE": os.pathsep.join(str(p) for p in self.trace_files),
            "GREENLOOP_TIMEOUT": repr(float(self.timeout)),
            "GREENLOOP_FUNCTIONS": "1" if self.record_functions else "",
        }
        if self.order:
            env["GREENLOOP_ORDER"] = str(_write_list(scratch / "order.json", self.order))
        if skip:
            env["GREENLOOP_SKIP"] = str(_write_list(scratch / f"skip-{report.stem}.json", sorted(skip)))
        return env


@dataclass(frozen=True)
class Spawn:
    """A warm worker that forks pytest processes on request: `greenloop_xdist_shim` stands in for the interpreter
    (a pytest run's own, and execnet's for each pytest-xdist worker), and the worker forks what it was to start."""

    python: str
    socket: Path

    def command(self) -> list[str]:
        """In place of `python -m pytest`: pytest in a child forked by the warm worker (arguments follow)."""
        return [*self._shim(), "-c", PYTEST_MAIN]

    def _shim(self) -> list[str]:
        return [self.python, "-I", "-S", str(PLUGIN_DIR / "greenloop_xdist_shim.py"), str(self.socket)]

    def spec(self) -> str:
        """execnet's gateway spec (`popen//python=...`, which execnet splits like a shell would)."""
        return "popen//python=" + shlex.join(self._shim())

    def usable(self) -> bool:
        """execnet's spec syntax cannot carry "//" or "*" in a path; nor can we, then."""
        text = self.spec().split("//", 1)[1]
        return "//" not in text and "*" not in text


def _write_list(path: Path, items: Sequence[str]) -> Path:
    path.write_text(json.dumps(list(items)), encoding="utf-8")
    return path


def pytest_args(selection: Selection, root: Path, extra: Sequence[str] = ()) -> list[str]:
    """Arguments after `python -m pytest` for one selection."""
    # --continue-on-collection-errors: one broken test file must not hide the results of all the others.
    # --tb=native: the plugin reports failures from the exception itself, so pytest's own long report is unused,
    # and it is costly: it parses the test's whole source file per frame (0.1 s per failure in more-itertools'
    # 6,000-line test module; 6 failures took 1.1 s instead of 0.3 s).
    args = ["-p", PLUGIN_NAME, "-p", "no:cacheprovider", "-q", "--color=no", "--tb=native",
            "--continue-on-collection-errors", *extra]
    if not selection.whole_project:
        args += [_rel(root, path) for path in selection.paths]
        args += list(selection.nodeids)
    return args


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def base_environment(pythonpath: Sequence[Path | str] = (), code_cache: Path | None = None) -> dict[str, str]:
    """Our environment, with the plugin importable (after `pythonpath`, which a sandbox's copy must lead).
    `code_cache`: where the runs keep compiled project modules by their text (plugin/greenloop_codecache.py)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (*map(str, pythonpath), str(PLUGIN_DIR), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("PYTEST_CURRENT_TEST", None)
    for name in PLUGIN_VARIABLES:
        env.pop(name, None)  # a nested greenloop (its own test suite) must not inherit an outer run's report
    if code_cache is not None:
        env["GREENLOOP_CODE_CACHE"] = str(code_cache)
    return env
