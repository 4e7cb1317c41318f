"""The repair loop's own overhead per round, model time excluded, on examples/demo against the stub model.

Each repair runs three rounds: the stub answers round 1 and 2 with patches that apply and parse but are
wrong (different wrong divisors, so the stuck rule does not fire), and round 3 with the fix. For every round,
overhead = the attempt's wall time minus the time spent waiting for the model: building the context, parsing
and applying the edit, the guards, and judging the candidate in the sandbox (target tests, then the relevant
tests and the type checker when earned). Also reported: the baseline (sandbox copy, traced test run, flaky
re-run) and litellm's import. Repeats run back to back with type_checker off and basedpyright interleaved.

    python bench/repair_overhead.py --repeats 5 [--json docs/bench-repair-overhead.json]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from stub_model import Call, Reply, StubModel, search_replace  # noqa: E402

from greenloop import config  # noqa: E402
from greenloop.repair.propose.llm.proposer import litellm  # noqa: E402
from greenloop.repair.events import RoundStarted  # noqa: E402
from greenloop.repair.session import RepairSetup  # noqa: E402

OLD = "    return total_cents - total_cents * percent // 10"
DIVISORS = {1: "// 1000", 2: "// 50", 3: "// 100"}


def script(call: Call) -> Reply:
    attempt = call.prompt.count("Attempt ") + 1  # the history lists earlier attempts
    divisor = DIVISORS.get(min(attempt, 3), "// 100")
    return Reply(search_replace("shop/pricing.py", OLD, f"    return total_cents - total_cents * percent {divisor}"))


async def one_repair(stub: StubModel, checker: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="greenloop-bench-") as scratch:
        root = Path(scratch) / "demo"
        shutil.copytree(REPO / "examples" / "demo", root)
        moments: list[tuple[float, object]] = []
        settings = config.Settings(model="openai/gpt-4o-mini", api_base=stub.api_base, type_checker=checker)
        loop = RepairSetup(root, settings, sys.executable).loop(
            on_event=lambda event: moments.append((time.monotonic(), event)))
        started = time.monotonic()
        result = await loop.run(root / "shop" / "pricing.py")
        first_round = next(at for at, event in moments if isinstance(event, RoundStarted))
    assert result.status.value == "green" and result.rounds == 3, (result.status, result.stop_reason)
    return {
        "baseline_s": first_round - started,
        "overhead_s": [a.seconds - a.proposal.usage.seconds for a in result.attempts],
        "model_s": [a.proposal.usage.seconds for a in result.attempts],
        "wall_s": result.seconds,
    }


async def measure(repeats: int) -> dict:
    started = time.monotonic()
    litellm()
    import_s = time.monotonic() - started
    stub = StubModel(script).start()
    samples: dict[str, list[dict]] = {"off": [], "basedpyright": []}
    try:
        for _ in range(repeats):
            for checker in samples:
                samples[checker].append(await one_repair(stub, checker))
    finally:
        stub.stop()
    summary = {}
    for checker, runs in samples.items():
        wrong = [r["overhead_s"][i] for r in runs for i in (0, 1)]  # judged on target tests only
        green = [r["overhead_s"][2] for r in runs]  # targets, the relevant tests, then the type checker
        summary[checker] = {
            "baseline_median_s": statistics.median(r["baseline_s"] for r in runs),
            "overhead_wrong_candidate_median_s": statistics.median(wrong),
            "overhead_green_candidate_median_s": statistics.median(green),
            "model_median_s": statistics.median(m for r in runs for m in r["model_s"]),
            "wall_median_s": statistics.median(r["wall_s"] for r in runs),
        }
    return {"repeats": repeats, "litellm_import_s": import_s, "results": summary}


def table(data: dict) -> str:
    lines = [f"Repair loop on examples/demo, 3 rounds per repair, {data['repeats']} repairs per configuration "
             f"(litellm import: {data['litellm_import_s']:.2f} s, once per process).", "",
             "| type_checker | baseline | overhead per round: wrong candidate | overhead: green candidate "
             "| model time per call (stub) | whole repair |", "|---|---|---|---|---|---|"]
    for checker, r in data["results"].items():
        lines.append(f"| {checker} | {r['baseline_median_s']:.2f} s | {r['overhead_wrong_candidate_median_s']:.2f} s "
                     f"| {r['overhead_green_candidate_median_s']:.2f} s | {r['model_median_s']:.3f} s "
                     f"| {r['wall_median_s']:.2f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = asyncio.run(measure(args.repeats))
    print(table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
