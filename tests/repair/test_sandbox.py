"""The sandbox that candidate code runs in: a private copy that never contains itself, writes that never land
outside it, no network, the whole process tree ended, and a repair that refuses weaker isolation than asked for.

The guarantees are tested under each way to full isolation (`mechanism`): bubblewrap (installed by `.ci/run`)
and, forced by hiding bubblewrap, util-linux `unshare` with greenloop's namespace helper. A mechanism that cannot
run on this machine is skipped, saying why; the refusal test shows what a user with neither gets.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from pathlib import Path

import pytest
from demokit import copy_demo
from processes import alive
from repairkit import PRICING, TARGETS

from greenloop.records import Outcome, Selection
from greenloop.repair.check.judge import JudgeSettings
from greenloop.repair.loop import Budget, RepairLoop
from greenloop.repair.propose.builtin.search import BuiltinProposer
from greenloop.repair.records import RepairStatus
from greenloop.repair.check.sandbox import Sandbox
from greenloop.run import contain, process_cap


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob("greenloop-sandbox-*"))


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private system temp folder, so the copies a test leaves behind can be counted."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


async def run_in(sandbox: Sandbox, test: str) -> list[Outcome]:
    (sandbox.copy / "tests").mkdir(exist_ok=True)
    (sandbox.copy / "tests" / "test_hostile.py").write_text(test)
    run = await sandbox.run(sys.executable, Selection(nodeids=["tests/test_hostile.py"]), 30)
    assert not run.problem, run.problem
    return [r.outcome for r in run.results]


async def test_writes_to_the_users_tree_home_and_elsewhere_do_not_land(make_project, tmp_path: Path, temp: Path,
                                                                      mechanism: str) -> None:
    root = make_project({"lib.py": "X = 1\n"})
    home = Path.home()
    targets = [root / "planted.txt", root / "lib.py", home / "greenloop-planted.txt",
               tmp_path / "elsewhere" / "planted.txt", Path("/var/tmp/greenloop-planted.txt")]
    (tmp_path / "elsewhere").mkdir()
    before = (root / "lib.py").read_text()
    test = ("import os\n\n\ndef test_write_everywhere():\n"
            f"    for target in {[str(t) for t in targets]!r}:\n"
            "        try:\n"
            "            os.makedirs(os.path.dirname(target), exist_ok=True)\n"
            "            with open(target, 'w') as handle:\n"
            "                handle.write('planted')\n"
            "        except OSError:\n"
            "            pass\n")
    with Sandbox(root) as sandbox:
        assert sandbox.isolation.level == "full" and sandbox.isolation.how.startswith(mechanism)
        assert await run_in(sandbox, test) == [Outcome.PASSED]
    assert (root / "lib.py").read_text() == before
    assert [t for t in targets if t.exists() and t.read_text() == "planted"] == []


async def test_candidate_code_cannot_reach_a_server_on_this_machine(make_project, temp: Path, mechanism: str) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    root = make_project({"lib.py": "X = 1\n"})
    test = ("import socket\n\n\ndef test_connect():\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n")
    try:
        with Sandbox(root) as sandbox:
            assert await run_in(sandbox, test) == [Outcome.FAILED]
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


FORK_FOREVER = """import subprocess


def test_fork_forever():
    children = []
    try:
        while len(children) < 2000:
            children.append(subprocess.Popen(["sleep", "30"]))
    except OSError as exc:
        print("stopped by", type(exc).__name__)
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert len(children) < PROCESS_LIMIT, len(children)
"""


async def test_candidate_code_that_forks_without_end_meets_the_process_cap(make_project, temp: Path,
                                                                          mechanism: str) -> None:
    root = make_project({"lib.py": "X = 1\n"})
    with Sandbox(root) as sandbox:
        if "at most" not in sandbox.isolation.how:
            pytest.skip(f"no pids cgroup can be made here: {sandbox.isolation.how}")
        cgroup = sandbox._cap.path if sandbox._cap else None
        test = FORK_FOREVER.replace("PROCESS_LIMIT", str(process_cap.PROCESS_LIMIT))
        assert await run_in(sandbox, test) == [Outcome.PASSED]
    assert cgroup is not None and not cgroup.exists(), "the sandbox's cgroup outlived it"


SLEEPER = b"sleep\x00617.25\x00"  # an argument no other process here has


async def test_whatever_candidate_code_starts_ends_with_its_run(make_project, temp: Path, mechanism: str) -> None:
    """Candidate code may run in its own PID namespace: look for the process by its command line."""
    root = make_project({"lib.py": "X = 1\n"})
    test = ("import subprocess\n\n\ndef test_start():\n"
            "    subprocess.Popen(['sleep', '617.25'], start_new_session=True)\n"
            "    open('started', 'w').close()\n")
    with Sandbox(root) as sandbox:
        assert await run_in(sandbox, test) == [Outcome.PASSED]
        assert (sandbox.copy / "started").exists()
    await asyncio.sleep(0.2)
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_orphan_sleeper(p)]


def _is_orphan_sleeper(proc: Path) -> bool:
    try:
        return (proc / "cmdline").read_bytes() == SLEEPER and alive(int(proc.name))
    except OSError:
        return False


def test_a_project_holding_the_temp_folder_is_copied_without_it(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A scratch file's folder may be /tmp itself: the copy is made elsewhere and does not copy itself."""
    root = tmp_path / "project"
    temp = root / "tmp"
    temp.mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    (root / "lib.py").write_text("X = 1\n")
    (temp / "greenloop-sandbox-old").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with Sandbox(root) as sandbox:
        assert not sandbox.copy.is_relative_to(root)
        assert sorted(p.name for p in sandbox.copy.iterdir()) == ["lib.py", "pyproject.toml"]
        copy = sandbox.copy
    assert not copy.exists()


