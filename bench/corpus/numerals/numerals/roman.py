"""Roman numerals for the integers 1 to 3999."""

_TABLE = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def to_roman(n):
    """The canonical Roman numeral for `n`: 1994 -> "MCMXCIV"."""
    if not isinstance(n, int) or not 0 < n < 4000:
        raise ValueError(f"cannot write {n!r} in Roman numerals")
    parts = []
    for value, symbol in _TABLE:
        count, n = divmod(n, value)
        parts.append(symbol * count)
    return "".join(parts)


def from_roman(text):
    """The value of a canonical Roman numeral (any case); "IIII" or "IC" are rejected."""
    numeral = text.strip().upper()
    if not numeral or any(ch not in _VALUES for ch in numeral):
        raise ValueError(f"not a Roman numeral: {text!r}")
    total = 0
    for i, ch in enumerate(numeral):
        value = _VALUES[ch]
        if i + 1 < len(numeral) and value < _VALUES[numeral[i + 1]]:
            total -= value
        else:
            total += value
    if not 0 < total < 4000 or to_roman(total) != numeral:
        raise ValueError(f"not a canonical Roman numeral: {text!r}")
    return total
