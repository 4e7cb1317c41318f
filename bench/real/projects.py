"""The real projects under test: where their source and venv live, and the edits made to them, always undone.

Each project is the unpacked source distribution from the package index (its tests ship in it), installed
editable in its own venv together with pytest, pytest-testmon and pytest-xdist. Everything lives under one cache
folder, outside the repository, and every step is skipped when its result is already there, so the benchmark
can be re-run (and resumed after a crash) without downloading or installing again.

The edited file is compared with the copy inside the sdist at set-up: a file left edited by an interrupted run
is put back before anything is measured. Edits are applied through `EditedFile.applied`, whose `finally`
restores the pristine text and reads it back to prove it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PYTEST_PINS = ("pytest==9.2.0", "pytest-testmon==2.2.0", "pytest-xdist==3.8.0")
STATE = (".greenloop", ".pytest_cache", ".testmondata", ".testmondata-wal", ".testmondata-shm")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Edit:
    """Replace one line (`anchor`, which must occur exactly once inside the function) by `replacement`.

    `{k}` in the replacement is filled with a counter, so consecutive saves never carry identical text (a
    content cache must not be able to answer "nothing changed")."""

    kind: str  # "noop" or "bug"
    anchor: str
    replacement: str

    def text(self, pristine: str, counter: int, function: str) -> str:
        lines = pristine.splitlines(keepends=True)
        first, last = function_span(pristine, function)
        hits = [i for i, line in enumerate(lines) if line.rstrip("\n") == self.anchor and first <= i + 1 <= last]
        if len(hits) != 1:
            raise ValueError(f"{self.kind} edit: anchor found {len(hits)} times in {function}: {self.anchor!r}")
        lines[hits[0]] = self.replacement.format(k=counter) + "\n"
        return "".join(lines)


@dataclass(frozen=True)
class ProjectSpec:
    name: str  # as on the package index
    version: str
    module_file: str  # relative to the sdist root: the file that is edited
    function: str  # the one function every edit stays inside
    noop: Edit
    bug: Edit

    @property
    def stem(self) -> str:
        """The sdist's file and top folder name: `more_itertools-11.2.1`."""
        return f"{self.name.replace('-', '_')}-{self.version}"

    def edit(self, kind: str) -> Edit:
        return {"noop": self.noop, "bug": self.bug}[kind]


MORE_ITERTOOLS_ANCHOR = "    iterator = iter(partial(take, n, iter(iterable)), [])"
NETWORKX_ANCHOR = "    G_succ = G._adj  # For speed-up (and works for both directed and undirected graphs)"

PROJECTS = {
    "more-itertools": ProjectSpec(
        name="more-itertools", version="11.2.1", module_file="more_itertools/more.py", function="chunked",
        noop=Edit("noop", MORE_ITERTOOLS_ANCHOR,
                  "    _greenloop_bench = {k}  # benchmark edit: a statement that does nothing\n" + MORE_ITERTOOLS_ANCHOR),
        # Off by one: chunks of n + 1 items.
        bug=Edit("bug", MORE_ITERTOOLS_ANCHOR,
                 "    iterator = iter(partial(take, n if n is None else n + 1, iter(iterable)), [])"),
    ),
    "networkx": ProjectSpec(
        name="networkx", version="3.7", module_file="networkx/algorithms/shortest_paths/weighted.py",
        function="_dijkstra_multisource",
        noop=Edit("noop", NETWORKX_ANCHOR,
                  "    _greenloop_bench = {k}  # benchmark edit: a statement that does nothing\n" + NETWORKX_ANCHOR),
        # A boundary bug: paths of exactly `cutoff` length are dropped.
        bug=Edit("bug", "            if cutoff is not None and vu_dist > cutoff:",
                 "            if cutoff is not None and vu_dist >= cutoff:"),
    ),
}


