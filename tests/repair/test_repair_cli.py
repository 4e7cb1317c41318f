"""`greenloop repair`, run as a real command against the stub model (served from this test process): the diff or
the JSON document it prints, --apply, the flags reaching the loop, Ctrl-C, and its exit codes."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from demokit import copy_demo
from repairkit import BUGGY, COUPON, FIX, FIXED, MODEL, PARTIAL_FIX, PRICING, ROUNDING, TARGETS, always, hang, tree
from stub_model import Call, Reply, StubModel

from greenloop.repair.ledger.store import Ledger

GREENLOOP = [sys.executable, "-m", "greenloop"]


def greenloop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GREENLOOP, *args], cwd=cwd, capture_output=True, text=True, timeout=180)


def model_flags(model: StubModel) -> list[str]:
    return ["--model", MODEL, "--api-base", model.api_base]


def test_without_apply_the_patch_is_printed_as_a_diff_and_no_file_changes(demo: Path, tmp_path: Path,
                                                                         stub) -> None:
    model = stub(always(FIX))
    before = tree(demo)
    done = greenloop("repair", PRICING, *model_flags(model), cwd=demo)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ ")
    assert f"-{BUGGY}\n+{FIXED}\n" in done.stdout
    assert tree(demo) == before
    assert "greenloop: 2 failing target test(s)" in done.stderr
    assert re.search(r"^greenloop: round 1 .*: green — every target test passes", done.stderr, re.M), done.stderr
    assert "greenloop: green: Green after 1 candidate(s) in 1 round(s)" in done.stderr

    if shutil.which("patch"):  # the printed diff is a real patch: it applies to another copy
        other = copy_demo(tmp_path / "other", python=sys.executable)
        subprocess.run(["patch", "-p1"], input=done.stdout, cwd=other, text=True, check=True, capture_output=True)
        assert FIXED in (other / PRICING).read_text()


def test_json_and_apply_write_a_green_patch_and_report_every_figure(demo: Path, stub) -> None:
    model = stub(always(FIX))
    before = tree(demo)
    done = greenloop("repair", PRICING, *model_flags(model), "--apply", "--json", cwd=demo)

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # stdout is exactly one JSON document
    assert {"status", "rounds", "candidates", "targets", "targets_failing_before", "targets_failing_after",
            "regressions", "tokens_in", "tokens_out", "cost_usd", "wall_seconds", "patch", "files",
            "handoff", "applied", "stop_reason", "flaky"} <= document.keys()
    assert document["status"] == "green" and document["applied"] is True
    assert (document["rounds"], document["candidates"]) == (1, 1)
    assert document["targets"] == TARGETS
    assert (document["targets_failing_before"], document["targets_failing_after"]) == (2, 0)
    assert (document["regressions"], document["flaky"]) == ([], [])
    assert (document["tokens_in"], document["tokens_out"]) == (1000, 200)
    assert document["cost_usd"] == pytest.approx(0.00027)
    assert document["wall_seconds"] > 0 and document["files"] == [PRICING]
    assert f"+{FIXED}" in document["patch"] and document["handoff"].startswith("Green after")

    after = tree(demo)
    assert after.pop(PRICING).decode() == before.pop(PRICING).decode().replace(BUGGY, FIXED)
    assert after == before  # only the patched file changed
    ledger = Ledger(demo)
    try:
        assert ledger.repair(document["repair_id"])["user_action"] == "applied_by_cli"
    finally:
        ledger.close()


def test_apply_writes_nothing_unless_the_patch_is_green(demo: Path, stub) -> None:
    """A partial fix is reported but not applied. Also: the model and endpoint come from [tool.greenloop], the
    named targets from --tests, and --budget-tokens stops the repair after the round that spent it."""
    model = stub(always(PARTIAL_FIX))
    pyproject = demo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'model = "{MODEL}"\napi_base = "{model.api_base}"\n')
    before = tree(demo)
    done = greenloop("repair", PRICING, "--tests", f"{COUPON},{ROUNDING}", "--budget-tokens", "1000", "--apply",
                     "--json", cwd=demo)

    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert (document["status"], document["applied"], document["rounds"]) == ("partial", False, 1)
    assert document["stop_reason"] == "token budget spent (1200 of 1000)"
    assert document["targets"] == TARGETS and document["targets_failing_after"] == 1
    assert "(100 if percent == 10 else 10)" in document["patch"]
    assert tree(demo) == before


def _edit_during_the_repair(path: Path, text: str) -> Callable[[Call], Reply]:
    """A model that fixes the bug, while the person writes `text` into `path` a moment after the proposer read it."""

    def script(call: Call) -> Reply:
        threading.Timer(1.0, path.write_text, [text]).start()
        return Reply(FIX)

    return script


def test_apply_rebases_onto_an_edit_made_during_the_repair_elsewhere_in_the_file(demo: Path, stub) -> None:
    """The person edits shop/pricing.py while the green candidate is being judged, away from the fixed line: the
    patch is carried over to their text, re-checked, and applied; their edit survives beside the fix."""
    pricing = demo / PRICING
    edited = pricing.read_text() + "\n# the person's own edit, made during the repair\n"
    model = stub(_edit_during_the_repair(pricing, edited))

    done = greenloop("repair", PRICING, *model_flags(model), "--apply", cwd=demo)

    assert "greenloop: patch applied" in done.stderr, done.stderr
    assert pricing.read_text() == edited.replace(BUGGY, FIXED)


def test_apply_never_overwrites_an_edit_of_the_lines_the_patch_changes(demo: Path, stub) -> None:
    pricing = demo / PRICING
    edited = pricing.read_text().replace(BUGGY, BUGGY + "  # the person looked at this line too")
    model = stub(_edit_during_the_repair(pricing, edited))

    done = greenloop("repair", PRICING, *model_flags(model), "--apply", cwd=demo)

    assert "greenloop: not applied: the lines it changes were edited since the repair began" in done.stderr
    assert "patch applied" not in done.stderr
    assert pricing.read_text() == edited


def test_ctrl_c_cancels_the_repair_and_still_reports_it(demo: Path, stub, gate: threading.Event) -> None:
    model = stub(hang(gate, seconds=60))
    before = tree(demo)
    process = subprocess.Popen([*GREENLOOP, "repair", PRICING, *model_flags(model), "--json"], cwd=demo,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not model.calls and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert model.calls, "the repair never asked the model"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 1, stderr
    document = json.loads(stdout)
    assert document["status"] == "cancelled" and document["stop_reason"] == "cancelled"
    assert tree(demo) == before
    ledger = Ledger(demo)
    try:
        assert ledger.repair(document["repair_id"])["status"] == "cancelled"
    finally:
        ledger.close()


def test_an_unknown_test_name_is_a_clear_failure(demo: Path, stub) -> None:
    model = stub(always(FIX))
    done = greenloop("repair", PRICING, *model_flags(model), "--tests", "tests/test_cart.py::test_nope", cwd=demo)

    assert done.returncode == 1
    assert "no such test(s): tests/test_cart.py::test_nope" in done.stderr
    assert model.calls == [] and done.stdout == ""


def test_the_llm_proposer_without_a_model_says_how_to_configure_one(demo: Path) -> None:
    before = tree(demo, skip=())
    done = greenloop("repair", PRICING, "--proposer", "llm", cwd=demo)

    assert done.returncode == 2
    assert "the llm proposer needs a model: pass --model" in done.stderr
    assert tree(demo, skip=()) == before
