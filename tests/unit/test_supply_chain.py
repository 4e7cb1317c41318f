"""What greenloop installs is exactly what we reviewed: every dependency pinned, every installed package at its
locked version, no compromised litellm, and no unexpected `.pth` file (code that runs at every Python start, the
way the compromised litellm 1.82.8 stole credentials)."""

from __future__ import annotations

import re
import site
import sys
import tomllib
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPROMISED_LITELLM = {"1.82.7", "1.82.8"}
# .pth files a fresh install of greenloop's dev set-up creates, and what each may contain.
EXPECTED_PTH = {
    "distutils-precedence.pth": re.compile(r"import os; var = 'SETUPTOOLS_USE_DISTUTILS'; .*"),  # setuptools
    "__editable__.greenloop-0.1.0.pth": re.compile(re.escape(str(REPO / "server"))),  # `pip install -e .`
}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _lock() -> dict[str, str]:
    lines = (REPO / "requirements.lock").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {_name(name): version for name, version in pairs}


def test_every_dependency_and_extra_is_pinned_to_one_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    loose = [r for r in requirements if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.]*", r)]
    assert loose == []


def test_the_lock_holds_every_direct_dependency_at_its_pinned_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lock = _lock()
    requirements = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values()
                                                    for r in extra]
    assert [r for r in requirements if lock.get(_name(r)) != r.split("==")[1]] == []


def test_every_installed_package_is_at_its_locked_version() -> None:
    lock = _lock()
    installed = {_name(d.metadata["Name"]): d.version for d in metadata.distributions()
                 if d.metadata["Name"] and _name(d.metadata["Name"]) != "greenloop"}
    unlocked = {name: version for name, version in installed.items()
                if name not in lock and name not in ("pip", "setuptools", "wheel")}
    different = {name: (version, lock[name]) for name, version in installed.items()
                 if name in lock and lock[name] != version}
    assert unlocked == {} and different == {}


def test_no_compromised_litellm_is_installed_or_locked() -> None:
    assert metadata.version("litellm") not in COMPROMISED_LITELLM
    assert _lock()["litellm"] not in COMPROMISED_LITELLM


def test_no_unexpected_pth_file_is_in_the_environment() -> None:
    assert sys.prefix != sys.base_prefix, "the tests run in the project's venv"
    folders = {Path(p) for p in site.getsitepackages() if Path(p).is_relative_to(sys.prefix)}
    found = {path.name: path.read_text() for folder in folders for path in folder.glob("*.pth")}
    unexpected = sorted(set(found) - set(EXPECTED_PTH))
    altered = sorted(name for name, text in found.items()
                     if name in EXPECTED_PTH and not all(EXPECTED_PTH[name].fullmatch(line)
                                                         for line in text.splitlines() if line.strip()))
    assert unexpected == [] and altered == []
