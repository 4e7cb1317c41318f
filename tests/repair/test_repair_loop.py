"""The repair loop's rules, end to end with the stub model: the baseline (flaky tests, nothing to do), the judge
(regressions, type errors), which attempt is returned, and every stop rule (round cap, budgets, stuck, time,
cancellation)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from repairkit import (BUGGY, COUPON, FIX, FIXED, NO_COUPON, PARTIAL_FIX, PRICING, PROSE,
                       REGRESSING_FIX, ROUNDING, TARGETS, WRONG_1000, always, divide_by, fix_once_prompt_has, hang,
                       in_turn, pricing_edit, proposer, repair_loop, tree)
from stub_model import search_replace

from greenloop.repair.records import RepairStatus, VerdictStatus


# --- the baseline ------------------------------------------------------------------------------------------

async def test_a_project_whose_tests_pass_has_nothing_to_do_and_the_model_is_never_asked(demo: Path, stub) -> None:
    pricing = demo / PRICING
    pricing.write_text(pricing.read_text().replace(BUGGY, FIXED))
    model = stub(always(FIX))
    result = await repair_loop(demo, proposer(model)).run(pricing)

    assert result.status is RepairStatus.NOTHING_TO_DO
    assert (result.rounds, result.candidates, result.targets, result.patch) == (0, 0, [], None)
    assert model.calls == []


FLAKY_TEST = """
    from pathlib import Path

    from calc.core import double

    MARK = Path(__file__).with_name("ran-once.marker")


    def test_double_is_flaky():
        first_run = not MARK.exists()
        MARK.touch()
        assert not first_run, "fails on the first run only"
        assert double(2) == 4
    """


async def test_a_test_that_passes_on_a_rerun_is_reported_flaky_and_not_repaired(make_project, stub) -> None:
    root = make_project({"calc/__init__.py": "", "calc/core.py": "def double(x):\n    return x + x\n",
                         "tests/test_calc.py": FLAKY_TEST})
    model = stub(always(FIX))
    result = await repair_loop(root, proposer(model)).run(root / "calc/core.py")

    assert result.status is RepairStatus.FLAKY
    assert result.flaky == ["tests/test_calc.py::test_double_is_flaky"] and result.targets == []
    assert "flaky" in result.stop_reason
    assert model.calls == [] and result.patch is None
    assert not (root / "tests" / "ran-once.marker").exists(), "the baseline ran in the user's tree, not a copy"


async def test_a_flaky_test_is_left_alone_while_a_real_failure_beside_it_is_repaired(make_project, stub) -> None:
    root = make_project({
        "calc/__init__.py": "",
        "calc/core.py": "def double(x):\n    return x + x\n\n\ndef triple(x):\n    return x * 2\n",
        "tests/test_calc.py": FLAKY_TEST + "\n\n    def test_triple():\n        from calc.core import triple\n"
                                           "        assert triple(2) == 6\n",
    })
    model = stub(always(search_replace("calc/core.py", "    return x * 2", "    return x * 3")))
    result = await repair_loop(root, proposer(model)).run(root / "calc/core.py")

    assert result.status is RepairStatus.GREEN, result.handoff
    assert result.flaky == ["tests/test_calc.py::test_double_is_flaky"]
    assert result.targets == ["tests/test_calc.py::test_triple"]
    assert "### tests/test_calc.py::test_double_is_flaky" not in model.calls[0].prompt


async def test_a_project_with_a_symlinked_module_from_outside_can_still_be_repaired(demo: Path, tmp_path: Path,
                                                                                   stub) -> None:
    """A module that is a symlink to a file outside the project (a shared helper, say) is unusual but legal: the
    repair must not crash on it."""
    shared = tmp_path / "shared_helpers.py"
    shared.write_text("def helper():\n    return 1\n")
    (demo / "shop" / "helpers.py").symlink_to(shared)
    model = stub(always(FIX))
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)

    assert result.status is RepairStatus.GREEN, result.handoff


# --- the judge and the choice of patch ---------------------------------------------------------------------

async def test_a_patch_that_fixes_the_targets_but_breaks_a_passing_test_is_regressed_and_fed_back(
        demo: Path, stub) -> None:
    """The regressing patch passes both targets but makes a cart without a coupon free. It is refused, the broken
    test is named in the next prompt, and the stub fixes the bug properly only once it reads that name."""
    model = stub(fix_once_prompt_has(NO_COUPON, otherwise=REGRESSING_FIX))
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)

    first = result.attempts[0].verdict
    assert first.status is VerdictStatus.REGRESSED
    assert (first.targets_passed, first.regressions) == (TARGETS, [NO_COUPON])
    assert result.status is RepairStatus.GREEN and result.rounds == 2, result.handoff
    assert "return 0" not in result.diff and result.regressions == []
    assert result.regressions_caught == 1


async def test_the_best_attempt_is_returned_not_the_last(demo: Path, stub) -> None:
    """Round 1: a partial fix (one target passes, nothing breaks). Round 2: a patch that passes both targets but
    regresses another test. The result is the partial fix: most targets passing *without* regressions."""
    model = stub(in_turn(PARTIAL_FIX, REGRESSING_FIX))
    result = await repair_loop(demo, proposer(model), max_rounds=2).run(demo / PRICING)

    assert [a.verdict.status for a in result.attempts] == [VerdictStatus.BETTER, VerdictStatus.REGRESSED]
    assert result.attempts[0].verdict.targets_passed == [COUPON]
    assert result.status is RepairStatus.PARTIAL
    assert result.stop_reason == "round cap reached (2)"
    assert "(100 if percent == 10 else 10)" in result.diff and "return 0" not in result.diff
    assert result.patch is not None and result.diff == result.attempts[0].diff
    assert (result.targets_failing_before, result.targets_failing_after) == (2, 1)
    assert (result.regressions, result.regressions_caught) == ([], 1)
    assert "Best patch (attempt 1) makes 1 of 2 target test(s) pass" in result.handoff
    assert f"Still failing: {ROUNDING}" in result.handoff


async def test_a_patch_that_passes_the_tests_but_adds_a_type_error_is_refused(demo: Path, stub) -> None:
    """With a type checker on (mypy here), a candidate that makes every target pass and breaks no test is still
    refused if it adds a type error, and it is not returned."""
    model = stub(always(pricing_edit('    label: int = "percent off"\n' + FIXED)))
    before = tree(demo)
    result = await repair_loop(demo, proposer(model), max_rounds=1, type_checker="mypy").run(demo / PRICING)

    verdict = result.attempts[0].verdict
    assert verdict.status is VerdictStatus.REGRESSED, verdict.reason
    assert verdict.targets_passed == TARGETS and verdict.regressions == []
    assert len(verdict.new_type_errors) == 1 and verdict.new_type_errors[0].startswith("pricing.py: assignment: ")
    assert verdict.reason.startswith("adds type errors")
    assert result.status is RepairStatus.FAILED and result.patch is None and result.regressions_caught == 1
    assert tree(demo) == before


# --- stop rules ----------------------------------------------------------------------------------------------

async def test_the_round_cap_stops_a_repair_whose_candidates_keep_failing_differently(demo: Path, stub) -> None:
    model = stub(in_turn(divide_by("1000"), divide_by("50"), divide_by("1"), FIX))
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)  # the default cap: 3 rounds

    assert result.status is RepairStatus.FAILED and result.patch is None
    assert (result.rounds, len(model.calls), result.stop_reason) == (3, 3, "round cap reached (3)")
    assert "Not green after 3 candidate(s) in 3 round(s)" in result.handoff
    assert "The bug is probably at: shop/pricing.py:18" in result.handoff


async def test_the_same_failure_twice_in_a_row_stops_the_repair_as_stuck(demo: Path, stub) -> None:
    model = stub(always(WRONG_1000))
    result = await repair_loop(demo, proposer(model), max_rounds=5).run(demo / PRICING)

    assert result.stop_reason == "stuck: the same failure twice in a row"
    assert (result.rounds, len(model.calls), result.status) == (2, 2, RepairStatus.FAILED)
    assert result.stop_reason in result.handoff


@pytest.mark.parametrize("budget, reason", [
    ({"tokens": 1000}, "token budget spent (1200 of 1000)"),
    ({"usd": 0.0002}, "money budget spent ($0.0003"),  # one gpt-4o-mini call of 1000 + 200 tokens: $0.00027
], ids=["tokens", "usd"])
async def test_a_spent_budget_stops_the_repair_after_the_round_that_spent_it(demo: Path, stub, budget: dict,
                                                                            reason: str) -> None:
    model = stub(always(PROSE))  # without a budget this would run a second round (and then be stuck)
    result = await repair_loop(demo, proposer(model), **budget).run(demo / PRICING)

    assert result.stop_reason.startswith(reason), result.stop_reason
    assert (result.rounds, len(model.calls), result.status) == (1, 1, RepairStatus.FAILED)
    assert (result.usage.tokens_in, result.usage.tokens_out) == (1000, 200) and result.usage.cost > 0


async def test_the_repair_time_budget_interrupts_a_slow_model(demo: Path, stub, gate: threading.Event) -> None:
    model = stub(hang(gate, seconds=60))
    result = await repair_loop(demo, proposer(model), seconds=6).run(demo / PRICING)

    assert "time budget" in result.stop_reason, result.stop_reason
    assert result.status is RepairStatus.FAILED and len(model.calls) <= 1
    assert result.seconds < 20


async def test_cancelling_a_repair_returns_a_cancelled_result(demo: Path, stub, gate: threading.Event) -> None:
    model = stub(hang(gate, seconds=60))
    before = tree(demo)
    task = asyncio.create_task(repair_loop(demo, proposer(model)).run(demo / PRICING))
    await until(lambda: len(model.calls) == 1, timeout=30)
    task.cancel()
    result = await asyncio.wait_for(task, 10)

    assert result.status is RepairStatus.CANCELLED and result.stop_reason == "cancelled"
    assert result.targets == TARGETS and result.patch is None
    assert tree(demo) == before


async def until(condition: Callable[[], bool], timeout: float) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)

