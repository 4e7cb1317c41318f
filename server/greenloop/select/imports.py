"""Read the import statements of one Python file with tree-sitter.

Imports anywhere count (inside functions, `try` blocks, `if TYPE_CHECKING`): a test that imports a module
lazily is still affected by it. Dynamic imports (`importlib.import_module("x")`) are invisible here; the
"re-run what failed last time" rule in the selector covers the commonest consequence of that blind spot.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from greenloop import syntax


@dataclass(frozen=True)
class ImportRef:
    """`from ..a.b import c, d` is ImportRef(level=2, module="a.b", names=("c", "d"))."""

    module: str
    names: tuple[str, ...] = ()
    level: int = 0  # leading dots of a relative import

    def candidates(self, package: str) -> list[str]:
        """Module names this import may load, most specific first; `package` is the importing file's package."""
        base = self.module
        if self.level:
            parts = package.split(".") if package else []
            if self.level - 1 > len(parts):
                return []  # beyond the top-level package: Python would refuse it
            parent = parts[: len(parts) - (self.level - 1)]
            base = ".".join([*parent, self.module] if self.module else parent)
        result = [f"{base}.{name}" if base else name for name in self.names if name != "*"]
        # Importing a.b.c executes a/__init__.py and a/b/__init__.py as well.
        pieces = base.split(".") if base else []
        result.extend(".".join(pieces[:i]) for i in range(len(pieces), 0, -1))
        return result


def _dotted(node: Node | None) -> str:
    if node is not None and node.type == "aliased_import":
        node = node.child_by_field_name("name")
    return syntax.text(node)


def read_imports(source: bytes) -> list[ImportRef]:
    tree = syntax.parse(source)
    refs: list[ImportRef] = []
    for node in syntax.walk(tree.root_node, ("import_statement", "import_from_statement")):
        names = [_dotted(child) for child in node.children_by_field_name("name")]
        if node.type == "import_statement":
            refs.extend(ImportRef(name) for name in names if name)
            continue
        module_node = node.child_by_field_name("module_name")
        level = 0
        module = ""
        if module_node is not None and module_node.type == "relative_import":
            for child in module_node.children:
                if child.type == "import_prefix":
                    level = syntax.text(child).count(".")
                elif child.type == "dotted_name":
                    module = syntax.text(child)
        else:
            module = syntax.text(module_node)
        if any(child.type == "wildcard_import" for child in node.children):
            names.append("*")
        refs.append(ImportRef(module, tuple(n for n in names if n), level))
    return refs
