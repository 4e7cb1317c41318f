"""The ledger outlives whoever writes it. A real process writing repairs to it as fast as it can is SIGKILLed in the
middle of a write, three times over: each time the ledger opens as it is (nothing moved aside), SQLite finds it
intact, every record the writer had committed is there, whole, and new records go in after them. A ledger file
SQLite cannot read (garbage, or a real ledger cut short) is moved aside, kept byte for byte, and a new ledger is
started, with a notice saying where the old one went."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from greenloop.repair.ledger.store import Ledger

TARGETS = 2000  # ~80 KB of node ids per record: each commit writes many pages, so a kill lands inside one

WRITER = """
import itertools, sys
from pathlib import Path
from greenloop.repair.ledger.store import Ledger

ledger = Ledger(Path(sys.argv[1]))
tag, targets = sys.argv[2], int(sys.argv[3])
for k in itertools.count():
    repair_id = ledger.start(f"{tag}/module_{k}.py", "builtin", [f"tests/test_{k}.py::case_{i}" for i in range(targets)])
    print(repair_id, k, flush=True)
"""


def _expected(tag: str, k: int) -> tuple[str, list[str]]:
    return f"{tag}/module_{k}.py", [f"tests/test_{k}.py::case_{i}" for i in range(TARGETS)]


def _write_until_killed(root: Path, tag: str, records: int) -> dict[int, int]:
    """Start a writer, let it commit `records` repairs, SIGKILL it while it writes the next; {repair id: k}."""
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(root), tag, str(TARGETS)],
                             stdout=subprocess.PIPE, text=True)
    committed: dict[int, int] = {}
    try:
        assert child.stdout is not None
        for line in child.stdout:
            repair_id, k = map(int, line.split())
            committed[repair_id] = k
            if len(committed) == records:
                child.send_signal(signal.SIGKILL)  # it is already inside the next start()
                break
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL, f"the writer ended on its own: {child.returncode}"
    assert len(committed) == records
    return committed


def test_a_writer_killed_mid_write_leaves_every_committed_record_intact(tmp_path: Path) -> None:
    root = tmp_path
    committed: dict[int, tuple[str, int]] = {}
    for tag in ("first", "second", "third"):
        committed.update({repair_id: (tag, k) for repair_id, k in _write_until_killed(root, tag, 25).items()})

        ledger = Ledger(root)
        try:
            assert ledger.notice is None, f"a killed writer must not make the ledger unreadable: {ledger.notice}"
            assert [row[0] for row in ledger.db.execute("PRAGMA integrity_check")] == ["ok"]
            rows = {row["id"]: row for row in ledger.repairs(limit=1_000_000)}
            for repair_id, (written_tag, k) in committed.items():
                assert repair_id in rows, f"record {repair_id} ({written_tag} #{k}) was committed, then lost"
                path, targets = _expected(written_tag, k)
                row = rows[repair_id]
                assert (row["path"], json.loads(row["targets"]), row["failing_before"]) == (path, targets, TARGETS)
            newest = ledger.start("after/the_crash.py", "builtin", ["tests/test_x.py::test_y"])
            assert newest > max(rows), "a new record goes in after everything that survived"
        finally:
            ledger.close()


@pytest.fixture
def real_ledger_cut_short(tmp_path: Path) -> bytes:
    ledger = Ledger(tmp_path)
    try:
        for k in range(20):
            path, targets = _expected("cut", k)
            ledger.start(path, "builtin", targets)
    finally:
        ledger.close()
    path = tmp_path / ".greenloop" / "ledger.sqlite3"
    data = path.read_bytes()
    assert len(data) > 100_000
    return data[: len(data) // 2]


@pytest.mark.parametrize("content", ["garbage", "cut short"])
def test_an_unreadable_ledger_is_moved_aside_and_a_new_one_started(tmp_path: Path, content: str,
                                                                   request: pytest.FixtureRequest) -> None:
    data = (b"not a database, whatever it once was\n" * 300 if content == "garbage"
            else request.getfixturevalue("real_ledger_cut_short"))
    state = tmp_path / ".greenloop"
    state.mkdir(exist_ok=True)
    (state / "ledger.sqlite3").write_bytes(data)

    ledger = Ledger(tmp_path)
    try:
        moved = [p for p in state.iterdir() if p.name.startswith("ledger.sqlite3.unreadable-")]
        assert len(moved) == 1, sorted(p.name for p in state.iterdir())
        assert moved[0].read_bytes() == data, "the unreadable ledger must be kept as it was"
        assert ledger.notice is not None and str(moved[0]) in ledger.notice and "new ledger" in ledger.notice
        assert ledger.repairs() == []
        assert ledger.start("shop/pricing.py", "builtin", ["tests/test_cart.py::test_coupon"]) == 1
    finally:
        ledger.close()

    reopened = Ledger(tmp_path)  # the new ledger is a healthy one: nothing more is moved
    try:
        assert reopened.notice is None
        assert [r["path"] for r in reopened.repairs()] == ["shop/pricing.py"]
    finally:
        reopened.close()