def test_a_file_outside_any_project_is_copied_alone(tmp_path: Path, temp: Path) -> None:
    folder = tmp_path / "scratch"
    folder.mkdir()
    (folder / "mine.py").write_text("def f():\n    return 1\n")
    (folder / "someone_elses.py").write_text("SECRET = 1\n")
    with Sandbox(folder, [folder / "mine.py"]) as sandbox:
        assert sorted(p.name for p in sandbox.copy.iterdir()) == ["mine.py"]


def builtin_loop(root: Path, minimum: str) -> RepairLoop:
    return RepairLoop(root, BuiltinProposer(), JudgeSettings(sys.executable, 60, "off", minimum), Budget(max_rounds=3))


async def test_a_repair_says_which_isolation_it_ran_under_and_leaves_no_copy(tmp_path: Path, temp: Path,
                                                                            mechanism: str) -> None:
    """Also the end-to-end check that real pytest, with the project's interpreter and greenloop's plugin, runs
    under each mechanism."""
    demo = copy_demo(tmp_path / "demo", python=sys.executable)
    result = await builtin_loop(demo, "full").run(demo / PRICING)
    assert result.status is RepairStatus.GREEN and result.targets == TARGETS
    assert result.isolation.startswith(f"{mechanism}: ")
    assert leftovers(temp) == []


async def test_a_repair_with_nothing_to_repair_leaves_no_copy(tmp_path: Path, temp: Path) -> None:
    demo = copy_demo(tmp_path / "demo", python=sys.executable)
    pricing = demo / PRICING
    pricing.write_text(pricing.read_text().replace("percent // 10\n", "percent // 100\n"))
    result = await builtin_loop(demo, "none").run(pricing)
    assert result.status is RepairStatus.NOTHING_TO_DO
    assert leftovers(temp) == []


async def test_a_cancelled_repair_leaves_no_copy(tmp_path: Path, temp: Path) -> None:
    demo = copy_demo(tmp_path / "demo", python=sys.executable)
    task = asyncio.ensure_future(builtin_loop(demo, "none").run(demo / PRICING))
    for _ in range(200):
        if leftovers(temp):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    result = await task
    assert result.status is RepairStatus.CANCELLED
    assert leftovers(temp) == []


async def test_a_repair_refuses_to_run_candidates_with_less_isolation_than_asked(
        tmp_path: Path, temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a machine with neither bubblewrap nor unshare, candidate code would run unprotected: not by default."""
    demo = copy_demo(tmp_path / "demo", python=sys.executable)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    contain.bubblewrap.cache_clear()
    contain.unshare_namespaces.cache_clear()
    contain.no_network.cache_clear()
    try:
        before = (demo / PRICING).read_text()
        result = await builtin_loop(demo, "full").run(demo / PRICING)
        assert result.status is RepairStatus.FAILED and result.candidates == 0
        assert "'none' isolation" in result.stop_reason and "at least 'full'" in result.stop_reason
        assert "apt install bubblewrap" in result.stop_reason
        assert (demo / PRICING).read_text() == before and leftovers(temp) == []
    finally:
        contain.bubblewrap.cache_clear()
        contain.unshare_namespaces.cache_clear()
        contain.no_network.cache_clear()


async def test_candidate_code_sees_no_credentials_in_its_environment(make_project, temp: Path, mechanism: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-0123456789")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-planted")
    monkeypatch.setenv("GREENLOOP_HARMLESS", "kept")
    root = make_project({"lib.py": "X = 1\n"})
    test = ("import os\n\n\ndef test_environment():\n"
            "    assert 'OPENAI_API_KEY' not in os.environ and 'GITHUB_TOKEN' not in os.environ\n"
            "    assert os.environ['GREENLOOP_HARMLESS'] == 'kept'\n")
    with Sandbox(root) as sandbox:
        assert await run_in(sandbox, test) == [Outcome.PASSED]
