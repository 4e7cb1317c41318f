"""Compiled project modules are kept between runs by their exact text: each text is compiled once, a new text is
never served old code (not even a same-size edit within the same second), and a broken cache only costs time."""

import asyncio
import marshal
import sys
from pathlib import Path

from greenloop.records import Outcome, Selection
from greenloop.run.pytest_runner import run_tests
from greenloop.run.worker import PytestWorker

PROJECT = {
    "shop/__init__.py": "",
    "shop/price.py": """
        def total(a, b):
            return a + b
        """,
    "tests/test_price.py": """
        from shop.price import total

        def test_total():
            assert total(2, 2) == 4
        """,
}


def versions(cache: Path, path: Path) -> set[str]:
    """The cached texts of one file: the entries whose code was compiled from that path."""
    return {entry.name for entry in cache.glob("*/*/*") if str(path).encode() in entry.read_bytes()}


async def outcome(root: Path, cache: Path) -> tuple[Outcome, str]:
    run = await run_tests(root, sys.executable, Selection(whole_project=True), 60, code_cache=cache)
    (result,) = run.results
    return result.outcome, result.message


async def test_each_text_is_compiled_once_and_a_same_size_edit_is_never_served_old_code(make_project,
                                                                                      tmp_path: Path) -> None:
    root = make_project(PROJECT)
    cache = tmp_path / "code"
    price = root / "shop" / "price.py"
    assert await outcome(root, cache) == (Outcome.PASSED, "")
    first = versions(cache, price)
    assert len(first) == 1

    price.write_text(price.read_text().replace("a + b", "a - b"))  # same size, same second: a timestamp
    assert (await outcome(root, cache))[0] is Outcome.FAILED  # .pyc would not see the change
    assert len(versions(cache, price)) == 2

    price.write_text(price.read_text().replace("a - b", "a + b"))  # back to the first text: served from the cache
    assert await outcome(root, cache) == (Outcome.PASSED, "")
    assert len(versions(cache, price)) == 2 and first < versions(cache, price)


async def test_test_modules_are_cached_with_pytest_assertion_rewriting_intact(make_project, tmp_path: Path) -> None:
    root = make_project({**PROJECT, "tests/test_price.py": """
        from shop.price import total

        def test_total():
            assert total(2, 2) == 5
        """})
    cache = tmp_path / "code"
    for _ in range(2):  # compiled, then from the cache: the assert still explains itself
        assert await outcome(root, cache) == (Outcome.FAILED, "AssertionError: assert 4 == 5")
    assert len(versions(cache, root / "tests" / "test_price.py")) == 1


async def test_the_warm_worker_children_share_the_cache(make_project, tmp_path: Path) -> None:
    root = make_project(PROJECT)
    cache = tmp_path / "code"
    worker = PytestWorker(sys.executable, root, pythonpath=[root], code_cache=cache)
    await worker.start()
    try:
        for expected in (Outcome.PASSED, Outcome.FAILED):
            if expected is Outcome.FAILED:
                price = root / "shop" / "price.py"
                price.write_text(price.read_text().replace("a + b", "a * b + 1"))
            run = await worker.run(Selection(whole_project=True), 60)
            assert [r.outcome for r in run.results] == [expected]
    finally:
        await worker.close()
    assert len(versions(cache, root / "shop" / "price.py")) == 2


async def test_an_unusable_cache_only_costs_time(make_project, tmp_path: Path) -> None:
    root = make_project(PROJECT)
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    assert await outcome(root, blocked) == (Outcome.PASSED, "")


async def test_nothing_outside_the_project_is_cached(make_project, tmp_path: Path) -> None:
    root = make_project(PROJECT)
    cache = tmp_path / "code"
    await outcome(root, cache)
    cached = [p.read_bytes() for p in cache.glob("*/*/*")]
    assert len(cached) == 3  # shop/__init__.py, shop/price.py, tests/test_price.py; not pytest, not the plugin
    assert all(str(root).encode() in data for data in cached)


async def test_an_entry_that_is_not_compiled_code_only_costs_time(make_project, tmp_path: Path) -> None:
    """Whatever an entry holds (another program's file, a Python that marshals differently), a run that meets it
    compiles the text itself; a module or test module is never executed from it, nor does the import fail."""
    root = make_project(PROJECT)
    cache = tmp_path / "code"
    await outcome(root, cache)
    entries = list(cache.glob("*/*/*"))
    assert len(entries) == 3
    for entry in entries:
        entry.write_bytes(marshal.dumps(5))
    assert await outcome(root, cache) == (Outcome.PASSED, "")


async def test_a_saved_module_is_compiled_by_the_worker_before_the_run_that_imports_it(make_project,
                                                                                     tmp_path: Path) -> None:
    """The worker compiles what was saved while greenloop selects tests; the run then finds it in the cache."""
    root = make_project({**PROJECT, "shop/broken.py": "def f(:\n"})
    cache = tmp_path / "code"
    price = root / "shop" / "price.py"
    worker = PytestWorker(sys.executable, root, pythonpath=[root], code_cache=cache)
    await worker.start()
    try:
        worker.precompile([root / "shop" / "broken.py", price])
        for _ in range(200):
            if versions(cache, price):
                break
            await asyncio.sleep(0.05)
        (entry,) = cache.glob(f"*/*/{next(iter(versions(cache, price)))}")
        made = entry.stat().st_mtime_ns
        run = await worker.run(Selection(whole_project=True), 60)
        assert [r.outcome for r in run.results] == [Outcome.PASSED]
    finally:
        await worker.close()
    assert versions(cache, price) == {entry.name} and entry.stat().st_mtime_ns == made  # used, not made again
    assert not versions(cache, root / "shop" / "broken.py")  # left to the run that imports it, which reports it
