import datetime as dt

from dateranges import add_business_days, business_days_between, is_business_day, next_business_day

D = dt.date
MON, FRI, SAT, SUN = D(2024, 1, 8), D(2024, 1, 5), D(2024, 1, 6), D(2024, 1, 7)


def test_weekdays_are_business_days():
    assert is_business_day(MON)
    assert is_business_day(FRI)


def test_weekend_is_not():
    assert not is_business_day(SAT)
    assert not is_business_day(SUN)


def test_holidays_are_not_business_days():
    assert not is_business_day(MON, holidays={MON})


def test_next_business_day():
    assert next_business_day(SAT) == MON
    assert next_business_day(MON) == MON


def test_add_business_days_skips_the_weekend():
    assert add_business_days(FRI, 1) == MON


def test_add_negative_business_days():
    assert add_business_days(MON, -1) == FRI


def test_add_zero_business_days():
    assert add_business_days(SAT, 0) == SAT


def test_business_days_in_a_week():
    assert business_days_between(D(2024, 1, 1), D(2024, 1, 8)) == 5
    assert business_days_between(D(2024, 1, 1), D(2024, 1, 8), holidays={D(2024, 1, 1)}) == 4


def test_no_business_days_in_an_empty_range():
    assert business_days_between(MON, MON) == 0
