"""The watcher: real inotify events, debounced into one batch of relevant files."""

import asyncio
from pathlib import Path

from greenloop.watch import Watcher


async def test_a_burst_of_changes_arrives_as_one_batch_of_relevant_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / ".venv").mkdir()
    batches: list[set[Path]] = []
    watcher = Watcher(tmp_path, asyncio.get_running_loop(), batches.append, debounce=0.3)
    watcher.start()
    try:
        await asyncio.sleep(0.2)
        for i in range(20):
            (tmp_path / "pkg" / f"m{i}.py").write_text("X = 1\n")
        (tmp_path / "notes.txt").write_text("not python")
        (tmp_path / ".venv" / "site.py").write_text("ignored")
        tmp = tmp_path / "pkg" / ".m0.py.swp"
        tmp.write_text("X = 2\n")
        tmp.rename(tmp_path / "pkg" / "saved.py")  # an atomic save: counts by its destination
        for _ in range(100):
            if batches:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    finally:
        watcher.stop()
    assert len(batches) == 1
    assert {p.name for p in batches[0]} == {f"m{i}.py" for i in range(20)} | {"saved.py"}


async def test_project_configuration_counts_only_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    batches: list[set[Path]] = []
    watcher = Watcher(tmp_path, asyncio.get_running_loop(), batches.append, debounce=0.2)
    watcher.start()
    try:
        await asyncio.sleep(0.2)
        (tmp_path / "pyproject.toml").write_text("")
        (tmp_path / "sub" / "pyproject.toml").write_text("")
        for _ in range(60):
            if batches:
                break
            await asyncio.sleep(0.05)
    finally:
        watcher.stop()
    assert batches == [{(tmp_path / "pyproject.toml").resolve()}]
