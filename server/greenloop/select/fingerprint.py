"""Fingerprints of a Python file's functions and of everything else in it, for selection by coverage.

A test needs re-running after a save only if it executed a function whose body changed, or if something ran at
import time changed (module-level statements, class bodies, decorators, signatures and default values). So a file
is split into one fingerprint per function body, keyed by the qualified name Python gives the function's code
object (`C.m`, `f.<locals>.g`: what the recorder in the pytest plugin reports), and one fingerprint of the
*skeleton*: the file with every function body cut out. Comments, blank lines and trailing spaces do not count.

A nested function's text is part of its outer function's body too, so a change inside it changes both: a test
that executed either is selected. A file that does not parse cleanly has no trustworthy fingerprint
(`FileFingerprint.complete` is False) and callers fall back to the import graph.

Fingerprints are kept by the text's digest (`fingerprint` is a bounded, thread-safe memo): every save's selection
and every run's recording fingerprint the files the tests executed, and nearly all of them are unchanged since
the last time. Parsing is most of the cost (more-itertools' 256 KB test module: 40 ms of a 60 ms fingerprint).
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from tree_sitter import Node

from greenloop import syntax

UNKNOWN = "?"  # a fingerprint that equals no real one: "recorded against text we could not see"
KEEP = 2048  # fingerprints remembered (by text digest); a few MB for a project of thousands of files


@dataclass(frozen=True)
class FunctionSpan:
    qualname: str
    start_line: int  # 1-based, the `def` line (decorators excluded)
    end_line: int
    fingerprint: str


@dataclass(frozen=True)
class FileFingerprint:
    skeleton: str
    functions: dict[str, FunctionSpan] = field(default_factory=dict)
    complete: bool = True  # False when the file has syntax errors: fingerprints cannot be trusted
    classes: set[str] = field(default_factory=set)  # qualified names of the classes outside any function

    def resolve(self, qualname: str | None, line: int = 0) -> str | None:
        """The function a recorded code object belongs to, or None for module-level or class-body code.

        Code objects Python makes inside a function (lambdas, comprehensions, generator expressions) are
        attributed to the nearest enclosing function. Without a qualified name (Python < 3.11 reports only
        the name), the function whose `def` is on or just below the recorded first line is taken."""
        if qualname:
            parts = qualname.split(".")
            while parts:
                candidate = ".".join(parts)
                if candidate in self.functions:
                    return candidate
                parts.pop()
                if parts and parts[-1] == "<locals>":
                    parts.pop()
            return None
        spans = [s for s in self.functions.values() if s.start_line >= line]
        if line and spans:
            first = min(spans, key=lambda s: s.start_line)
            return first.qualname if first.start_line - line < 50 else None
        return None

    def runs_at_import(self, qualname: str) -> bool:
        """Whether a code object of this name is the module's code or a class body (or a lambda, comprehension
        or generator expression directly inside one): code the skeleton covers, not a function of this text."""
        parts = qualname.split(".")
        while parts and parts[-1].startswith("<") and parts[-1] != "<locals>":
            parts.pop()  # <lambda>, <genexpr>, <listcomp>, <module>...
        return not parts or ".".join(parts) in self.classes


def _digest(chunks: list[bytes]) -> str:
    text = b"".join(chunks)
    lines = [line.rstrip() for line in text.splitlines()]
    normal = b"\n".join(line for line in lines if line.strip())
    return hashlib.blake2b(normal, digest_size=12).hexdigest()


def _without(source: bytes, start: int, end: int, holes: list[tuple[int, int, bytes]]) -> list[bytes]:
    """source[start:end] with each (hole_start, hole_end, replacement) inside it replaced, holes sorted."""
    chunks, cursor = [], start
    for hole_start, hole_end, replacement in holes:
        if hole_start < cursor or hole_end > end:
            continue
        chunks.append(source[cursor:hole_start])
        chunks.append(replacement)
        cursor = hole_end
    chunks.append(source[cursor:end])
    return chunks


def _name(node: Node) -> str:
    return syntax.text(node.child_by_field_name("name"))


class _Memo:
    """The last `KEEP` fingerprints by the digest of their text, least recently used dropped first. A hit is
    the very object made before: `FileFingerprint` is frozen and nobody changes its dict or set."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._made: OrderedDict[bytes, FileFingerprint] = OrderedDict()
        self._lock = threading.Lock()  # the index thread and the repair loop's threads both fingerprint

    def get(self, key: bytes) -> FileFingerprint | None:
        with self._lock:
            found = self._made.get(key)
            if found is not None:
                self._made.move_to_end(key)
            return found

    def put(self, key: bytes, made: FileFingerprint) -> None:
        with self._lock:
            self._made[key] = made
            while len(self._made) > self.keep:
                self._made.popitem(last=False)


