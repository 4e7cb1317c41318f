"""What a candidate must get through (repair/check/): the screen, a quick filter on the failing targets, and the
judge's verdict against the baseline: green only when every target passes and nothing that passed before fails,
better when some targets pass, refused when a passing test or the type checker breaks. Every run is a real pytest
run in the sandbox copy of the demo; the user's tree is never touched.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from repairkit import BUGGY, FIXED, PRICING, TARGETS

from greenloop.repair.check.baseline import establish
from greenloop.repair.check.judge import Baseline, JudgeSettings, judge
from greenloop.repair.check.sandbox import Sandbox
from greenloop.repair.check.screen import Screener
from greenloop.repair.records import FileEdit, Patch, VerdictStatus

ROUNDS_UP = "    return total_cents + (-total_cents * percent // 100)"  # right for 10 %, wrong for 25 % of 650
NO_SHIPPING = "    return 0 if subtotal_cents >= FREE_SHIPPING_FROM else SHIPPING_CENTS"
EMPTY_CART = "tests/test_cart.py::test_empty_cart_pays_only_shipping"


def patch_of(root: Path, *replacements: tuple[str, str]) -> Patch:
    path = (root / PRICING).resolve()
    before = after = path.read_text()
    for old, new in replacements:
        assert old in after
        after = after.replace(old, new)
    return Patch([FileEdit(path, before, after)])


@pytest.fixture
async def checked(demo: Path) -> AsyncIterator[tuple[Sandbox, Baseline, JudgeSettings]]:
    settings = JudgeSettings(sys.executable, 30.0, "off", "full")
    sandbox = Sandbox(demo)
    try:
        baseline = await establish(demo, demo / PRICING, None, sandbox, settings)
        yield sandbox, baseline, settings
    finally:
        sandbox.close()


async def test_the_baseline_targets_the_failing_tests_and_remembers_what_passed(checked) -> None:
    _, baseline, _ = checked
    assert sorted(baseline.targets) == sorted(TARGETS) and baseline.flaky == []
    assert EMPTY_CART in baseline.passed()


async def test_a_patch_that_makes_every_target_pass_and_breaks_nothing_is_green(checked, demo: Path) -> None:
    sandbox, baseline, settings = checked
    before = (demo / PRICING).read_bytes()

    verdict = await judge(sandbox, baseline, patch_of(demo, (BUGGY, FIXED)), settings)

    assert verdict.status is VerdictStatus.GREEN, verdict.reason
    assert sorted(verdict.targets_passed) == sorted(TARGETS) and verdict.regressions == []
    assert (demo / PRICING).read_bytes() == before, "the judge runs in the copy, never in the user's tree"
    assert sandbox.inside(demo / PRICING).read_bytes() == before, "and the copy is reset afterwards"


async def test_a_patch_that_makes_some_targets_pass_is_better_not_green(checked, demo: Path) -> None:
    sandbox, baseline, settings = checked

    verdict = await judge(sandbox, baseline, patch_of(demo, (BUGGY, ROUNDS_UP)), settings)

    assert verdict.status is VerdictStatus.BETTER, verdict.reason
    assert verdict.targets_failed == ["tests/test_cart.py::test_discount_rounds_down_to_the_cent"]
    assert verdict.reason == "1 of 2 target tests pass, nothing regressed"


async def test_a_patch_that_breaks_a_passing_test_is_refused_and_names_it(checked, demo: Path) -> None:
    sandbox, baseline, settings = checked
    breaks_shipping = (NO_SHIPPING, "    return 0")

    verdict = await judge(sandbox, baseline, patch_of(demo, (BUGGY, FIXED), breaks_shipping), settings)

    assert verdict.status is VerdictStatus.REGRESSED
    assert EMPTY_CART in verdict.regressions and EMPTY_CART in verdict.reason


async def test_a_patch_that_fixes_nothing_is_no_better(checked, demo: Path) -> None:
    sandbox, baseline, settings = checked

    verdict = await judge(sandbox, baseline, patch_of(demo, ("// 10", "// 11")), settings)

    assert verdict.status is VerdictStatus.NO_BETTER
    assert verdict.reason == "no target test passes with this patch"
    assert {r.nodeid for r in verdict.failures} == set(TARGETS), "the failures feed the next round"


@pytest.mark.skipif(shutil.which("mypy", path=str(Path(sys.executable).parent)) is None,
                    reason="mypy is not installed beside this interpreter")
async def test_a_patch_that_adds_a_type_error_is_refused_even_when_the_tests_pass(checked, demo: Path) -> None:
    sandbox, baseline, _ = checked
    typed = JudgeSettings(sys.executable, 30.0, "mypy", "full")
    adds_error = ("    if percent <= 0:", "    label: int = \"no discount\"\n    if percent <= 0:")

    verdict = await judge(sandbox, baseline, patch_of(demo, (BUGGY, FIXED), adds_error), typed)

    assert verdict.status is VerdictStatus.REGRESSED, verdict.reason
    assert verdict.new_type_errors and verdict.reason.startswith("adds type errors: pricing.py")


async def test_the_screen_passes_a_fix_and_stops_a_wrong_candidate_at_its_first_failure(checked, demo: Path) -> None:
    sandbox, baseline, settings = checked
    screener = Screener(sandbox, baseline, settings)
    try:
        good = await screener.screen(patch_of(demo, (BUGGY, FIXED)))
        bad = await screener.screen(patch_of(demo, ("// 10", "// 11")))
    finally:
        await screener.close()

    assert (good.ok, good.passed) == (True, 2)
    assert (bad.ok, bad.passed) == (False, 0) and "assert" in bad.message
    assert screener.count == 2
    assert sandbox.inside(demo / PRICING).read_text() == (demo / PRICING).read_text(), "the copy is reset"


async def test_the_screen_cuts_a_candidate_that_loops_forever_long_before_the_test_timeout(
        checked, demo: Path) -> None:
    """A mutation can make a loop endless: the screen's timeout follows the targets' own time, not test_timeout."""
    sandbox, baseline, settings = checked
    screener = Screener(sandbox, baseline, settings)
    assert screener.timeout < settings.timeout
    endless = (BUGGY, "    while True:\n        percent += 0\n" + FIXED)
    started = time.monotonic()
    try:
        screen = await screener.screen(patch_of(demo, endless))
    finally:
        await screener.close()

    assert screen.ok is False
    assert time.monotonic() - started < settings.timeout
