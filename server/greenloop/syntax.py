"""tree-sitter access in one place: parsing Python and asking structural questions of the tree.

tree-sitter parses broken files too (a half-typed line still yields a tree), which is why the import graph and
the diagnosis use it instead of `ast`: a syntax error in one file must not blind greenloop to the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Point, Query, QueryCursor, Tree

PYTHON = Language(tree_sitter_python.language())
_local = threading.local()
REUSE_AT = 0.5  # the last tree is reused when at least this share of the new text is unchanged around one edit
CHUNK = 16384  # bytes handed to tree-sitter per read: between reads, other threads get the GIL

FUNCTION_TYPES = ("function_definition",)
SCOPE_TYPES = ("function_definition", "class_definition")


def parse(source: bytes) -> Tree:
    """Parse Python source.

    The same text parsed twice in a row on one thread gets the same tree: on every save the import graph and the
    fingerprints both read the saved file (more-itertools' 200 KB `more.py`: 12 ms a parse, on the way to the
    first result). A tree from here is shared, so it must not be `edit`ed.

    A text that differs from the last one in one stretch (a save of the file parsed before, a repair candidate)
    is parsed incrementally from a copy of the last tree: tree-sitter reparses only around the change (`more.py`
    after a one-line save: 2 ms instead of 13), and the tree is the one a fresh parse gives."""
    last = getattr(_local, "last", None)
    if last is not None and last[0] == source:
        return last[1]
    reused = _edited(*last, source) if last is not None else None
    read = _reader(source)
    tree = _parser().parse(read, reused) if reused is not None else _parser().parse(read)
    _local.last = (source, tree)
    return tree


def _reader(source: bytes) -> Callable[[int, Point], bytes]:
    """`source` as a read callback: tree-sitter holds the GIL for a whole parse of a bytes object (60 ms for a
    256 KB file, during which the server's event loop cannot answer), but returns to Python for every chunk it
    reads through a callback, and the interpreter hands the GIL over there when another thread waits for it."""
    return lambda offset, _point: source[offset:offset + CHUNK]


def _edited(before: bytes, tree: Tree, source: bytes) -> Tree | None:
    """A copy of `tree` (parsed from `before`) told where `source` differs from `before`: everything between
    their common start and common end. None when too little is common for the old tree to help."""
    shorter = min(len(before), len(source))
    start = _common(before, source, shorter, lambda text, n: text[:n])
    keep = _common(before, source, shorter - start, lambda text, n: text[len(text) - n:])
    if start + keep < REUSE_AT * len(source):
        return None
    old_end, new_end = len(before) - keep, len(source) - keep
    copy = tree.copy()
    copy.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end, start_point=_point(before, start),
              old_end_point=_point(before, old_end), new_end_point=_point(source, new_end))
    return copy


def _common(a: bytes, b: bytes, limit: int, part: Callable[[bytes, int], bytes]) -> int:
    """The largest n <= limit with part(a, n) == part(b, n), by bisection: each comparison is a C memcmp."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if part(a, middle) == part(b, middle):
            low = middle
        else:
            high = middle - 1
    return low


def _point(text: bytes, offset: int) -> Point:
    return Point(text.count(b"\n", 0, offset), offset - (text.rfind(b"\n", 0, offset) + 1))


def _parser() -> Parser:
    parser = getattr(_local, "parser", None)
    if parser is None:  # Parser objects are not thread-safe: one per thread
        parser = _local.parser = Parser(PYTHON)
    return parser


def walk(node: Node, types: tuple[str, ...]) -> Iterator[Node]:
    """Every descendant of `node` (itself included) whose type is in `types`, in source order (outer first).

    A tree-sitter query finds them in C: visiting every node from Python took 10 ms per 100 KB of source, on the
    way to every save's first result (fingerprints) and holding the GIL the server answers requests with."""
    query = _query(types)
    if query is None:
        yield from _visit(node, types)
        return
    found = QueryCursor(query).captures(node).get("node", [])
    yield from sorted(found, key=lambda n: (n.start_byte, -n.end_byte))


def _query(types: tuple[str, ...]) -> Query | None:
    """The query matching any of `types`, compiled once per thread; None if one is not a node type."""
    queries = getattr(_local, "queries", None)
    if queries is None:
        queries = _local.queries = {}
    if types not in queries:
        try:
            queries[types] = Query(PYTHON, "[" + " ".join(f"({t})" for t in types) + "] @node")
        except Exception:  # noqa: BLE001 - QueryError (an anonymous node type, a typo): walk instead
            queries[types] = None
    return queries[types]


def _visit(node: Node, types: tuple[str, ...]) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in types:
            yield current
        stack.extend(reversed(current.children))


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Scope:
    """A function or class around a line: its kind, qualified name and 1-based line span."""

    kind: Literal["function", "class"]
    name: str
    start_line: int
    end_line: int


def enclosing_scopes(tree: Tree, line: int) -> list[Scope]:
    """Functions and classes that contain 1-based `line`, innermost first."""
    point = (max(line - 1, 0), 0)
    node: Node | None = tree.root_node.descendant_for_point_range(point, point)
    chain: list[Node] = []
    while node is not None:
        if node.type in SCOPE_TYPES:
            chain.append(node)
        node = node.parent
    names = [text(n.child_by_field_name("name")) for n in chain]
    scopes = []
    for i, n in enumerate(chain):
        qualified = ".".join(reversed(names[i:]))
        scopes.append(Scope("class" if n.type == "class_definition" else "function", qualified, n.start_point[0] + 1, n.end_point[0] + 1))
    return scopes


def functions(tree: Tree) -> list[Scope]:
    """Every function in the file (methods and nested functions included), in source order."""
    result = []
    for node in walk(tree.root_node, FUNCTION_TYPES):
        scopes = enclosing_scopes(tree, node.start_point[0] + 1)
        # The innermost scope that starts on the def line is the function itself.
        own = next((s for s in scopes if s.start_line == node.start_point[0] + 1 and s.kind == "function"), None)
        if own is not None:
            result.append(own)
    return result
