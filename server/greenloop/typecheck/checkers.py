"""Run a type checker on the saved files and read its JSON output.

The checker is found in the project's environment first (so its version and plugins match the project), then
in greenloop's own. It is told about the project's interpreter so it sees the project's installed packages.
basedpyright's own default rule set is very strict; when the project has no pyright configuration of its own,
greenloop gives it `typeCheckingMode = "standard"` through a config file in a private temporary directory, so
nothing is written into the project.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from greenloop.records import Finding, Severity, TypesOwner
from greenloop.run import process

TIMEOUT = 120.0


@dataclass
class TypeReport:
    findings: list[Finding] = field(default_factory=list)
    checked: list[Path] = field(default_factory=list)  # files whose findings this report replaces
    problem: str | None = None  # the checker could not run
    duration: float = 0.0
    note: str | None = None  # how it ran, when that is news (the warm server failed and a cold run stood in)


def find_tool(name: str, python: str) -> str | None:
    """An executable `name` beside the project interpreter, else beside ours, else on PATH."""
    for bindir in (Path(python).parent, Path(sys.executable).parent):
        candidate = bindir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _has_pyright_config(root: Path) -> bool:
    if (root / "pyrightconfig.json").is_file():
        return True
    try:
        tool = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return "pyright" in tool or "basedpyright" in tool


def pyright_settings(root: Path) -> dict[str, object] | None:
    """The configuration greenloop gives basedpyright, or None when the project's own configuration rules.

    Shared by the cold CLI (as a scratch config file) and the warm language server (as its analysis settings),
    so both report the same findings."""
    if _has_pyright_config(root):
        return None
    return {"typeCheckingMode": "standard", "extraPaths": [str(root), str(root / "src")]}


def _severity(name: str) -> Severity:
    return {"error": Severity.ERROR, "warning": Severity.WARNING}.get(name, Severity.INFORMATION)


def _in(paths: Sequence[Path], file: Path) -> bool:
    return file.resolve() in {p.resolve() for p in paths}


async def _basedpyright(root: Path, python: str, files: Sequence[Path]) -> TypeReport:
    exe = find_tool("basedpyright", python)
    if exe is None:
        return TypeReport(problem="basedpyright is not installed: pip install basedpyright, or set type_checker")
    with tempfile.TemporaryDirectory(prefix="greenloop-pyright-") as scratch:
        argv = [exe, "--outputjson", "--pythonpath", python]
        settings = pyright_settings(root)
        if settings is not None:
            config = Path(scratch) / "pyrightconfig.json"
            config.write_text(json.dumps(settings))
            argv += ["-p", str(config)]
        argv += [str(f) for f in files]
        done = await process.run(argv, cwd=root, timeout=TIMEOUT)
    if done.timed_out:
        return TypeReport(problem=f"basedpyright timed out after {TIMEOUT:g} s")
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr or done.stdout).strip()[-300:]
        return TypeReport(problem=f"basedpyright gave no JSON (exit {done.returncode}): {tail}")
    report = TypeReport(checked=list(files), duration=done.duration)
    for item in data.get("generalDiagnostics", []):
        path = Path(item["file"])
        if files and not _in(files, path):
            continue
        start, end = item["range"]["start"], item["range"]["end"]
        report.findings.append(Finding(
            path=path, line=start["line"] + 1, col=start["character"] + 1,
            end_line=end["line"] + 1, end_col=end["character"] + 1,
            message=item["message"], severity=_severity(item.get("severity", "error")),
            source="basedpyright", code=item.get("rule"), owner=TypesOwner(path.resolve()),
        ))
    return report


def _mypy_cache(root: Path) -> Path:
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "greenloop" / "mypy" / digest


async def _mypy(root: Path, python: str, files: Sequence[Path]) -> TypeReport:
    exe = find_tool("mypy", python)
    if exe is None:
        return TypeReport(problem="mypy is not installed: pip install mypy (or greenloop[mypy]), or set type_checker")
    argv = [exe, "-O", "json", "--python-executable", python, "--no-error-summary", "--hide-error-context",
            "--cache-dir", str(_mypy_cache(root)), "--show-column-numbers"]
    argv += [str(f) for f in files] if files else ["."]
    done = await process.run(argv, cwd=root, timeout=TIMEOUT)
    if done.timed_out:
        return TypeReport(problem=f"mypy timed out after {TIMEOUT:g} s")
    report = TypeReport(checked=list(files), duration=done.duration)
    for line in done.stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        path = (root / item["file"]).resolve()
        if files and not _in(files, path):
            continue
        message = item["message"] + (f" ({item['hint']})" if item.get("hint") else "")
        report.findings.append(Finding(
            path=path, line=int(item["line"]), col=int(item.get("column", 0)) + 1,
            end_line=item.get("end_line"), end_col=(item["end_column"] + 1) if item.get("end_column") else None,
            message=message, severity=_severity(item.get("severity", "error")),
            source="mypy", code=item.get("code"), owner=TypesOwner(path),
        ))
    if done.returncode not in (0, 1) and not report.findings:
        report.problem = f"mypy failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-300:]}"
    return report


async def check_types(checker: str, root: Path, python: str, files: Sequence[Path]) -> TypeReport:
    """Type-check `files` (all of the project when empty) with `checker`; never raises for the project's sake."""
    if checker == "off":
        return TypeReport()
    run = {"basedpyright": _basedpyright, "mypy": _mypy}.get(checker)
    if run is None:
        return TypeReport(problem=f"unknown type checker {checker!r}")
    try:
        return await run(root, python, [f.resolve() for f in files])
    except OSError as exc:
        return TypeReport(problem=f"cannot run {checker}: {exc}")
