"""Stock levels for a single warehouse, with reservations."""
from dataclasses import dataclass


class StockError(Exception):
    """Raised when a stock operation cannot be carried out."""


@dataclass
class Item:
    """A stock-keeping unit with its unit cost in cents and its reorder level."""

    sku: str
    unit_cost: int
    reorder_level: int = 0


class Stock:
    """On-hand quantities and reservations per SKU."""

    def __init__(self):
        self.items = {}
        self.on_hand = {}
        self.reserved = {}

    def register(self, item):
        """Add a new item with zero stock."""
        if item.sku in self.items:
            raise StockError(f"duplicate sku {item.sku}")
        self.items[item.sku] = item
        self.on_hand[item.sku] = 0
        self.reserved[item.sku] = 0

    def _check(self, sku):
        if sku not in self.items:
            raise StockError(f"unknown sku {sku}")

    def receive(self, sku, quantity):
        """Book `quantity` incoming units of `sku`."""
        self._check(sku)
        if quantity <= 0:
            raise StockError("quantity must be positive")
        self.on_hand[sku] += quantity

    def available(self, sku):
        """Units that can still be reserved: on hand minus already reserved."""
        self._check(sku)
        return self.on_hand[sku] - self.reserved[sku]

    def reserve(self, sku, quantity):
        """Hold `quantity` units of `sku` for an order."""
        if quantity > self.available(sku):
            raise StockError(f"only {self.available(sku)} of {sku} available")
        self.reserved[sku] += quantity

    def release(self, sku, quantity):
        """Cancel up to `quantity` reserved units."""
        self._check(sku)
        self.reserved[sku] = max(0, self.reserved[sku] - quantity)

    def ship(self, sku, quantity):
        """Ship reserved units: they leave the reservation and the shelf."""
        self._check(sku)
        if quantity > self.reserved[sku]:
            raise StockError(f"cannot ship {quantity}: only {self.reserved[sku]} reserved")
        self.reserved[sku] -= quantity
        self.on_hand[sku] -= quantity
