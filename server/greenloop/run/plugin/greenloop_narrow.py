"""Collect only what was asked for: skip the rest of each directory before pytest looks at it.

greenloop runs pytest on explicit files and node ids. To reach `pkg/sub/tests/test_x.py::test_y`, pytest visits
every directory on the way and asks `pytest_ignore_collect` about each entry there: every sibling file and
folder, although none of them can match the arguments. pytest's own implementation of that hook reads the
conftests' `collect_ignore` lists afresh for every entry (absolute paths for each item, each time); networkx's
root conftest ignores dozens of files, so its first-batch collection spent 0.24 s of 0.71 s there (a forked
child, median of 5; the bulk's 474 tests: 0.59 -> 0.43 s per xdist worker).

This hook answers first, and only for entries that cannot hold a requested test: not an argument, not inside
one, not a folder on the way to one. Everything else goes on to pytest's hook as before, so `collect_ignore`,
`--ignore` and the like still decide for what could be collected. Package `__init__.py` and `conftest.py` files
are always left to pytest (pytest 7 collects a package through its `__init__.py`). With no path arguments (the
whole project, `testpaths`) or `--pyargs`, it does nothing.

Standard library and pytest only (Python 3.8, pytest 7 on): it runs in the project's interpreter.
"""

import os

import pytest

_KEEP = ("__init__.py", "conftest.py")


class Narrow:
    def __init__(self, config):
        self.wanted = set()
        self.on_the_way = set()
        if getattr(config.option, "pyargs", False):
            return
        base = str(config.invocation_params.dir)
        for arg in config.args:
            path = arg.split("::", 1)[0]
            if not path:
                continue
            for form in {os.path.normpath(os.path.join(base, path)), os.path.realpath(os.path.join(base, path))}:
                self.wanted.add(form)
                parent = os.path.dirname(form)
                while parent not in self.on_the_way and parent != os.path.dirname(parent):
                    self.on_the_way.add(parent)
                    parent = os.path.dirname(parent)
                self.on_the_way.add(parent)

    @property
    def active(self):
        return bool(self.wanted)

    def _needed(self, path):
        if path in self.on_the_way or path in self.wanted or os.path.basename(path) in _KEEP:
            return True
        return any(path.startswith(wanted + os.sep) for wanted in self.wanted)

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path, config):
        path = str(collection_path)
        if self._needed(path) or self._needed(os.path.realpath(path)):
            return None  # pytest decides, as it would without us
        return True


def install(config):
    """Register the narrowing hook when the run names the files or tests to collect."""
    narrow = Narrow(config)
    if narrow.active:
        config.pluginmanager.register(narrow, "greenloop-narrow")
