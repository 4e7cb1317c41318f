"""`greenloop check`: the checks a save would run, headless, printed as text or one JSON document."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from greenloop import config, present, project
from greenloop.engine import CheckReport, Engine
from greenloop.exits import EXIT_ERROR, EXIT_FAILED, EXIT_OK


def add_arguments(commands: Any) -> None:
    check = commands.add_parser("check", help="run the checks a save would run, headless")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="a directory (the whole project) or files (what saving them would run); default: .")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.add_argument("--explain", action="store_true", help="say which interpreter and why each test was selected")


def _group(paths: list[Path]) -> dict[Path, list[Path] | None]:
    """Project root -> changed files, or None for "the whole project" (a directory was named)."""
    groups: dict[Path, list[Path] | None] = defaultdict(list)
    for path in paths:
        path = path.resolve()
        root = project.find_root(path)
        if path.is_dir():
            groups[root] = None
        elif groups[root] is not None:
            groups[root].append(path)  # type: ignore[union-attr]
    return dict(groups)


async def check(paths: list[Path], *, as_json: bool = False, explain: bool = False) -> int:
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"greenloop: {path}: no such file or directory", file=sys.stderr)
    paths = [p for p in paths if p.exists()]
    if not paths:
        return EXIT_ERROR
    documents, exit_code = [], EXIT_OK
    for root, changed in _group(paths).items():
        loaded = config.resolve(root)
        for problem in loaded.problems:
            print(f"greenloop: {problem}", file=sys.stderr)
        engine = Engine(root, loaded.settings, warm=False)
        try:
            report = await engine.check(changed)
        finally:
            await engine.close()
        exit_code = max(exit_code, _exit_code(report))
        if as_json:
            documents.append(present.as_json(report, root))
            continue
        for line in present.as_text(report, root, explain):
            print(line)
        for problem in report.problems:
            print(f"greenloop: {problem}", file=sys.stderr)
        print(f"greenloop: {project.relpath(Path.cwd(), root)}: {present.summary(report)}", file=sys.stderr)
    if as_json:
        print(present.dump(documents))
    return exit_code


def _exit_code(report: CheckReport) -> int:
    if report.failed:
        return EXIT_FAILED
    nothing_ran = report.run is None or not report.run.results
    if report.run is not None and report.run.problem and nothing_ran:
        return EXIT_ERROR
    return EXIT_OK
