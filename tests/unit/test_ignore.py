"""What is not source: one rule, shared by the import graph's file listing and the file watcher."""

from __future__ import annotations

import os
import time
from pathlib import Path

from greenloop import project
from greenloop.ignore import FRESH_FOR, Ignorer


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _listed(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in project.iter_python_files(root)}


def _venv(folder: Path) -> None:
    (folder / "lib" / "site-packages" / "dep").mkdir(parents=True)
    (folder / "lib" / "site-packages" / "dep" / "mod.py").write_text("")
    (folder / "pyvenv.cfg").write_text("home = /usr/bin\n")


def test_source_is_listed_and_the_usual_non_source_folders_are_not(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "pkg/__init__.py": "", "pkg/mod.py": "", "tests/test_mod.py": "", "setup.py": "",
        ".git/hooks/hook.py": "", ".hg/x.py": "", "node_modules/lib/x.py": "", "build/lib/pkg/mod.py": "",
        "dist/x.py": "", "pkg/__pycache__/x.py": "", ".mypy_cache/x.py": "", ".tox/py311/x.py": "",
        ".greenloop/state.py": "", "pkg.egg-info/x.py": "", "src/pkg.egg-info/x.py": "",
        ".venv/lib/x.py": "", "venv/lib/x.py": "", "env/x.py": "",
    })
    assert _listed(tmp_path) == {"pkg/__init__.py", "pkg/mod.py", "tests/test_mod.py", "setup.py"}


def test_a_virtual_environment_is_skipped_whatever_its_name(tmp_path: Path) -> None:
    write_files(tmp_path, {"pkg/mod.py": ""})
    _venv(tmp_path / "py311-env")
    _venv(tmp_path / "envs" / "dev")
    (tmp_path / "conda" / "conda-meta").mkdir(parents=True)
    (tmp_path / "conda" / "x.py").write_text("")
    assert _listed(tmp_path) == {"pkg/mod.py"}
    rule = Ignorer(tmp_path)
    assert rule.skips_dir(tmp_path / "py311-env")
    assert rule.skips_dir(tmp_path / "py311-env" / "lib" / "site-packages")
    assert not rule.skips_dir(tmp_path / "envs")
    assert rule.skips_file(tmp_path / "envs" / "dev" / "lib" / "site-packages" / "dep" / "mod.py")


def test_folders_and_files_named_by_the_root_gitignore_are_skipped(tmp_path: Path) -> None:
    write_files(tmp_path, {
        ".gitignore": "generated/\n*_pb2.py\n/scratch.py\nout\n!keep_pb2.py\n",
        "pkg/mod.py": "", "pkg/api_pb2.py": "", "pkg/keep_pb2.py": "", "generated/gen.py": "",
        "pkg/generated/deep.py": "", "scratch.py": "", "pkg/scratch.py": "", "out/x.py": "",
    })
    assert _listed(tmp_path) == {"pkg/mod.py", "pkg/keep_pb2.py", "pkg/scratch.py"}
    rule = Ignorer(tmp_path)
    assert rule.skips_dir(tmp_path / "pkg" / "generated")
    assert rule.skips_file(tmp_path / "pkg" / "api_pb2.py")
    assert not rule.skips_file(tmp_path / "pkg" / "mod.py")
    assert rule.skips_file(tmp_path / "scratch.py") and not rule.skips_file(tmp_path / "pkg" / "scratch.py")


def test_a_nested_gitignore_applies_below_its_folder_and_overrides_the_root_one(tmp_path: Path) -> None:
    write_files(tmp_path, {
        ".gitignore": "*.gen.py\n",
        "a/.gitignore": "local/\n/only_here.py\n!wanted.gen.py\n",
        "a/local/x.py": "", "a/only_here.py": "", "a/sub/only_here.py": "", "a/x.gen.py": "", "a/wanted.gen.py": "",
        "b/local/x.py": "", "b/wanted.gen.py": "",
    })
    assert _listed(tmp_path) == {"a/sub/only_here.py", "a/wanted.gen.py", "b/local/x.py"}


def test_nothing_inside_an_ignored_folder_can_be_re_included(tmp_path: Path) -> None:
    """git's own rule: a negation cannot re-include a file whose folder is excluded."""
    write_files(tmp_path, {".gitignore": "vendor/\n!vendor/keep.py\n", "vendor/keep.py": "", "app.py": ""})
    assert _listed(tmp_path) == {"app.py"}
    assert Ignorer(tmp_path).skips_file(tmp_path / "vendor" / "keep.py")


def test_the_enclosing_repository_gitignore_counts_for_a_project_in_a_subfolder(tmp_path: Path) -> None:
    write_files(tmp_path, {".gitignore": "fixtures/\n", "info.txt": "", "proj/pkg/m.py": "",
                           "proj/fixtures/f.py": "", ".git/info/exclude": "*_local.py\n",
                           "proj/pkg/me_local.py": ""})
    assert _listed(tmp_path / "proj") == {"pkg/m.py"}


def test_a_changed_gitignore_is_read_again(tmp_path: Path) -> None:
    write_files(tmp_path, {".gitignore": "a/\n", "a/x.py": "", "b/y.py": ""})
    rule = Ignorer(tmp_path)
    assert rule.skips_dir(tmp_path / "a") and not rule.skips_dir(tmp_path / "b")
    (tmp_path / ".gitignore").write_text("b/\n")
    later = time.time() + 5  # a different mtime even on a coarse clock
    os.utime(tmp_path / ".gitignore", (later, later))
    assert [folder.path.name for folder in rule.walk()][1:] == ["a"]  # a walk reads it again at once
    rule.refresh()  # single-path verdicts are remembered for a moment, or until told to refresh
    assert not rule.skips_dir(tmp_path / "a") and rule.skips_dir(tmp_path / "b")
    (tmp_path / ".gitignore").unlink()
    time.sleep(FRESH_FOR)
    assert not rule.skips_dir(tmp_path / "b") and not rule.skips_file(tmp_path / "b" / "y.py")


def test_project_files_follow_the_same_rule(tmp_path: Path) -> None:
    write_files(tmp_path, {".gitignore": "ignored/\n", "pkg/mod.py": "", "ignored/mod.py": "", "notes.txt": ""})
    _venv(tmp_path / "myenv")
    assert project.is_project_file(tmp_path, tmp_path / "pkg" / "mod.py")
    assert not project.is_project_file(tmp_path, tmp_path / "ignored" / "mod.py")
    assert not project.is_project_file(tmp_path, tmp_path / "myenv" / "lib" / "site-packages" / "dep" / "mod.py")
    assert not project.is_project_file(tmp_path, tmp_path / "notes.txt")
    assert not project.is_project_file(tmp_path / "pkg", tmp_path / "ignored" / "mod.py")  # outside the root


def test_a_walk_names_the_folders_it_skips_without_entering_them(tmp_path: Path) -> None:
    write_files(tmp_path, {"pkg/mod.py": "", "pkg/__pycache__/mod.pyc": "", "node_modules/a/b.py": ""})
    folders = {folder.path: folder for folder in Ignorer(tmp_path).walk(suffix=None)}
    assert set(folders) == {tmp_path, tmp_path / "pkg"}
    assert folders[tmp_path].dirs == ["pkg"] and folders[tmp_path].skipped == ["node_modules"]
    assert folders[tmp_path / "pkg"].skipped == ["__pycache__"] and folders[tmp_path / "pkg"].files == []
