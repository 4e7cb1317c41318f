"""Where candidate patches run: a private copy of the project, never the user's tree.

The copy leaves out environments, caches, VCS data, greenloop's own state and any temp or scratch folder, and is
made outside the project, so it never contains itself (a scratch file's folder may be `/tmp`, where copies are
made: only the files named are copied then). The project's interpreter is used by its absolute path, so the venv
need not be copied. Each candidate is written into the copy, judged, and the touched files are restored before
the next one. Test runs get:
- the copy first on PYTHONPATH, so it shadows the original project even when that is installed in its venv;
- the strongest isolation that works here (see `greenloop.run.contain`): with bubblewrap, the whole file system
  read-only but the sandbox's folder, a private /tmp and home, no network; reported in `isolation`, and a repair
  refuses to run candidates with less than the `sandbox` setting asks for;
- CPU-time, memory and file-size limits (`prlimit`) and a cap on processes (a pids cgroup where one can be made,
  see `greenloop.run.process_cap`), on top of the per-test timeout, and a killed process tree.
Results are mapped back to the original paths, so diagnostics and prompts never mention the copy.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from greenloop import project
from greenloop.records import Frame, RunResult, Selection, TestResult
from greenloop.repair import secrets
from greenloop.repair.records import Patch
from greenloop.run import contain, process_cap
from greenloop.run.pytest_runner import PLUGIN_DIR, run_tests

FILE_SIZE_LIMIT = 512 * 1024 * 1024
MEMORY_LIMIT = 8 * 1024 * 1024 * 1024  # address space per process: a runaway candidate meets MemoryError
SCRATCH_PREFIXES = ("greenloop-", "pytest-of-")  # our copies, workers and runs, and pytest's tmp_path folders


def _limits(timeout: float) -> list[str]:
    prlimit = shutil.which("prlimit")
    if not prlimit:
        return []
    # `timeout` is per test and a run may hold many tests: the CPU cap is a last resort, the supervisor stops
    # hung tests.
    return [prlimit, f"--cpu={int(timeout * 20) + 60}", f"--fsize={FILE_SIZE_LIMIT}", f"--as={MEMORY_LIMIT}", "--"]


def _scratch_parent(root: Path) -> Path | None:
    """Where to make the copy: the temp folder, unless it lies inside the project (then the user's cache)."""
    for candidate in (Path(tempfile.gettempdir()), Path.home() / ".cache" / "greenloop", Path("/var/tmp")):
        candidate = candidate.resolve()
        if not candidate.is_relative_to(root):
            candidate.mkdir(parents=True, exist_ok=True)
            return candidate
    return None


def _ignorer(scratch: Path):  # noqa: ANN202 - shutil.copytree's callback
    temp = Path(tempfile.gettempdir()).resolve()

    def ignore(directory: str, names: list[str]) -> set[str]:
        base = Path(directory)
        # Folder names only: a file named like an environment folder (`.env`) is the project's, and its tests may
        # read it (what they print is masked, see repair.secrets).
        return {n for n in names
                if ((project.is_skipped_dir(n) or n.startswith(SCRATCH_PREFIXES)) and (base / n).is_dir())
                or (base / n / "pyvenv.cfg").exists() or (base / n).resolve() in (scratch, temp)}

    return ignore


class Sandbox:
    def __init__(self, root: Path, files: Iterable[Path] | None = None) -> None:
        """Copy the project at `root`; `files`: copy only these (a scratch file's folder is not a project)."""
        self.root = root.resolve()
        parent = _scratch_parent(self.root)
        if parent is None:
            raise OSError(f"no folder outside {self.root} to make the sandbox copy in")
        self._scratch = Path(tempfile.mkdtemp(prefix="greenloop-sandbox-", dir=parent))
        self._cap = process_cap.make()
        self.copy = self._scratch / (self.root.name or "root")
        self.runs = self._scratch / "runs"  # report files: inside the sandbox's writable folder
        try:
            self.runs.mkdir()
            if files is None:
                shutil.copytree(self.root, self.copy, ignore=_ignorer(self._scratch), symlinks=True)
            else:
                self.copy.mkdir()
                for path in files:
                    target = self.inside(path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if path.is_file():
                        shutil.copy2(path, target)
        except BaseException:
            self.close()
            raise
        self._applied: Patch | None = None

    @property
    def isolation(self) -> contain.Isolation:
        isolation = contain.sandbox([self._scratch], [], self.copy)[1]
        cap = self._cap.how if self._cap else "no cap on processes (no pids cgroup can be made here)"
        return dataclasses.replace(isolation, how=f"{isolation.how}; {cap}")

    def wrapper(self, python: str, timeout: float) -> list[str]:
        """Limits, no credentials in the environment, then the isolation: the prefix for every command run
        against candidate code (which could otherwise print an API key into a failure message, and so into a
        prompt or the ledger)."""
        prefix, _ = contain.sandbox([self._scratch], [*contain.interpreter_folders(python), PLUGIN_DIR], self.copy)
        unset = [arg for name in sorted(os.environ) if secrets.CREDENTIAL_NAME.search(name) for arg in ("-u", name)]
        scrub = [shutil.which("env") or "/usr/bin/env", *unset] if unset else []
        return [*_limits(timeout), *scrub, *(self._cap.prefix() if self._cap else []), *prefix]

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
            wrapper=self.wrapper(python, timeout),
            pythonpath=[self.copy, self.copy / "src"],
            extra=extra,
            scratch=self.runs,
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
        if self._cap is not None:
            self._cap.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
