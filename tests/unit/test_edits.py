"""Reading edits out of a model's reply and applying them: forgiving in what it reads, exact in what it applies,
and every unusable reply becomes an EditError whose message tells the model what to do instead."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from greenloop.repair.propose.edits import EditError, apply, parse
from greenloop.repair.propose.llm.proposer import read_source as production_read
from greenloop.repair.records import FileEdit, Patch

PRICING = """\
def discount(total_cents, percent):
    if percent < 0:
        raise ValueError("percent must not be negative")
    return total_cents - total_cents * percent // 10


def tax(total_cents):
    return total_cents * 20 // 100
"""

FIXED = PRICING.replace("percent // 10\n", "percent // 100\n")

BLOCK = """\
<<<<<<< SEARCH
    return total_cents - total_cents * percent // 10
=======
    return total_cents - total_cents * percent // 100
>>>>>>> REPLACE
"""


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "pricing.py").write_text(PRICING)
    (project / "shop" / "cart.py").write_text("def count(items):\n    return len(items) + 1\n")
    return project.resolve()


def reply_with(path_line: str, block: str = BLOCK) -> str:
    return f"Hypothesis: the percentage is divided by 10.\n\n{path_line}\n{block}\nThat should fix it.\n"


def apply_reply(root: Path, reply: str, reader=read) -> Patch:
    return apply(root, parse(reply), reader)


def after(patch: Patch, path: Path) -> str:
    return next(edit.after for edit in patch.edits if edit.path == path)


# --- SEARCH/REPLACE: the path on the line before the block ---------------------------------------------------------

@pytest.mark.parametrize("path_line", [
    "shop/pricing.py",
    "`shop/pricing.py`",
    "**shop/pricing.py**",
    "File: shop/pricing.py",
    "file: `shop/pricing.py`",
    "Path: shop/pricing.py",
    "# shop/pricing.py",
], ids=["plain", "backticks", "bold", "File-prefix", "file-prefix-backticks", "Path-prefix", "comment"])
def test_search_replace_finds_its_path_on_the_line_before_in_any_common_dressing(root: Path, path_line: str) -> None:
    [block] = parse(reply_with(path_line))
    assert block.path == "shop/pricing.py"
    patch = apply_reply(root, reply_with(path_line))
    assert patch.files == [root / "shop" / "pricing.py"]
    assert after(patch, root / "shop" / "pricing.py") == FIXED


def test_search_replace_path_written_as_bold_file_label_and_backticked_path(root: Path) -> None:
    # A very common markdown rendering: **File:** `shop/pricing.py`
    [block] = parse(reply_with("**File:** `shop/pricing.py`"))
    assert block.path == "shop/pricing.py"


def test_search_replace_inside_a_python_fence_takes_the_path_from_above_the_fence(root: Path) -> None:
    reply = f"shop/pricing.py\n```python\n{BLOCK}```\n"
    patch = apply_reply(root, reply)
    assert after(patch, root / "shop" / "pricing.py") == FIXED


def test_search_replace_with_the_path_as_first_line_inside_the_fence(root: Path) -> None:
    reply = f"```python\nshop/pricing.py\n{BLOCK}```\n"
    patch = apply_reply(root, reply)
    assert after(patch, root / "shop" / "pricing.py") == FIXED


def test_search_replace_markers_with_seven_to_nine_signs_and_no_space_are_accepted(root: Path) -> None:
    block = BLOCK.replace("<<<<<<< SEARCH", "<<<<<<<<<SEARCH").replace(">>>>>>> REPLACE", ">>>>>>>>REPLACE")
    assert after(apply_reply(root, reply_with("shop/pricing.py", block)), root / "shop" / "pricing.py") == FIXED


def test_several_blocks_for_one_file_apply_in_order(root: Path) -> None:
    reply = (
        "shop/pricing.py\n" + BLOCK + "\n"
        "shop/pricing.py\n"
        "<<<<<<< SEARCH\n    return total_cents * 20 // 100\n=======\n    return total_cents * 21 // 100\n"
        ">>>>>>> REPLACE\n"
    )
    patch = apply_reply(root, reply)
    assert len(patch.edits) == 1
    assert after(patch, root / "shop" / "pricing.py") == FIXED.replace("* 20 //", "* 21 //")


def test_consecutive_blocks_in_one_fence_without_repeating_the_path_edit_the_same_file(root: Path) -> None:
    # Models often give the path once, then several blocks; the REPLACE marker above the second block is not a path.
    reply = (
        "shop/pricing.py\n```python\n" + BLOCK +
        "<<<<<<< SEARCH\n    return total_cents * 20 // 100\n=======\n    return total_cents * 21 // 100\n"
        ">>>>>>> REPLACE\n```\n"
    )
    assert [block.path for block in parse(reply)] == ["shop/pricing.py", "shop/pricing.py"]


def test_blocks_for_several_files_make_one_patch_with_an_edit_per_file(root: Path) -> None:
    reply = (
        "shop/pricing.py\n```python\n" + BLOCK + "```\n\n"
        "shop/cart.py\n```python\n<<<<<<< SEARCH\n    return len(items) + 1\n=======\n    return len(items)\n"
        ">>>>>>> REPLACE\n```\n"
    )
    patch = apply_reply(root, reply)
    assert sorted(patch.files) == sorted([root / "shop" / "pricing.py", root / "shop" / "cart.py"])
    assert after(patch, root / "shop" / "cart.py") == "def count(items):\n    return len(items)\n"
    assert after(patch, root / "shop" / "pricing.py") == FIXED


def test_apply_does_not_write_to_disk(root: Path) -> None:
    apply_reply(root, reply_with("shop/pricing.py"))
    assert (root / "shop" / "pricing.py").read_text() == PRICING


def test_replacement_without_final_newline_keeps_the_line_break(root: Path) -> None:
    reply = ("shop/cart.py\n<<<<<<< SEARCH\n    return len(items) + 1\n=======\n    return len(items)"
             "\n>>>>>>> REPLACE")
    patch = apply_reply(root, reply)
    assert after(patch, root / "shop" / "cart.py") == "def count(items):\n    return len(items)\n"


def test_search_that_differs_only_in_trailing_whitespace_still_applies(root: Path) -> None:
    reply = ("shop/cart.py\n<<<<<<< SEARCH\ndef count(items):   \n    return len(items) + 1\t\n=======\n"
             "def count(items):\n    return len(items)\n>>>>>>> REPLACE\n")
    patch = apply_reply(root, reply)
    assert after(patch, root / "shop" / "cart.py") == "def count(items):\n    return len(items)\n"


# --- unified diffs -------------------------------------------------------------------------------------------------

def test_unified_diff_in_a_diff_fence_applies_by_context_even_with_wrong_line_numbers(root: Path) -> None:
    reply = textwrap.dedent("""\
        The divisor is wrong.

        ```diff
        --- a/shop/pricing.py
        +++ b/shop/pricing.py
        @@ -40,4 +40,4 @@ def discount(total_cents, percent):
             if percent < 0:
                 raise ValueError("percent must not be negative")
        -    return total_cents - total_cents * percent // 10
        +    return total_cents - total_cents * percent // 100
        ```
        """)
    [block] = parse(reply)
    assert block.path == "shop/pricing.py" and block.line_hint == 40
    assert after(apply_reply(root, reply), root / "shop" / "pricing.py") == FIXED


def test_unified_diff_whose_context_differs_in_trailing_whitespace_applies_fuzzily(root: Path) -> None:
    reply = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -2,3 +2,3 @@\n"
        "     if percent < 0:   \n"
        "         raise ValueError(\"percent must not be negative\")\t\n"
        "-    return total_cents - total_cents * percent // 10  \n"
        "+    return total_cents - total_cents * percent // 100\n"
        "```\n"
    )
    text = after(apply_reply(root, reply), root / "shop" / "pricing.py")
    assert "    return total_cents - total_cents * percent // 100\n" in text
    assert "percent // 10\n" not in text and "percent // 10 " not in text


def test_a_fuzzily_applied_diff_leaves_its_context_lines_as_they_are_in_the_file(root: Path) -> None:
    # Only the - and + lines change; the model's stray trailing whitespace on context lines is not copied in.
    reply = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -2,3 +2,3 @@\n"
        "     if percent < 0:   \n"
        "         raise ValueError(\"percent must not be negative\")\t\n"
        "-    return total_cents - total_cents * percent // 10  \n"
        "+    return total_cents - total_cents * percent // 100\n"
        "```\n"
    )
    patch = apply_reply(root, reply)
    assert after(patch, root / "shop" / "pricing.py") == FIXED
    assert patch.changed_lines() == 2


def test_unified_diff_blank_context_lines_without_leading_space_are_read_as_blank_lines(root: Path) -> None:
    reply = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -4,5 +4,5 @@\n"
        "     return total_cents - total_cents * percent // 10\n"
        "\n"
        "\n"
        " def tax(total_cents):\n"
        "-    return total_cents * 20 // 100\n"
        "+    return total_cents * 21 // 100\n"
        "```\n"
    )
    assert after(apply_reply(root, reply), root / "shop" / "pricing.py") == PRICING.replace("* 20 //", "* 21 //")


def test_unified_diff_touching_two_files_and_two_hunks(root: Path) -> None:
    reply = (
        "```diff\n--- a/shop/pricing.py\n+++ b/shop/pricing.py\n"
        "@@ -4 +4 @@\n-    return total_cents - total_cents * percent // 10\n"
        "+    return total_cents - total_cents * percent // 100\n"
        "@@ -8 +8 @@\n-    return total_cents * 20 // 100\n+    return total_cents * 21 // 100\n"
        "--- a/shop/cart.py\n+++ b/shop/cart.py\n"
        "@@ -2 +2 @@\n-    return len(items) + 1\n+    return len(items)\n"
        "```\n"
    )
    patch = apply_reply(root, reply)
    assert after(patch, root / "shop" / "pricing.py") == FIXED.replace("* 20 //", "* 21 //")
    assert after(patch, root / "shop" / "cart.py") == "def count(items):\n    return len(items)\n"


def test_a_bare_unified_diff_without_a_fence_is_accepted(root: Path) -> None:
    reply = ("--- a/shop/cart.py\n+++ b/shop/cart.py\n@@ -2 +2 @@\n-    return len(items) + 1\n"
             "+    return len(items)\n")
    assert after(apply_reply(root, reply), root / "shop" / "cart.py") == "def count(items):\n    return len(items)\n"


def test_a_hunk_before_any_file_header_is_an_error(root: Path) -> None:
    with pytest.raises(EditError, match="--- a/FILE"):
        parse("```diff\n@@ -2 +2 @@\n-    return len(items) + 1\n+    return len(items)\n```\n")


def test_repeated_text_in_a_diff_is_placed_by_the_hunk_line_hint(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\ny = 0\nx = 1\ny = 0\n")
    reply = "```diff\n--- a/m.py\n+++ b/m.py\n@@ -3,2 +3,2 @@\n x = 1\n-y = 0\n+y = 2\n```\n"
    assert after(apply_reply(tmp_path.resolve(), reply), tmp_path.resolve() / "m.py") == "x = 1\ny = 0\nx = 1\ny = 2\n"


# --- replies that cannot be used -----------------------------------------------------------------------------------

def test_a_reply_without_any_edit_says_which_formats_to_use() -> None:
    with pytest.raises(EditError) as caught:
        parse("I think the bug is in discount(): the divisor should be 100.")
    message = str(caught.value)
    assert "no edit" in message
    assert "SEARCH/REPLACE" in message and "```diff" in message


def test_a_python_fence_with_no_markers_is_not_an_edit() -> None:
    with pytest.raises(EditError, match="no edit"):
        parse("shop/pricing.py\n```python\ndef discount(total_cents, percent):\n    return 0\n```\n")


def test_search_text_not_in_the_file_is_refused_quoting_the_text(root: Path) -> None:
    reply = "shop/pricing.py\n<<<<<<< SEARCH\n    return total * rate\n=======\n    return 0\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError) as caught:
        apply_reply(root, reply)
    message = str(caught.value)
    assert "not found in shop/pricing.py" in message
    assert "return total * rate" in message


def test_search_text_that_occurs_twice_is_refused_as_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def a():\n    return 1\n\n\ndef b():\n    return 1\n")
    reply = "m.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return 2\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError) as caught:
        apply_reply(tmp_path.resolve(), reply)
    message = str(caught.value)
    assert "occurs 2 times in m.py" in message
    assert "include more lines" in message
    assert "return 1" in message


def test_a_block_without_divider_is_refused() -> None:
    reply = "shop/pricing.py\n<<<<<<< SEARCH\n    return x\n    return y\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match=r"shop/pricing\.py has no ======= divider"):
        parse(reply)


def test_a_block_without_replace_end_is_refused() -> None:
    reply = "shop/pricing.py\n<<<<<<< SEARCH\n    return x\n=======\n    return y\n"
    with pytest.raises(EditError, match=r"shop/pricing\.py has no >>>>>>> REPLACE end"):
        parse(reply)


def test_a_block_without_a_path_line_is_refused() -> None:
    with pytest.raises(EditError, match="does not name its file"):
        parse(BLOCK)


def test_a_search_block_for_a_missing_file_is_refused(root: Path) -> None:
    with pytest.raises(EditError, match=r"shop/missing\.py does not exist"):
        apply_reply(root, reply_with("shop/missing.py"))


def test_a_non_utf8_file_gives_an_error_not_a_crash(root: Path) -> None:
    (root / "shop" / "latin.py").write_bytes(b"# caf\xe9\nx = 1\n")
    reply = "shop/latin.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match=r"shop/latin\.py cannot be read"):
        apply_reply(root, reply)


def test_a_non_utf8_file_read_by_the_proposer_gives_an_error_naming_the_problem(root: Path) -> None:
    (root / "shop" / "latin.py").write_bytes(b"# caf\xe9\nx = 1\n")
    reply = "shop/latin.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match="not valid UTF-8"):
        apply_reply(root, reply, production_read)


# --- new files -----------------------------------------------------------------------------------------------------

def test_an_empty_search_creates_a_new_file(root: Path) -> None:
    reply = "shop/money.py\n<<<<<<< SEARCH\n=======\nCENT = 1\n>>>>>>> REPLACE\n"
    patch = apply_reply(root, reply)
    [edit] = patch.edits
    assert edit == FileEdit(root / "shop" / "money.py", "", "CENT = 1\n")


def test_an_empty_search_does_not_overwrite_a_file_that_has_content(root: Path) -> None:
    reply = "shop/cart.py\n<<<<<<< SEARCH\n=======\nCENT = 1\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match=r"empty SEARCH for shop/cart\.py, which already has content"):
        apply_reply(root, reply)


def test_an_empty_search_may_fill_an_empty_file(root: Path) -> None:
    (root / "shop" / "__init__.py").write_text("")
    reply = "shop/__init__.py\n<<<<<<< SEARCH\n=======\nfrom .cart import count\n>>>>>>> REPLACE\n"
    assert after(apply_reply(root, reply), root / "shop" / "__init__.py") == "from .cart import count\n"


# --- Patch ---------------------------------------------------------------------------------------------------------

def test_patch_diff_is_a_unified_diff_with_root_relative_a_b_paths(root: Path) -> None:
    diff = apply_reply(root, reply_with("shop/pricing.py")).diff(root)
    lines = diff.splitlines()
    assert lines[0] == "--- a/shop/pricing.py"
    assert lines[1] == "+++ b/shop/pricing.py"
    assert lines[2].startswith("@@ -")
    assert "-    return total_cents - total_cents * percent // 10" in lines
    assert "+    return total_cents - total_cents * percent // 100" in lines
    assert str(root) not in diff


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs the patch program")
def test_patch_diff_applies_cleanly_with_patch_p1(root: Path) -> None:
    reply = (
        "shop/pricing.py\n" + BLOCK + "\n"
        "shop/cart.py\n<<<<<<< SEARCH\n    return len(items) + 1\n=======\n    return len(items)\n>>>>>>> REPLACE\n"
    )
    diff = apply_reply(root, reply).diff(root)
    done = subprocess.run(["patch", "-p1", "--batch", "--quiet"], input=diff, text=True, cwd=root,
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "shop" / "pricing.py").read_text() == FIXED
    assert (root / "shop" / "cart.py").read_text() == "def count(items):\n    return len(items)\n"


def test_patch_diff_marks_a_missing_final_newline(tmp_path: Path) -> None:
    patch = Patch([FileEdit(tmp_path / "m.py", "x = 1", "x = 2")])
    assert patch.diff(tmp_path).splitlines()[-4:] == [
        "-x = 1", "\\ No newline at end of file", "+x = 2", "\\ No newline at end of file"]


def test_patch_diff_round_trips_through_the_diff_parser(root: Path) -> None:
    patch = apply_reply(root, reply_with("shop/pricing.py"))
    again = apply_reply(root, "```diff\n" + patch.diff(root) + "```\n")
    assert again.edits == patch.edits


def test_an_edit_outside_the_root_is_refused_before_the_file_is_read(root: Path) -> None:
    reply = "../outside.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n"
    with pytest.raises(EditError, match="outside the workspace"):
        apply_reply(root, reply)


def test_patch_diff_of_an_edit_outside_the_root_does_not_raise(root: Path) -> None:
    patch = Patch([FileEdit(root.parent / "outside.py", "", "x = 1\n")])
    assert "+x = 1" in patch.diff(root)


def test_patch_changed_lines_counts_removed_plus_added_lines(root: Path) -> None:
    assert apply_reply(root, reply_with("shop/pricing.py")).changed_lines() == 2
    grow = Patch([FileEdit(root / "m.py", "a\nb\n", "a\nx\ny\nb\n")])
    assert grow.changed_lines() == 2
    shrink = Patch([FileEdit(root / "m.py", "a\nb\nc\n", "c\n")])
    assert shrink.changed_lines() == 2
    two_files = Patch([FileEdit(root / "a.py", "a\n", "b\n"), FileEdit(root / "b.py", "c\n", "c\nd\n")])
    assert two_files.changed_lines() == 3
    assert Patch([FileEdit(root / "m.py", "a\n", "a\n")]).changed_lines() == 0


def test_patch_changed_lines_counts_lines_that_start_with_dashes_or_pluses() -> None:
    # A numpy-style docstring underline ("-----") is a changed line like any other.
    before = '"""Tools.\n\nNotes\n-----\nSlow.\n"""\n'
    after_text = '"""Tools.\n\nNotes\n+++++\nSlow.\n"""\n'
    assert Patch([FileEdit(Path("/p/m.py"), before, after_text)]).changed_lines() == 2


def test_patch_empty_and_files(root: Path) -> None:
    assert Patch().empty
    assert Patch([FileEdit(root / "m.py", "a\n", "a\n")]).empty
    patch = Patch([FileEdit(root / "m.py", "a\n", "b\n")])
    assert not patch.empty and patch.files == [root / "m.py"]


def test_a_block_that_changes_nothing_makes_an_empty_patch(root: Path) -> None:
    same = BLOCK.replace("// 100\n>>>", "// 10\n>>>")
    assert apply_reply(root, reply_with("shop/pricing.py", same)).edits == []
