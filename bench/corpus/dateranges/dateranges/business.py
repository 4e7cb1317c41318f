"""Business-day arithmetic: Monday to Friday, minus an optional set of holidays."""
from .ranges import ONE_DAY, DateRange

WEEKEND = (5, 6)  # date.weekday(): Saturday, Sunday


def is_business_day(day, holidays=()):
    """True for a weekday that is not a holiday."""
    return day.weekday() not in WEEKEND and day not in holidays


def next_business_day(day, holidays=()):
    """`day` itself when it is a business day, otherwise the first business day after it."""
    while not is_business_day(day, holidays):
        day += ONE_DAY
    return day


def add_business_days(day, n, holidays=()):
    """The date `n` business days after `day` (before it when `n` is negative)."""
    step = ONE_DAY if n >= 0 else -ONE_DAY
    remaining = abs(n)
    while remaining > 0:
        day += step
        if is_business_day(day, holidays):
            remaining -= 1
    return day


def business_days_between(start, end, holidays=()):
    """Number of business days in [start, end)."""
    return sum(1 for day in DateRange(start, end) if is_business_day(day, holidays))
