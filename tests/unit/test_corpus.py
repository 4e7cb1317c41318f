"""The bug corpus behind `greenloop bench` is itself checked: every bug breaks a visible test, every reference
fix (the correct project) passes the visible and hidden tests, and the hidden tests catch every buggy version."""

import re
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "bench" / "corpus"


def test_every_bug_of_the_corpus_verifies() -> None:
    done = subprocess.run([sys.executable, str(CORPUS / "verify.py")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    match = re.search(r"RESULT: (\d+)/(\d+) bugs verified across (\d+) projects", done.stdout)
    assert match is not None, done.stdout[-2000:]
    verified, total, projects = map(int, match.groups())
    assert verified == total >= 30 and projects >= 8
