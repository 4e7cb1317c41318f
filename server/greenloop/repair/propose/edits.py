"""Read edits out of a model's reply and apply them to the project's text. Forgiving in what it reads, exact in
what it applies, and precise in its complaints: a reply that cannot be used becomes a sentence the next round's
prompt carries back to the model, never an exception.

Two formats are accepted:

SEARCH/REPLACE blocks (the file path on the line before the block)::

    shop/pricing.py
    <<<<<<< SEARCH
    return total_cents - total_cents * percent // 10
    =======
    return total_cents - total_cents * percent // 100
    >>>>>>> REPLACE

and unified diffs in a fenced ```diff block (`--- a/path`, `+++ b/path`, `@@` hunks). Hunk line numbers are only
hints: each hunk is located by its context and removed lines, as models often get the numbers wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from greenloop.repair.records import FileEdit, Patch

SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
DIVIDER = re.compile(r"^\s*={5,9}\s*$")
REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
FENCE = re.compile(r"^\s*```")
DIFF_FENCE = re.compile(r"^\s*```\s*(diff|patch|udiff)\s*$")
HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


class EditError(ValueError):
    """A reply that cannot be turned into a patch; the message is written for the model to read."""


@dataclass(frozen=True)
class Block:
    """One replacement: in `path`, `old` (exact lines; empty means create the file) becomes `new`."""

    path: str
    old: str
    new: str
    line_hint: int | None = None  # 1-based, from a diff hunk header


def _clean_path(line: str) -> str:
    """`**File:** shop/x.py` in backticks -> `shop/x.py`: markdown emphasis, code quotes, headings, labels gone."""
    path = line.replace("`", "").replace("*", "").strip().lstrip("#").strip()
    for prefix in ("File:", "file:", "Path:", "path:", "Filename:", "filename:"):
        if path.startswith(prefix):
            path = path[len(prefix):].strip()
    return path


def parse_search_replace(reply: str) -> list[Block]:
    lines = reply.splitlines(keepends=True)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if not SEARCH.match(lines[i]):
            i += 1
            continue
        path = ""
        for back in range(i - 1, -1, -1):
            candidate = lines[back].strip()
            if REPLACE.match(candidate):  # a second block right after the first: same file
                path = blocks[-1].path if blocks else ""
                break
            if candidate and not FENCE.match(candidate):
                path = _clean_path(candidate)
                break
        old: list[str] = []
        new: list[str] = []
        j = i + 1
        while j < len(lines) and not DIVIDER.match(lines[j]):
            old.append(lines[j])
            j += 1
        if j >= len(lines):
            raise EditError(f"a SEARCH block for {path or 'an unnamed file'} has no ======= divider")
        j += 1
        while j < len(lines) and not REPLACE.match(lines[j]):
            new.append(lines[j])
            j += 1
        if j >= len(lines):
            raise EditError(f"a SEARCH block for {path or 'an unnamed file'} has no >>>>>>> REPLACE end")
        if not path:
            raise EditError("a SEARCH/REPLACE block does not name its file on the line before <<<<<<< SEARCH")
        blocks.append(Block(path, "".join(old), "".join(new)))
        i = j + 1
    return blocks


def _diff_bodies(reply: str) -> list[str]:
    """The text of each ```diff fence; a reply that is nothing but a diff counts as one."""
    bodies: list[str] = []
    current: list[str] = []
    inside = False
    for line in reply.splitlines(keepends=True):
        if not inside and DIFF_FENCE.match(line):
            inside, current = True, []
        elif inside and FENCE.match(line):
            inside = False
            bodies.append("".join(current))
        elif inside:
            current.append(line)
    if inside:  # an unclosed fence: use what came
        bodies.append("".join(current))
    if not bodies and re.search(r"^--- .*\n\+\+\+ .*\n@@", reply, re.M):
        bodies.append(reply)
    return bodies


def _strip_prefix(path: str) -> str:
    path = path.strip().split("\t")[0]
    return path[2:] if path.startswith(("a/", "b/")) else path


def parse_unified_diff(reply: str) -> list[Block]:
    blocks: list[Block] = []
    for body in _diff_bodies(reply):
        lines = body.splitlines(keepends=True)
        path = None
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
                old_path, new_path = _strip_prefix(line[4:]), _strip_prefix(lines[i + 1][4:])
                path = old_path if new_path == "/dev/null" else new_path
                i += 2
                continue
            match = HUNK.match(line)
            if match is None:
                i += 1
                continue
            if path is None:
                raise EditError("a diff hunk comes before any --- a/FILE / +++ b/FILE header")
            old, new = [], []
            i += 1
            while i < len(lines) and not lines[i].startswith(("@@", "--- ")):
                hunk_line = lines[i]
                if hunk_line.startswith("\\"):  # "\ No newline at end of file"
                    i += 1
                    continue
                tag, text = (hunk_line[:1], hunk_line[1:]) if hunk_line[:1] in " +-" else (" ", hunk_line)
                if hunk_line.strip() == "" and hunk_line[:1] not in " +-":
                    text = "\n"
                if tag in " -":
                    old.append(text)
                if tag in " +":
                    new.append(text)
                i += 1
            blocks.append(Block(path, "".join(old), "".join(new), int(match.group(1))))
    return blocks


def parse(reply: str) -> list[Block]:
    """Every edit block in a reply, in either format. Raises EditError when there is none or one is broken."""
    blocks = parse_search_replace(reply)
    if not blocks:
        blocks = parse_unified_diff(reply)
    if not blocks:
        raise EditError("the reply contains no edit: give SEARCH/REPLACE blocks or a ```diff block")
    return blocks


