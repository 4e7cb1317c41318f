"""Candidate edits for the built-in proposer: small, syntax-aware changes on a suspicious line.

Many everyday bugs are one token away from correct: `<` for `<=`, an off-by-one bound, the wrong variable,
swapped arguments, a missing `not`, a wrong returned value, a stray or missing statement. Each operator below
reads tree-sitter nodes on one line and yields replacements of a byte span. Every mutation carries a `prior`
(how often that kind of edit is the fix; lower is tried first) and flags that the ranking uses against
overfitting: deleting behaviour, or adding literals that appear in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node, Tree

from greenloop import syntax

COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]
OPPOSITE = {"in": "not in", "not in": "in", "is": "is not", "is not": "is"}
ARITHMETIC = {"+": ["-"], "-": ["+"], "*": ["/", "//", "+"], "/": ["//", "*"], "//": ["/", "%", "*"],
              "%": ["//"], "**": ["*"], "<<": [">>"], ">>": ["<<"], "&": ["|"], "|": ["&"]}
AUGMENTED = {"+=": ["-=", "="], "-=": ["+=", "="], "*=": ["/=", "+="], "/=": ["*=", "//="], "//=": ["/="]}
BOOLEAN = {"and": "or", "or": "and"}
STATEMENTS = ("expression_statement", "return_statement", "if_statement", "raise_statement", "assert_statement",
              "augmented_assignment", "break_statement", "continue_statement")
EXPRESSIONS = ("identifier", "call", "attribute", "subscript", "binary_operator", "integer", "string", "none",
               "true", "false", "list", "tuple", "dictionary", "unary_operator", "comparison_operator")


@dataclass(frozen=True)
class Mutation:
    start: int  # byte offsets in the file
    end: int
    replacement: str
    kind: str
    description: str
    prior: float  # lower = more likely the fix, tried first
    deletes: bool = False
    literals: tuple[str, ...] = ()  # literal values the edit introduces


def _text(node: Node) -> str:
    return syntax.text(node)


def _nodes_on_line(tree: Tree, line: int) -> list[Node]:
    """Named nodes that start on `line` (1-based), outermost first."""
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.start_point[0] > line - 1 or node.end_point[0] < line - 1:
            continue
        if node.start_point[0] == line - 1 and node.is_named:
            found.append(node)
        stack.extend(reversed(node.children))
    return found


def _operator(node: Node) -> Node | None:
    return next((c for c in node.children if not c.is_named), None)


def _scope_names(tree: Tree, line: int) -> list[str]:
    """Parameter and variable names of the function around `line` (or the module), in order of appearance."""
    node: Node | None = tree.root_node.descendant_for_point_range((line - 1, 0), (line - 1, 0))
    while node is not None and node.type != "function_definition":
        node = node.parent
    scope = node or tree.root_node
    names: dict[str, None] = {}
    for child in syntax.walk(scope, ("identifier",)):
        parent = child.parent
        if parent is None:
            continue
        if parent.type in ("parameters", "default_parameter", "typed_parameter", "typed_default_parameter") or (
                parent.type in ("assignment", "for_statement", "augmented_assignment")
                and parent.child_by_field_name("left") == child):
            names.setdefault(_text(child), None)
    return [n for n in names if n not in ("self", "cls")]


def mutations(source: bytes, tree: Tree, line: int, test_literals: frozenset[str] = frozenset()) -> Iterator[Mutation]:
    """Every candidate edit of `line` (1-based) of a parsed file."""
    nodes = _nodes_on_line(tree, line)
    inner = [n for n in syntax.walk(tree.root_node, (
        "comparison_operator", "boolean_operator", "binary_operator", "augmented_assignment", "not_operator",
        "integer", "true", "false", "identifier", "argument_list", "unary_operator", "slice"))
        if n.start_point[0] == line - 1]
    names = _scope_names(tree, line)
    attributes = _attribute_names(tree)
    for node in inner:
        yield from _operators(node)
        yield from _operands(node)
        yield from _attributes(node, attributes)
        yield from _literals(node, test_literals)
        yield from _names(node, names)
        yield from _arguments(node)
    for node in nodes:
        yield from _conditions(node)
        yield from _returns(node, tree, names)
        yield from _bounds(node)
    statement = next((n for n in nodes if n.type in STATEMENTS or n.type == "expression_statement"), None)
    if statement is not None:
        yield from _delete(source, statement)
        yield from _insert_nearby(source, tree, statement, test_literals)


def _operators(node: Node) -> Iterator[Mutation]:
    op = _operator(node)
    if op is None:
        return
    current = op.type
    if node.type == "comparison_operator":
        if current in COMPARISONS:
            for other in COMPARISONS:
                if other != current:
                    prior = 1.0 if {current, other} in ({"<", "<="}, {">", ">="}, {"==", "!="}) else 1.6
                    yield Mutation(op.start_byte, op.end_byte, other, "comparison", f"`{current}` → `{other}`", prior)
        elif current in OPPOSITE:
            yield Mutation(op.start_byte, op.end_byte, OPPOSITE[current], "comparison",
                           f"`{current}` → `{OPPOSITE[current]}`", 1.2)
    elif node.type == "boolean_operator" and current in BOOLEAN:
        yield Mutation(op.start_byte, op.end_byte, BOOLEAN[current], "boolean", f"`{current}` → `{BOOLEAN[current]}`",
                       1.3)
    elif node.type == "binary_operator" and current in ARITHMETIC:
        for other in ARITHMETIC[current]:
            yield Mutation(op.start_byte, op.end_byte, other, "arithmetic", f"`{current}` → `{other}`", 1.5)
    elif node.type == "augmented_assignment" and current in AUGMENTED:
        for other in AUGMENTED[current]:
            yield Mutation(op.start_byte, op.end_byte, other, "arithmetic", f"`{current}` → `{other}`", 1.6)
    elif node.type == "not_operator":
        operand = node.named_children[0] if node.named_children else None
        if operand is not None:
            yield Mutation(node.start_byte, node.end_byte, _text(operand), "negation",
                           f"remove `not` from `{_text(node)}`", 1.4)
    elif node.type == "unary_operator" and current == "-":
        operand = node.named_children[0] if node.named_children else None
        if operand is not None:
            yield Mutation(node.start_byte, node.end_byte, _text(operand), "arithmetic", "remove unary minus", 2.0)


def _operands(node: Node) -> Iterator[Mutation]:
    """Sign and order of arithmetic operands: `a ** n` -> `a ** -n`, `a - b` -> `b - a`, `x` -> `abs(x)`."""
    if node.type == "binary_operator":
        left, op, right = node.child_by_field_name("left"), _operator(node), node.child_by_field_name("right")
        if left is None or right is None or op is None:
            return
        if op.type in ("-", "/", "//", "%", "**", "<<", ">>"):
            between = (node.text or b"")[left.end_byte - node.start_byte:right.start_byte - node.start_byte].decode()
            yield Mutation(node.start_byte, node.end_byte, f"{_text(right)}{between}{_text(left)}", "arithmetic",
                           f"swap the operands of `{_text(node)}`", 2.1)
        for operand in (left, right):
            if operand.type in ("identifier", "integer", "float", "call", "attribute", "subscript"):
                yield Mutation(operand.start_byte, operand.end_byte, f"-{_text(operand)}", "arithmetic",
                               f"`{_text(operand)}` → `-{_text(operand)}`", 2.1)
    elif node.type == "identifier" and node.parent is not None and (
            node.parent.type in ("argument_list", "binary_operator")
            or node.parent.type == "assignment" and node.parent.child_by_field_name("right") == node):
        yield Mutation(node.start_byte, node.end_byte, f"abs({_text(node)})", "arithmetic",
                       f"`{_text(node)}` → `abs({_text(node)})`", 2.5)


def _literals(node: Node, test_literals: frozenset[str]) -> Iterator[Mutation]:
    if node.type in ("true", "false"):
        flipped = "False" if node.type == "true" else "True"
        yield Mutation(node.start_byte, node.end_byte, flipped, "literal", f"`{_text(node)}` → `{flipped}`", 1.3)
        return
    if node.type != "integer":
        return
    try:
        value = int(_text(node), 0)
    except ValueError:
        return
    seen = {value}
    options = [(value + 1, 1.1, "off-by-one"), (value - 1, 1.1, "off-by-one"), (0, 1.9, "literal"),
               (1, 1.9, "literal"), (value * 10, 2.2, "literal")]
    if value and value % 10 == 0:
        options.append((value // 10, 2.2, "literal"))
    for new, prior, kind in options:
        if new in seen or new < 0 <= value:
            continue
        seen.add(new)
        special = str(new) in test_literals and kind == "literal"
        yield Mutation(node.start_byte, node.end_byte, str(new), kind, f"`{value}` → `{new}`",
                       prior + (1.0 if special else 0.0), literals=(str(new),) if special else ())


def _names(node: Node, names: list[str]) -> Iterator[Mutation]:
    if node.type != "identifier" or node.parent is None:
        return
    parent = node.parent
    if parent.type in ("function_definition", "class_definition", "parameters", "keyword_argument",
                       "default_parameter", "typed_parameter", "import_from_statement", "aliased_import",
                       "dotted_name") or (parent.type == "attribute" and parent.child_by_field_name("attribute") == node):
        return
    if parent.type in ("assignment", "augmented_assignment") and parent.child_by_field_name("left") == node:
        return
    current = _text(node)
    if current not in names:
        return
    for other in names:
        if other != current:
            yield Mutation(node.start_byte, node.end_byte, other, "wrong-variable", f"`{current}` → `{other}`", 1.7)


def _attribute_names(tree: Tree) -> dict[str, list[str]]:
    """Object text -> attribute names used on it anywhere in the file (`self` -> [hits, misses, ...])."""
    names: dict[str, dict[str, None]] = {}
    for node in syntax.walk(tree.root_node, ("attribute",)):
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is not None and attr is not None and obj.type == "identifier":
            names.setdefault(_text(obj), {}).setdefault(_text(attr), None)
    return {obj: list(attrs) for obj, attrs in names.items()}


def _attributes(node: Node, attributes: dict[str, list[str]]) -> Iterator[Mutation]:
    """`self.misses` -> `self.hits`: the wrong field of the same object."""
    if node.type != "identifier" or node.parent is None or node.parent.type != "attribute":
        return
    parent = node.parent
    obj = parent.child_by_field_name("object")
    if parent.child_by_field_name("attribute") != node or obj is None or obj.type != "identifier":
        return
    grand = parent.parent
    if grand is not None and grand.type in ("call",) and grand.child_by_field_name("function") == parent:
        return  # a method name: swapping it is rarely the fix and often a crash
    current = _text(node)
    for other in attributes.get(_text(obj), [])[:12]:
        if other != current:
            yield Mutation(node.start_byte, node.end_byte, other, "wrong-variable",
                           f"`{_text(obj)}.{current}` → `{_text(obj)}.{other}`", 1.8)


def _arguments(node: Node) -> Iterator[Mutation]:
    if node.type != "argument_list":
        return
    positional = [c for c in node.named_children if c.type not in ("keyword_argument", "list_splat",
                                                                    "dictionary_splat", "comment")]
    for a, b in zip(positional, positional[1:]):
        # Replace the span from a to b with b's text, the separator, and a's text.
        between = (node.text or b"")[a.end_byte - node.start_byte:b.start_byte - node.start_byte].decode()
        yield Mutation(a.start_byte, b.end_byte, f"{_text(b)}{between}{_text(a)}", "swapped-arguments",
                       f"swap `{_text(a)}` and `{_text(b)}`", 1.6)


def _conditions(node: Node) -> Iterator[Mutation]:
    if node.type not in ("if_statement", "elif_clause", "while_statement", "conditional_expression"):
        return
    condition = node.child_by_field_name("condition")
    if condition is None:
        return
    text = _text(condition)
    if condition.type == "not_operator":
        return  # handled by removing the `not`
    negated = f"not {text}" if condition.type in ("identifier", "call", "attribute", "subscript") else f"not ({text})"
    yield Mutation(condition.start_byte, condition.end_byte, negated, "negation", f"negate `{text}`", 1.5)


def _returns(node: Node, tree: Tree, names: list[str]) -> Iterator[Mutation]:
    if node.type != "return_statement" or not node.named_children:
        return
    value = node.named_children[0]
    current = _text(value)
    function = node.parent
    while function is not None and function.type != "function_definition":
        function = function.parent
    alternatives: dict[str, None] = {}
    for other in syntax.walk(function or tree.root_node, ("return_statement",)):
        if other.named_children and other != node:
            alternatives.setdefault(_text(other.named_children[0]), None)
    for name in names:
        alternatives.setdefault(name, None)
    for alternative in alternatives:
        if alternative != current and "\n" not in alternative:
            yield Mutation(value.start_byte, value.end_byte, alternative, "return-value",
                           f"return `{alternative}` instead of `{current}`", 2.0)


def _bounds(node: Node) -> Iterator[Mutation]:
    """`range(a, b)` and `x[a:b]`: bounds that are not plain integers get `+ 1` / `- 1`."""
    targets: list[Node] = []
    for call in syntax.walk(node, ("call",)):
        function = call.child_by_field_name("function")
        arguments = call.child_by_field_name("arguments")
        if function is not None and _text(function) == "range" and arguments is not None:
            targets += [a for a in arguments.named_children if a.type != "integer"]
    for piece in syntax.walk(node, ("slice",)):
        targets += [c for c in piece.named_children if c.type != "integer"]
    for target in targets:
        if target.start_point[0] != node.start_point[0]:
            continue
        text = _text(target)
        wrapped = text if target.type in ("identifier", "call", "attribute", "subscript") else f"({text})"
        for delta in ("+ 1", "- 1"):
            yield Mutation(target.start_byte, target.end_byte, f"{wrapped} {delta}", "off-by-one",
                           f"`{text}` → `{wrapped} {delta}`", 1.2)


def _line_span(source: bytes, node: Node) -> tuple[int, int]:
    start = source.rfind(b"\n", 0, node.start_byte) + 1
    end = source.find(b"\n", node.end_byte)
    return start, (len(source) if end < 0 else end + 1)


def _delete(source: bytes, statement: Node) -> Iterator[Mutation]:
    if statement.type == "if_statement" or statement.end_point[0] != statement.start_point[0]:
        return
    start, end = _line_span(source, statement)
    siblings = [c for c in (statement.parent.named_children if statement.parent else []) if c.type != "comment"]
    indent = source[start:statement.start_byte].decode(errors="replace")
    replacement = f"{indent}pass\n" if len(siblings) == 1 else ""
    yield Mutation(start, end, replacement, "deleted-statement", f"delete `{_text(statement)}`", 2.6, deletes=True)


def _insert_nearby(source: bytes, tree: Tree, statement: Node, test_literals: frozenset[str]) -> Iterator[Mutation]:
    """Copy a short guard, return or call to just before the statement: from nearby in the same function, or a
    call statement from elsewhere in the file whose names all exist here (`self._data.move_to_end(key)`)."""
    function = statement.parent
    while function is not None and function.type != "function_definition":
        function = function.parent
    if function is None:
        return
    start, _ = _line_span(source, statement)
    indent = source[start:statement.start_byte].decode(errors="replace")
    line = statement.start_point[0]
    in_scope = set(_scope_names(tree, line + 1)) | {"self", "cls"}
    seen: set[str] = {_text(statement)}
    nearby = [n for n in syntax.walk(function, ("if_statement", "return_statement", "expression_statement",
                                                "raise_statement")) if abs(n.start_point[0] - line) <= 12]
    elsewhere = [n for n in syntax.walk(tree.root_node, ("expression_statement",))
                 if not (function.start_byte <= n.start_byte < function.end_byte)]
    for other, far in [(n, False) for n in nearby] + [(n, True) for n in elsewhere]:
        if other.end_point[0] - other.start_point[0] > 2 or other == statement:
            continue
        if other.type == "expression_statement" and not any(
                c.type in ("call", "augmented_assignment") for c in other.named_children):
            continue
        if far:
            used = {_text(i) for i in syntax.walk(other, ("identifier",))
                    if i.parent is not None and i.parent.type != "attribute" or
                    (i.parent is not None and i.parent.child_by_field_name("object") == i)}
            if not used <= in_scope:
                continue
        text = _text(other)
        if text in seen:
            continue
        seen.add(text)
        lines = text.splitlines()
        other_indent = len(source[_line_span(source, other)[0]:other.start_byte])
        body = [lines[0]] + [ln[other_indent:] if len(ln) >= other_indent else ln.lstrip() for ln in lines[1:]]
        code = "".join(f"{indent}{ln}\n" for ln in body)
        literals = tuple(t for t in test_literals if t in text and len(t) > 1)
        yield Mutation(start, start, code, "inserted-statement", f"insert `{lines[0].strip()}` before line {line + 1}",
                       (3.0 if far else 2.8) + (1.0 if literals else 0.0), literals=literals)
        for after in _after_positions(source, statement):
            yield Mutation(after, after, code, "inserted-statement",
                           f"insert `{lines[0].strip()}` after line {line + 1}",
                           (3.1 if far else 2.9) + (1.0 if literals else 0.0), literals=literals)


def _after_positions(source: bytes, statement: Node) -> list[int]:
    """Just after a one-line statement that is not a return/raise (nothing after those would run)."""
    if statement.type in ("return_statement", "raise_statement") or statement.end_point[0] != statement.start_point[0]:
        return []
    _, end = _line_span(source, statement)
    return [end]
