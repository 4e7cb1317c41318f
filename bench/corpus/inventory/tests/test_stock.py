import pytest

from inventory import Item, Stock, StockError


def make_stock(*items):
    stock = Stock()
    for item in items:
        stock.register(item)
    return stock


def test_register_duplicate_sku_is_rejected():
    stock = make_stock(Item("A", 100))
    with pytest.raises(StockError):
        stock.register(Item("A", 200))


def test_unknown_sku_is_rejected():
    with pytest.raises(StockError):
        make_stock().receive("NOPE", 1)


def test_receive_adds_to_on_hand():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 3)
    stock.receive("A", 4)
    assert stock.on_hand["A"] == 7


def test_receive_rejects_non_positive_quantity():
    stock = make_stock(Item("A", 100))
    with pytest.raises(StockError):
        stock.receive("A", 0)


def test_reserve_reduces_available():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 10)
    stock.reserve("A", 4)
    assert stock.available("A") == 6


def test_reserve_everything_available():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 5)
    stock.reserve("A", 5)
    assert stock.available("A") == 0


def test_two_reservations_can_use_up_the_stock():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 10)
    stock.reserve("A", 4)
    stock.reserve("A", 6)
    assert stock.available("A") == 0


def test_reserve_more_than_available_fails():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 3)
    with pytest.raises(StockError):
        stock.reserve("A", 4)


def test_ship_removes_from_shelf_and_reservation():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 8)
    stock.reserve("A", 3)
    stock.ship("A", 3)
    assert stock.on_hand["A"] == 5
    assert stock.reserved["A"] == 0


def test_ship_more_than_reserved_fails():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 8)
    stock.reserve("A", 2)
    with pytest.raises(StockError):
        stock.ship("A", 3)


def test_release_never_goes_negative():
    stock = make_stock(Item("A", 100))
    stock.receive("A", 8)
    stock.reserve("A", 2)
    stock.release("A", 5)
    assert stock.reserved["A"] == 0
    assert stock.available("A") == 8
