"""tree-sitter access: finding nodes by type, the one walk every other module relies on."""

import threading
import time

import pytest

from greenloop import syntax

SOURCE = b'''\
# a comment
import os


def outer(x):  # trailing
    def inner(y):
        return y  # inner comment
    return inner(x)


class C:
    def method(self):
        from json import dumps
        return dumps(1)
'''


def test_walk_yields_matching_nodes_in_source_order_outer_first() -> None:
    tree = syntax.parse(SOURCE)
    definitions = syntax.walk(tree.root_node, ("function_definition",))
    functions = [syntax.text(n.child_by_field_name("name")) for n in definitions]
    assert functions == ["outer", "inner", "method"]
    comments = [syntax.text(n) for n in syntax.walk(tree.root_node, ("comment",))]
    assert comments == ["# a comment", "# trailing", "# inner comment"]
    imports = [n.type for n in syntax.walk(tree.root_node, ("import_statement", "import_from_statement"))]
    assert imports == ["import_statement", "import_from_statement"]


def test_walk_includes_the_node_itself_and_stays_inside_it() -> None:
    tree = syntax.parse(SOURCE)
    outer = next(syntax.walk(tree.root_node, ("function_definition",)))
    assert [n.start_point[0] for n in syntax.walk(outer, ("function_definition",))] == [4, 5]
    assert [syntax.text(n) for n in syntax.walk(outer, ("return_statement",))] == ["return y", "return inner(x)"]


def test_walk_over_a_type_the_grammar_lacks_finds_nothing_rather_than_failing() -> None:
    tree = syntax.parse(SOURCE)
    assert list(syntax.walk(tree.root_node, ("no_such_node",))) == []
    assert [n.type for n in syntax.walk(tree.root_node, ("no_such_node", "class_definition"))] == ["class_definition"]


def test_the_same_text_parsed_twice_in_a_row_is_parsed_once() -> None:
    """A save parses the saved file for the import graph and again for fingerprints: the second gets the tree."""
    first = syntax.parse(b"import os\n\ndef f():\n    return 1\n")
    again = syntax.parse(b"import os\n\ndef f():\n    return 1\n")
    other = syntax.parse(b"import sys\n")
    assert again is first
    assert other is not first and other.root_node.text == b"import sys\n"
    assert syntax.parse(b"import os\n\ndef f():\n    return 1\n") is not first  # only the last text is kept


def _shape(tree: syntax.Tree) -> list[tuple[str, int, int, bool, bool]]:
    """Every node of the tree: its type, its bytes, and whether it is an error or a missing node."""
    shape, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        shape.append((node.type, node.start_byte, node.end_byte, node.is_error, node.is_missing))
        stack.extend(node.children)
    return shape


EDITS = [
    (b"        return y  # inner comment\n", b"        z = y + 1\n        return z\n"),  # lines added inside a body
    (b"    return inner(x)\n", b""),  # a line removed
    (b"class C:\n", b"class C(Base):\n"),
    (b"        return dumps(1)\n", b"        return dumps(1\n"),  # now a syntax error
    (b"# a comment\n", b""),  # at the very start
    (b"        return dumps(1)\n", b"        return dumps(1)\n\n\nx = 2\n"),  # at the very end
    (b"    def inner(y):\n", b"def inner(y):\n"),  # a dedent that ends the outer function early
]


def test_a_changed_text_parses_to_the_tree_a_fresh_parse_gives() -> None:
    """The last tree is reused for a text that differs in one stretch (a save): the result must not differ."""
    fresh = syntax.Parser(syntax.PYTHON)
    for old, new in EDITS:
        assert old in SOURCE
        edited = SOURCE.replace(old, new, 1)
        syntax.parse(SOURCE)
        assert _shape(syntax.parse(edited)) == _shape(fresh.parse(edited)), (old, new)
        assert _shape(syntax.parse(SOURCE)) == _shape(fresh.parse(SOURCE)), (old, new)  # and back
    for unrelated in (b"", b"x = 1\n", b"def f(:\n", SOURCE * 3):
        assert _shape(syntax.parse(unrelated)) == _shape(fresh.parse(unrelated))


def test_a_small_edit_of_a_large_file_reparses_only_around_it(monkeypatch: pytest.MonkeyPatch) -> None:
    large = SOURCE * 200
    syntax.parse(large)
    reused: list[syntax.Tree | None] = []
    real = syntax._edited
    monkeypatch.setattr(syntax, "_edited", lambda *args: reused.append(real(*args)) or reused[-1])
    syntax.parse(large.replace(b"class C:", b"class D:", 1))
    assert reused and reused[0] is not None  # the old tree was handed to tree-sitter, edited
    syntax.parse(b"import json\n" * 10)
    assert reused[-1] is None  # nothing in common: a fresh parse


def test_other_threads_run_while_a_large_file_is_parsed() -> None:
    """Parsing runs on the index thread; the event loop's thread must not wait for the GIL for the whole parse."""
    large = SOURCE * 20_000  # ~4 MB: a parse of hundreds of milliseconds
    gaps: list[float] = []
    done = threading.Event()

    def beat() -> None:
        while not done.is_set():
            before = time.perf_counter()
            time.sleep(0.001)
            gaps.append(time.perf_counter() - before)

    beater = threading.Thread(target=beat)
    beater.start()
    try:
        while len(gaps) < 3:  # the beat is going before the parse starts
            time.sleep(0.001)
        started = time.perf_counter()
        syntax.parse(large)
        took = time.perf_counter() - started
    finally:
        done.set()
        beater.join()
    assert max(gaps) < took / 2, (max(gaps), took)  # holding the GIL throughout, the longest gap is the parse
