"""`greenloop log` and `greenloop stats`: the ledger read back as the numbers that matter."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

from greenloop import project
from greenloop.exits import EXIT_ERROR, EXIT_OK
from greenloop.repair.ledger.store import Ledger


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "-"


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def log_command(args: argparse.Namespace) -> int:
    root = project.find_root(args.root)
    with Ledger(root) as ledger:
        if args.id is None:
            rows = ledger.repairs()
            if args.json:
                print(json.dumps(rows, indent=2))
                return EXIT_OK
            if not rows:
                print("no repairs recorded yet")
            for r in rows:
                print(f"#{r['id']:<4} {_when(r['started'])}  {r['status']:<13} {r['path']}  "
                      f"rounds {r['rounds']}, candidates {r['candidates']}, failing {r['failing_before']}"
                      f"→{r['failing_after'] if r['failing_after'] is not None else '?'}, "
                      f"{r['tokens_in'] + r['tokens_out']} tokens, {_money(r['cost'])}, "
                      f"{(r['seconds'] or 0):.1f} s  [{r['proposer']}]"
                      + (f"  user: {r['user_action']}" if r["user_action"] else ""))
            return EXIT_OK
        repair = ledger.repair(args.id)
        if repair is None:
            print(f"greenloop: no repair #{args.id}")
            return EXIT_ERROR
        attempts = ledger.attempts(args.id)
        if args.json:
            print(json.dumps({"repair": repair, "attempts": attempts}, indent=2))
            return EXIT_OK
        print(f"repair #{repair['id']} of {repair['path']}: {repair['status']} ({repair['stop_reason']})")
        print(f"targets: {', '.join(json.loads(repair['targets']))}")
        for a in attempts:
            print(f"\n-- round {a['round']} · candidate {a['candidate']} · {a['proposer']} · {a['verdict']}: "
                  f"{a['reason']}")
            print(f"   {a['targets_passed']}/{a['targets_total']} targets pass · "
                  f"{a['tokens_in'] + a['tokens_out']} tokens · {_money(a['cost'])} · {(a['seconds'] or 0):.2f} s")
            if a["hypothesis"]:
                print(f"   hypothesis: {a['hypothesis']}")
            if a["diff"]:
                print("   " + a["diff"].rstrip().replace("\n", "\n   "))
        if repair["handoff"]:
            print(f"\n{repair['handoff']}")
        return EXIT_OK


def stats_command(args: argparse.Namespace) -> int:
    root = project.find_root(args.root)
    with Ledger(root) as ledger:
        stats = ledger.stats()
    if args.json:
        print(json.dumps(dataclasses.asdict(stats), indent=2))
        return EXIT_OK
    rows: list[tuple[str, Any]] = [
        ("repairs", stats.repairs),
        ("green / partial / failed / other", f"{stats.green} / {stats.partial} / {stats.failed} / {stats.other}"),
        ("convergence (green of those attempted)", f"{stats.convergence:.0%}"),
        ("median rounds to green", stats.median_rounds_to_green if stats.median_rounds_to_green is not None else "-"),
        ("median tokens per fix", stats.median_tokens_per_fix if stats.median_tokens_per_fix is not None else "-"),
        ("median cost per fix", _money(stats.median_cost_per_fix)),
        ("median time per fix", f"{stats.median_seconds_per_fix:.1f} s" if stats.median_seconds_per_fix else "-"),
        ("candidates evaluated", stats.candidates),
        ("regressions caught before review", stats.regressions_caught),
        ("tokens in total", stats.total_tokens),
        ("cost in total", _money(stats.total_cost)),
        ("patches accepted / rejected", f"{stats.accepted} / {stats.rejected}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return EXIT_OK
