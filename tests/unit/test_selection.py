"""Test selection: the import graph finds the tests a change can affect, and says why."""

from pathlib import Path

from greenloop.select import selector
from greenloop.select.graph import ImportGraph
from greenloop.select.imports import ImportRef, read_imports

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/core.py": "VALUE = 1\n",
    "pkg/util.py": "from .core import VALUE\n",
    "pkg/api.py": "from pkg import util\n",
    "pkg/lazy.py": "def load():\n    import pkg.core\n",
    "tests/conftest.py": "",
    "tests/test_api.py": "from pkg.api import *\n",
    "tests/test_core.py": "import pkg.core as c\n",
    "tests/test_other.py": "import json\n",
    "tests/sub/test_lazy.py": "from pkg import lazy\n",
}


def build(make_project, files=PROJECT) -> ImportGraph:
    root = make_project(files)
    graph = ImportGraph(root)
    graph.build()
    return graph


def names(root: Path, paths) -> list[str]:
    return sorted(str(Path(p).relative_to(root)) for p in paths)


def test_import_statements_are_read_wherever_they_are() -> None:
    source = b"import os, a.b as c\nfrom . import x\nfrom ..m.n import y as z, w\nfrom q import *\n" \
             b"def f():\n    import inner\ntry:\n    import fast\nexcept ImportError:\n    pass\n"
    assert read_imports(source) == [
        ImportRef("os"), ImportRef("a.b"), ImportRef("", ("x",), 1), ImportRef("m.n", ("y", "w"), 2),
        ImportRef("q", ("*",), 0), ImportRef("inner"), ImportRef("fast"),
    ]


def test_broken_source_still_yields_its_imports() -> None:
    assert ImportRef("good") in read_imports(b"import good\ndef broken(:\n")


def test_relative_imports_resolve_against_the_package() -> None:
    assert ImportRef("core", ("X",), 1).candidates("pkg.sub") == ["pkg.sub.core.X", "pkg.sub.core", "pkg.sub", "pkg"]
    assert ImportRef("", ("x",), 2).candidates("pkg.sub") == ["pkg.x", "pkg"]
    assert ImportRef("", ("x",), 3).candidates("pkg") == []


def test_a_saved_source_file_selects_direct_and_transitive_importers(make_project) -> None:
    graph = build(make_project)
    selection = selector.select(graph, [graph.root / "pkg/core.py"])
    assert names(graph.root, selection.paths) == [
        "tests/sub/test_lazy.py", "tests/test_api.py", "tests/test_core.py"]
    why = selection.reasons["tests/test_api.py"]
    assert why == ("tests/test_api.py imports pkg/core.py "
                   "(via tests/test_api.py -> pkg/api.py -> pkg/util.py -> pkg/core.py)")


def test_a_package_init_affects_everything_imported_through_it(make_project) -> None:
    graph = build(make_project)
    selection = selector.select(graph, [graph.root / "pkg/__init__.py"])
    assert "tests/test_other.py" not in names(graph.root, selection.paths)
    assert "tests/test_core.py" in names(graph.root, selection.paths)


def test_a_saved_test_file_selects_itself_only(make_project) -> None:
    graph = build(make_project)
    selection = selector.select(graph, [graph.root / "tests/test_other.py"])
    assert names(graph.root, selection.paths) == ["tests/test_other.py"]
    assert selector.explain(selection) == ["selected tests/test_other.py is the saved test file"]


def test_a_conftest_selects_the_tests_below_it(make_project) -> None:
    graph = build(make_project)
    selection = selector.select(graph, [graph.root / "tests/conftest.py"])
    assert len(selection.paths) == 4


def test_project_configuration_selects_everything(make_project) -> None:
    graph = build(make_project)
    selection = selector.select(graph, [graph.root / "pyproject.toml"])
    assert selection.whole_project and not selection.paths


def test_a_file_no_test_imports_selects_nothing(make_project) -> None:
    graph = build(make_project, {**PROJECT, "scripts/tool.py": "print('hi')\n"})
    selection = selector.select(graph, [graph.root / "scripts/tool.py"])
    assert selection.empty
    assert selector.explain(selection) == [
        "no tests selected: no recorded test executed a changed function, and no test file imports a changed "
        "file that coverage cannot decide for"]


def test_tests_that_failed_last_time_are_rerun_when_a_file_they_touched_changes(make_project) -> None:
    graph = build(make_project)
    data = graph.root / "pkg/data.py"
    data.write_text("X = 1\n")
    graph.update(data)
    last_failed = {"tests/test_other.py::test_reads_data": {data.resolve()}}
    selection = selector.select(graph, [data], last_failed)
    assert selection.nodeids == ["tests/test_other.py::test_reads_data"]
    assert "failed last time in pkg/data.py" in selection.reasons["tests/test_other.py::test_reads_data"]


def test_the_graph_follows_edits_one_file_at_a_time(make_project) -> None:
    graph = build(make_project)
    root = graph.root
    assert "tests/test_other.py" not in names(root, selector.select(graph, [root / "pkg/core.py"]).paths)
    (root / "tests/test_other.py").write_text("import json\nfrom pkg import core\n")
    assert graph.update(root / "tests/test_other.py")
    assert "tests/test_other.py" in names(root, selector.select(graph, [root / "pkg/core.py"]).paths)


def test_new_and_deleted_files_change_what_resolves(make_project) -> None:
    graph = build(make_project, {**PROJECT, "tests/test_new.py": "from pkg import fresh\n"})
    root = graph.root
    fresh = root / "pkg/fresh.py"
    fresh.write_text("")
    graph.update(fresh)
    assert names(root, selector.select(graph, [fresh]).paths) == ["tests/test_new.py"]
    fresh.unlink()
    graph.update(fresh)
    assert fresh not in graph
    assert graph.importers_of(fresh) == set()


def test_src_layout_modules_resolve(make_project) -> None:
    graph = build(make_project, {
        "src/lib/__init__.py": "", "src/lib/core.py": "", "tests/test_lib.py": "from lib.core import thing\n"})
    selection = selector.select(graph, [graph.root / "src/lib/core.py"])
    assert names(graph.root, selection.paths) == ["tests/test_lib.py"]


def test_environments_and_caches_are_not_part_of_the_graph(make_project) -> None:
    graph = build(make_project, {**PROJECT, ".venv/lib/site.py": "", "node_modules/x.py": "", "build/b.py": ""})
    assert not any(part in {".venv", "node_modules", "build"} for f in graph.files for part in f.parts)
