import pytest

from numerals import convert, from_base, to_base


def test_to_base():
    assert to_base(255, 16) == "ff"
    assert to_base(10, 2) == "1010"
    assert to_base(0, 7) == "0"


def test_negative_numbers():
    assert to_base(-255, 16) == "-ff"
    assert from_base("-FF", 16) == -255


def test_from_base():
    assert from_base("1010", 2) == 10
    assert from_base("zz", 36) == 1295


def test_invalid_digits():
    with pytest.raises(ValueError):
        from_base("12", 2)
    with pytest.raises(ValueError):
        from_base("-", 10)


def test_bad_base():
    with pytest.raises(ValueError):
        to_base(5, 1)


def test_convert():
    assert convert("ff", 16, 2) == "11111111"
