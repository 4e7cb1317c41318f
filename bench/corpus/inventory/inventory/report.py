"""Reports over a `Stock` or a `Ledger`."""


def valuation(stock):
    """Total value in cents of everything on hand (reserved units included)."""
    return sum(stock.on_hand[sku] * item.unit_cost for sku, item in stock.items.items())


def low_stock(stock):
    """Sorted SKUs whose available quantity is at or below their reorder level."""
    return sorted(sku for sku, item in stock.items.items()
                  if stock.available(sku) <= item.reorder_level)


def units_shipped(ledger, sku, start, end):
    """Units of `sku` shipped with start <= day < end."""
    return -sum(m.delta for m in ledger.history(sku, start, end) if m.delta < 0)


def units_received(ledger, sku, start, end):
    """Units of `sku` received with start <= day < end."""
    return sum(m.delta for m in ledger.history(sku, start, end) if m.delta > 0)