def _locate(text: str, old: str, hint: int | None) -> tuple[int, int] | None:
    """Start and end offsets of `old` in `text`: exact first (nearest the hint), then ignoring trailing space."""
    starts = [m.start() for m in re.finditer(re.escape(old), text)]
    if len(starts) == 1:
        return starts[0], starts[0] + len(old)
    if starts:
        if hint is None:
            return None
        return min(((s, s + len(old)) for s in starts), key=lambda span: abs(text.count("\n", 0, span[0]) + 1 - hint))
    # Fuzzy: compare line by line with trailing whitespace ignored.
    want = [line.rstrip() for line in old.splitlines()]
    have = text.splitlines(keepends=True)
    offsets = [0]
    for line in have:
        offsets.append(offsets[-1] + len(line))
    found = [i for i in range(len(have) - len(want) + 1)
             if [line.rstrip() for line in have[i:i + len(want)]] == want]
    if not found:
        return None
    if len(found) > 1 and hint is None:
        return None
    best = min(found, key=lambda i: abs(i + 1 - (hint or 0)))
    return offsets[best], offsets[best + len(want)]


def _merge(found: str, old: str, new: str) -> str:
    """`new`, except that lines it keeps from `old` are taken as they are in the file (`found`): a block matched
    while ignoring trailing whitespace changes only the lines it really changes."""
    found_lines, old_lines = found.splitlines(keepends=True), old.splitlines(keepends=True)
    if found == old or len(found_lines) != len(old_lines):
        return new
    new_lines = new.splitlines(keepends=True)
    merged: list[str] = []
    matcher = difflib.SequenceMatcher(None, [ln.rstrip() for ln in old_lines], [ln.rstrip() for ln in new_lines],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        merged.extend(found_lines[i1:i2] if tag == "equal" else new_lines[j1:j2])
    return "".join(merged)


def apply(root: Path, blocks: list[Block], read: Callable[[Path], str]) -> Patch:
    """Apply the blocks to the current text of their files (`read(path)`); raise EditError on the first that
    cannot be applied exactly once. Paths are resolved against `root` but not yet judged: see validate.py."""
    texts: dict[Path, str] = {}
    originals: dict[Path, str] = {}
    for block in blocks:
        path = (root / block.path).resolve() if not Path(block.path).is_absolute() else Path(block.path).resolve()
        if not path.is_relative_to(root.resolve()):  # never read, let alone quote, a file outside the project
            raise EditError(f"{block.path} is outside the workspace: edit only files of the project")
        if path not in texts:
            try:
                originals[path] = texts[path] = read(path)
            except FileNotFoundError:
                if block.old.strip():
                    raise EditError(f"{block.path} does not exist") from None
                originals[path] = texts[path] = ""
            except (OSError, UnicodeDecodeError) as exc:
                raise EditError(f"{block.path} cannot be read: {exc}") from None
        text = texts[path]
        if not block.old.strip():
            if text.strip():
                raise EditError(f"an empty SEARCH for {block.path}, which already has content: quote the lines "
                                "to replace")
            texts[path] = block.new
            continue
        count = text.count(block.old)
        if count > 1 and block.line_hint is None:
            raise EditError(f"the SEARCH text occurs {count} times in {block.path}: include more lines so it "
                            f"matches once:\n{block.old}")
        span = _locate(text, block.old, block.line_hint)
        if span is None:
            raise EditError(f"the SEARCH text was not found in {block.path}; quote the current lines exactly:\n"
                            f"{block.old}")
        start, end = span
        replacement = _merge(text[start:end], block.old, block.new)
        if text[start:end].endswith("\n") and replacement and not replacement.endswith("\n"):
            replacement += "\n"
        texts[path] = text[:start] + replacement + text[end:]
    return Patch([FileEdit(path, originals[path], texts[path]) for path in texts if texts[path] != originals[path]])
