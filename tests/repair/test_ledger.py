"""The attempt ledger: every repair and every attempt in SQLite under .greenloop/, read back by `greenloop log`
and `greenloop stats`. Two real repairs of one demo copy are recorded once for the module: #1 goes green in
round 2 (after a wrong divisor), #2 fails after one round whose patch regressed another test."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from demokit import copy_demo
from repairkit import (AFTER_1000, FIXED, MODEL, NO_COUPON, PRICING, REGRESSING_FIX, TARGETS, WRONG_1000, always,
                       fix_once_prompt_has, proposer, repair_loop)
from stub_model import StubModel

from greenloop.repair.ledger.store import Ledger
from greenloop.repair.records import RepairStatus


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, stub_server: StubModel) -> Path:
    root = copy_demo(tmp_path_factory.mktemp("ledger") / "demo", python=sys.executable)

    async def two_repairs() -> None:
        ledger = Ledger(root)
        try:
            stub_server.use(fix_once_prompt_has(AFTER_1000, otherwise=WRONG_1000))
            green = await repair_loop(root, proposer(stub_server), ledger=ledger).run(root / PRICING)
            assert green.status is RepairStatus.GREEN and green.rounds == 2, green.handoff
            stub_server.use(always(REGRESSING_FIX))
            failed = await repair_loop(root, proposer(stub_server), max_rounds=1, ledger=ledger).run(root / PRICING)
            assert failed.status is RepairStatus.FAILED, failed.handoff
            assert (green.repair_id, failed.repair_id) == (1, 2)
        finally:
            ledger.close()

    asyncio.run(two_repairs())
    return root


def greenloop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greenloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_the_ledger_lives_in_dot_greenloop_which_git_ignores(recorded: Path) -> None:
    state = recorded / ".greenloop"
    assert (state / "ledger.sqlite3").is_file()
    assert "*" in (state / ".gitignore").read_text().splitlines()


def test_each_repair_is_one_row_with_its_outcome_and_costs(recorded: Path) -> None:
    ledger = Ledger(recorded)  # a new session reads what earlier ones wrote
    try:
        failed, green = ledger.repairs()  # newest first
    finally:
        ledger.close()

    assert green["id"] == 1 and green["path"] == PRICING and green["proposer"] == f"llm:{MODEL}"
    assert json.loads(green["targets"]) == TARGETS
    assert (green["status"], green["stop_reason"], green["rounds"], green["candidates"]) == ("green", "green", 2, 2)
    assert (green["failing_before"], green["failing_after"], green["regressions_caught"]) == (2, 0, 0)
    assert (green["tokens_in"], green["tokens_out"]) == (2000, 400)
    assert green["cost"] == pytest.approx(2 * 0.00027) and green["seconds"] > 0 and green["finished"]
    assert f"+{FIXED}" in green["patch"] and green["handoff"].startswith("Green after 2 candidate(s)")

    assert (failed["status"], failed["rounds"], failed["failing_after"]) == ("failed", 1, 2)
    assert failed["regressions_caught"] == 1 and failed["patch"] in (None, "")
    assert failed["stop_reason"] == "round cap reached (1)" and failed["handoff"].startswith("Not green")


def test_each_attempt_is_one_row_with_its_verdict_diff_and_failures(recorded: Path) -> None:
    ledger = Ledger(recorded)
    try:
        wrong, fixed = ledger.attempts(1)
        (regressed,) = ledger.attempts(2)
    finally:
        ledger.close()

    assert (wrong["round"], wrong["candidate"], wrong["verdict"]) == (1, 1, "no_better")
    assert (wrong["targets_passed"], wrong["targets_total"]) == (0, 2)
    assert "+    return total_cents - total_cents * percent // 1000" in wrong["diff"]
    assert AFTER_1000 in json.loads(wrong["failures"])[0]["message"]
    assert wrong["hypothesis"] == "the discount divides by the wrong number"
    assert (wrong["tokens_in"], wrong["tokens_out"]) == (1000, 200) and wrong["cost"] > 0
    assert (fixed["round"], fixed["verdict"], fixed["targets_passed"]) == (2, "green", 2)
    assert regressed["verdict"] == "regressed" and json.loads(regressed["regressions"]) == [NO_COUPON]


def test_log_lists_the_repairs_newest_first(recorded: Path) -> None:
    done = greenloop("log", cwd=recorded)  # the project defaults to the current directory

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert re.match(r"#2 +\S+ \S+ +failed +shop/pricing\.py +rounds 1, candidates 1, failing 2→2, 1200 tokens, "
                    r"\$0\.0003, \d+\.\d s +\[llm:openai/gpt-4o-mini\]$", lines[0]), lines[0]
    assert re.match(r"#1 +\S+ \S+ +green +shop/pricing\.py +rounds 2, candidates 2, failing 2→0, 2400 tokens, "
                    r"\$0\.0005, \d+\.\d s +\[llm:openai/gpt-4o-mini\]$", lines[1]), lines[1]


def test_log_with_an_id_shows_every_attempt_of_that_repair(recorded: Path) -> None:
    done = greenloop("log", "1", "--root", str(recorded), cwd=recorded.parent)

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("repair #1 of shop/pricing.py: green (green)\n")
    assert f"targets: {', '.join(TARGETS)}\n" in out
    assert "-- round 1 · candidate 1 · llm:openai/gpt-4o-mini · no_better: no target test passes" in out
    assert "   0/2 targets pass · 1200 tokens · $0.0003" in out
    assert "   hypothesis: the discount divides by the wrong number" in out
    assert "   +    return total_cents - total_cents * percent // 1000" in out
    assert "-- round 2 · candidate 2 · llm:openai/gpt-4o-mini · green: every target test passes" in out
    assert out.rstrip().endswith("review it before accepting.")


def test_log_json_and_an_unknown_id(recorded: Path) -> None:
    listing = json.loads(greenloop("log", "--json", "--root", str(recorded), cwd=recorded).stdout)
    assert [r["id"] for r in listing] == [2, 1]
    one = json.loads(greenloop("log", "2", "--json", "--root", str(recorded), cwd=recorded).stdout)
    assert one["repair"]["status"] == "failed" and [a["verdict"] for a in one["attempts"]] == ["regressed"]

    missing = greenloop("log", "99", "--root", str(recorded), cwd=recorded)
    assert missing.returncode == 2 and "no repair #99" in missing.stdout


def test_stats_sum_up_convergence_rounds_tokens_cost_and_caught_regressions(recorded: Path) -> None:
    done = greenloop("stats", "--root", str(recorded), cwd=recorded)

    assert done.returncode == 0, done.stderr
    rows = {name.strip(): value.strip() for name, value in
            (re.split(r"\s{2,}", line, maxsplit=1) for line in done.stdout.splitlines())}
    assert rows["repairs"] == "2"
    assert rows["green / partial / failed / other"] == "1 / 0 / 1 / 0"
    assert rows["convergence (green of those attempted)"] == "50%"
    assert rows["median rounds to green"] == "2"
    assert rows["median tokens per fix"] == "2400"
    assert rows["median cost per fix"] == "$0.0005"
    assert rows["candidates evaluated"] == "3"
    assert rows["regressions caught before review"] == "1"
    assert rows["tokens in total"] == "3600"
    assert rows["patches accepted / rejected"] == "0 / 0"

    figures = json.loads(greenloop("stats", "--json", "--root", str(recorded), cwd=recorded).stdout)
    assert (figures["repairs"], figures["green"], figures["failed"]) == (2, 1, 1)
    assert figures["convergence"] == 0.5 and figures["total_cost"] == pytest.approx(3 * 0.00027)


def test_a_project_without_repairs_says_so(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    done = greenloop("log", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "no repairs recorded yet\n")

