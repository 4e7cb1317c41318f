"""`greenloop repair`, `greenloop log` and `greenloop stats`: the repair loop and its ledger, headless.

Without `--apply` nothing in the user's tree changes: the final patch is printed as a unified diff. With
`--apply` a green patch is written, handed over as the server hands it to an editor (repair.handover): a file
changed during the repair gets the patch rebased onto its new text and re-checked, or nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

from greenloop import config, project
from greenloop.exits import EXIT_ERROR, EXIT_FAILED, EXIT_OK
from greenloop.repair import events
from greenloop.repair.present import handover
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.records import RepairResult, RepairStatus
from greenloop.repair.session import RepairSetup, build_proposer


def add_arguments(commands: Any) -> None:
    repair = commands.add_parser("repair", help="make failing tests pass by changing source code")
    repair.add_argument("path", type=Path, metavar="PATH", help="a source or test file, or the project directory")
    repair.add_argument("--tests", default="auto", metavar="NODEIDS|auto",
                        help="comma-separated node ids to repair; auto = the failing tests relevant to PATH")
    repair.add_argument("--proposer", default="auto", metavar="NAMES",
                        help="builtin, llm, or builtin,llm (the built-in search first, then the model); "
                             "auto = llm when a model is configured, else builtin")
    repair.add_argument("--model", help="litellm model string (e.g. openai/gpt-4o-mini, ollama/qwen2.5-coder)")
    repair.add_argument("--api-base", help="base URL of an OpenAI-compatible server (Ollama, llama.cpp, vLLM)")
    repair.add_argument("--critic-model", help="a separate model for the root-cause critique step")
    repair.add_argument("--max-rounds", type=int, help="round cap (default 3)")
    repair.add_argument("--budget-usd", type=float, help="stop when the model cost reaches this")
    repair.add_argument("--budget-tokens", type=int, help="stop when this many tokens have been used")
    repair.add_argument("--timeout", type=float, help="wall-clock seconds for the whole repair (default 600)")
    repair.add_argument("--apply", action="store_true", help="write a green patch into the files")
    repair.add_argument("--json", action="store_true", help="print one machine-readable result")

    log = commands.add_parser("log", help="list repairs, or show the attempts of one")
    log.add_argument("id", nargs="?", type=int, help="a repair id from the listing")
    log.add_argument("--root", type=Path, default=Path("."), help="the project (default: .)")
    log.add_argument("--json", action="store_true")

    stats = commands.add_parser("stats", help="how repairs have gone: convergence, rounds, tokens, cost, time")
    stats.add_argument("--root", type=Path, default=Path("."), help="the project (default: .)")
    stats.add_argument("--json", action="store_true")


def _settings(root: Path, args: argparse.Namespace) -> config.Settings:
    cli = {"model": args.model, "api_base": args.api_base, "critic_model": args.critic_model,
           "max_rounds": args.max_rounds, "budget_usd": args.budget_usd, "budget_tokens": args.budget_tokens,
           "repair_timeout": args.timeout}
    loaded = config.resolve(root, ({k: v for k, v in cli.items() if v is not None}, "command line"))
    for problem in loaded.problems:
        print(f"greenloop: {problem}", file=sys.stderr)
    return loaded.settings


def _progress(event: events.LoopEvent) -> None:
    match event:
        case events.BaselineStarted(isolation=isolation):
            print(f"greenloop: running the baseline in a sandbox copy ({isolation})", file=sys.stderr)
        case events.TargetsFound(targets=targets, flaky=flaky):
            print(f"greenloop: {len(targets)} failing target test(s)"
                  + (f"; flaky, left alone: {', '.join(flaky)}" if flaky else ""), file=sys.stderr)
        case events.CandidateJudged():
            print(f"greenloop: round {event.round} · {event.candidates} candidate(s) so far: "
                  f"{event.verdict.value} — {event.reason[:160]} · {event.failing_before} failing → "
                  f"{event.failing} · {event.tokens} tokens · ${event.cost:.4f}", file=sys.stderr)


async def _run(setup: RepairSetup, args: argparse.Namespace) -> RepairResult:
    tests = None if args.tests == "auto" else [t.strip() for t in args.tests.split(",") if t.strip()]
    with Ledger(setup.root) as ledger:
        loop = setup.loop(ledger, None if args.json else _progress)
        task = asyncio.ensure_future(loop.run(args.path, tests))
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, task.cancel)
        return await task


async def apply_patch(setup: RepairSetup, result: RepairResult) -> str | None:
    """Write the green patch into the files, fitted to their text now (see repair.handover): a file the person
    changed during the repair gets the patch rebased and re-checked, or nothing. Returns why not, or None."""
    assert result.patch is not None
    fitted = await handover.fit(setup, result.patch, result.targets, handover.read_disk)
    if isinstance(fitted, str):
        return fitted
    for edit in fitted.edits:
        edit.path.write_text(edit.after, encoding="utf-8")
    return None


def result_json(root: Path, result: RepairResult) -> dict[str, Any]:
    return {
        "status": result.status.value,
        "repair_id": result.repair_id,
        "rounds": result.rounds,
        "candidates": result.candidates,
        "targets": result.targets,
        "targets_failing_before": result.targets_failing_before,
        "targets_failing_after": result.targets_failing_after,
        "regressions": result.regressions,
        "regressions_caught": result.regressions_caught,
        "flaky": result.flaky,
        "tokens_in": result.usage.tokens_in,
        "tokens_out": result.usage.tokens_out,
        "cost_usd": round(result.usage.cost, 6),
        "model_seconds": round(result.usage.seconds, 3),
        "wall_seconds": round(result.seconds, 3),
        "stop_reason": result.stop_reason,
        "isolation": result.isolation,
        "patch": result.diff,
        "files": [project.relpath(root, p) for p in (result.patch.files if result.patch else [])],
        "suspects": result.suspects,
        "handoff": result.handoff,
    }


def repair(args: argparse.Namespace) -> int:
    if not args.path.exists():
        print(f"greenloop: {args.path}: no such file or directory", file=sys.stderr)
        return EXIT_ERROR
    root = project.find_root(args.path)
    settings = _settings(root, args)
    setup = RepairSetup(root, settings, project.find_interpreter(root, settings.python).path, args.proposer)
    try:
        build_proposer(args.proposer, settings)  # a wrong name or a missing model: said before anything runs
    except ValueError as exc:
        print(f"greenloop: {exc}", file=sys.stderr)
        return EXIT_ERROR
    applied, refused = False, None
    # Whatever a library prints while the repair runs goes to stderr: stdout carries only the diff or the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        result = asyncio.run(_run(setup, args))
        if args.apply and result.status is RepairStatus.GREEN and result.patch is not None:
            refused = asyncio.run(apply_patch(setup, result))
            applied = refused is None
    if applied and result.repair_id is not None:
        with Ledger(root) as ledger:
            ledger.set_user_action(result.repair_id, "applied_by_cli")
    if args.json:
        document = result_json(root, result)
        document["applied"] = applied
        if refused:
            document["not_applied"] = refused
        print(json.dumps(document, indent=2))
    else:
        if result.diff:
            print(result.diff, end="")
        print(f"greenloop: {result.status.value}: {result.handoff}", file=sys.stderr)
        if applied:
            print("greenloop: patch applied", file=sys.stderr)
        elif refused:
            print(f"greenloop: not applied: {refused}", file=sys.stderr)
        elif args.apply and result.patch is not None:
            print("greenloop: not applied: only a green patch is applied", file=sys.stderr)
    if result.status is RepairStatus.GREEN or result.status is RepairStatus.NOTHING_TO_DO:
        return EXIT_OK
    return EXIT_FAILED
