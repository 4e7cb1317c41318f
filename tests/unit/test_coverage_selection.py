"""Selection by recorded coverage: a test is affected when it executed a function that changed since."""

from pathlib import Path

from greenloop.records import Outcome, TestResult
from greenloop.select.affected import affected_tests
from greenloop.select.coverage import CoverageStore
from greenloop.select.fingerprint import fingerprint
from greenloop.select.recording import records

LIB = """\
def double(x):
    return 2 * x


def half(x):
    return x / 2


SCALE = 10
"""


def ran(root: Path, nodeid: str, *functions: str, duration: float = 0.1) -> TestResult:
    lib = root / "lib.py"
    prints = fingerprint(lib.read_bytes())
    hits = [(str(lib), name, prints.functions[name].start_line) for name in functions]
    return TestResult(nodeid=nodeid, outcome=Outcome.PASSED, duration=duration, functions=hits)


def recorded(tmp_path: Path) -> tuple[Path, CoverageStore]:
    root = tmp_path
    (root / "lib.py").write_text(LIB)
    store = CoverageStore.open(root)
    results = [ran(root, "tests/test_lib.py::test_double", "double"),
               ran(root, "tests/test_lib.py::test_both", "double", "half"),
               ran(root, "tests/test_other.py::test_nothing")]
    store.record(records(root, results, started_ns=2**62))
    store.set_skeletons({"lib.py": fingerprint((root / "lib.py").read_bytes()).skeleton})
    return root, store


def edit(root: Path, old: str, new: str) -> Path:
    lib = root / "lib.py"
    lib.write_text(lib.read_text().replace(old, new))
    return lib


def test_tests_that_executed_a_changed_function_are_selected_and_no_others(tmp_path: Path) -> None:
    root, store = recorded(tmp_path)
    lib = edit(root, "x / 2", "x // 2")
    affected = affected_tests(store, root, [lib])
    assert affected.tests == {"tests/test_lib.py::test_both": "tests/test_lib.py::test_both executed half in "
                                                              "lib.py, which changed"}
    assert affected.sure == [lib] and not affected.unsure


def test_an_unchanged_text_selects_nothing(tmp_path: Path) -> None:
    root, store = recorded(tmp_path)
    lib = edit(root, "return 2 * x", "return 2 * x  # doubled")
    assert affected_tests(store, root, [lib]).tests == {}


def test_removing_a_function_changes_the_module_level_and_is_left_to_the_import_graph(tmp_path: Path) -> None:
    root, store = recorded(tmp_path)
    lib = edit(root, "def half(x):\n    return x / 2\n", "")
    affected = affected_tests(store, root, [lib])
    assert lib in affected.unsure  # removing a def changes the module-level skeleton: the import graph decides


def test_a_module_level_change_is_left_to_the_import_graph(tmp_path: Path) -> None:
    root, store = recorded(tmp_path)
    lib = edit(root, "SCALE = 10", "SCALE = 11")
    affected = affected_tests(store, root, [lib])
    assert affected.unsure == {lib: "module-level code or a class body of lib.py changed"}
    assert affected.tests == {}


