"""Shared by the real-editor tests: where their artifacts go (timings, screenshots), kept out of git.

`GREENLOOP_ARTIFACTS` names the folder (default `.artifacts/` at the repository root); the timings of each run
are appended to `editor-timings.jsonl` there, so a release note can quote what each editor's test saw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from demokit import BUGGY, FIXED, PRICING, REPO, ledger_actions


def artifacts() -> Path:
    folder = Path(os.environ.get("GREENLOOP_ARTIFACTS") or REPO / ".artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def record_timings(editor: str, save_to_diagnostic: float, repair_to_fix_ready: float) -> None:
    line = {"editor": editor, "save_to_diagnostic_s": round(save_to_diagnostic, 3),
            "repair_to_fix_ready_s": round(repair_to_fix_ready, 3), "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with (artifacts() / "editor-timings.jsonl").open("a") as file:
        file.write(json.dumps(line) + "\n")


def assert_fixed_and_green(root: Path) -> None:
    """What accepting the demo's fix in an editor must leave: the fixed line on disk, the project's tests green
    in a plain pytest run, and the ledger saying the person accepted it."""
    lines = (root / PRICING).read_text().splitlines()
    assert FIXED in lines and BUGGY not in lines
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
                           capture_output=True, text=True, timeout=120)
    assert tests.returncode == 0, tests.stdout[-2000:]
    assert ledger_actions(root) == [(1, "accepted")]
