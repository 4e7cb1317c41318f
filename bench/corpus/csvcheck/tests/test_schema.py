import pytest

from csvcheck import Column, parse_bool, validate

PEOPLE = [Column("name"), Column("age", "int", minimum=0), Column("member", "bool", required=False)]


def test_parse_bool():
    assert parse_bool(" Yes ") is True
    assert parse_bool("0") is False
    with pytest.raises(ValueError):
        parse_bool("maybe")


def test_valid_rows_are_converted():
    rows, errors = validate("name,age,member\nann,31,y\nbob,42,no\n", PEOPLE)
    assert errors == []
    assert rows == [{"name": "ann", "age": 31, "member": True}, {"name": "bob", "age": 42, "member": False}]


def test_errors_name_line_and_column():
    rows, errors = validate("name,age,member\nann,31,\nbob,-1,\n", PEOPLE)
    assert rows == [{"name": "ann", "age": 31, "member": None}]
    assert errors == ["line 3: age: -1 is below the minimum 0"]


def test_missing_required_value():
    rows, errors = validate("name,age,member\n,5,\n", PEOPLE)
    assert rows == []
    assert errors == ["line 2: name: missing value"]


def test_maximum_is_inclusive():
    columns = [Column("score", "int", maximum=100)]
    rows, errors = validate("score\n100\n101\n", columns)
    assert rows == [{"score": 100}]
    assert errors == ["line 3: score: 101 is above the maximum 100"]


def test_choices():
    columns = [Column("size", choices=("S", "M", "L"))]
    rows, errors = validate("size\nM\nXL\n", columns)
    assert rows == [{"size": "M"}]
    assert errors == ["line 3: size: 'XL' is not one of S, M, L"]


def test_missing_column():
    assert validate("name\nann\n", PEOPLE) == ([], ["header: missing column(s) age, member"])
