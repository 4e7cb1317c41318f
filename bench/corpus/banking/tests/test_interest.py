from banking.interest import compound, monthly_payment, simple_interest
from banking.loans import amortization, total_interest


def test_simple_interest():
    assert simple_interest(100000, 0.05, 365) == 5000
    assert simple_interest(100000, 0.05, 73) == 1000


def test_compound_yearly():
    assert compound(100000, 0.12, 2, periods_per_year=1) == 125440


def test_monthly_payment():
    assert monthly_payment(100000, 0.06, 12) == 8607


def test_zero_rate_payment():
    assert monthly_payment(1200, 0, 12) == 100


def test_short_schedule():
    assert amortization(50000, 0.12, 3) == [
        (1, 17001, 500, 16501, 33499),
        (2, 17001, 335, 16666, 16833),
        (3, 17001, 168, 16833, 0),
    ]


def test_schedule_ends_at_zero():
    rows = amortization(100000, 0.06, 12)
    assert rows[-1][4] == 0
    assert total_interest(rows) == 3280
