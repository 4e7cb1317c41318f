"""A tiny fork server for the "warm floor": pytest runs in a child forked from an interpreter that is already up.

Runs inside the project's venv (`VENV/bin/python warm_server.py`, cwd = the project root) and imports nothing of
the benchmark. The parent imports pytest and what the venv's pytest plugins depend on (never project code,
which the benchmark edits), then serves one request per stdin line: a JSON list of pytest arguments. For each, it
forks; the child runs `pytest.main(args)` with its output sent to /dev/null and writes its outcomes to a pipe;
the parent answers one JSON line on stdout. The benchmark times request to answer, so the figure includes
everything a warm on-save runner must do except choosing the tests.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import re
import sys
from importlib.metadata import distribution, entry_points

import pytest


class Outcomes:
    """Counts per outcome and the ids of failed tests, as a pytest plugin in the child."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:  # noqa: ANN001 (pytest's TestReport)
        if report.failed:
            if report.nodeid not in self.failed:
                self.failed.append(report.nodeid)
                self.counts["failed"] = self.counts.get("failed", 0) + 1
        elif report.when == "call" or report.skipped:
            key = "skipped" if report.skipped else "passed"
            if not getattr(report, "context", None):  # subtest reports carry a context: count tests only
                self.counts[key] = self.counts.get(key, 0) + 1


def _warm_plugins() -> None:
    """Import what the venv's pytest plugins depend on (coverage for testmon, execnet for xdist...), not the
    plugins themselves: pytest marks a plugin's own modules for assertion rewriting and warns when they are
    already imported, and a project with `filterwarnings = error` (networkx) turns that warning into a failure."""
    plugin_dists = {entry.dist.name for entry in entry_points(group="pytest11") if entry.dist is not None}
    for dist in plugin_dists:
        for requirement in distribution(dist).requires or []:
            if ";" in requirement:
                continue  # an extra or a platform-specific requirement
            name = re.split(r"[<>=!~\[ (]", requirement, maxsplit=1)[0].strip().lower().replace("-", "_")
            if name in plugin_dists or name == "pytest":
                continue
            try:
                importlib.import_module(name)
            except Exception:  # not importable under that name: the child imports it as usual
                pass


def _serve_one(args: list[str]) -> dict:
    gc.freeze()  # the child's collections then skip the parent's objects (no copy-on-write of their pages)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, and leave without running the parent's cleanup
        os.close(read_end)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        outcomes = Outcomes()
        code = 3
        try:
            code = int(pytest.main(args, plugins=[outcomes]))
        finally:
            with os.fdopen(write_end, "w") as out:
                json.dump({"exit": code, "counts": outcomes.counts, "failed": outcomes.failed}, out)
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        raw = pipe.read()
    os.waitpid(pid, 0)
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return {"exit": None, "counts": {}, "failed": [], "error": "the child died before reporting"}


def main() -> None:
    _warm_plugins()
    sys.stdout.write(json.dumps({"ready": True, "python": sys.version.split()[0]}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = _serve_one(json.loads(line))
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
