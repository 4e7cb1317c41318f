from shop.catalog import CATALOG, lookup


def test_prices_are_whole_cents():
    assert all(isinstance(p.price_cents, int) and p.price_cents > 0 for p in CATALOG.values())


def test_lookup_finds_products():
    assert lookup("MUG").name == "Stoneware mug"
