"""The `greenloop` command: `serve` (the language server) and `check` (the same checks, headless)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import defaultdict
from pathlib import Path

from greenloop import __version__, config, present, project
from greenloop.engine import CheckReport, Engine
from greenloop.exits import EXIT_ERROR, EXIT_FAILED, EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenloop", description="Keep a Python project's tests green.")
    parser.add_argument("--version", action="version", version=f"greenloop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what greenloop does to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default; accepted for editors)")

    check = commands.add_parser("check", help="run the checks a save would run, headless")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="a directory (the whole project) or files (what saving them would run); default: .")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.add_argument("--explain", action="store_true", help="say which interpreter and why each test was selected")
    from greenloop.repair import command as repair_command  # light: litellm itself is imported only when used

    repair_command.add_arguments(commands)
    from greenloop import benchmark

    benchmark.add_arguments(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="greenloop: %(message)s")
    if args.command == "serve":
        from greenloop.lsp.server import serve  # imported here: `check` never pays for pygls

        return serve(args.tcp)
    if args.command in ("repair", "log", "stats", "bench"):
        from greenloop import benchmark
        from greenloop.repair import command, history

        handler = {"repair": command.repair, "log": history.log_command, "stats": history.stats_command,
                   "bench": benchmark.bench_command}
        return handler[args.command](args)
    return asyncio.run(check(args.paths or [Path(".")], as_json=args.json, explain=args.explain))


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
