import datetime as dt

import pytest

from inventory import Item, Ledger, Stock, StockError
from inventory.report import low_stock, valuation

D = dt.date


def test_hidden_reserve_exact_remainder_then_nothing_more():
    stock = Stock()
    stock.register(Item("X", 10))
    stock.receive("X", 7)
    stock.reserve("X", 2)
    stock.reserve("X", 5)
    assert stock.available("X") == 0
    with pytest.raises(StockError):
        stock.reserve("X", 1)


def test_hidden_reserve_one_too_many_fails():
    stock = Stock()
    stock.register(Item("X", 10))
    stock.receive("X", 12)
    with pytest.raises(StockError):
        stock.reserve("X", 13)
    stock.reserve("X", 12)
    assert stock.reserved["X"] == 12


def test_hidden_available_tracks_reservations_and_releases():
    stock = Stock()
    stock.register(Item("X", 10))
    stock.receive("X", 9)
    stock.reserve("X", 3)
    assert stock.available("X") == 6
    stock.release("X", 1)
    assert stock.available("X") == 7
    stock.reserve("X", 7)
    with pytest.raises(StockError):
        stock.reserve("X", 1)


def test_hidden_shipping_everything_empties_the_shelf():
    ledger = Ledger()
    ledger.stock.register(Item("X", 250))
    ledger.receive(D(2023, 5, 1), "X", 4)
    ledger.ship_order(D(2023, 5, 2), "X", 4)
    assert ledger.stock.on_hand["X"] == 0
    assert valuation(ledger.stock) == 0
    with pytest.raises(StockError):
        ledger.ship_order(D(2023, 5, 3), "X", 1)


def test_hidden_balance_on_each_day():
    ledger = Ledger()
    ledger.stock.register(Item("X", 1))
    ledger.receive(D(2023, 3, 1), "X", 5)
    ledger.receive(D(2023, 3, 3), "X", 2)
    ledger.ship_order(D(2023, 3, 3), "X", 3)
    assert ledger.balance("X", on=D(2023, 2, 28)) == 0
    assert ledger.balance("X", on=D(2023, 3, 1)) == 5
    assert ledger.balance("X", on=D(2023, 3, 2)) == 5
    assert ledger.balance("X", on=D(2023, 3, 3)) == 4


def test_hidden_low_stock_ignores_unit_cost():
    stock = Stock()
    stock.register(Item("CHEAP", 1, reorder_level=10))
    stock.register(Item("DEAR", 5000, reorder_level=1))
    stock.register(Item("ZERO", 3, reorder_level=0))
    stock.receive("CHEAP", 3)
    stock.receive("DEAR", 40)
    assert low_stock(stock) == ["CHEAP", "ZERO"]


def test_hidden_low_stock_boundary_with_reservation():
    stock = Stock()
    stock.register(Item("X", 7, reorder_level=4))
    stock.receive("X", 9)
    stock.reserve("X", 4)
    assert low_stock(stock) == []
    stock.reserve("X", 1)
    assert low_stock(stock) == ["X"]
