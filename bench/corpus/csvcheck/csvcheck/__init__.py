"""Parse a small CSV dialect and validate records against a column schema."""
from .parser import ParseError, read_records, split_line
from .schema import Column, parse_bool, validate

__all__ = ["ParseError", "read_records", "split_line", "Column", "parse_bool", "validate"]
