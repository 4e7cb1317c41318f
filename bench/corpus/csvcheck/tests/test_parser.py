import pytest

from csvcheck import ParseError, read_records, split_line


def test_split_plain_fields():
    assert split_line("a,b,c") == ["a", "b", "c"]


def test_split_empty_fields():
    assert split_line("a,,") == ["a", "", ""]


def test_quoted_field_may_contain_the_delimiter():
    assert split_line('x,"hello, world",y') == ["x", "hello, world", "y"]


def test_doubled_quote_inside_quotes():
    assert split_line('"say ""hi""",2') == ['say "hi"', "2"]


def test_unterminated_quote():
    with pytest.raises(ParseError):
        split_line('"oops,1')


def test_other_delimiter():
    assert split_line("a;b", delimiter=";") == ["a", "b"]


def test_records_skip_comments_and_blank_lines():
    header, records = read_records("# people\nname,age\n\nann,31\nbob,42\n")
    assert header == ["name", "age"]
    assert records == [(4, {"name": "ann", "age": "31"}), (5, {"name": "bob", "age": "42"})]


def test_short_row_is_an_error():
    with pytest.raises(ParseError) as info:
        read_records("name,age\nann\n")
    assert info.value.line_no == 2


def test_duplicate_column_names():
    with pytest.raises(ParseError):
        read_records("a,b,a\n1,2,3\n")
