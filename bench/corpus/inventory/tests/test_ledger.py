import datetime as dt

from inventory import Item, Ledger
from inventory.report import low_stock, units_received, units_shipped, valuation

D = dt.date


def make_ledger():
    ledger = Ledger()
    ledger.stock.register(Item("TEA", 250, reorder_level=5))
    ledger.stock.register(Item("MUG", 900, reorder_level=2))
    return ledger


def test_balance_after_receipts_and_shipments():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 10)
    ledger.ship_order(D(2024, 1, 5), "TEA", 4)
    assert ledger.balance("TEA") == 6
    assert ledger.stock.on_hand["TEA"] == 6


def test_balance_on_a_day_includes_that_days_movements():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 10)
    ledger.receive(D(2024, 1, 4), "TEA", 3)
    assert ledger.balance("TEA", on=D(2024, 1, 2)) == 10


def test_balance_before_first_movement_is_zero():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 10)
    assert ledger.balance("TEA", on=D(2024, 1, 1)) == 0


def test_history_is_half_open_and_sorted():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 9), "TEA", 1)
    ledger.receive(D(2024, 1, 3), "TEA", 2)
    ledger.receive(D(2024, 1, 10), "TEA", 4)
    days = [m.day for m in ledger.history("TEA", D(2024, 1, 3), D(2024, 1, 10))]
    assert days == [D(2024, 1, 3), D(2024, 1, 9)]


def test_valuation_counts_reserved_units():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 4)
    ledger.receive(D(2024, 1, 2), "MUG", 1)
    ledger.stock.reserve("TEA", 2)
    assert valuation(ledger.stock) == 4 * 250 + 900


def test_low_stock_compares_with_reorder_level():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 5)
    ledger.receive(D(2024, 1, 2), "MUG", 10)
    assert low_stock(ledger.stock) == ["TEA"]


def test_low_stock_counts_reservations():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 20)
    ledger.receive(D(2024, 1, 2), "MUG", 10)
    ledger.stock.reserve("MUG", 8)
    assert low_stock(ledger.stock) == ["MUG"]


def test_units_shipped_and_received():
    ledger = make_ledger()
    ledger.receive(D(2024, 1, 2), "TEA", 10)
    ledger.ship_order(D(2024, 1, 3), "TEA", 3)
    ledger.ship_order(D(2024, 1, 4), "TEA", 2)
    assert units_shipped(ledger, "TEA", D(2024, 1, 1), D(2024, 2, 1)) == 5
    assert units_received(ledger, "TEA", D(2024, 1, 1), D(2024, 2, 1)) == 10
