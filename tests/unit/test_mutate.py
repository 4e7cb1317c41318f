"""Candidate edits on one line: what the built-in proposer may try, and how it ranks them."""

from greenloop import syntax
from greenloop.repair.propose.builtin.mutate import Mutation, mutations

SOURCE = b'''\
LIMIT = 10


def window(items, start, size, strict):
    if not strict and start < len(items):
        end = min(start + size, LIMIT)
        return items[start:end]
    total = start - size
    report(start, size)
    return self_check(total, last=True)
'''


def offered(line: int, literals: frozenset[str] = frozenset()) -> dict[str, Mutation]:
    tree = syntax.parse(SOURCE)
    return {m.description: m for m in mutations(SOURCE, tree, line, literals)}


def apply(m: Mutation) -> str:
    return (SOURCE[:m.start] + m.replacement.encode() + SOURCE[m.end:]).decode()


def test_comparison_and_boolean_operators_are_swapped() -> None:
    found = offered(5)
    assert "`<` → `<=`" in found and "`and` → `or`" in found
    assert "    if not strict and start <= len(items):\n" in apply(found["`<` → `<=`"])
    assert found["`<` → `<=`"].prior < found["`<` → `==`"].prior  # the neighbour is the likelier fix


def test_a_not_can_be_removed_and_a_condition_negated() -> None:
    found = offered(5)
    assert "remove `not` from `not strict`" in found
    assert any(d.startswith("negate `") for d in found)


def test_off_by_one_on_literals_and_on_slice_bounds() -> None:
    assert "`10` → `11`" in offered(1) and "`10` → `9`" in offered(1)
    found = offered(7)
    assert "`end` → `end + 1`" in found and "`end` → `end - 1`" in found


def test_other_names_in_scope_replace_a_variable() -> None:
    found = offered(8)
    assert "`start` → `size`" in found and "`size` → `items`" in found
    assert "swap the operands of `start - size`" in found


def test_call_arguments_are_swapped_and_booleans_flipped() -> None:
    assert "swap `start` and `size`" in offered(9)
    found = offered(10)
    assert "`True` → `False`" in found
    assert "return `items[start:end]` instead of `self_check(total, last=True)`" in found


def test_statements_can_be_deleted_or_copied_from_nearby() -> None:
    found = offered(9)
    deletion = found["delete `report(start, size)`"]
    assert deletion.deletes and deletion.prior > found["swap `start` and `size`"].prior
    assert "report(start, size)" not in apply(deletion)
    inserted = [d for d in found if d.startswith("insert `")]
    assert inserted


def test_a_literal_that_appears_in_the_tests_is_marked_and_ranked_down() -> None:
    plain = offered(1)["`10` → `1`"]
    special = offered(1, frozenset({"1"}))["`10` → `1`"]
    assert special.literals == ("1",) and special.prior > plain.prior


def test_every_mutation_keeps_the_file_parseable_or_is_caught_later() -> None:
    for line in range(1, 11):
        for m in offered(line).values():
            text = apply(m)
            assert isinstance(text, str) and text != SOURCE.decode()
