from decimal import Decimal

import pytest

from banking import format_cents, parse_amount, round_cents


def test_parse_amount():
    assert parse_amount("1,234.56") == 123456
    assert parse_amount("-3.5") == -350
    assert parse_amount(" 7 ") == 700


def test_parse_amount_rejects_garbage_and_fractions_of_cents():
    with pytest.raises(ValueError):
        parse_amount("abc")
    with pytest.raises(ValueError):
        parse_amount("1.234")


def test_format_cents():
    assert format_cents(123456) == "1,234.56"
    assert format_cents(5) == "0.05"


def test_format_negative_cents():
    assert format_cents(-5) == "-0.05"


def test_round_cents_half_to_even():
    assert round_cents(Decimal("2.5")) == 2
    assert round_cents(Decimal("3.5")) == 4
    assert round_cents(Decimal("3.51")) == 4
