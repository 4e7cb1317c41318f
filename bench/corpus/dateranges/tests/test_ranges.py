import datetime as dt

import pytest

from dateranges import DateRange, days_in_month, first_of_next_month

D = dt.date


def test_length_and_membership_are_half_open():
    r = DateRange(D(2024, 1, 1), D(2024, 1, 4))
    assert len(r) == 3
    assert D(2024, 1, 1) in r
    assert D(2024, 1, 4) not in r


def test_iteration_lists_each_day_once():
    r = DateRange(D(2024, 1, 30), D(2024, 2, 2))
    assert list(r) == [D(2024, 1, 30), D(2024, 1, 31), D(2024, 2, 1)]


def test_empty_range():
    r = DateRange(D(2024, 5, 5), D(2024, 5, 5))
    assert len(r) == 0
    assert list(r) == []


def test_end_before_start_is_rejected():
    with pytest.raises(ValueError):
        DateRange(D(2024, 5, 5), D(2024, 5, 4))


def test_overlapping_ranges():
    assert DateRange(D(2024, 1, 1), D(2024, 1, 5)).overlaps(DateRange(D(2024, 1, 4), D(2024, 1, 10)))


def test_adjacent_ranges_do_not_overlap():
    a = DateRange(D(2024, 1, 1), D(2024, 1, 5))
    b = DateRange(D(2024, 1, 5), D(2024, 1, 8))
    assert not a.overlaps(b)


def test_intersection():
    a = DateRange(D(2024, 1, 1), D(2024, 1, 10))
    b = DateRange(D(2024, 1, 5), D(2024, 1, 20))
    assert a.intersection(b) == DateRange(D(2024, 1, 5), D(2024, 1, 10))
    assert a.intersection(DateRange(D(2024, 2, 1), D(2024, 2, 2))) is None


def test_shift():
    r = DateRange(D(2024, 1, 30), D(2024, 2, 2)).shift(3)
    assert r == DateRange(D(2024, 2, 2), D(2024, 2, 5))


def test_month_helpers():
    assert first_of_next_month(D(2023, 12, 15)) == D(2024, 1, 1)
    assert first_of_next_month(D(2024, 2, 29)) == D(2024, 3, 1)
    assert days_in_month(2024, 2) == 29


def test_split_by_month():
    parts = DateRange(D(2024, 1, 30), D(2024, 3, 2)).split_by_month()
    assert parts == [
        DateRange(D(2024, 1, 30), D(2024, 2, 1)),
        DateRange(D(2024, 2, 1), D(2024, 3, 1)),
        DateRange(D(2024, 3, 1), D(2024, 3, 2)),
    ]
