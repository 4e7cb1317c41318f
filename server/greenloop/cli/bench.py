"""`greenloop bench`: run the repair loop on every bug of a corpus and report how it went.

A corpus (see bench/corpus/README.md) holds correct projects, each with visible tests and hidden tests, and bugs
described as edits that turn correct code into buggy code. For each bug: copy its project without the hidden
tests, apply the bug, repair it; if the repair is green, apply the patch and run the hidden tests as well. A
patch that passes the visible tests but fails the hidden ones is "green but wrong": the overfitting the tool
must not hide. Reported per bug: green?, correct?, candidates evaluated, time; then totals, and a PNG chart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from greenloop import config
from greenloop.exits import EXIT_ERROR, EXIT_OK
from greenloop.records import Selection
from greenloop.repair.records import RepairStatus
from greenloop.repair.session import RepairSetup
from greenloop.run.pytest_runner import run_tests


@dataclass
class Bug:
    id: str
    project: str
    description: str
    kind: str
    category: str
    edits: list[dict[str, str]]


@dataclass
class Outcome:
    id: str
    project: str
    kind: str
    category: str
    status: str
    green: bool
    correct: bool | None  # None when not green
    candidates: int
    rounds: int
    seconds: float
    screened: int
    screen_seconds: float
    patch: str


def load_bugs(corpus: Path) -> list[Bug]:
    bugs = []
    for path in sorted((corpus / "bugs").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        bugs.append(Bug(path.stem, data["project"], data.get("description", ""), data.get("kind", "single-file"),
                        data.get("category", "other"), data.get("edit", [])))
    return bugs


def prepare(corpus: Path, bug: Bug, scratch: Path) -> Path:
    """The buggy project in `scratch`, without its hidden tests."""
    root = scratch / bug.project
    shutil.copytree(corpus / bug.project, root, ignore=shutil.ignore_patterns("hidden", "__pycache__", ".greenloop"))
    for edit in bug.edits:
        target = root / edit["file"]
        text = target.read_text(encoding="utf-8")
        if text.count(edit["fixed"]) != 1:
            raise ValueError(f"{bug.id}: the fixed text does not occur exactly once in {edit['file']}")
        target.write_text(text.replace(edit["fixed"], edit["buggy"]), encoding="utf-8")
    return root


async def hidden_tests_pass(corpus: Path, bug: Bug, root: Path, timeout: float) -> bool:
    hidden = corpus / bug.project / "hidden"
    for test in hidden.glob("test_*.py"):
        shutil.copy(test, root / "tests" / test.name)
    run = await run_tests(root, sys.executable, Selection(whole_project=True), timeout)
    return bool(run.results) and not run.failures and run.problem is None


async def run_bug(corpus: Path, bug: Bug, proposer_names: str, settings: config.Settings) -> Outcome:
    with tempfile.TemporaryDirectory(prefix=f"greenloop-bench-{bug.id}-") as scratch:
        root = prepare(corpus, bug, Path(scratch))
        loop = RepairSetup(root, settings, sys.executable, proposer_names).loop()
        started = time.monotonic()
        result = await loop.run(root)
        seconds = time.monotonic() - started
        green = result.status is RepairStatus.GREEN
        correct = None
        if green and result.patch is not None:
            for edit in result.patch.edits:
                edit.path.write_text(edit.after, encoding="utf-8")
            correct = await hidden_tests_pass(corpus, bug, root, settings.test_timeout)
    return Outcome(bug.id, bug.project, bug.kind, bug.category, result.status.value, green, correct,
                   result.candidates, result.rounds, seconds, result.screened, result.screen_seconds, result.diff)


def totals(outcomes: list[Outcome]) -> dict[str, Any]:
    green = [o for o in outcomes if o.green]
    screen_seconds = sum(o.screen_seconds for o in outcomes)
    return {
        "bugs": len(outcomes),
        "green": len(green),
        "correct": sum(1 for o in green if o.correct),
        "green_but_wrong": sum(1 for o in green if o.correct is False),
        "fix_rate": len(green) / len(outcomes) if outcomes else 0.0,
        "correct_rate": (sum(1 for o in green if o.correct) / len(outcomes)) if outcomes else 0.0,
        "median_seconds_to_green": statistics.median(o.seconds for o in green) if green else None,
        "candidates": sum(o.candidates for o in outcomes),
        "candidates_per_second": (sum(o.screened for o in outcomes) / screen_seconds) if screen_seconds else 0.0,
        "seconds_total": sum(o.seconds for o in outcomes),
    }


def chart(outcomes: list[Outcome], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch as Legend

    colours = {"correct": "#2e7d32", "wrong": "#f9a825", "not fixed": "#c62828"}

    def verdict(o: Outcome) -> str:
        return "correct" if o.correct else ("wrong" if o.green else "not fixed")

    fig, ax = plt.subplots(figsize=(max(8, len(outcomes) * 0.32), 4.5))
    ax.bar(range(len(outcomes)), [o.seconds for o in outcomes], color=[colours[verdict(o)] for o in outcomes])
    ax.set_xticks(range(len(outcomes)))
    ax.set_xticklabels([o.id for o in outcomes], rotation=75, fontsize=7, ha="right")
    ax.set_ylabel("seconds to stop (green or give up)")
    ax.set_title(title)
    ax.legend(handles=[Legend(color=c, label=k) for k, c in colours.items()], loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def add_arguments(commands: Any) -> None:
    bench = commands.add_parser("bench", help="run repair on every bug of a corpus; report fix rate and correctness")
    bench.add_argument("--corpus", type=Path, default=Path("bench/corpus"))
    bench.add_argument("--proposer", default="builtin", help="builtin, llm or builtin,llm (default builtin)")
    bench.add_argument("--model", help="for the llm proposer")
    bench.add_argument("--api-base")
    bench.add_argument("--only", help="comma-separated bug ids")
    bench.add_argument("--max-rounds", type=int, default=3)
    bench.add_argument("--timeout", type=float, default=300.0, help="seconds per bug")
    bench.add_argument("--chart", type=Path, default=Path("docs/bench-repair.png"))
    bench.add_argument("--json", type=Path, help="write the per-bug results and totals here")


def bench_command(args: argparse.Namespace) -> int:
    bugs = load_bugs(args.corpus)
    if args.only:
        wanted = set(args.only.split(","))
        bugs = [b for b in bugs if b.id in wanted]
    if not bugs:
        print(f"greenloop: no bugs found in {args.corpus}/bugs", file=sys.stderr)
        return EXIT_ERROR
    # No type checker: the corpus is judged by its tests. No money or token cap: bugs are compared by rounds.
    settings = config.Settings(model=args.model, api_base=args.api_base, type_checker="off",
                               max_rounds=args.max_rounds, repair_timeout=args.timeout)
    outcomes = []
    print(f"{'bug':<32} {'kind':<12} {'status':<14} {'correct':<8} {'cands':>6} {'secs':>7}")
    for bug in bugs:
        outcome = asyncio.run(run_bug(args.corpus, bug, args.proposer, settings))
        outcomes.append(outcome)
        correct = "-" if outcome.correct is None else ("yes" if outcome.correct else "WRONG")
        print(f"{bug.id:<32} {bug.kind:<12} {outcome.status:<14} {correct:<8} {outcome.candidates:>6} "
              f"{outcome.seconds:>7.1f}", flush=True)
    summary = totals(outcomes)
    print(f"\n{summary['green']}/{summary['bugs']} green ({summary['fix_rate']:.0%}), {summary['correct']} correct by "
          f"the hidden tests, {summary['green_but_wrong']} green but wrong; median time to green "
          f"{summary['median_seconds_to_green'] or 0:.1f} s; {summary['candidates']} candidates, "
          f"{summary['candidates_per_second']:.1f} screened per second of screening")
    chart(outcomes, args.chart, f"greenloop bench ({args.proposer}): {summary['green']}/{summary['bugs']} green, "
                                f"{summary['correct']} correct")
    print(f"chart: {args.chart}")
    if args.json:
        args.json.write_text(json.dumps({"totals": summary, "bugs": [asdict(o) for o in outcomes]}, indent=2) + "\n")
    return EXIT_OK
