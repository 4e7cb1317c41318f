import datetime as dt

from dateranges import (DateRange, add_business_days, business_days_between, days_in_month,
                        is_business_day, next_business_day)

D = dt.date


def test_hidden_adjacency_in_both_directions():
    a = DateRange(D(2023, 3, 1), D(2023, 3, 10))
    b = DateRange(D(2023, 3, 10), D(2023, 3, 12))
    assert not a.overlaps(b)
    assert not b.overlaps(a)
    assert a.intersection(b) is None
    assert b.intersection(a) is None


def test_hidden_one_shared_day_overlaps():
    a = DateRange(D(2023, 3, 1), D(2023, 3, 11))
    b = DateRange(D(2023, 3, 10), D(2023, 3, 12))
    assert a.overlaps(b) and b.overlaps(a)
    assert a.intersection(b) == DateRange(D(2023, 3, 10), D(2023, 3, 11))


def test_hidden_days_in_every_month():
    assert [days_in_month(2023, m) for m in range(1, 13)] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert days_in_month(2024, 2) == 29


def test_hidden_split_across_year_end():
    parts = DateRange(D(2023, 11, 20), D(2024, 1, 3)).split_by_month()
    assert parts == [
        DateRange(D(2023, 11, 20), D(2023, 12, 1)),
        DateRange(D(2023, 12, 1), D(2024, 1, 1)),
        DateRange(D(2024, 1, 1), D(2024, 1, 3)),
    ]


def test_hidden_iteration_matches_length():
    r = DateRange(D(2024, 2, 27), D(2024, 3, 1))
    assert list(r) == [D(2024, 2, 27), D(2024, 2, 28), D(2024, 2, 29)]
    assert len(list(r)) == len(r)


def test_hidden_business_days_over_four_weeks():
    assert business_days_between(D(2024, 1, 1), D(2024, 1, 29)) == 20
    assert business_days_between(D(2024, 1, 6), D(2024, 1, 8)) == 0
    assert business_days_between(D(2024, 1, 5), D(2024, 1, 8)) == 1
    assert business_days_between(D(2024, 1, 8), D(2024, 1, 9)) == 1
    assert business_days_between(D(2024, 1, 9), D(2024, 1, 9)) == 0
    assert business_days_between(D(2024, 1, 9), D(2024, 1, 9), holidays={D(2024, 1, 9)}) == 0


def test_hidden_saturdays_are_never_business_days():
    for day in DateRange(D(2024, 3, 1), D(2024, 4, 1)):
        assert is_business_day(day) == (day.weekday() < 5)


def test_hidden_next_business_day_with_holiday():
    assert next_business_day(D(2024, 1, 13), holidays={D(2024, 1, 15)}) == D(2024, 1, 16)


def test_hidden_negative_business_days():
    assert add_business_days(D(2024, 1, 10), -3) == D(2024, 1, 5)
    assert add_business_days(D(2024, 1, 10), -3, holidays={D(2024, 1, 8)}) == D(2024, 1, 4)
    assert add_business_days(D(2024, 1, 10), -5) == D(2024, 1, 3)


def test_hidden_positive_business_days_with_holiday():
    assert add_business_days(D(2024, 1, 4), 3, holidays={D(2024, 1, 8)}) == D(2024, 1, 10)
