"""How a check's tests are split: what runs first in the warm worker, what is spread over the cores."""

from __future__ import annotations

from pathlib import Path

from greenloop.records import Selection
from greenloop.run.scheduler import plan

IDS = [
    "pkg/tests/test_mirror.py::test_a",
    "pkg/tests/test_mirror.py::TestGroup::test_b[1-2]",
    "pkg/tests/test_other.py::test_c",
    "pkg/tests/test_other.py::TestKeep::test_d",
    "pkg/tests/deep/test_deep.py::test_e",
    "pkg/tests/test_other.py::test_failed_last_time",
    "pkg/tests/test_mirror_more.py::test_f",
]


def test_tests_named_first_by_file_class_folder_or_id_run_first_and_the_rest_keeps_its_order(tmp_path: Path) -> None:
    selection = Selection(nodeids=list(IDS), first=[
        "pkg/tests/test_mirror.py", "pkg/tests/test_other.py::TestKeep", "pkg/tests/deep",
        "pkg/tests/test_other.py::test_failed_last_time"])

    steps = plan(tmp_path, selection, estimate=60.0, cores=2)

    assert steps.spread
    assert steps.first.nodeids == [IDS[0], IDS[1], IDS[3], IDS[4], IDS[5]]
    assert steps.rest.nodeids == [IDS[2], IDS[6]], "a file whose name only begins like a first one is not first"


def test_test_files_selected_whole_go_first_when_named_and_never_run_twice(tmp_path: Path) -> None:
    mirror, other = tmp_path / "tests" / "test_mirror.py", tmp_path / "tests" / "test_other.py"
    selection = Selection(paths=[mirror, other], nodeids=["tests/test_x.py::test_y"], first=["tests/test_mirror.py"])

    steps = plan(tmp_path, selection, estimate=60.0, cores=2)

    assert steps.first.paths == [mirror] and steps.first.nodeids == []
    assert steps.rest.paths == [other] and steps.rest.nodeids == ["tests/test_x.py::test_y"]


def test_a_short_check_or_a_single_core_runs_everything_in_one_batch(tmp_path: Path) -> None:
    selection = Selection(nodeids=list(IDS), first=["pkg/tests/test_mirror.py"])

    for steps in (plan(tmp_path, selection, estimate=0.5, cores=2), plan(tmp_path, selection, estimate=60.0, cores=1)):
        assert not steps.spread and steps.first.empty
        assert steps.rest.nodeids == IDS
