"""A small CSV dialect: delimited fields, double-quoted fields, '#' comment lines."""


class ParseError(ValueError):
    """The text is not valid in this dialect; `line_no` is 1-based (0 when no line applies)."""

    def __init__(self, line_no, message):
        super().__init__(f"line {line_no}: {message}")
        self.line_no = line_no


def split_line(line, delimiter=",", quote='"', line_no=1):
    """Split one line into fields.

    A field that starts with `quote` may contain the delimiter, and a doubled quote inside it
    stands for one quote character. A quote in the middle of an unquoted field is literal.
    """
    fields = []
    field = []
    in_quotes = False
    i = 0
    while i < len(line):
        ch = line[i]
        if in_quotes:
            if ch != quote:
                field.append(ch)
            elif i + 1 < len(line) and line[i + 1] == quote:
                field.append(quote)
                i += 1
            else:
                in_quotes = False
        elif ch == quote and not field:
            in_quotes = True
        elif ch == delimiter:
            fields.append("".join(field))
            field = []
        else:
            field.append(ch)
        i += 1
    if in_quotes:
        raise ParseError(line_no, "unterminated quoted field")
    fields.append("".join(field))
    return fields


def read_records(text, delimiter=","):
    """Parse `text`; the first line that is not blank or a comment is the header.

    Returns (header, records) where records is a list of (line number, {column: raw text}).
    """
    header = None
    records = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = split_line(line, delimiter, line_no=line_no)
        if header is None:
            header = [name.strip() for name in fields]
            if len(set(header)) != len(header):
                raise ParseError(line_no, "duplicate column name")
            continue
        if len(fields) != len(header):
            raise ParseError(line_no, f"expected {len(header)} fields, got {len(fields)}")
        records.append((line_no, dict(zip(header, fields))))
    if header is None:
        raise ParseError(0, "no header line")
    return header, records
