"""What a proposer is told: failing test functions with line numbers and `>>` on the failing line, the suspicious
code, and the history of earlier attempts, bounded so that older attempts shrink first."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import pytest

from greenloop.records import Outcome, RunResult, Selection, TestResult
from greenloop.repair.propose.llm import prompts
from greenloop.repair.propose.context import DIFF_CHARS, FULL_ATTEMPTS, HISTORY_CHARS, MESSAGE_LINES, Context
from greenloop.repair.propose.localise import Place
from greenloop.repair.records import Attempt, Proposal, Verdict, VerdictStatus
from greenloop.run.pytest_runner import run_tests

PROJECT = {
    "shop/__init__.py": "",
    "shop/pricing.py": """
        def discount(total_cents, percent):
            if percent < 0:
                raise ValueError("percent must not be negative")
            return total_cents - total_cents * percent // 10


        def tax(total_cents):
            return total_cents * 20 // 100
        """,
    "tests/test_pricing.py": """
        from shop.pricing import discount, tax


        def test_discount():
            total = 1000
            percent = 10
            expected = 900
            assert discount(total, percent) == expected
            assert discount(total, 0) == total


        def test_tax():
            assert tax(100) == 20
        """,
}


async def run(root: Path) -> RunResult:
    trace = [root / "shop" / "pricing.py"]
    result = await run_tests(root, sys.executable, Selection(whole_project=True), 60, trace)
    assert result.problem is None, result.problem
    return result


@pytest.fixture
async def failing(make_project) -> tuple[Path, list[TestResult]]:
    root = make_project(PROJECT).resolve()
    result = await run(root)
    return root, result.failures


# --- failures ------------------------------------------------------------------------------------------------------

async def test_render_failures_shows_the_failing_test_function_numbered_with_the_failing_line_marked(failing) -> None:
    root, failures = failing
    [failure] = failures
    text = Context(root, failures, []).render_failures()
    assert text.startswith("### tests/test_pricing.py::test_discount\nAssertionError: assert 0 == 900")
    code = text.split("tests/test_pricing.py:\n", 1)[1]
    assert code.splitlines() == [
        "   4 | def test_discount():",
        "   5 |     total = 1000",
        "   6 |     percent = 10",
        "   7 |     expected = 900",
        ">> 8 |     assert discount(total, percent) == expected",
        "   9 |     assert discount(total, 0) == total",
    ]
    assert "def test_tax" not in text


async def test_render_failures_marks_the_line_in_the_test_even_when_the_exception_is_raised_in_source(
        make_project) -> None:
    root = make_project({**PROJECT, "tests/test_pricing.py": """
        from shop.pricing import discount


        def test_negative():
            amount = 5
            assert discount(amount, -1) == amount
        """}).resolve()
    [failure] = (await run(root)).failures
    text = Context(root, [failure], []).render_failures()
    assert text.startswith("### tests/test_pricing.py::test_negative\nValueError: percent must not be negative\n")
    assert text.endswith("   4 | def test_negative():\n"
                         "   5 |     amount = 5\n"
                         ">> 6 |     assert discount(amount, -1) == amount")


def test_render_failures_cuts_long_messages_and_falls_back_to_the_outcome(tmp_path: Path) -> None:
    long = TestResult("t.py::test_long", Outcome.FAILED, message="\n".join(f"line {n}" for n in range(40)))
    silent = TestResult("t.py::test_silent", Outcome.TIMEOUT)
    text = Context(tmp_path, [long, silent], []).render_failures()
    first, second = text.split("\n\n")
    assert first.splitlines() == ["### t.py::test_long", *(f"line {n}" for n in range(MESSAGE_LINES)), "..."]
    assert second == "### t.py::test_silent\ntimeout"


# --- suspicious code -----------------------------------------------------------------------------------------------

def test_render_code_shows_each_place_numbered_with_its_line_marked(tmp_path: Path) -> None:
    source = tmp_path / "shop" / "pricing.py"
    source.parent.mkdir()
    source.write_text("def discount(total, percent):\n    if percent < 0:\n        raise ValueError\n"
                      "    return total - total * percent // 10\n\n\ndef tax(total):\n    return total // 5\n")
    places = [Place(source, 4, "function discount", 1, 4, "in the traceback of t.py::test_discount"),
              Place(source, 8, "function tax", 7, 8, "most suspicious by coverage")]
    text = Context(tmp_path, [], places).render_code()
    assert text == (
        "### shop/pricing.py, function discount (line 4: in the traceback of t.py::test_discount)\n"
        "   1 | def discount(total, percent):\n"
        "   2 |     if percent < 0:\n"
        "   3 |         raise ValueError\n"
        ">> 4 |     return total - total * percent // 10\n"
        "\n"
        "### shop/pricing.py, function tax (line 8: most suspicious by coverage)\n"
        "   7 | def tax(total):\n"
        ">> 8 |     return total // 5"
    )


def test_render_code_aligns_line_numbers_of_different_widths(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("".join(f"x{n} = {n}\n" for n in range(1, 13)))
    text = Context(tmp_path, [], [Place(source, 10, "module", 8, 11, "why")]).render_code()
    assert text.splitlines()[1:] == ["    8 | x8 = 8", "    9 | x9 = 9", ">> 10 | x10 = 10", "   11 | x11 = 11"]


def test_render_code_without_places_says_so(tmp_path: Path) -> None:
    assert "no traceback frame or covered line" in Context(tmp_path, [], []).render_code()


def test_render_code_survives_a_file_that_vanished(tmp_path: Path) -> None:
    text = Context(tmp_path, [], [Place(tmp_path / "gone.py", 3, "module", 1, 5, "why")]).render_code()
    assert "(gone.py cannot be read)" in text


# --- history -------------------------------------------------------------------------------------------------------

def attempt(n: int, reason: str = "no target test passes with this patch", diff: str = "", hypothesis: str = "",
            failures: list[TestResult] | None = None, error: str | None = None) -> Attempt:
    proposal = Proposal(None, "llm", hypothesis=hypothesis, error=error)
    verdict = Verdict(VerdictStatus.NO_BETTER, failures=failures or [], reason=reason)
    return Attempt(round=n, candidate=n, proposal=proposal, verdict=verdict, diff=diff)


def still_failing(name: str, lines: int = 1) -> TestResult:
    message = "\n".join(f"AssertionError: assert {n} == 900" for n in range(lines))
    return TestResult(f"tests/test_pricing.py::{name}", Outcome.FAILED, message=message)


def test_render_history_before_any_attempt_says_this_is_the_first(tmp_path: Path) -> None:
    assert Context(tmp_path, [], []).render_history() == "(this is the first attempt)"


def test_render_history_shows_each_attempt_with_hypothesis_diff_and_what_still_fails(tmp_path: Path) -> None:
    diff = "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -4 +4 @@\n-    return x // 10\n+    return x // 11\n"
    history = [attempt(1, diff=diff, hypothesis="The divisor is off. ", failures=[still_failing("test_discount")])]
    text = Context(tmp_path, [], [], history).render_history()
    assert text == (
        "Attempt 1 (round 1, llm): no target test passes with this patch\n"
        "Hypothesis: The divisor is off.\n"
        "```diff\n" + diff.rstrip() + "\n```\n"
        "- still failing: tests/test_pricing.py::test_discount: AssertionError: assert 0 == 900"
    )


def test_render_history_shows_why_an_unusable_reply_was_refused(tmp_path: Path) -> None:
    history = [attempt(1, reason="no usable patch", error="the reply contains no edit: give SEARCH/REPLACE blocks")]
    text = Context(tmp_path, [], [], history).render_history()
    assert "The reply could not be used: the reply contains no edit: give SEARCH/REPLACE blocks" in text


def test_render_history_cuts_a_long_diff(tmp_path: Path) -> None:
    diff = "".join(f"-line {n}\n" for n in range(1000))
    text = Context(tmp_path, [], [], [attempt(1, diff=diff)]).render_history()
    assert diff[:DIFF_CHARS] in text and "...(cut)" in text
    assert diff[:DIFF_CHARS + 20] not in text


def test_render_history_keeps_several_attempts_whole_in_order_while_within_budget(tmp_path: Path) -> None:
    history = [attempt(n, reason=f"reason {n}", diff=f"-old {n}\n+new {n}\n") for n in (1, 2, 3)]
    text = Context(tmp_path, [], [], history).render_history()
    blocks = split_attempts(text)
    assert [b.splitlines()[0] for b in blocks] == [f"Attempt {n} (round {n}, llm): reason {n}" for n in (1, 2, 3)]
    assert all(f"+new {n}" in blocks[n - 1] for n in (1, 2, 3))


def split_attempts(history_text: str) -> list[str]:
    return re.split(r"\n\n(?=Attempt \d+ \()", history_text)


def big_attempt(n: int, reason: str | None = None) -> Attempt:
    diff = "".join(f"-    value_{n}_{k} = compute({k})\n" for k in range(200))
    failures = [still_failing(f"test_{k}", lines=6) for k in range(5)]
    return attempt(n, reason=reason or f"reason {n}", diff=diff, hypothesis="h" * 600, failures=failures)


def test_render_history_over_budget_shrinks_the_oldest_attempts_to_one_line_and_keeps_the_newest_whole(
        tmp_path: Path) -> None:
    history = [big_attempt(n) for n in range(1, 6)]  # each whole attempt is over a third of the budget
    text = Context(tmp_path, [], [], history).render_history()
    assert len(text) <= HISTORY_CHARS
    blocks = split_attempts(text)
    assert blocks[:3] == [f"Attempt {n} (round {n}, llm): reason {n}" for n in (1, 2, 3)]
    for n, block in zip((4, 5), blocks[3:], strict=True):
        assert block.startswith(f"Attempt {n} (round {n}, llm): reason {n}\nHypothesis: ")
        assert "```diff" in block and "- still failing: tests/test_pricing.py::test_4" in block


def test_render_history_shows_at_most_the_newest_few_attempts_whole(tmp_path: Path) -> None:
    history = [attempt(n, reason=f"reason {n}", diff=f"-old {n}\n+new {n}\n") for n in range(1, FULL_ATTEMPTS + 3)]
    blocks = split_attempts(Context(tmp_path, [], [], history).render_history())
    assert blocks[:2] == ["Attempt 1 (round 1, llm): reason 1", "Attempt 2 (round 2, llm): reason 2"]
    assert all("```diff" in block for block in blocks[2:]) and len(blocks) == FULL_ATTEMPTS + 2


def test_render_history_over_budget_with_three_big_attempts_shrinks_only_the_oldest(tmp_path: Path) -> None:
    history = [big_attempt(n) for n in (1, 2, 3)]
    context = Context(tmp_path, [], [], history)
    assert sum(len(context._attempt(a, full=True)) for a in history) > HISTORY_CHARS  # the premise
    blocks = split_attempts(context.render_history())
    assert blocks[0] == "Attempt 1 (round 1, llm): reason 1"
    assert "```diff" in blocks[1] and "```diff" in blocks[2]


class Timeout(Exception):
    pass


def within_seconds(seconds: float, call):
    def expire(signum, frame):
        raise Timeout(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_render_history_over_budget_finishes_when_an_old_attempt_has_a_multi_line_reason(tmp_path: Path) -> None:
    # An unusable reply's reason quotes the model's SEARCH text, so it spans lines ("no usable patch: the SEARCH
    # text was not found in ...:\n<text>"). Shrinking must still terminate and put each shrunk attempt on one line.
    reason = "no usable patch: the SEARCH text was not found in shop/pricing.py; quote the current lines exactly:\n" \
             "    return total // 10"
    history = [attempt(1, reason=reason), big_attempt(2), big_attempt(3), big_attempt(4)]
    text = within_seconds(3, Context(tmp_path, [], [], history).render_history)
    first = split_attempts(text)[0]
    assert first.startswith("Attempt 1 (round 1, llm): no usable patch: the SEARCH text was not found")
    assert "\n" not in first
    assert "Attempt 4 (round 4, llm): reason 4\nHypothesis: " in text


# --- prompts -------------------------------------------------------------------------------------------------------

async def test_the_repair_prompt_is_filled_from_the_context_fields(failing) -> None:
    root, failures = failing
    place = Place(root / "shop" / "pricing.py", 4, "function discount", 1, 4, "covered only by failing tests")
    context = Context(root, failures, [place], [], round=2, max_rounds=5)
    text = prompts.render("repair", {**context.fields(), "critique": ""})
    assert "{" + "failures}" not in text and "{code}" not in text and "{history}" not in text
    assert "{round}" not in text and "{max_rounds}" not in text and "{critique}" not in text
    assert text.startswith("Round 2 of 5.")
    assert ">> 8 |     assert discount(total, percent) == expected" in text
    assert ">> 4 |     return total_cents - total_cents * percent // 10" in text
    assert "(this is the first attempt)" in text


def test_prompts_render_leaves_unknown_placeholders_and_the_system_prompt_loads() -> None:
    text = prompts.render("critique", {"failures": "F", "code": "C"})
    assert "## Failing tests\nF" in text and "## Suspicious code\nC" in text
    assert "{history}" in text
    assert "<<<<<<< SEARCH" in prompts.load("system")


def test_prompts_render_inserts_values_verbatim_even_when_they_contain_braces() -> None:
    # The failing test's source is a value; an f-string in it such as f"{code}" must not be filled in.
    failures = 'assert response.text == f"{code} OK"'
    text = prompts.render("repair", {"failures": failures, "code": "CODE", "history": "H", "round": "1",
                                     "max_rounds": "3", "critique": ""})
    assert failures in text
