"""The `greenloop` command, the headless face of the engines: `serve` starts the other face (the language server);
`check`, `repair`, `log`, `stats` and `bench` each live in a module of this package named after the command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from greenloop import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenloop", description="Keep a Python project's tests green.")
    parser.add_argument("--version", action="version", version=f"greenloop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what greenloop does to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default; accepted for editors)")

    from greenloop.cli import bench, check, repair  # light: litellm and pygls are imported only when used

    check.add_arguments(commands)
    repair.add_arguments(commands)
    bench.add_arguments(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="greenloop: %(message)s")
    if args.command == "serve":
        from greenloop.lsp.server import serve  # imported here: `check` never pays for pygls

        return serve(args.tcp)
    if args.command in ("repair", "log", "stats", "bench"):
        from greenloop.cli import bench, history, repair

        handler = {"repair": repair.repair, "log": history.log_command, "stats": history.stats_command,
                   "bench": bench.bench_command}
        return handler[args.command](args)
    from greenloop.cli.check import check

    return asyncio.run(check(args.paths or [Path(".")], as_json=args.json, explain=args.explain))
