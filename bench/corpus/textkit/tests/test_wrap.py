import pytest

from textkit import truncate, wrap


def test_wrap_fills_lines_up_to_width():
    assert wrap("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]


def test_wrap_collapses_whitespace():
    assert wrap("one   two\nthree", 20) == ["one two three"]


def test_wrap_puts_long_words_on_their_own_line():
    assert wrap("a verylongword b", 4) == ["a", "verylongword", "b"]


def test_wrap_rejects_zero_width():
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_truncate_short_text_unchanged():
    assert truncate("short", 10) == "short"


def test_truncate_adds_ellipsis():
    assert truncate("abcdefghij", 8) == "abcde..."
