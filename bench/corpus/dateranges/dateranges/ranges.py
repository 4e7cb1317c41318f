"""Half-open ranges of calendar days."""
import datetime as dt
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)


def first_of_next_month(day):
    """The first day of the month after the month of `day`."""
    if day.month == 12:
        return dt.date(day.year + 1, 1, 1)
    return dt.date(day.year, day.month + 1, 1)


def days_in_month(year, month):
    """Number of days in the given month."""
    first = dt.date(year, month, 1)
    return (first_of_next_month(first) - first).days


@dataclass(frozen=True)
class DateRange:
    """The days from `start` (inclusive) to `end` (exclusive)."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"range ends ({self.end}) before it starts ({self.start})")

    def __len__(self):
        return (self.end - self.start).days

    def __contains__(self, day):
        return self.start <= day < self.end

    def __iter__(self):
        day = self.start
        while day < self.end:
            yield day
            day += ONE_DAY

    def overlaps(self, other):
        """True when the two ranges share at least one day."""
        return self.start < other.end and other.start < self.end

    def intersection(self, other):
        """The days both ranges share, or None when they share none."""
        if not self.overlaps(other):
            return None
        return DateRange(max(self.start, other.start), min(self.end, other.end))

    def shift(self, days):
        """The same length of range moved by `days` (negative moves it back)."""
        delta = dt.timedelta(days=days)
        return DateRange(self.start + delta, self.end + delta)

    def split_by_month(self):
        """Consecutive sub-ranges that each stay within one calendar month."""
        parts = []
        start = self.start
        while start < self.end:
            end = min(first_of_next_month(start), self.end)
            parts.append(DateRange(start, end))
            start = end
        return parts
