"""The project on disk: where it starts, and which of its files are its Python source."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenloop import project


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", ".git"])
def test_the_nearest_folder_with_a_project_marker_is_the_project_root(tmp_path: Path, marker: str) -> None:
    root = tmp_path / "proj"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / marker).mkdir() if marker == ".git" else (root / marker).write_text("")
    (root / "pkg" / "sub" / "m.py").write_text("")
    assert project.find_project_root(root / "pkg" / "sub" / "m.py") == root.resolve()
    assert project.find_project_root(root / "pkg") == root.resolve()
    assert project.find_root(root / "pkg" / "sub" / "m.py") == root.resolve()


def test_a_file_under_no_marker_has_no_project(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "test_x.py").write_text("")
    assert project.find_project_root(scratch / "test_x.py") is None
    assert project.find_root(scratch / "test_x.py") == scratch.resolve()  # the CLI still checks that folder


def test_a_marker_in_the_home_folder_does_not_make_it_a_project(tmp_path: Path, monkeypatch) -> None:
    """A dotfiles repository in ~ must not turn a scratch file in ~ into a watched, scanned project."""
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)
    (home / "notes").mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert project.find_project_root(home / "scratch.py") is None
    assert project.find_project_root(home / "notes" / "scratch.py") is None
    (home / "work" / "app").mkdir(parents=True)
    (home / "work" / "app" / "pyproject.toml").write_text("")
    assert project.find_project_root(home / "work" / "app" / "m.py") == (home / "work" / "app").resolve()


def test_project_files_are_python_files_inside_the_root_outside_environments(tmp_path: Path) -> None:
    for rel in ("pkg/m.py", "pkg/data.json", ".venv/lib/x.py", "build/lib/pkg/m.py", "tests/test_m.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    assert [p.relative_to(tmp_path.resolve()).as_posix() for p in project.iter_python_files(tmp_path)] == [
        "pkg/m.py", "tests/test_m.py"]
    assert project.is_project_file(tmp_path, tmp_path / "pkg" / "m.py")
    assert not project.is_project_file(tmp_path, tmp_path / "pkg" / "data.json")
    assert not project.is_project_file(tmp_path, tmp_path / ".venv" / "lib" / "x.py")
    assert not project.is_project_file(tmp_path / "pkg", tmp_path / "tests" / "test_m.py")
