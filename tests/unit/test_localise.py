"""Localisation: where in project source the bug most likely is, from real traceback frames and real coverage,
each place widened to its enclosing function."""

from __future__ import annotations

import sys
from pathlib import Path

from greenloop.records import Frame, Outcome, RunResult, Selection, TestResult
from greenloop.repair.propose.localise import MAX_PLACES, localise
from greenloop.run.pytest_runner import run_tests


async def run(root: Path, *source: str) -> RunResult:
    result = await run_tests(root, sys.executable, Selection(whole_project=True), 60, [root / s for s in source])
    assert result.problem is None, result.problem
    return result


def failure(result: RunResult, name: str) -> TestResult:
    return next(r for r in result.results if r.nodeid.endswith("::" + name))


async def test_a_traceback_frame_in_source_ranks_first_deepest_first(make_project) -> None:
    root = make_project({
        "conv/__init__.py": "",
        "conv/parse.py": """
            def parse_pair(text):
                left, right = text.split(",")
                return to_int(left), to_int(right)


            def to_int(text):
                digits = text.strip()
                return int(digits, 8)
            """,
        "tests/test_parse.py": """
            from conv.parse import parse_pair


            def test_pair():
                assert parse_pair("9, 10") == (9, 10)
            """,
    }).resolve()
    result = await run(root, "conv/parse.py")
    target = failure(result, "test_pair")
    places = localise(root, [target], result.results)
    source = root / "conv" / "parse.py"
    assert [(p.path, p.line, p.scope, p.start, p.end) for p in places[:2]] == [
        (source, 8, "function to_int", 6, 8),
        (source, 3, "function parse_pair", 1, 3),
    ]
    assert places[0].why == "in the traceback of tests/test_parse.py::test_pair"
    assert all(p.path == source for p in places), "no place in the test file or outside the project"


async def test_a_failure_without_a_source_frame_points_at_the_line_only_failing_tests_ran(make_project) -> None:
    root = make_project({
        "shop/__init__.py": "",
        "shop/pricing.py": """
            def discount(total, percent):
                if percent < 0:
                    raise ValueError("negative")
                if percent > 50:
                    return total - total * percent // 10
                return total - total * percent // 100
            """,
        "tests/test_pricing.py": """
            from shop.pricing import discount


            def test_small_discount():
                assert discount(1000, 10) == 900


            def test_big_discount():
                assert discount(1000, 60) == 400
            """,
    }).resolve()
    result = await run(root, "shop/pricing.py")
    target = failure(result, "test_big_discount")
    assert target.outcome is Outcome.FAILED
    places = localise(root, [target], result.results)
    assert places, "coverage alone must give a place"
    top = places[0]
    assert (top.path, top.line) == (root / "shop" / "pricing.py", 5)
    assert (top.scope, top.start, top.end) == ("function discount", 1, 6)
    assert top.why.startswith("most suspicious by coverage (Ochiai 1.00: 1 failing, 0 passing")


async def test_places_are_widened_to_the_enclosing_method_not_the_whole_class(make_project) -> None:
    root = make_project({
        "shop/__init__.py": "",
        "shop/cart.py": """
            class Cart:
                def __init__(self):
                    self.items = []

                def add(self, price):
                    self.items.append(price)

                def total(self):
                    return sum(self.items) / 0
            """,
        "tests/test_cart.py": """
            from shop.cart import Cart


            def test_total():
                cart = Cart()
                cart.add(3)
                assert cart.total() == 3
            """,
    }).resolve()
    result = await run(root, "shop/cart.py")
    [place, *_] = localise(root, [failure(result, "test_total")], result.results)
    assert (place.line, place.scope, place.start, place.end) == (9, "function Cart.total", 8, 9)


async def test_a_module_level_line_is_shown_with_a_window_around_it(make_project) -> None:
    root = make_project({
        "cfg/__init__.py": "",
        "cfg/limits.py": "".join(f"LIMIT_{n} = {n}\n" for n in range(1, 30)) + "RATIO = LIMIT_1 / 0\n",
        "tests/test_limits.py": """
            def test_import():
                import cfg.limits
            """,
    }).resolve()
    result = await run(root, "cfg/limits.py")
    [place, *_] = localise(root, [failure(result, "test_import")], result.results)
    assert (place.path, place.line, place.scope) == (root / "cfg" / "limits.py", 30, "module")
    assert place.start <= 30 <= place.end and place.end - place.start <= 40


def test_frames_in_tests_conftest_and_outside_the_project_are_not_places(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    for rel in ("tests/test_x.py", "conftest.py", ".venv/lib/site.py", "pkg/mod.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("def f():\n    return 1\n")
    frames = [Frame(Path(sys.executable), 1), Frame(root / ".venv/lib/site.py", 2), Frame(root / "conftest.py", 2),
              Frame(root / "tests/test_x.py", 2), Frame(root / "pkg/mod.py", 2)]
    result = TestResult("tests/test_x.py::test_x", Outcome.FAILED, frames=frames)
    places = localise(root, [result], [result])
    assert [(p.path, p.line, p.scope) for p in places] == [(root / "pkg/mod.py", 2, "function f")]


def test_no_evidence_gives_no_places(tmp_path: Path) -> None:
    result = TestResult("tests/test_x.py::test_x", Outcome.FAILED)
    assert localise(tmp_path, [result], [result]) == []


def test_at_most_a_few_places_one_per_scope(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    source = root / "m.py"
    source.write_text("".join(f"def f{n}():\n    return {n}\n\n\n" for n in range(10)))
    frames = [Frame(source, 2 + 4 * n) for n in range(10)] + [Frame(source, 2), Frame(source, 2)]
    places = localise(root, [TestResult("t.py::test", Outcome.FAILED, frames=frames)], [])
    assert len(places) == MAX_PLACES
    assert len({(p.start, p.end) for p in places}) == len(places)
