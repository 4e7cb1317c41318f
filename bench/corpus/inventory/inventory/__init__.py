"""A small stock ledger: on-hand quantities, reservations, movements and reports."""
from .stock import Item, Stock, StockError
from .ledger import Ledger, Movement

__all__ = ["Item", "Stock", "StockError", "Ledger", "Movement"]
