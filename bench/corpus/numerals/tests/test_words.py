import pytest

from numerals import to_words


def test_small_numbers():
    assert to_words(0) == "zero"
    assert to_words(7) == "seven"
    assert to_words(13) == "thirteen"


def test_tens():
    assert to_words(20) == "twenty"
    assert to_words(42) == "forty-two"


def test_hundreds_and_thousands():
    assert to_words(1234) == "one thousand two hundred thirty-four"
    assert to_words(1000000) == "one million"


def test_negative():
    assert to_words(-5) == "minus five"


def test_too_large():
    with pytest.raises(ValueError):
        to_words(10**12)
