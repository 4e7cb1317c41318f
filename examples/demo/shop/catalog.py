"""The products the shop sells, prices in cents so that money is never a float."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int


CATALOG = {
    "TEA": Product("TEA", "Green tea, 100 g", 650),
    "MUG": Product("MUG", "Stoneware mug", 1200),
    "POT": Product("POT", "Cast-iron teapot", 4500),
}


def lookup(sku: str) -> Product:
    try:
        return CATALOG[sku]
    except KeyError:
        raise KeyError(f"unknown product {sku!r}") from None
