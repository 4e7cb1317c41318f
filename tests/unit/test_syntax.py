"""tree-sitter access: finding nodes by type, the one walk every other module relies on."""

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
