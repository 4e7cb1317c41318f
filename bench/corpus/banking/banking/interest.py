"""Interest calculations on amounts in cents; rates are annual fractions (0.05 is 5%)."""
from decimal import Decimal

from .money import round_cents


def _rate(annual_rate):
    return Decimal(str(annual_rate))


def simple_interest(principal, annual_rate, days, basis=365):
    """Simple interest in cents on `principal` cents over `days` days."""
    return round_cents(Decimal(principal) * _rate(annual_rate) * days / basis)


def compound(principal, annual_rate, years, periods_per_year=12):
    """Balance in cents after compounding `periods_per_year` times a year for `years` years."""
    growth = (1 + _rate(annual_rate) / periods_per_year) ** (years * periods_per_year)
    return round_cents(Decimal(principal) * growth)


def monthly_payment(principal, annual_rate, months):
    """The level monthly payment in cents that repays `principal` cents over `months` months."""
    if annual_rate == 0:
        return round_cents(Decimal(principal) / months)
    r = _rate(annual_rate) / 12
    return round_cents(Decimal(principal) * r / (1 - (1 + r) ** -months))
