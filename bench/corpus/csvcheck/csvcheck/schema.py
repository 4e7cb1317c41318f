"""Typed columns and validation of parsed records."""
from dataclasses import dataclass

from .parser import read_records

TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


def parse_bool(text):
    """Read yes/no, true/false, y/n or 1/0 (any case) as a bool."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {text!r}")


CONVERTERS = {"int": int, "float": float, "str": str, "bool": parse_bool}


@dataclass
class Column:
    """A column's name, type ("int", "float", "str" or "bool") and constraints (bounds are inclusive)."""

    name: str
    type: str = "str"
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()

    def convert(self, raw):
        """The typed value of `raw` (None for an empty optional value); ValueError if invalid."""
        text = raw.strip()
        if not text:
            if self.required:
                raise ValueError("missing value")
            return None
        value = CONVERTERS[self.type](text)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{value} is below the minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{value} is above the maximum {self.maximum}")
        if self.choices and value not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(map(str, self.choices))}")
        return value


def validate(text, columns):
    """Parse `text` and check every record against `columns`.

    Returns (rows, errors): the converted rows that passed every check, and messages of the form
    "line N: column: problem" for the others.
    """
    header, records = read_records(text)
    missing = [column.name for column in columns if column.name not in header]
    if missing:
        return [], [f"header: missing column(s) {', '.join(missing)}"]
    rows, errors = [], []
    for line_no, record in records:
        row = {}
        for column in columns:
            try:
                row[column.name] = column.convert(record[column.name])
            except ValueError as exc:
                errors.append(f"line {line_no}: {column.name}: {exc}")
        if len(row) == len(columns):
            rows.append(row)
    return rows, errors
