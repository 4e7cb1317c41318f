"""Loan amortization schedules."""
from .interest import _rate, monthly_payment
from .money import round_cents


def amortization(principal, annual_rate, months):
    """Rows of (month, payment, interest, repaid, remaining), all in cents.

    Every payment is the level monthly payment except the last, which clears the balance.
    """
    payment = monthly_payment(principal, annual_rate, months)
    r = _rate(annual_rate) / 12
    remaining = principal
    rows = []
    for month in range(1, months + 1):
        interest = round_cents(remaining * r)
        if month == months:
            payment = remaining + interest
        repaid = payment - interest
        remaining -= repaid
        rows.append((month, payment, interest, repaid, remaining))
    return rows


def total_interest(rows):
    """Interest paid over a whole schedule."""
    return sum(row[2] for row in rows)
