import pytest

from numerals import from_roman, to_roman


def test_to_roman():
    assert to_roman(1994) == "MCMXCIV"
    assert to_roman(4) == "IV"


def test_largest_numeral():
    assert to_roman(3999) == "MMMCMXCIX"


def test_out_of_range():
    with pytest.raises(ValueError):
        to_roman(0)
    with pytest.raises(ValueError):
        to_roman(4000)


def test_from_roman():
    assert from_roman("MCMXCIV") == 1994
    assert from_roman("mmxxiv") == 2024


def test_non_canonical_numerals_are_rejected():
    for text in ["IIII", "IC", "VV", "ABC", ""]:
        with pytest.raises(ValueError):
            from_roman(text)
