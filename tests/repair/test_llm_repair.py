"""The LLM path of the repair loop, end to end: litellm over real HTTP to the stub model, candidates judged by real
pytest runs in a sandbox copy of the project. What the model is told, what it may change, and how its failures
(malformed replies, forbidden edits, HTTP errors, timeouts) become feedback or a clear stop, never a crash."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from repairkit import (AFTER_1000, BUGGY, COUPON, COUPON_BASELINE, FIX, FIXED, PRICING, PROSE, TARGETS, WRONG_1000,
                       always, errors, fix_once_prompt_has, hang, in_turn, pricing_edit, proposer, repair_loop, tree)
from stub_model import Call, Reply, search_replace

from greenloop.repair.records import RepairStatus, VerdictStatus


async def test_the_demo_bug_is_repaired_in_one_round_and_the_users_files_are_untouched(demo: Path, stub) -> None:
    model = stub(always(FIX))
    before = tree(demo, skip=())
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)

    assert result.status is RepairStatus.GREEN, result.handoff
    assert (result.rounds, result.candidates, result.stop_reason) == (1, 1, "green")
    assert result.targets == TARGETS
    assert (result.targets_failing_before, result.targets_failing_after, result.regressions) == (2, 0, [])
    assert result.diff.startswith("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n")
    assert f"-{BUGGY}\n+{FIXED}\n" in result.diff
    assert result.patch is not None and [p.relative_to(demo).as_posix() for p in result.patch.files] == [PRICING]
    assert (result.usage.tokens_in, result.usage.tokens_out, result.usage.calls) == (1000, 200, 1)
    assert result.usage.cost == pytest.approx(1000 * 0.15e-6 + 200 * 0.60e-6)  # gpt-4o-mini's local price
    assert "review it before accepting" in result.handoff
    assert tree(demo, skip=()) == before, "the loop wrote into the user's tree (without a ledger, not even state)"

    # What the model was told: the failing tests, and the buggy line found by localisation (no traceback
    # points at it: the tests only compare values).
    prompt = model.calls[0].prompt
    assert model.calls[0].body["model"] == "gpt-4o-mini"
    assert f"### {COUPON}\nAssertionError: {COUPON_BASELINE}" in prompt
    assert ">> 18 |     return total_cents - total_cents * percent // 10" in prompt
    assert "Round 1 of 3." in prompt and "(this is the first attempt)" in prompt
    assert result.suspects[0].startswith("shop/pricing.py:18 ")


async def test_round_two_is_told_round_ones_diff_and_failure_and_fixes_only_because_of_it(demo: Path, stub) -> None:
    """The stub fixes the bug only if round 1's new failure message (produced by its wrong `// 1000`) is in the
    prompt: green in round 2 proves that the history of attempts is passed on."""
    model = stub(fix_once_prompt_has(AFTER_1000, otherwise=WRONG_1000))
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)

    assert result.status is RepairStatus.GREEN, result.handoff
    assert result.rounds == 2 and len(model.calls) == 2
    assert [a.verdict.status for a in result.attempts] == [VerdictStatus.NO_BETTER, VerdictStatus.GREEN]
    first, second = (call.prompt for call in model.calls)
    assert AFTER_1000 not in first
    assert "Round 2 of 3." in second
    assert "+    return total_cents - total_cents * percent // 1000" in second  # round 1's diff
    assert f"still failing: {COUPON}: AssertionError: {AFTER_1000}" in second  # and how it failed
    assert f"+{FIXED}" in result.diff


MALFORMED = {
    "no edit at all": (PROSE, "the reply contains no edit"),
    "SEARCH text not in the file": (
        search_replace(PRICING, "    return total_cents * 0.9", FIXED), "the SEARCH text was not found in shop/pricing.py"),
    "edit that breaks the syntax": (
        pricing_edit("    return total_cents - total_cents * percent // (100"), "would not parse after the edit"),
}


@pytest.mark.parametrize("reply, complaint", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_reply_becomes_feedback_for_the_next_round(demo: Path, stub, reply: str,
                                                                     complaint: str) -> None:
    model = stub(fix_once_prompt_has(complaint, otherwise=reply))
    before = tree(demo)
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)

    assert result.status is RepairStatus.GREEN, result.handoff
    assert result.rounds == 2
    first = result.attempts[0]
    assert first.verdict.status is VerdictStatus.INVALID and complaint in first.verdict.reason
    assert complaint not in model.calls[0].prompt and complaint in model.calls[1].prompt
    assert tree(demo) == before


async def test_two_different_malformed_replies_in_a_row_are_not_stuck(demo: Path, stub) -> None:
    """The stuck rule is for the same failure twice in a row: a reply without an edit followed by one whose
    SEARCH text is not in the file are two different failures, so round 3 still happens (and fixes the bug)."""
    not_found = search_replace(PRICING, "    return total_cents * 0.9", FIXED)
    model = stub(in_turn(PROSE, not_found, FIX))
    result = await repair_loop(demo, proposer(model)).run(demo / PRICING)

    assert [a.verdict.status for a in result.attempts][:2] == [VerdictStatus.INVALID, VerdictStatus.INVALID]
    assert result.stop_reason == "green", result.stop_reason
    assert result.status is RepairStatus.GREEN and result.rounds == 3


FORBIDDEN = {
    "a test file": (
        search_replace("tests/test_cart.py", "    assert cart.total() == 9000 - 900", "    assert cart.total() == 495"),
        "tests/test_cart.py is a test file"),
    "a new conftest.py": (
        search_replace("conftest.py", "", "collect_ignore = ['tests/test_cart.py']"), "conftest.py is a test file"),
    "the pytest configuration": (
        search_replace("pyproject.toml", 'testpaths = ["tests"]', 'testpaths = ["tests"]\naddopts = "-k \'not coupon\'"'),
        "pyproject.toml is configuration"),
    "a skip in the source": (
        pricing_edit('    import pytest\n    pytest.skip("discounts are being reworked")\n' + BUGGY),
        "the edit adds a skip or xfail"),
    "an xfail in the source": (
        pricing_edit('    import pytest\n    pytest.xfail("known bug")\n' + BUGGY), "the edit adds a skip or xfail"),
}


@pytest.mark.parametrize("reply, reason", FORBIDDEN.values(), ids=FORBIDDEN.keys())
async def test_a_reply_that_would_pass_by_changing_the_tests_is_refused(demo: Path, stub, reply: str,
                                                                        reason: str) -> None:
    model = stub(always(reply))
    before = tree(demo)
    result = await repair_loop(demo, proposer(model), max_rounds=1).run(demo / PRICING)

    attempt = result.attempts[0]
    assert attempt.verdict.status is VerdictStatus.INVALID
    assert attempt.verdict.reason.startswith("refused: ") and reason in attempt.verdict.reason
    assert result.status is RepairStatus.FAILED and result.patch is None and result.diff == ""
    assert tree(demo) == before


@pytest.mark.parametrize("how", ["a ../ path", "an absolute path", "a symlink out of the project"])
async def test_a_reply_that_escapes_the_workspace_is_refused(demo: Path, tmp_path: Path, stub, how: str) -> None:
    victim = tmp_path / "victim.py"
    victim.write_text("SECRET = 1\n")
    if how == "a ../ path":
        reply = search_replace("../planted.py", "", "print('planted')")
    elif how == "an absolute path":
        reply = search_replace(str(victim), "SECRET = 1", "SECRET = 2")
    else:  # not a .py file, so that only the reply, not the baseline, meets the link
        victim = tmp_path / "victim.txt"
        victim.write_text("SECRET = 1\n")
        (demo / "shop" / "prices.txt").symlink_to(victim)
        reply = search_replace("shop/prices.txt", "SECRET = 1", "SECRET = 2")
    model = stub(always(reply))
    result = await repair_loop(demo, proposer(model), max_rounds=1).run(demo / PRICING)

    attempt = result.attempts[0]
    assert attempt.verdict.status is VerdictStatus.INVALID
    assert "outside the workspace" in attempt.verdict.reason
    assert result.status is RepairStatus.FAILED and result.patch is None
    assert victim.read_text() == "SECRET = 1\n" and not (tmp_path / "planted.py").exists()


async def test_an_escaping_reply_never_carries_the_outside_files_text_back_to_the_model(demo: Path, tmp_path: Path,
                                                                                      stub) -> None:
    """A refused edit of a file outside the project must not become a way to read it: the outside file's lines
    appear neither in the next round's prompt nor in the recorded attempt."""
    outside = tmp_path / "credentials.py"
    outside.write_text("USER = 'deploy'\nPASSWORD = 'hunter2-do-not-leak'\n")
    model = stub(always(search_replace(str(outside), "USER = 'deploy'", "USER = 'root'")))
    result = await repair_loop(demo, proposer(model), max_rounds=2).run(demo / PRICING)

    assert result.attempts[0].verdict.status is VerdictStatus.INVALID
    assert len(model.calls) == 2
    assert "hunter2-do-not-leak" not in model.calls[1].prompt
    assert all("hunter2-do-not-leak" not in attempt.diff for attempt in result.attempts)


