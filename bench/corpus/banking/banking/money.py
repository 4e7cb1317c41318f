"""Amounts of money as integer cents."""
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation


def parse_amount(text):
    """Parse "1,234.56" into 123456 cents; at most two decimals are allowed."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValueError(f"not an amount in cents: {text!r}")
    return int(value * 100)


def round_cents(value):
    """Round a fractional number of cents to an int, half to even (banker's rounding)."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_cents(cents):
    """Format cents for display: 123456 -> "1,234.56", -5 -> "-0.05"."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d}"
