import pytest

from banking import Account, Bank, InsufficientFunds


def test_deposit_and_withdraw():
    account = Account("ann")
    account.deposit(1000)
    account.withdraw(300)
    assert account.balance == 700


def test_deposit_must_be_positive():
    with pytest.raises(ValueError):
        Account("ann").deposit(0)


def test_cannot_overdraw_without_a_limit():
    account = Account("ann")
    account.deposit(1000)
    with pytest.raises(InsufficientFunds):
        account.withdraw(1001)


def test_overdraft_down_to_the_limit():
    account = Account("ann", overdraft_limit=500)
    account.deposit(1000)
    account.withdraw(1500)
    assert account.balance == -500


def test_statement_shows_running_balance():
    account = Account("ann")
    account.deposit(1000)
    account.withdraw(250, memo="coffee")
    assert account.statement() == [
        "deposit            10.00       10.00",
        "coffee             -2.50        7.50",
    ]


def test_transfer_moves_money():
    bank = Bank()
    bank.open("alice").deposit(1000)
    bank.open("bob")
    bank.transfer("alice", "bob", 300)
    assert bank.accounts["alice"].balance == 700
    assert bank.accounts["bob"].balance == 300


def test_failed_transfer_changes_nothing():
    bank = Bank()
    bank.open("alice").deposit(100)
    bank.open("bob").deposit(50)
    with pytest.raises(InsufficientFunds):
        bank.transfer("alice", "bob", 300)
    assert bank.accounts["alice"].balance == 100
    assert bank.accounts["bob"].balance == 50


def test_transfer_to_self_is_rejected():
    bank = Bank()
    bank.open("alice").deposit(100)
    with pytest.raises(ValueError):
        bank.transfer("alice", "alice", 10)


def test_duplicate_account():
    bank = Bank()
    bank.open("alice")
    with pytest.raises(ValueError):
        bank.open("alice")
