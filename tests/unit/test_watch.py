"""The watcher: real inotify events, debounced into one batch of relevant files."""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import time
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


# -- only source folders are watched ----------------------------------------------------------------------------

def _inotify_watches() -> int:
    """inotify watches this process holds right now, as the kernel counts them (/proc/self/fdinfo)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                total += sum(line.startswith("inotify wd:") for line in info)
        except OSError:
            continue
    return total


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _venv(folder: Path, folders: int) -> None:
    for i in range(folders):
        (folder / "lib" / "site-packages" / f"dep{i}").mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text("home = /usr/bin\n")


class _Recorder:
    """A started watcher and every batch it delivered."""

    def __init__(self, root: Path, debounce: float = 0.2) -> None:
        self.root = root
        self.batches: list[set[Path]] = []
        self.watcher = Watcher(root, asyncio.get_running_loop(), self.batches.append, debounce=debounce)

    async def __aenter__(self) -> _Recorder:
        self.watcher.start()
        await asyncio.sleep(0.2)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.watcher.stop()

    def names(self) -> set[str]:
        return {p.relative_to(self.root.resolve()).as_posix() for batch in self.batches for p in batch}

    async def quiet(self, seconds: float = 0.8) -> set[str]:
        """Wait until nothing more arrives, then everything reported so far."""
        await asyncio.sleep(seconds)
        return self.names()


async def test_environments_node_modules_and_gitignored_folders_are_not_watched_at_all(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "generated/\n", "pkg/__init__.py": "", "pkg/sub/m.py": "",
                     "pkg/generated/g.py": "", "tests/test_m.py": "", "node_modules/a/b/c.js": "",
                     ".git/objects/00/x": ""})
    _venv(tmp_path / "myenv", 500)
    before = _inotify_watches()
    async with _Recorder(tmp_path) as recorder:
        # Folders with source: the root, pkg, pkg/sub, tests. Nothing of the 500-folder environment.
        assert _inotify_watches() - before == 4
        assert recorder.watcher.watched() == [(tmp_path, False), (tmp_path / "pkg", False),
                                              (tmp_path / "pkg" / "sub", True), (tmp_path / "tests", True)]
        for rel in ("myenv/lib/site-packages/dep1/x.py", "node_modules/a/x.py", "pkg/generated/x.py",
                    "generated_not.py"):
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text("X = 1\n")
        (tmp_path / "pkg" / "sub" / "m.py").write_text("X = 2\n")
        assert await recorder.quiet() == {"generated_not.py", "pkg/sub/m.py"}
    assert _inotify_watches() == before


async def test_a_new_folder_is_watched_and_files_written_in_it_at_once_are_reported(tmp_path: Path) -> None:
    _tree(tmp_path, {"pkg/m.py": "", "node_modules/x.js": ""})
    async with _Recorder(tmp_path) as recorder:
        (tmp_path / "newpkg" / "deep").mkdir(parents=True)
        (tmp_path / "newpkg" / "deep" / "early.py").write_text("")  # likely before its watch exists
        await recorder.quiet(0.5)
        (tmp_path / "newpkg" / "deep" / "later.py").write_text("")
        assert await recorder.quiet() == {"newpkg/deep/early.py", "newpkg/deep/later.py"}
        assert (tmp_path / "newpkg", True) in recorder.watcher.watched()


async def test_a_folder_renamed_outside_the_editor_reports_old_and_new_paths(tmp_path: Path) -> None:
    _tree(tmp_path, {"pkg/m.py": "", "pkg/sub/n.py": "", "node_modules/x.js": ""})
    async with _Recorder(tmp_path) as recorder:
        (tmp_path / "pkg").rename(tmp_path / "renamed")
        assert await recorder.quiet() == {"pkg/m.py", "pkg/sub/n.py", "renamed/m.py", "renamed/sub/n.py"}
        (tmp_path / "renamed" / "m.py").write_text("X = 1\n")
        (tmp_path / "pkg").mkdir()  # a folder of the old name is a new folder, watched afresh
        (tmp_path / "pkg" / "again.py").write_text("")
        assert await recorder.quiet() >= {"renamed/m.py", "pkg/again.py"}


async def test_environments_appearing_inside_watched_folders_stop_being_watched(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _tree(root, {"pkg/m.py": ""})
    _venv(tmp_path / "staging" / "env", 200)
    before = _inotify_watches()
    async with _Recorder(root) as recorder:
        assert _inotify_watches() - before == 2  # the root, pkg
        (tmp_path / "staging" / "env").rename(root / "pkg" / "env")  # a whole environment moved in
        await recorder.quiet(0.5)
        (root / "pkg" / "tools" / "lib").mkdir(parents=True)  # becomes an environment under a name no rule knows
        for i in range(20):
            (root / "pkg" / "tools" / "lib" / f"dep{i}").mkdir()
        await recorder.quiet(0.5)
        (root / "pkg" / "tools" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        (root / "pkg" / "node_modules").mkdir()
        await recorder.quiet(0.5)
        for i in range(200):
            (root / "pkg" / "node_modules" / f"m{i}").mkdir()
        for rel in ("pkg/env/lib/site-packages/dep1/x.py", "pkg/tools/lib/dep1/x.py", "pkg/node_modules/m1/x.py"):
            (root / rel).write_text("")
        (root / "pkg" / "m.py").write_text("X = 1\n")
        assert await recorder.quiet() == {"pkg/m.py"}
        assert recorder.watcher.watched() == [(root, False), (root / "pkg", False)]
        assert _inotify_watches() - before == 2


async def test_a_gitignore_change_takes_effect_at_once(tmp_path: Path) -> None:
    _tree(tmp_path, {"pkg/m.py": "", "pkg/out/o.py": "", "pkg/other/p.py": ""})
    async with _Recorder(tmp_path) as recorder:
        (tmp_path / ".gitignore").write_text("out/\n")
        await recorder.quiet(0.5)
        (tmp_path / "pkg" / "out" / "o.py").write_text("X = 1\n")
        (tmp_path / "pkg" / "other" / "p.py").write_text("X = 1\n")
        assert await recorder.quiet() == {"pkg/other/p.py"}
        assert (tmp_path / "pkg" / "out", True) not in recorder.watcher.watched()


async def test_a_burst_larger_than_the_inotify_queue_leaves_the_watcher_idle(tmp_path: Path, caplog) -> None:
    """The old failure: an overflow made watchdog rebuild its watches, whose walk overflowed the queue again."""
    _tree(tmp_path, {"pkg/m.py": ""})
    for i in range(6000):  # source folders: a rebuild walks them all (the old watch queued an open per folder)
        (tmp_path / "pkg" / "tree" / f"d{i // 100}" / f"d{i}").mkdir(parents=True)
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    folder = tmp_path / "pkg" / "many"
    folder.mkdir()
    writer = (f"import pathlib\nfolder = pathlib.Path({str(folder)!r})\n"
              f"for i in range({limit // 2 + 2000}):\n    (folder / f'f{{i}}.txt').write_bytes(b'')\n")
    async with _Recorder(tmp_path, debounce=0.5) as recorder:
        # Another process writes (a create and a close-after-write per file) while this one waits for it without
        # releasing the GIL (a ctypes.PyDLL call keeps it), so watchdog's reader cannot drain the queue.
        process = subprocess.Popen([sys.executable, "-c", writer])
        status = ctypes.c_int()
        assert ctypes.PyDLL(None).waitpid(process.pid, ctypes.byref(status), 0) == process.pid
        process.returncode = os.waitstatus_to_exitcode(status.value)
        assert process.returncode == 0
        await recorder.quiet(1.5)
        assert any("overflow" in record.getMessage() for record in caplog.records)
        started = time.process_time()
        await asyncio.sleep(2)
        assert time.process_time() - started < 0.05
        (tmp_path / "pkg" / "m.py").write_text("X = 1\n")  # and it still works
        assert "pkg/m.py" in await recorder.quiet()
