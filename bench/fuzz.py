"""The long fuzz profile: hostile traffic against the real server for minutes, with the driver of the short one.

Runs tests/fuzzkit.py's generated cases (hypothesis, generation only, seeded) against `greenloop serve` on a private
copy of examples/demo until the time is up, and counts what matters: messages sent, crashes (the server died),
hangs (a request not answered: the liveness probe within a second, any other within ten seconds), other protocol
problems (an error dialog for bad input, processes outliving the server, a refused shutdown), the latency of the
valid requests sent meanwhile (the liveness probes), and, apart, the checks' own internal errors. Writes JSON and
the summary table of docs/fuzz.md.

    python bench/fuzz.py --minutes 3 --seed 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from fuzzkit import Fuzzer, Step, cases  # noqa: E402
from rawclient import demo_workspace  # noqa: E402

BATCH = 20  # examples per hypothesis run; each run gets its own seed, so a long run never repeats itself


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fuzz(minutes: float, first_seed: int) -> dict[str, Any]:
    deadline = time.monotonic() + minutes * 60
    totals: Counter[str] = Counter()
    latencies: list[float] = []
    problems: list[str] = []
    engine_errors: list[str] = []
    kinds: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        fuzzer = Fuzzer(demo_workspace(Path(tmp) / "demo"))
        started = time.monotonic()
        batch = 0
        while time.monotonic() < deadline:
            @seed(first_seed * 100_003 + batch)
            @settings(max_examples=BATCH, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=cases())
            def one(case: list[Step]) -> None:
                if time.monotonic() >= deadline:
                    return
                result = fuzzer.run(case)
                kinds.update(step.kind for step in case)
                totals["cases"] += 1
                totals["messages"] += result.messages
                totals["crashes"] += result.crashed
                totals["hangs"] += result.hung
                totals["other problems"] += len(result.problems) - result.crashed - result.hung
                if result.latency is not None:
                    latencies.append(result.latency)
                problems.extend(p[:500] for p in result.problems)
                engine_errors.extend(result.engine_errors)

            one()
            batch += 1
        elapsed = time.monotonic() - started
        bytes_sent = fuzzer.server.bytes_sent
        strays = fuzzer.close()
    return {
        "command": f"python bench/fuzz.py --minutes {minutes:g} --seed {first_seed}",
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "seconds": round(elapsed, 1),
        "cases": totals["cases"],
        "steps by kind": dict(sorted(kinds.items())),
        "messages sent": totals["messages"],
        "bytes sent to the last server": bytes_sent,
        "crashes": totals["crashes"],
        "hangs": totals["hangs"],
        "other protocol problems": totals["other problems"],
        "processes outliving the last server": len(strays),
        "valid requests meanwhile": len(latencies),
        "latency of valid requests (s)": {
            "p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99),
            "max": max(latencies) if latencies else None,
            "mean": statistics.fmean(latencies) if latencies else None},
        "problems (first 20)": problems[:20],
        "internal errors of checks (not protocol)": len(engine_errors),
        "internal errors, distinct": sorted(set(engine_errors))[:10],
    }


def table(results: dict[str, Any]) -> str:
    latency = results["latency of valid requests (s)"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    rows = [("duration", f"{results['seconds']:.0f} s"), ("cases", results["cases"]),
            ("messages sent", results["messages sent"]), ("crashes", results["crashes"]),
            ("hangs", results["hangs"]), ("other protocol problems", results["other protocol problems"]),
            ("processes outliving the server", results["processes outliving the last server"]),
            ("valid requests meanwhile", results["valid requests meanwhile"]),
            ("latency of valid requests: p50 / p99 / max",
             f"{ms(latency['p50'])} / {ms(latency['p99'])} / {ms(latency['max'])}"),
            ("internal errors of checks (not protocol)", results["internal errors of checks (not protocol)"])]
    return "| measure | value |\n|---|---|\n" + "".join(f"| {name} | {value} |\n" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=REPO / "docs" / "fuzz-results.json")
    parser.add_argument("--markdown", type=Path, default=REPO / "docs" / "fuzz.md",
                        help="the document whose table (between the fuzz-table markers) is replaced")
    args = parser.parse_args()
    results = fuzz(args.minutes, args.seed)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    summary = f"`{results['command']}` ({results['machine']})\n\n{table(results)}"
    print(summary)
    if args.markdown.exists():
        text = args.markdown.read_text()
        start, end = "<!-- fuzz-table -->", "<!-- /fuzz-table -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            args.markdown.write_text(f"{head}{start}\n{summary}{end}{rest.split(end, 1)[1]}")
    bad = results["crashes"] + results["hangs"] + results["other protocol problems"]
    return 1 if bad or results["processes outliving the last server"] else 0


if __name__ == "__main__":
    sys.exit(main())
