"""What a check says in the editor's log: why tests were selected, briefly when there are many."""

import asyncio
import sys
import threading
import time
from pathlib import Path

from greenloop.lsp.session import EXPLAIN_LINES, Channel, ProjectSession

SETTINGS = {"python": sys.executable, "type_checker": "off", "watch": False}
MANY = EXPLAIN_LINES + 10


async def started(root: Path, logged: list[str], deadline: float) -> ProjectSession:
    """A session for `root` logging into `logged`, once its coverage is ready (recorded in the background when the
    project has none), or once `deadline` (a `time.monotonic()` value) has passed."""
    session = ProjectSession(root, Channel(publish=lambda report: None, show=lambda level, text: None,
                                           log=logged.append), [(SETTINGS, "test")])
    try:
        while not any(line.startswith("coverage: ready") for line in logged) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    except BaseException:
        await session.close()
        raise
    return session


async def test_a_save_selecting_many_tests_logs_a_bounded_explanation_and_the_full_report(make_project) -> None:
    root = make_project({
        "lib.py": "def value():\n    return 1\n",
        "tests/test_many.py": f"""
            import pytest

            import lib


            @pytest.mark.parametrize("n", range({MANY}))
            def test_value(n):
                assert lib.value() == 1
            """,
    })
    logged: list[str] = []
    session = await started(root, logged, time.monotonic() + 120)
    try:
        (root / "lib.py").write_text("def value():\n    x = 1\n    return x\n")
        logged.clear()
        session.request({root / "lib.py"})
        deadline = time.monotonic() + 120  # its own: a busy machine may have used the start-up's
        while not any(line.startswith("check report") for line in logged) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await session.close()
    assert any(line.startswith("check report") for line in logged), logged[-20:]
    selected = [line for line in logged if line.startswith("selected ")]
    assert len(selected) == EXPLAIN_LINES
    assert f"... and 10 more; the check report below, or `greenloop check --explain`, lists every selected " \
           "test and why" in logged
    [report] = [line for line in logged if line.startswith("check report")]
    assert report.count("executed value in lib.py, which changed") == MANY


async def test_start_up_reads_the_coverage_store_off_the_event_loop(make_project, monkeypatch) -> None:
    """The store may be busy with a write: a query on the loop's thread waited for it (73 ms on networkx)."""
    from greenloop.select.coverage import CoverageStore

    loop_thread = threading.get_ident()
    readers: list[int] = []
    count = CoverageStore.test_count

    def counting(store: CoverageStore) -> int:
        readers.append(threading.get_ident())
        return count(store)

    monkeypatch.setattr(CoverageStore, "test_count", counting)
    root = make_project({"lib.py": "def value():\n    return 1\n",
                         "tests/test_lib.py": "import lib\n\ndef test_value():\n    assert lib.value() == 1\n"})
    logged: list[str] = []
    session = await started(root, logged, time.monotonic() + 60)
    await session.close()
    assert "coverage: ready (1 tests recorded" in " ".join(logged)
    assert readers and loop_thread not in readers
