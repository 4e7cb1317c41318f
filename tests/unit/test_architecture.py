"""The package's shape: modules import each other without circles (imports made only for type checking do not
count), so each stage of the pipeline can be read, tested and replaced from the bottom up."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "greenloop"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """greenloop modules `path` imports when it runs (not under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    files = [p for p in PACKAGE.rglob("*.py") if "plugin" not in p.parts]
    modules = {_module(p) for p in files}
    return {_module(p): _runtime_imports(p, modules) - {_module(p)} for p in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the walk found the package
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# What the editor face may know of the repair engine: how to build one, its port, the fix on offer, and records.
EDITOR_FACE_MAY_IMPORT = {"greenloop.repair.session", "greenloop.repair.present.port",
                          "greenloop.repair.present.workspace", "greenloop.repair.present.fix",
                          "greenloop.repair.records"}


def test_the_editor_face_reaches_repair_only_through_its_port() -> None:
    graph = import_graph()
    reached = {imported for module, imports in graph.items() if module.startswith("greenloop.lsp")
               for imported in imports if imported.startswith("greenloop.repair")}
    assert reached and reached <= EDITOR_FACE_MAY_IMPORT, reached - EDITOR_FACE_MAY_IMPORT


def test_the_engines_never_import_their_faces() -> None:
    graph = import_graph()
    faces = ("greenloop.lsp", "greenloop.cli")
    engines = [module for module in graph if not module.startswith(faces) and module != "greenloop.__main__"]
    wrong = {(module, imported) for module in engines for imported in graph[module] if imported.startswith(faces)}
    assert wrong == set()
