"""greenloop on real projects (more-itertools, networkx) against the full suite, testmon and the warm floor.

Each project is installed from its source distribution (tests included) into its own Python 3.12 venv (so
greenloop's coverage recording can use `sys.monitoring`) with pytest, pytest-testmon and pytest-xdist. One run
measures, side by side and interleaved repeat by repeat, a no-op one-line edit and a planted bug inside one
function (more-itertools: `chunked`; networkx: `_dijkstra_multisource`):

- the full suite (plain pytest, one process) and its test count;
- `pytest --testmon` after the edit (database built once on the pristine source, untimed) and its selection;
- the covering tests (= testmon's selection) cold, and warm in a fork server that imported pytest: the floor;
- greenloop through its real language server: time to the first diagnostic (for the bug: the first diagnostic
  naming a failing test), time to the end of the check, the tests it ran, and the latency of requests sent
  every ~50 ms while it checks;
- missed tests: testmon's selection minus what greenloop ran.

    .venv/bin/python bench/real_projects.py [--projects more-itertools,networkx] [--repeats 5]
        [--cache ~/.cache/greenloop-bench] [--quick]

Writes docs/bench-real-projects.{json,md,png} (with --quick: the same names under the cache folder) and prints
the tables. See docs/benchmarks.md, "Real projects", for what each figure means and what it needs from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real import report  # noqa: E402
from real.projects import PROJECTS  # noqa: E402
from real.run_project import KINDS, Settings, measure  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = Path("/root/.pyenv/versions/3.12.1/bin/python")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="more-itertools,networkx",
                        help=f"comma-separated, from: {', '.join(PROJECTS)}")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="untimed edit/restore cycles after the server is up")
    parser.add_argument("--cache", type=Path, default=Path("~/.cache/greenloop-bench"),
                        help="sdists, unpacked projects, venvs, testmon snapshots, server logs (created if missing)")
    parser.add_argument("--python", type=Path, default=DEFAULT_PYTHON, help="interpreter the project venvs use")
    parser.add_argument("--greenloop", type=Path, default=REPO / ".venv" / "bin" / "greenloop",
                        help="the greenloop entry point to run `serve` with")
    parser.add_argument("--save-timeout", type=float, default=180.0,
                        help="seconds to wait for greenloop's check after a save")
    parser.add_argument("--ready-timeout", type=float, default=900.0,
                        help="seconds to wait for the server to go idle after opening the workspace")
    parser.add_argument("--run-timeout", type=float, default=1800.0, help="seconds for one baseline pytest run")
    parser.add_argument("--keep-state", action="store_true",
                        help="keep .greenloop/ from earlier runs (default: start from a fresh workspace)")
    parser.add_argument("--quick", action="store_true",
                        help="development: the first project only, 1 repeat, no warm-up, results in the cache")
    parser.add_argument("--out", type=Path, help="results prefix (default docs/bench-real-projects)")
    args = parser.parse_args(argv)
    args.cache = args.cache.expanduser().resolve()
    names = [n.strip() for n in args.projects.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROJECTS]
    if unknown:
        parser.error(f"unknown project(s): {', '.join(unknown)}")
    if args.quick:
        names, args.repeats, args.warmup = names[:1], 1, 0
    args.names = names
    if args.out is None:
        args.out = args.cache / "quick-results" if args.quick else REPO / "docs" / "bench-real-projects"
    return args


async def run_all(args: argparse.Namespace) -> dict:
    # SIGTERM cancels the run like Ctrl-C does: every `finally` (restore the edited file, stop the servers) runs.
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    settings = Settings(cache=args.cache, python=args.python, greenloop=args.greenloop, repeats=args.repeats,
                        warmup=args.warmup, save_timeout=args.save_timeout, ready_timeout=args.ready_timeout,
                        run_timeout=args.run_timeout, keep_state=args.keep_state)
    started = time.monotonic()
    projects = []
    for name in args.names:
        project = await measure(PROJECTS[name], settings, say)
        project["summary"] = {kind: report.summarise(project["edits"][kind], project["full_suite"]) for kind in KINDS}
        project["targets"] = {kind: report.targets(row) for kind, row in project["summary"].items()}
        projects.append(project)
    return {
        "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {_cores()} cores; benchmark driver CPython {platform.python_version()}",
        "bytecode": BYTECODE,
        "command": " ".join(["bench/real_projects.py", *sys.argv[1:]]),
        "settings": {"repeats": args.repeats, "warmup": args.warmup, "save_timeout_s": args.save_timeout,
                     "ready_timeout_s": args.ready_timeout, "run_timeout_s": args.run_timeout,
                     "greenloop": str(args.greenloop), "python": str(args.python), "cache": str(args.cache)},
        "elapsed_s": time.monotonic() - started,
        "projects": projects,
    }


def _cores() -> int:
    return os.cpu_count() or 0


def markdown(data: dict) -> str:
    header = (f"Measured {data['measured']} ({data['machine']}; {data.get('bytecode', 'bytecode caches as set')}); "
              f"{data['settings']['repeats']} repeat(s) per edit, "
              f"medians and p95; the whole run took {data['elapsed_s'] / 60:.1f} min.")
    parts = [header, "", report.table(data), "", "Targets (✓ met, ✗ not met, ? cannot tell):", "",
             report.targets_table(data)]
    for project in data["projects"]:
        ready = project["ready"]
        notes = [f"server ready after {ready['seconds']:.1f} s" + (" (timed out)" if ready["timed_out"] else "")]
        if ready["requests"]["n"]:
            notes.append(f"requests while it started: max {ready['requests']['max_s'] * 1000:.0f} ms, "
                         f"p95 {ready['requests']['p95_s'] * 1000:.0f} ms ({ready['requests']['n']})")
        if project["testmon_build_s"]:
            notes.append(f"testmon's first run {project['testmon_build_s']:.0f} s")
        sources = {s["ran"]["source"] for e in project["edits"].values() for s in e["samples"]["greenloop"]}
        notes.append("greenloop's tests read from: " + ", ".join(sorted(sources)))
        notes += project["problems"]
        errors = {err for row in project["summary"].values() for err in row["greenloop_errors"]}
        notes += [f"server error: {err[:200]}" for err in sorted(errors)]
        failed = {err for row in project["summary"].values() for err in row["baseline_errors"]}
        notes += [f"baseline run not counted: {err[:200]}" for err in sorted(failed)]
        parts += ["", f"- {project['name']} {project['version']} (Python {project['python']}, "
                      f"{project['tests_total']} tests): " + "; ".join(notes)]
    return "\n".join(parts) + "\n"


BYTECODE = "bytecode caches written and used by every process (PYTHONDONTWRITEBYTECODE removed)"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Every process (the baselines, the server and its pytest runs) runs as in a default Python set-up, where
    # `__pycache__` is written and read: a machine-wide PYTHONDONTWRITEBYTECODE (this one has it) would make every
    # baseline compile the project and rewrite its test modules on each run, which users do not pay.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    logging.getLogger("pygls").setLevel(logging.ERROR)
    args.cache.mkdir(parents=True, exist_ok=True)
    say(f"projects {', '.join(args.names)}; {args.repeats} repeat(s); cache {args.cache}; server {args.greenloop}")
    try:
        data = asyncio.run(run_all(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        say("interrupted: edited files restored, servers stopped")
        sys.exit(130)
    text = markdown(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(text)
    report.plot(data, args.out.with_suffix(".png"))
    print(text)
    say(f"wrote {args.out}.json, .md, .png")


if __name__ == "__main__":
    main()