_memo = _Memo(KEEP)


def fingerprint(source: bytes) -> FileFingerprint:
    """The fingerprints of one file's text (the same object for the same text while it is remembered)."""
    key = hashlib.blake2b(source, digest_size=16).digest()
    known = _memo.get(key)
    if known is None:
        known = _fingerprint(source)
        _memo.put(key, known)
    return known


def _fingerprint(source: bytes) -> FileFingerprint:
    tree = syntax.parse(source)
    root = tree.root_node
    comments = [(n.start_byte, n.end_byte, b"") for n in syntax.walk(root, ("comment",))]
    comment_starts = [c[0] for c in comments]  # sorted: walk yields in source order

    def comments_in(start: int, end: int) -> list[tuple[int, int, bytes]]:
        return comments[bisect.bisect_left(comment_starts, start):bisect.bisect_left(comment_starts, end)]

    functions: dict[str, FunctionSpan] = {}
    classes: set[str] = set()
    outer_bodies: list[tuple[int, int, bytes]] = []

    def visit(node: Node, prefix: str, in_function: bool) -> None:
        for child in node.children:
            if child.type == "decorated_definition":
                definition = child.child_by_field_name("definition")
                if definition is not None:
                    visit_definition(definition, prefix, in_function)
            elif child.type in ("function_definition", "class_definition"):
                visit_definition(child, prefix, in_function)
            elif child.type == "block" or child.type.endswith(("_statement", "_clause")):
                visit(child, prefix, in_function)  # definitions live only in blocks, never in expressions

    def visit_definition(node: Node, prefix: str, in_function: bool) -> None:
        name = _name(node)
        qualname = f"{prefix}{name}"
        body = node.child_by_field_name("body")
        if node.type == "class_definition":
            if not in_function:
                classes.add(qualname)
            if body is not None:
                visit(body, qualname + ".", in_function)
            return
        if body is not None:
            holes = comments_in(body.start_byte, body.end_byte)
            digest = _digest(_without(source, body.start_byte, body.end_byte, holes))
            functions.setdefault(qualname, FunctionSpan(qualname, node.start_point[0] + 1, node.end_point[0] + 1,
                                                        digest))
            if not in_function:
                outer_bodies.append((body.start_byte, body.end_byte, b"..."))
            visit(body, qualname + ".<locals>.", True)

    visit(root, "", False)
    bodies = sorted(outer_bodies)  # top-level bodies never overlap
    body_starts = [b[0] for b in bodies]

    def in_a_body(position: int) -> bool:
        at = bisect.bisect_right(body_starts, position) - 1
        return at >= 0 and position < bodies[at][1]

    holes = sorted(bodies + [c for c in comments if not in_a_body(c[0])])
    skeleton = _digest(_without(source, 0, len(source), holes))
    return FileFingerprint(skeleton, functions, complete=not root.has_error, classes=classes)


def changed_functions(old: FileFingerprint, new: FileFingerprint) -> set[str]:
    """Qualified names whose body differs between two versions (added and removed ones included)."""
    names = set(old.functions) | set(new.functions)
    return {
        name for name in names
        if (old.functions.get(name) and old.functions[name].fingerprint)
        != (new.functions.get(name) and new.functions[name].fingerprint)
    }
