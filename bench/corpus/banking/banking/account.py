"""Accounts with an overdraft limit, and a bank that transfers between them."""
from .money import format_cents


class InsufficientFunds(Exception):
    """A withdrawal would exceed the balance plus the overdraft limit."""


class Account:
    """A list of signed transactions in cents; the balance is their sum."""

    def __init__(self, owner, overdraft_limit=0):
        self.owner = owner
        self.overdraft_limit = overdraft_limit
        self.transactions = []

    @property
    def balance(self):
        return sum(amount for _, amount in self.transactions)

    def deposit(self, amount, memo="deposit"):
        """Add `amount` cents (must be positive)."""
        if amount <= 0:
            raise ValueError("a deposit must be positive")
        self.transactions.append((memo, amount))

    def withdraw(self, amount, memo="withdrawal"):
        """Take `amount` cents out, going at most `overdraft_limit` below zero."""
        if amount <= 0:
            raise ValueError("a withdrawal must be positive")
        if amount > self.balance + self.overdraft_limit:
            raise InsufficientFunds(f"{self.owner} cannot withdraw {format_cents(amount)}")
        self.transactions.append((memo, -amount))

    def statement(self):
        """One line per transaction: memo, amount and running balance."""
        lines = []
        running = 0
        for memo, amount in self.transactions:
            running += amount
            lines.append(f"{memo:<12}{format_cents(amount):>12}{format_cents(running):>12}")
        return lines


class Bank:
    """Accounts by owner name."""

    def __init__(self):
        self.accounts = {}

    def open(self, owner, overdraft_limit=0):
        if owner in self.accounts:
            raise ValueError(f"{owner} already has an account")
        self.accounts[owner] = Account(owner, overdraft_limit)
        return self.accounts[owner]

    def transfer(self, source, target, amount):
        """Move `amount` cents from `source`'s account to `target`'s; nothing happens on failure."""
        src, dst = self.accounts[source], self.accounts[target]
        if src is dst:
            raise ValueError("cannot transfer to the same account")
        src.withdraw(amount, memo=f"to {target}")
        dst.deposit(amount, memo=f"from {source}")

    def total_balance(self):
        return sum(account.balance for account in self.accounts.values())
