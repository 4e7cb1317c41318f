#!/usr/bin/env python3
"""Check every bug of the corpus: the correct project is green, the bug turns its visible tests red.

For each project (a directory holding pyproject.toml):
  * visible + hidden tests all pass on the correct code.
For each bugs/<id>.toml:
  * the metadata is well-formed and names an existing project and existing files;
  * every `fixed` text occurs exactly once in its file when it is applied, and every `buggy`
    text occurs exactly once afterwards (so the reference fix, buggy -> fixed, is unambiguous);
  * the buggy project still compiles and its package imports;
  * at least one visible test fails, with no collection or import errors;
  * a bug with several edits needs all of them: undoing any one edit alone leaves a visible test failing;
  * reported, not required: whether the hidden tests also fail on the buggy code.

Usage: python verify.py [--python PYTHON] [--jobs N] [bug-id ...]
Exit status 0 when everything verifies, 1 otherwise. Standard library only.
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
BUGS = CORPUS / "bugs"
KINDS = {"single-file", "multi-file"}
CATEGORIES = {"comparison", "off-by-one", "wrong-variable", "swapped-arguments", "negation", "arithmetic",
              "return-value", "missing-guard", "deleted-statement", "other"}
TIMEOUT = 30


@dataclass
class Run:
    rc: int
    tests: int = 0
    failures: int = 0
    errors: int = 0
    output: str = ""

    @property
    def failed(self):
        return self.failures + self.errors


@dataclass
class Result:
    bug_id: str
    project: str = "?"
    kind: str = "?"
    category: str = "?"
    visible: Run | None = None
    hidden: Run | None = None
    problems: list = field(default_factory=list)


def projects():
    return sorted(p.parent.name for p in CORPUS.glob("*/pyproject.toml"))


def package_of(project_dir):
    pkgs = [p.parent.name for p in project_dir.glob("*/__init__.py") if p.parent.name not in ("tests", "hidden")]
    return pkgs[0] if len(pkgs) == 1 else None


def copy_project(project, dest):
    shutil.copytree(CORPUS / project, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))


def pytest(python, root, paths):
    """Run pytest on `paths` under `root`, read the counts back from a JUnit XML report."""
    report = root / ".report.xml"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no", f"--junitxml={report}", *paths]
    try:
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Run(rc=-1, output="timeout")
    run = Run(rc=done.returncode, output=done.stdout[-3000:] + done.stderr[-2000:])
    if report.exists():
        for suite in ET.parse(report).getroot().iter("testsuite"):
            run.tests += int(suite.get("tests", 0))
            run.failures += int(suite.get("failures", 0))
            run.errors += int(suite.get("errors", 0))
        report.unlink()
    return run


def hidden_files(root):
    return sorted((root / "hidden").glob("test_hidden_*.py"))


def install_hidden(root):
    """Copy hidden tests into tests/, as the judge does; return their paths relative to root."""
    names = []
    for src in hidden_files(root):
        dest = root / "tests" / src.name
        if dest.exists():
            raise RuntimeError(f"hidden test {src.name} collides with a visible test file")
        shutil.copy(src, dest)
        names.append(f"tests/{src.name}")
    return names


def check_project(python, project):
    """Problems with the correct project (empty list when it is green)."""
    problems = []
    src = CORPUS / project
    if package_of(src) is None:
        problems.append("expected exactly one package directory")
    if not list((src / "tests").glob("test_*.py")):
        problems.append("no visible tests")
    if not hidden_files(src):
        problems.append("no hidden tests")
    with tempfile.TemporaryDirectory(prefix=f"corpus-{project}-") as tmp:
        root = Path(tmp) / project
        copy_project(project, root)
        visible = pytest(python, root, ["tests"])
        if visible.rc != 0 or visible.tests == 0:
            problems.append(f"visible tests not green on correct code (rc={visible.rc})\n{visible.output}")
        try:
            install_hidden(root)
        except RuntimeError as exc:
            problems.append(str(exc))
            return problems, visible.tests, 0
        both = pytest(python, root, ["tests"])
        if both.rc != 0:
            problems.append(f"visible+hidden tests not green on correct code (rc={both.rc})\n{both.output}")
    return problems, visible.tests, both.tests - visible.tests


def load_bug(path, result):
    try:
        meta = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        result.problems.append(f"cannot read: {exc}")
        return None
    for key in ("project", "description", "kind", "category", "edit"):
        if key not in meta:
            result.problems.append(f"missing key {key!r}")
    if result.problems:
        return None
    result.project, result.kind, result.category = meta["project"], meta["kind"], meta["category"]
    if meta["kind"] not in KINDS:
        result.problems.append(f"unknown kind {meta['kind']!r}")
    if meta["category"] not in CATEGORIES:
        result.problems.append(f"unknown category {meta['category']!r}")
    if not (CORPUS / meta["project"] / "pyproject.toml").exists():
        result.problems.append(f"unknown project {meta['project']!r}")
    edits = meta["edit"]
    if not isinstance(edits, list) or not edits:
        result.problems.append("no [[edit]] tables")
    elif any(set(e) != {"file", "fixed", "buggy"} for e in edits):
        result.problems.append("each [[edit]] needs exactly file, fixed, buggy")
    elif meta["kind"] == "multi-file" and len(edits) < 2:
        result.problems.append("multi-file bug with a single edit")
    elif meta["kind"] == "single-file" and len(edits) > 1:
        result.problems.append("single-file bug with several edits")
    return None if result.problems else meta


def apply_edits(root, edits, problems):
    for n, edit in enumerate(edits, 1):
        target = root / edit["file"]
        if not target.is_file() or edit["file"].startswith(("tests/", "hidden/")):
            problems.append(f"edit {n}: bad file {edit['file']!r}")
            continue
        text = target.read_text()
        count = text.count(edit["fixed"])
        if count != 1:
            problems.append(f"edit {n}: `fixed` occurs {count} times in {edit['file']}")
            continue
        if edit["fixed"] == edit["buggy"]:
            problems.append(f"edit {n}: `fixed` and `buggy` are the same")
            continue
        text = text.replace(edit["fixed"], edit["buggy"])
        target.write_text(text)
    for n, edit in enumerate(edits, 1):
        target = root / edit["file"]
        if target.is_file() and (count := target.read_text().count(edit["buggy"])) != 1:
            problems.append(f"edit {n}: `buggy` occurs {count} times in the buggy {edit['file']} (fix ambiguous)")


def check_bug(python, path, project_ok):
    result = Result(path.stem)
    meta = load_bug(path, result)
    if meta is None:
        return result
    if not project_ok.get(meta["project"], False):
        result.problems.append("project itself does not verify")
        return result
    with tempfile.TemporaryDirectory(prefix=f"corpus-{path.stem}-") as tmp:
        root = Path(tmp) / meta["project"]
        copy_project(meta["project"], root)
        apply_edits(root, meta["edit"], result.problems)
        if result.problems:
            return result
        package = package_of(root)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        code = f"import pathlib, sys\nfor p in pathlib.Path('{package}').rglob('*.py'): compile(p.read_text(), str(p), 'exec')\nimport {package}\n"
        for name in (root / package).glob("*.py"):
            if name.stem != "__init__":
                code += f"import {package}.{name.stem}\n"
        done = subprocess.run([python, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if done.returncode != 0:
            result.problems.append(f"buggy project does not import:\n{done.stderr[-1500:]}")
            return result
        result.visible = pytest(python, root, ["tests"])
        v = result.visible
        if v.rc == -1:
            result.problems.append("visible tests timed out on the buggy code")
        elif v.errors or v.rc not in (0, 1):
            result.problems.append(f"collection/setup errors on the buggy code (rc={v.rc})\n{v.output}")
        elif v.failures == 0:
            result.problems.append("no visible test fails on the buggy code")
        if len(meta["edit"]) > 1 and not result.problems:
            for n, edit in enumerate(meta["edit"], 1):
                partial = Path(tmp) / f"partial{n}"
                shutil.copytree(root, partial)
                target = partial / edit["file"]
                target.write_text(target.read_text().replace(edit["buggy"], edit["fixed"]))
                run = pytest(python, partial, ["tests"])
                if run.failed == 0:
                    result.problems.append(f"undoing edit {n} alone makes the visible tests pass: other edits are untested")
        result.hidden = pytest(python, root, install_hidden(root))
        if result.hidden.rc == -1:
            result.problems.append("hidden tests timed out on the buggy code")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with pytest installed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 4)
    parser.add_argument("-v", "--verbose", action="store_true", help="print pytest output for problems")
    parser.add_argument("bugs", nargs="*", help="bug ids to check (default: all)")
    args = parser.parse_args()

    bug_paths = sorted(BUGS.glob("*.toml"))
    if args.bugs:
        bug_paths = [p for p in bug_paths if p.stem in args.bugs]
    failed = False
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        project_ok = {}
        print(f"{'project':<12} {'visible':>7} {'hidden':>6}  status")
        for project, (problems, n_visible, n_hidden) in zip(
                projects(), pool.map(lambda p: check_project(args.python, p), projects())):
            project_ok[project] = not problems
            print(f"{project:<12} {n_visible:>7} {n_hidden:>6}  {'ok' if not problems else 'FAIL'}")
            for problem in problems:
                failed = True
                print(f"    - {problem if args.verbose else problem.splitlines()[0]}")
        print()
        results = list(pool.map(lambda p: check_bug(args.python, p, project_ok), bug_paths))

    print(f"{'bug':<44} {'project':<11} {'kind':<11} {'category':<17} {'visible':>9} {'hidden':>8}  status")
    for r in results:
        vis = f"{r.visible.failed}/{r.visible.tests}" if r.visible else "-"
        hid = f"{r.hidden.failed}/{r.hidden.tests}" if r.hidden else "-"
        print(f"{r.bug_id:<44} {r.project:<11} {r.kind:<11} {r.category:<17} {vis:>9} {hid:>8}  "
              f"{'ok' if not r.problems else 'FAIL'}")
        for problem in r.problems:
            failed = True
            print(f"    - {problem if args.verbose else problem.splitlines()[0]}")
    ok = sum(1 for r in results if not r.problems)
    caught = sum(1 for r in results if r.hidden and r.hidden.failed)
    multi = sum(1 for r in results if r.kind == "multi-file")
    print(f"\nRESULT: {ok}/{len(results)} bugs verified across {len(project_ok)} projects "
          f"({multi} multi-file); hidden tests also fail on {caught}/{len(results)} buggy versions; "
          f"{'OK' if not failed else 'PROBLEMS FOUND'}")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
