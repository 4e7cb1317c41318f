"""Integers written in bases 2 to 36, with lower-case digits and a leading minus sign."""

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _check_base(base):
    if not 2 <= base <= 36:
        raise ValueError(f"base must be between 2 and 36, not {base}")


def to_base(n, base):
    """`n` written in `base`: to_base(-255, 16) -> "-ff"."""
    _check_base(base)
    if n == 0:
        return "0"
    sign = "-" if n < 0 else ""
    n = abs(n)
    digits = []
    while n:
        n, remainder = divmod(n, base)
        digits.append(DIGITS[remainder])
    return sign + "".join(reversed(digits))


def from_base(text, base):
    """The integer written as `text` in `base` (digits in any case, optional leading minus)."""
    _check_base(base)
    digits = text.strip().lower()
    negative = digits.startswith("-")
    if negative:
        digits = digits[1:]
    if not digits:
        raise ValueError(f"no digits in {text!r}")
    value = 0
    for ch in digits:
        digit = DIGITS.find(ch)
        if digit < 0 or digit >= base:
            raise ValueError(f"invalid digit {ch!r} for base {base}")
        value = value * base + digit
    return -value if negative else value


def convert(text, source, target):
    """Rewrite `text` from base `source` into base `target`."""
    return to_base(from_base(text, source), target)
