"""Greedy line wrapping and truncation."""


def wrap(text, width):
    """Split `text` into lines of at most `width` characters, breaking between words.

    Runs of whitespace collapse to one space; a word longer than `width` gets a line of its own.
    """
    if width < 1:
        raise ValueError("width must be positive")
    lines = []
    current = ""
    for word in text.split():
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def truncate(text, width, ellipsis="..."):
    """`text` cut to at most `width` characters, ending with `ellipsis` when it was cut."""
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    return text[:width - len(ellipsis)] + ellipsis