@pytest.mark.parametrize("status, error", [(429, "RateLimitError"), (500, "InternalServerError")])
async def test_a_model_that_keeps_failing_is_retried_then_stops_the_repair_with_a_clear_reason(
        demo: Path, stub, status: int, error: str) -> None:
    model = stub(errors(status))
    result = await repair_loop(demo, proposer(model, retries=2)).run(demo / PRICING)

    assert len(model.calls) == 3  # one try and two retries, then no further rounds
    assert result.status is RepairStatus.FAILED and result.rounds == 1
    assert result.stop_reason.startswith(f"the proposer cannot go on: model call failed after 3 tries: {error}")
    assert result.attempts[0].proposal.fatal
    assert result.stop_reason in result.handoff


async def test_a_rate_limit_that_clears_is_retried_within_the_same_round(demo: Path, stub) -> None:
    model = stub(lambda call: Reply(status=429) if call.number == 1 else Reply(PROSE))
    result = await repair_loop(demo, proposer(model, retries=2), max_rounds=1).run(demo / PRICING)

    assert (len(model.calls), result.rounds) == (2, 1)
    proposal = result.attempts[0].proposal
    assert not proposal.fatal and proposal.reply == PROSE  # the retry's answer was used
    assert result.stop_reason == "round cap reached (1)"


