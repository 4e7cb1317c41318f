import pytest

from numerals import convert, from_base, from_roman, to_base, to_roman, to_words


def test_hidden_roman_round_trip_everywhere():
    for n in range(1, 4000):
        assert from_roman(to_roman(n)) == n
    assert to_roman(3888) == "MMMDCCCLXXXVIII"
    assert to_roman(3998) == "MMMCMXCVIII"
    assert from_roman("III") == 3
    assert from_roman("XXX") == 30
    assert from_roman("CCCXC") == 390


def test_hidden_roman_limits():
    for bad in [-1, 0, 4000, 5000]:
        with pytest.raises(ValueError):
            to_roman(bad)
    with pytest.raises(ValueError):
        from_roman("MMMM")


def test_hidden_base_round_trips():
    for base in range(2, 37):
        for n in [0, 1, -1, base - 1, base, base + 1, 12345, -98765, 2**40 + 3]:
            assert from_base(to_base(n, base), base) == n
    assert to_base(6, 2) == "110"
    assert to_base(35, 36) == "z"
    assert to_base(100, 3) == "10201"


def test_hidden_empty_inputs_rejected():
    for text in ["", "   ", "-", " - "]:
        with pytest.raises(ValueError):
            from_base(text, 16)


def test_hidden_convert_between_bases():
    assert convert("777", 8, 10) == "511"
    assert convert("511", 10, 8) == "777"
    assert convert("-1010", 2, 16) == "-a"
    with pytest.raises(ValueError):
        convert("9", 8, 10)


def test_hidden_tens_words():
    assert [to_words(n) for n in (20, 30, 90, 21, 99)] == [
        "twenty", "thirty", "ninety", "twenty-one", "ninety-nine"]
    assert to_words(120) == "one hundred twenty"
    assert to_words(20020) == "twenty thousand twenty"
    assert to_words(-19) == "minus nineteen"
