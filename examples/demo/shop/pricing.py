"""Pricing rules: coupons and shipping. Amounts are integer cents; discounts round down in the shop's favour."""

COUPONS = {"WELCOME10": 10, "TEAFRIEND": 25}
FREE_SHIPPING_FROM = 5000
SHIPPING_CENTS = 495


def coupon_percent(code: str | None) -> int:
    if not code:
        return 0
    return COUPONS.get(code.upper(), 0)


def apply_discount(total_cents: int, percent: int) -> int:
    """`total_cents` with `percent` taken off, rounded down to the cent."""
    if percent <= 0:
        return total_cents
    return total_cents - total_cents * percent // 10


def shipping(subtotal_cents: int) -> int:
    return 0 if subtotal_cents >= FREE_SHIPPING_FROM else SHIPPING_CENTS