def function_span(source: str, function: str) -> tuple[int, int]:
    """1-based first and last line of the (first) function called `function`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return node.lineno, node.end_lineno or node.lineno
    raise ValueError(f"no function {function}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EditedFile:
    """The one file the benchmark edits, with its pristine text kept in memory."""

    def __init__(self, path: Path, pristine: str, function: str) -> None:
        self.path = path
        self.pristine = pristine
        self.function = function
        self.counter = 0

    def line_of_function(self) -> int:
        """1-based line of the `def`, for requests aimed at the edited function."""
        return function_span(self.pristine, self.function)[0]

    def text_for(self, edit: Edit) -> str:
        """The edited text; checks that the change stays inside the function and still parses."""
        self.counter += 1
        text = edit.text(self.pristine, self.counter, self.function)
        span = function_span(text, self.function)  # a syntax error here is a bug of the benchmark, not data
        old, new = self.pristine.splitlines(), text.splitlines()
        first = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b) + 1
        if not span[0] < first <= span[1]:
            raise ValueError(f"{edit.kind} edit lands on line {first}, outside {self.function} {span}")
        return text

    def restore(self) -> None:
        """Put the pristine text back and prove it by reading it back."""
        self.path.write_text(self.pristine)
        if _digest(self.path.read_text()) != _digest(self.pristine):
            raise RuntimeError(f"{self.path} could not be restored")

    @contextmanager
    def applied(self, text: str) -> Iterator[None]:
        self.path.write_text(text)
        try:
            yield
        finally:
            self.restore()


@dataclass
class Workspace:
    spec: ProjectSpec
    root: Path  # the unpacked sdist: the folder greenloop opens and pytest runs in
    venv: Path
    target: EditedFile

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def clear_state(self) -> None:
        """Forget what earlier runs left (greenloop's data, testmon's database, pytest's cache)."""
        for name in STATE:
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def _run(command: list[str], log: Log, cwd: Path | None = None) -> None:
    log("$ " + " ".join(command))
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def _sdist(spec: ProjectSpec, cache: Path, base_python: Path, log: Log) -> Path:
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(folder.glob(f"{spec.stem}.tar.gz")) + sorted(folder.glob(f"{spec.stem.lower()}.tar.gz"))
    if not found:
        _run([str(base_python), "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              f"{spec.name}=={spec.version}", "-d", str(folder)], log)
        found = sorted(folder.glob(f"*{spec.version}.tar.gz"))
        found = [p for p in found if p.name.lower().startswith(spec.stem.lower())]
    if not found:
        raise RuntimeError(f"no sdist for {spec.name}=={spec.version} in {folder}")
    return found[0]


def _pristine(sdist: Path, spec: ProjectSpec) -> tuple[str, str]:
    """(top folder of the archive, text of the edited file as shipped)."""
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/", 1)[0]
        member = archive.extractfile(f"{top}/{spec.module_file}")
        if member is None:
            raise RuntimeError(f"{spec.module_file} missing from {sdist.name}")
        return top, member.read().decode()


def _unpack(sdist: Path, spec: ProjectSpec, cache: Path, log: Log) -> tuple[Path, str]:
    top, pristine = _pristine(sdist, spec)
    src = cache / "src"
    root = src / top
    if not root.is_dir():
        src.mkdir(parents=True, exist_ok=True)
        log(f"unpacking {sdist.name}")
        with tarfile.open(sdist) as archive:
            archive.extractall(src, filter="data")
    edited = root / spec.module_file
    if edited.read_text() != pristine:
        log(f"{edited} differed from the sdist (an interrupted run?): restored")
        edited.write_text(pristine)
    return root, pristine


def _venv(spec: ProjectSpec, root: Path, cache: Path, base_python: Path, log: Log) -> Path:
    version = subprocess.run([str(base_python), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    venv = cache / "venvs" / f"{spec.stem}-py{version}"
    stamp = venv / "greenloop-bench.json"
    wanted = {"python": str(base_python), "version": version, "pins": list(PYTEST_PINS), "project": str(root)}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return venv
    log(f"creating {venv}")
    _run([str(base_python), "-m", "venv", "--clear", str(venv)], log)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *PYTEST_PINS, "-e", str(root)], log)
    stamp.write_text(json.dumps(wanted, indent=2))
    return venv


def set_up(spec: ProjectSpec, cache: Path, base_python: Path, log: Log) -> Workspace:
    """Download, unpack, install (each only when missing) and check the edited file is pristine."""
    sdist = _sdist(spec, cache, base_python, log)
    root, pristine = _unpack(sdist, spec, cache, log)
    venv = _venv(spec, root, cache, base_python, log)
    target = EditedFile(root / spec.module_file, pristine, spec.function)
    for kind in ("noop", "bug"):
        target.text_for(spec.edit(kind))  # fail now, not mid-run, if an anchor no longer matches
    target.counter = 0
    return Workspace(spec, root, venv, target)