async def test_a_model_slower_than_its_timeout_stops_the_repair_with_a_clear_reason(
        demo: Path, stub, gate: threading.Event) -> None:
    model = stub(hang(gate))
    result = await repair_loop(demo, proposer(model, timeout=0.5, retries=1)).run(demo / PRICING)

    assert len(model.calls) == 2
    assert result.status is RepairStatus.FAILED and result.rounds == 1
    assert "the proposer cannot go on: model call failed after 2 tries: Timeout" in result.stop_reason
    assert result.seconds < 20


async def test_a_critic_model_is_asked_first_each_round_and_its_critique_reaches_the_patch_prompt(
        demo: Path, stub) -> None:
    """Two calls per round. The critic names the root cause only once it has seen round 1's attempt; the patch
    model fixes the bug only when that critique is in its prompt."""

    def script(call: Call) -> Reply:
        if call.body["model"] == "gpt-4o":  # the critic
            return Reply("The divisor at shop/pricing.py:18 must be 100 (CRITIQUE-7F3)" if "Attempt 1" in call.prompt
                         else "Not sure yet.")
        return Reply(FIX if "CRITIQUE-7F3" in call.prompt else WRONG_1000)

    model = stub(script)
    result = await repair_loop(demo, proposer(model, critic_model="openai/gpt-4o")).run(demo / PRICING)

    assert result.status is RepairStatus.GREEN and result.rounds == 2, result.handoff
    assert [c.body["model"] for c in model.calls] == ["gpt-4o", "gpt-4o-mini"] * 2
    critic_prompt, patch_prompt = model.calls[2].prompt, model.calls[3].prompt
    assert "Do not write a patch" in critic_prompt and "Do not write a patch" not in patch_prompt
    assert "A reviewer's root-cause hypothesis\nThe divisor at shop/pricing.py:18 must be 100" in patch_prompt
    assert (result.usage.calls, result.usage.tokens_in, result.usage.tokens_out) == (4, 4000, 800)
    mini_only = 2 * (1000 * 0.15e-6 + 200 * 0.60e-6)
    assert result.usage.cost > mini_only  # the critic's calls are priced too (gpt-4o costs more)
