"""Fingerprints: which edits change which function, and which are module-level."""

import pytest

from greenloop import syntax
from greenloop.select import fingerprint as fingerprints
from greenloop.select.fingerprint import UNKNOWN, changed_functions, fingerprint

SOURCE = b'''
import os

LIMIT = 3  # a constant


def chunked(items, n):
    # split into chunks
    def take(start):
        return items[start:start + n]
    return [take(i) for i in range(0, len(items), n)]


class Grid:
    size = 2

    @staticmethod
    def cells():
        return [(x, y) for x in range(2) for y in range(2)]


if os.name:
    def platform():
        return os.name
'''


def edited(old: bytes, new: bytes) -> tuple[set[str], bool]:
    """(changed functions, whether the module-level skeleton changed) for one textual edit of SOURCE."""
    assert old in SOURCE
    before, after = fingerprint(SOURCE), fingerprint(SOURCE.replace(old, new, 1))
    return changed_functions(before, after), before.skeleton != after.skeleton


def test_functions_are_named_as_python_names_their_code_objects() -> None:
    spans = fingerprint(SOURCE).functions
    assert set(spans) == {"chunked", "chunked.<locals>.take", "Grid.cells", "platform"}
    assert (spans["chunked"].start_line, spans["chunked"].end_line) == (7, 11)


def test_an_edit_inside_a_function_changes_that_function_only() -> None:
    assert edited(b"return os.name", b"return os.sep") == ({"platform"}, False)


def test_an_edit_inside_a_nested_function_changes_it_and_its_outer_function() -> None:
    assert edited(b"items[start:start + n]", b"items[start:start + n + 1]") == (
        {"chunked", "chunked.<locals>.take"}, False)


def test_comments_blank_lines_and_trailing_spaces_change_nothing() -> None:
    assert edited(b"# split into chunks", b"# cut into pieces\n\n") == (set(), False)
    assert edited(b"# a constant", b"# the limit   ") == (set(), False)


def test_module_level_class_body_signature_and_decorator_edits_change_the_skeleton() -> None:
    assert edited(b"LIMIT = 3", b"LIMIT = 4")[1]
    assert edited(b"size = 2", b"size = 3")[1]
    assert edited(b"def chunked(items, n):", b"def chunked(items, n=2):")[1]
    assert edited(b"@staticmethod", b"@classmethod")[1]
    assert edited(b"if os.name:", b"if not os.name:")[1]


def test_a_file_with_syntax_errors_is_not_trusted() -> None:
    assert not fingerprint(b"def f(:\n    pass\n").complete
    assert fingerprint(SOURCE).complete


def test_recorded_code_objects_resolve_to_their_enclosing_function() -> None:
    prints = fingerprint(SOURCE)
    assert prints.resolve("chunked.<locals>.take") == "chunked.<locals>.take"
    assert prints.resolve("chunked.<locals>.<listcomp>") == "chunked"
    assert prints.resolve("Grid.cells.<locals>.<listcomp>") == "Grid.cells"
    assert prints.resolve("<module>") is None  # import-time code belongs to the skeleton
    assert prints.resolve("Grid") is None  # a class body too
    assert prints.resolve(None, 8) == "chunked.<locals>.take"  # Python < 3.11: by first line only
    assert UNKNOWN not in {span.fingerprint for span in prints.functions.values()}


def test_a_text_seen_before_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run's recording fingerprints the files its tests executed, nearly all unchanged since last time."""
    parsed: list[bytes] = []

    def counting_parse(source: bytes) -> object:
        parsed.append(source)
        return syntax._parser().parse(source)

    monkeypatch.setattr(fingerprints, "_memo", fingerprints._Memo(keep=2))
    monkeypatch.setattr(syntax, "parse", counting_parse)
    first = fingerprint(SOURCE)
    assert fingerprint(bytes(SOURCE)) is first  # an equal text, another bytes object
    edit = SOURCE.replace(b"LIMIT = 3", b"LIMIT = 4")
    assert fingerprint(edit).skeleton != first.skeleton
    assert len(parsed) == 2
    fingerprint(b"x = 1\n")  # a third text: the least recently used (SOURCE) is forgotten
    assert fingerprint(edit) is fingerprint(edit)
    assert len(parsed) == 3
    assert fingerprint(SOURCE) == first and len(parsed) == 4
