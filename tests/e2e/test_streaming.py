"""Results stream to the editor while a check runs, but a file's diagnostics are sent again only when they change:
a client redraws every publish, and a long check used to re-send the same diagnostics every quarter second."""

from __future__ import annotations

SLOW_PASSING = 12  # tests of 0.15 s each after the failing one: the stream ticks several times meanwhile

PROJECT = {
    "calc/__init__.py": "",
    "calc/ops.py": "def double(x):\n    return x + x + 1\n",
    "tests/test_ops.py": (
        "import time\n\nfrom calc.ops import double\n\n\n"
        "def test_a_double_fails():\n    assert double(2) == 4\n\n\n"
        + "".join(f"def test_slow_{i}():\n    time.sleep(0.15)\n    assert double(0) >= 0\n\n\n"
                  for i in range(SLOW_PASSING))
    ),
}
TEST, OPS = "tests/test_ops.py", "calc/ops.py"


async def test_a_failure_is_sent_as_it_arrives_and_not_again_while_the_rest_of_the_check_runs(make_project,
                                                                                             start_editor):
    editor = await start_editor(make_project(PROJECT))
    editor.save(OPS)
    await editor.wait_for(lambda: editor.diagnostics(TEST) and editor.checked(), 60, "the check's end")
    sent = [count for uri, count in editor.publishes if uri == editor.uri(TEST)]

    assert sent[-1] == 1, "the failing test is shown when the check ends"
    # Once when the failure arrived (the rest still running), once more with the check's final report; the
    # stream's ticks over the slow tests in between change nothing and send nothing.
    assert len(sent) <= 3, f"the test file's diagnostics were sent {len(sent)} times: {editor.publishes}"
    assert any(s["checking"] and s["failing"] == 1 for s in editor.statuses), "the failure was shown mid-check"