def test_without_coverage_data_everything_is_unsure(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text(LIB)
    affected = affected_tests(CoverageStore.open(tmp_path), tmp_path, [tmp_path / "lib.py"])
    assert affected.unsure == {tmp_path / "lib.py": "no coverage data yet"}


def test_a_file_changed_during_the_run_keeps_its_tests_selected_until_they_run_again(tmp_path: Path) -> None:
    root = tmp_path
    (root / "lib.py").write_text(LIB)
    store = CoverageStore.open(root)
    result = ran(root, "tests/test_lib.py::test_double", "double")
    store.record(records(root, [result], started_ns=0))  # every file is newer than this run's start
    store.set_skeletons({"lib.py": fingerprint((root / "lib.py").read_bytes()).skeleton})
    assert set(affected_tests(store, root, [root / "lib.py"]).tests) == {"tests/test_lib.py::test_double"}
    store.record(records(root, [result], started_ns=2**62))  # it ran again on the current text
    assert affected_tests(store, root, [root / "lib.py"]).tests == {}


def test_rerecording_a_test_replaces_what_it_executed(tmp_path: Path) -> None:
    root, store = recorded(tmp_path)
    store.record(records(root, [ran(root, "tests/test_lib.py::test_both", "double")], started_ns=2**62))
    lib = edit(root, "x / 2", "x // 2")
    assert affected_tests(store, root, [lib]).tests == {}
    assert store.recorded_test_files() == {"tests/test_lib.py", "tests/test_other.py"}
    assert store.durations(["tests/test_lib.py::test_both"]) == {"tests/test_lib.py::test_both": 0.1}


def test_a_file_rewritten_while_its_fingerprint_is_read_keeps_its_tests_selected(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    """An editor saves by truncating and writing: a read in between sees half the file. The functions missing from
    that half must not lose their hits (the test would never be selected by their changes again)."""
    root = tmp_path
    lib = root / "lib.py"
    lib.write_text(LIB)
    result = ran(root, "tests/test_lib.py::test_both", "double", "half")
    real_read = Path.read_bytes

    def read_during_a_save(self: Path) -> bytes:
        data = real_read(self)
        if self == lib:
            self.write_text(LIB + "\n\n")  # the save lands between the check of the file and its read...
            return data[: len(data) // 3]  # ...and the read saw only its first part
        return data

    monkeypatch.setattr(Path, "read_bytes", read_during_a_save)
    (record,) = records(root, [result], started_ns=2**62)
    monkeypatch.undo()
    assert {(name, print_) for _, name, print_ in record.functions} == {("double", "?"), ("half", "?")}


def test_a_file_that_does_not_parse_after_the_run_records_its_hits_as_unknown(tmp_path: Path) -> None:
    root = tmp_path
    (root / "lib.py").write_text(LIB)
    result = ran(root, "tests/test_lib.py::test_both", "double", "half")
    (root / "lib.py").write_text(LIB.replace("def half(x):", "def half(x:"))
    (record,) = records(root, [result], started_ns=2**62)
    assert {(name, print_) for _, name, print_ in record.functions} == {("double", "?"), ("half", "?")}


def test_a_save_caught_mid_truncation_keeps_the_hits_of_the_functions_it_hides(tmp_path: Path) -> None:
    """A save opens the file with O_TRUNC: for a moment it is empty while its mtime is still the old one, so it
    looks unchanged since the run. The functions the test executed are missing from it: unknown, never dropped."""
    root = tmp_path
    lib = root / "lib.py"
    lib.write_text(LIB)
    result = ran(root, "tests/test_lib.py::test_both", "double", "half")
    lib.write_text("")
    (record,) = records(root, [result], started_ns=2**62)  # the empty file's mtime is older than this run's start
    assert {(name, print_) for _, name, print_ in record.functions} == {("double", "?"), ("half", "?")}


def test_module_level_and_class_body_code_are_not_function_hits(tmp_path: Path) -> None:
    root = tmp_path
    lib = root / "lib.py"
    lib.write_text(LIB + "\n\nclass Config:\n    key = (lambda: 1)()\n\n    def get(self):\n        return self.key\n")
    executed = [(str(lib), "<module>", 1), (str(lib), "Config", 24), (str(lib), "Config.<lambda>", 25),
                (str(lib), "<genexpr>", 20), (str(lib), "Config.get", 27)]
    result = TestResult(nodeid="tests/test_lib.py::test_config", outcome=Outcome.PASSED, duration=0.1,
                        functions=executed)
    (record,) = records(root, [result], started_ns=2**62)
    assert {name for _, name, _ in record.functions} == {"Config.get"}
    assert "?" not in {print_ for _, _, print_ in record.functions}
