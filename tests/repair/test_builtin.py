"""The built-in proposer: offline, search-based repair that needs no model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from repairkit import FIXED, PRICING, TARGETS, always, proposer, tree

from greenloop.repair.check.judge import JudgeSettings
from greenloop.repair.loop import Budget, RepairLoop
from greenloop.repair.propose.builtin.search import BuiltinProposer, SearchBudget
from greenloop.repair.propose.chain import ChainProposer
from greenloop.repair.records import RepairStatus

REPO = Path(__file__).resolve().parents[2]


def loop(root: Path, propose, max_rounds: int = 3) -> RepairLoop:
    return RepairLoop(root, propose, JudgeSettings(sys.executable, 60, "off"), Budget(max_rounds=max_rounds))


async def test_the_demo_is_repaired_offline_with_the_smallest_fitting_edit(demo: Path) -> None:
    before = tree(demo)
    result = await loop(demo, BuiltinProposer()).run(demo / PRICING)
    assert result.status is RepairStatus.GREEN
    assert result.targets == TARGETS and result.usage.tokens_in == 0 and result.usage.cost == 0
    assert result.candidates > 1 and result.screened == result.candidates  # a search, screened one by one
    assert result.patch is not None and result.patch.changed_lines() == 2
    assert f"+{FIXED}" in result.diff
    assert "passes the tests" in result.handoff and "review it" in result.handoff
    assert tree(demo) == before  # the user's tree is untouched


async def test_a_bug_in_a_module_constant_is_found_through_the_line_that_uses_it(make_project) -> None:
    root = make_project({
        "calendar_rules.py": """
            WEEKEND = (6, 7)


            def is_weekend(weekday):
                return weekday in WEEKEND
            """,
        "tests/test_rules.py": """
            from calendar_rules import is_weekend

            def test_saturday_and_sunday():
                assert is_weekend(5) and is_weekend(6)

            def test_friday():
                assert not is_weekend(4)
            """,
    })
    result = await loop(root, BuiltinProposer()).run(root / "calendar_rules.py")
    assert result.status is RepairStatus.GREEN, result.handoff
    assert "-WEEKEND = (6, 7)" in result.diff and "+WEEKEND = (5, 6)" in result.diff


async def test_two_edits_are_tried_when_no_single_edit_works(make_project) -> None:
    root = make_project({
        "stats.py": """
            def average(values):
                total = 0
                for value in values:
                    total -= value
                return total / (len(values) + 1)
            """,
        "tests/test_stats.py": """
            from stats import average

            def test_average_of_two():
                assert average([2, 4]) == 3

            def test_average_of_zero():
                assert average([0]) == 0
            """,
    })
    result = await loop(root, BuiltinProposer(SearchBudget(singles=200, pairs=400))).run(root / "stats.py")
    assert result.status is RepairStatus.GREEN, result.handoff
    assert result.patch is not None and result.patch.changed_lines() == 4
    assert "+        total += value" in result.diff


async def test_an_exhausted_search_stops_with_a_clear_reason(make_project) -> None:
    root = make_project({
        "greeting.py": "def greet(name):\n    return 'Hi ' + name\n",
        "tests/test_greeting.py": "from greeting import greet\n\ndef test_greet():\n"
                                  "    assert greet('Ann') == 'Hello, Ann!'\n",
    })
    result = await loop(root, BuiltinProposer()).run(root / "greeting.py")
    assert result.status is RepairStatus.FAILED
    assert result.stop_reason.startswith("no more candidates: search exhausted")
    assert "tests/test_greeting.py::test_greet" in result.handoff


async def test_builtin_first_then_the_model_when_the_search_finds_nothing(make_project, stub) -> None:
    """`--proposer builtin,llm`: the free search runs first; when it is exhausted the model gets the round."""
    root = make_project({
        "greeting.py": "def greet(name):\n    return 'Hi ' + name\n",
        "tests/test_greeting.py": "from greeting import greet\n\ndef test_greet():\n"
                                  "    assert greet('Ann') == 'Hello, Ann!'\n",
    })
    fix = ("Hypothesis: wrong greeting\n\ngreeting.py\n<<<<<<< SEARCH\n    return 'Hi ' + name\n=======\n"
           "    return 'Hello, ' + name + '!'\n>>>>>>> REPLACE\n")
    model = stub(always(fix))
    result = await loop(root, ChainProposer([BuiltinProposer(), proposer(model)])).run(root / "greeting.py")
    assert result.status is RepairStatus.GREEN
    assert len(model.calls) == 1 and result.rounds == 1
    assert result.candidates > 1  # the screened search candidates count too
    assert result.attempts[-1].proposal.proposer.startswith("llm:")


async def test_cheap_fixes_cost_no_tokens_when_the_search_comes_first(demo: Path, stub) -> None:
    model = stub(always("this reply must never be requested"))
    result = await loop(demo, ChainProposer([BuiltinProposer(), proposer(model)])).run(demo / PRICING)
    assert result.status is RepairStatus.GREEN and model.calls == [] and result.usage.tokens_in == 0


def test_the_cli_uses_the_builtin_proposer_when_no_model_is_configured(demo: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "greenloop", "repair", PRICING, "--json"], cwd=demo,
                          capture_output=True, text=True, timeout=300)
    document = json.loads(done.stdout)
    assert done.returncode == 0 and document["status"] == "green"
    assert document["tokens_in"] == 0 and document["files"] == [PRICING]


def test_bench_reports_fix_rate_correctness_and_writes_a_chart(tmp_path: Path) -> None:
    chart, results = tmp_path / "chart.png", tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "greenloop", "bench", "--corpus", str(REPO / "bench" / "corpus"),
         "--only", "banking-overdraft-boundary,csvcheck-optional-inverted", "--chart", str(chart),
         "--json", str(results)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    data = json.loads(results.read_text())
    assert data["totals"]["bugs"] == 2 and data["totals"]["green"] == 2 and data["totals"]["correct"] == 2
    assert {b["id"] for b in data["bugs"]} == {"banking-overdraft-boundary", "csvcheck-optional-inverted"}
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2/2 green (100%), 2 correct by the hidden tests, 0 green but wrong" in done.stdout
