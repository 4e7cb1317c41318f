"""An append-only movement ledger on top of `Stock`."""
import datetime as dt
from dataclasses import dataclass

from .stock import Stock


@dataclass(frozen=True)
class Movement:
    """One stock movement; `delta` is positive for receipts, negative for shipments."""

    day: dt.date
    sku: str
    delta: int
    note: str = ""


class Ledger:
    """Records every receipt and shipment so that past balances can be recomputed."""

    def __init__(self, stock=None):
        self.stock = stock if stock is not None else Stock()
        self.movements = []

    def receive(self, day, sku, quantity, note=""):
        """Receive goods and record the movement."""
        self.stock.receive(sku, quantity)
        self.movements.append(Movement(day, sku, quantity, note))

    def ship_order(self, day, sku, quantity, note=""):
        """Reserve and immediately ship `quantity` units, recording the movement."""
        self.stock.reserve(sku, quantity)
        self.stock.ship(sku, quantity)
        self.movements.append(Movement(day, sku, -quantity, note))

    def balance(self, sku, on=None):
        """On-hand quantity of `sku` at the end of day `on` (after all movements when None)."""
        return sum(m.delta for m in self.movements
                   if m.sku == sku and (on is None or m.day <= on))

    def history(self, sku, start, end):
        """Movements of `sku` with start <= day < end, oldest first."""
        rows = [m for m in self.movements if m.sku == sku and start <= m.day < end]
        return sorted(rows, key=lambda m: m.day)
