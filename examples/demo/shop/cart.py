"""A shopping cart: lines of products and quantities, and what the customer pays."""

from collections import Counter

from shop import pricing
from shop.catalog import lookup


class Cart:
    def __init__(self) -> None:
        self.lines: Counter[str] = Counter()
        self.coupon: str | None = None

    def add(self, sku: str, quantity: int = 1) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        lookup(sku)  # unknown products fail now, not at checkout
        self.lines[sku] += quantity

    def subtotal(self) -> int:
        return sum(lookup(sku).price_cents * qty for sku, qty in self.lines.items())

    def total(self) -> int:
        """What the customer pays: subtotal less any coupon, plus shipping on the discounted amount."""
        discounted = pricing.apply_discount(self.subtotal(), pricing.coupon_percent(self.coupon))
        return discounted + pricing.shipping(discounted)
