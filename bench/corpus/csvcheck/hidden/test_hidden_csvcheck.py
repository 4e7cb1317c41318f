import pytest

from csvcheck import Column, ParseError, read_records, split_line, validate


def test_hidden_quote_edge_cases():
    assert split_line('""""') == ['"']
    assert split_line('"a""",b') == ['a"', "b"]
    assert split_line('"",x') == ["", "x"]
    assert split_line('mid"quote,z') == ['mid"quote', "z"]
    assert split_line('"x""y""z"') == ['x"y"z']


def test_hidden_field_count_both_ways():
    with pytest.raises(ParseError) as info:
        read_records("#x\n\nid,v\n1,2\n3\n")
    assert info.value.line_no == 5
    with pytest.raises(ParseError) as info:
        read_records("id,v\n1,2,3\n")
    assert info.value.line_no == 2
    with pytest.raises(ParseError) as info:
        read_records("a,b,c\n\n1,2\n")
    assert info.value.line_no == 3


def test_hidden_line_numbers_count_comments_and_blanks():
    header, records = read_records("\n# a comment\n\nk\n# another\nv1\n\nv2\n")
    assert header == ["k"]
    assert [line for line, _ in records] == [6, 8]


def test_hidden_unterminated_quote_reports_its_line():
    with pytest.raises(ParseError) as info:
        read_records('a,b\n1,2\n# c\n"x,3\n')
    assert info.value.line_no == 4


def test_hidden_validate_lines_after_comments():
    columns = [Column("n", "int", minimum=1, maximum=9)]
    rows, errors = validate("# header next\nn\n5\n\n# skip\n0\n9\n10\n", columns)
    assert rows == [{"n": 5}, {"n": 9}]
    assert errors == ["line 6: n: 0 is below the minimum 1", "line 8: n: 10 is above the maximum 9"]


def test_hidden_float_bounds_inclusive():
    columns = [Column("x", "float", minimum=-1.5, maximum=1.5)]
    rows, errors = validate("x\n1.5\n-1.5\n1.51\n", columns)
    assert rows == [{"x": 1.5}, {"x": -1.5}]
    assert len(errors) == 1 and errors[0].startswith("line 4: x:")


def test_hidden_optional_and_required_blanks():
    columns = [Column("a", required=False), Column("b", "int", required=False), Column("c")]
    rows, errors = validate("a,b,c\n  , ,z\n,,\n", columns)
    assert rows == [{"a": None, "b": None, "c": "z"}]
    assert errors == ["line 3: c: missing value"]
