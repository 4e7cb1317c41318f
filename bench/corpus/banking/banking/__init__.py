"""Accounts, transfers and interest, with money held as integer cents."""
from .account import Account, Bank, InsufficientFunds
from .money import format_cents, parse_amount, round_cents

__all__ = ["Account", "Bank", "InsufficientFunds", "format_cents", "parse_amount", "round_cents"]
