"""A failure with no traceback frame in the saved source is placed by a traced re-run of just that test (and a few
passing ones). When the check runs a warm first batch and a bulk over the cores, the re-run of a failure from the
first batch starts as soon as that batch is done: its placement reaches the editor while the bulk still runs."""

import os
import sys

import pytest

from greenloop.config import Settings
from greenloop.engine import CheckReport, Engine

SLOW_TESTS = 8
PROJECT = {
    "pkg/__init__.py": "",
    "pkg/calc.py": """
        def scale(x):
            return 3 * x
        """,
    "tests/test_calc.py": """
        from pkg.calc import scale


        def test_scale():
            assert scale(2) == 6


        def test_scale_zero():
            assert scale(0) == 0
        """,
    "tests/test_slow.py": f"""
        import time

        import pytest

        from pkg.calc import scale


        @pytest.mark.parametrize("n", range({SLOW_TESTS}))
        def test_slow(n):
            time.sleep(0.7)
            assert scale(0) == 0
        """,
}
SETTINGS = Settings(python=sys.executable, type_checker="off", watch=False, test_timeout=10)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the bulk is spread over the cores only with two or more")
async def test_a_first_batch_failure_is_placed_by_its_traced_rerun_while_the_bulk_still_runs(make_project) -> None:
    root = make_project(PROJECT)
    engine = Engine(root, SETTINGS)
    calc = root / "pkg/calc.py"
    placed_at: list[int] = []  # results streamed so far when the placement on the source line was first seen

    def on_update(report: CheckReport) -> None:
        if not placed_at and any(f.path == calc and f.line == 2 for f in report.findings):
            placed_at.append(report.results_so_far)

    try:
        await engine.check(None)  # records what each test executes and how long it takes: the bulk is ~5.6 s
        await engine.recorded()
        calc.write_text(calc.read_text().replace("3 * x", "4 * x"))
        report = await engine.check([calc], on_update=on_update)
    finally:
        await engine.close()
    assert report.run is not None and len(report.run.results) == SLOW_TESTS + 2
    failed = [f for f in report.findings if f.path == calc]
    assert [f.line for f in failed] == [2]  # `return 4 * x`: the test's traceback has no frame in calc.py
    assert placed_at and placed_at[0] < SLOW_TESTS + 2  # placed before the bulk's last result came in
