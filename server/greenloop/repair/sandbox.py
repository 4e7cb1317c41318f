"""Where candidate patches run: a private copy of the project, never the user's tree.

The copy leaves out environments, caches, VCS data and greenloop's own state (the project's interpreter is used
by its absolute path, so the venv need not be copied). Each candidate is written into the copy, judged, and the
touched files are restored before the next one. Test runs get:
- the copy first on PYTHONPATH, so it shadows the original project even when that is installed in its venv;
- no network (`unshare -rn`) where the kernel allows it, checked once and reported in `isolation`;
- CPU-time and file-size limits (`prlimit`), on top of the wall-clock timeout that kills the process group.
Results are mapped back to the original paths, so diagnostics and prompts never mention the copy.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from greenloop import project
from greenloop.records import Frame, RunResult, Selection, TestResult
from greenloop.repair.records import Patch
from greenloop.run.pytest_runner import run_tests

FILE_SIZE_LIMIT = 512 * 1024 * 1024


@functools.cache
def network_isolation() -> list[str]:
    """The command prefix that cuts a child off the network here, or [] if none works."""
    unshare = shutil.which("unshare")
    if unshare:
        try:
            ok = subprocess.run([unshare, "-rn", "--", "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return [unshare, "-rn", "--"]
    return []


def _limits(timeout: float) -> list[str]:
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return []
    # `timeout` is per test and a run may hold many tests: the CPU cap is a last resort, the supervisor stops
    # hung tests.
    return [prlimit, f"--cpu={int(timeout * 20) + 60}", f"--fsize={FILE_SIZE_LIMIT}", "--"]


def isolation_wrapper(timeout: float) -> list[str]:
    """Limits, then no network: the prefix for every command run against candidate code."""
    return [*_limits(timeout), *network_isolation()]


def _ignore(directory: str, names: list[str]) -> set[str]:
    base = Path(directory)
    return {n for n in names if project.is_skipped_dir(n) or (base / n / "pyvenv.cfg").exists()}


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._scratch = Path(tempfile.mkdtemp(prefix="greenloop-sandbox-"))
        self.copy = self._scratch / self.root.name
        shutil.copytree(self.root, self.copy, ignore=_ignore, symlinks=True)
        self._applied: Patch | None = None

    @property
    def isolation(self) -> str:
        return "no network" if network_isolation() else "network not isolated (unshare unavailable)"

    def inside(self, path: Path) -> Path:
        """The copy's counterpart of a project path (symlinks are not followed: a link is copied as a link)."""
        return self.copy / Path(os.path.abspath(path)).relative_to(self.root)

    def contains(self, path: Path) -> bool:
        return Path(os.path.abspath(path)).is_relative_to(self.root)

    def outside(self, path: Path) -> Path:
        try:
            return self.root / path.relative_to(self.copy)
        except ValueError:
            return path

    def apply(self, patch: Patch) -> None:
        self.reset()
        for edit in patch.edits:
            target = self.inside(edit.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(edit.after, encoding="utf-8")
        self._applied = patch

    def reset(self) -> None:
        """Put the files the last patch touched back as they were."""
        if self._applied is None:
            return
        for edit in self._applied.edits:
            target = self.inside(edit.path)
            if edit.before or (self.root / edit.path).exists():
                target.write_text(edit.before, encoding="utf-8")
            else:
                target.unlink(missing_ok=True)
        self._applied = None

    async def run(self, python: str, selection: Selection, timeout: float, trace: Iterable[Path] = (),
                  extra: Sequence[str] = ()) -> RunResult:
        """Run tests in the copy (selection and trace paths given in original terms); results in original terms."""
        inner = Selection(paths=[self.inside(p) for p in selection.paths], nodeids=list(selection.nodeids),
                          whole_project=selection.whole_project)
        result = await run_tests(
            self.copy, python, inner, timeout, [self.inside(p) for p in trace if self.contains(p)],
            wrapper=isolation_wrapper(timeout),
            pythonpath=[self.copy, self.copy / "src"],
            extra=extra,
        )
        result.results = [self._map(r) for r in result.results]
        return result

    def _map(self, result: TestResult) -> TestResult:
        return dataclasses.replace(
            result,
            nodeid=result.nodeid.replace(str(self.copy), str(self.root)),
            path=self.outside(result.path) if result.path else None,
            frames=[Frame(self.outside(f.path), f.line, f.name) for f in result.frames],
            covered={self.outside(p): lines for p, lines in result.covered.items()},
        )

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
