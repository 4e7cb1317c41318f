import pytest

from shop.cart import Cart


def test_empty_cart_pays_only_shipping():
    assert Cart().total() == 495


def test_total_without_coupon():
    cart = Cart()
    cart.add("TEA", 2)
    cart.add("MUG")
    assert cart.total() == 2 * 650 + 1200 + 495


def test_coupon_takes_ten_percent_off():
    cart = Cart()
    cart.add("POT", 2)
    cart.coupon = "welcome10"
    assert cart.total() == 9000 - 900


def test_discount_rounds_down_to_the_cent():
    cart = Cart()
    cart.add("TEA")
    cart.coupon = "TEAFRIEND"
    assert cart.total() == 650 - 162 + 495


def test_unknown_product_is_refused():
    with pytest.raises(KeyError, match="unknown product"):
        Cart().add("CAKE")
