"""Typed owners of findings: which run replaces which findings, and which failures are re-run by node id."""

from pathlib import Path

from greenloop.diagnose.current import CurrentFindings
from greenloop.diagnose.placement import place
from greenloop.records import (
    CollectionOwner, Finding, Frame, Outcome, Selection, TestOwner, TestResult, TypesOwner, run_owner,
)


def test_a_node_id_names_a_test_or_a_collection_unit() -> None:
    assert run_owner("tests/test_a.py::test_b[1]") == TestOwner("tests/test_a.py::test_b[1]")
    assert run_owner("tests/test_a.py::TestB") == TestOwner("tests/test_a.py::TestB")
    assert TestOwner("tests/test_a.py::test_b[1]").file == TestOwner("tests/test_a.py::TestB").file == "tests/test_a.py"
    assert run_owner("tests/test_a.py") == CollectionOwner("tests/test_a.py", conftest=False)
    assert run_owner("/project/tests/conftest.py") == CollectionOwner("/project/tests/conftest.py", conftest=True)


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_b():\n    assert False\n")
    (tmp_path / "tests" / "test_c.py").write_text("import nothing_here\n")
    (tmp_path / "tests" / "conftest.py").write_text("raise ImportError\n")
    return tmp_path


def _results(root: Path) -> list[TestResult]:
    tests = root / "tests"
    return [
        TestResult(nodeid="tests/test_a.py::test_b", outcome=Outcome.FAILED, path=tests / "test_a.py", line=1,
                   frames=[Frame(tests / "test_a.py", 2, "test_b")], message="AssertionError"),
        TestResult(nodeid="tests/test_c.py", outcome=Outcome.ERROR, when="collect", path=tests / "test_c.py",
                   frames=[Frame(tests / "test_c.py", 1, "<module>")], message="ModuleNotFoundError"),
        TestResult(nodeid=str(tests / "conftest.py"), outcome=Outcome.ERROR, when="conftest",
                   path=tests / "conftest.py", frames=[Frame(tests / "conftest.py", 1, "<module>")],
                   message="ImportError"),
    ]


def _current(root: Path) -> CurrentFindings:
    current = CurrentFindings(root)
    for result in _results(root):
        current.replace(run_owner(result.nodeid), place(root, result, [result]))
    return current


def test_each_result_files_its_findings_under_its_own_owner(tmp_path: Path) -> None:
    root = _project(tmp_path)
    current = _current(root)
    assert set(current.tests) == {TestOwner("tests/test_a.py::test_b"),
                                  CollectionOwner("tests/test_c.py", conftest=False),
                                  CollectionOwner(str(root / "tests" / "conftest.py"), conftest=True)}
    assert all(f.owner == owner for owner, group in current.tests.items() for f in group)
    # Findings another owner produced are not filed under this one.
    current.replace(TestOwner("tests/test_a.py::test_x"), current.all())
    assert len(current.tests) == 3


def test_only_failed_tests_are_rerun_by_node_id(tmp_path: Path) -> None:
    root = _project(tmp_path)
    assert _current(root).last_failed() == {"tests/test_a.py::test_b": {(root / "tests" / "test_a.py").resolve()}}


def test_a_run_drops_what_it_judged_again_and_did_not_reproduce(tmp_path: Path) -> None:
    root = _project(tmp_path)
    tests = root / "tests"

    current = _current(root)  # a run of another file judges only the conftest again
    current.settle(Selection(paths=[tests / "test_other.py"]), set())
    assert {o.nodeid for o in current.tests} == {"tests/test_a.py::test_b", "tests/test_c.py"}

    current = _current(root)  # a run of the files, without the test that failed: it ran, so it passed or is gone
    current.settle(Selection(paths=[tests / "test_a.py", tests / "test_c.py"]), set())
    assert current.tests == {}

    current = _current(root)  # a failure reproduced stays; a test re-run by node id is judged
    current.settle(Selection(nodeids=["tests/test_a.py::test_b"]), {"tests/test_c.py"})
    assert {o.nodeid for o in current.tests} == {"tests/test_c.py"}

    current = _current(root)
    current.settle(Selection(whole_project=True), {"tests/test_a.py::test_b"})
    assert {o.nodeid for o in current.tests} == {"tests/test_a.py::test_b"}


def test_type_findings_and_notes_are_kept_by_file_not_by_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    current = _current(root)
    typed = Finding(path=root / "lib.py", line=1, message="bad", owner=TypesOwner(root / "lib.py"))
    current.types[typed.path] = [typed]
    current.settle(Selection(whole_project=True), set())
    assert current.all() == [typed]
