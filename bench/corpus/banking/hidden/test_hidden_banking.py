import pytest

from banking import Account, Bank, InsufficientFunds, format_cents, parse_amount
from banking.interest import monthly_payment
from banking.loans import amortization


def test_hidden_format_negative_amounts():
    assert format_cents(-123456) == "-1,234.56"
    assert format_cents(-100) == "-1.00"
    assert format_cents(-99) == "-0.99"
    assert format_cents(0) == "0.00"


def test_hidden_parse_format_round_trip():
    for text in ["0.01", "-0.01", "12.30", "-1,000,000.00", "999.99"]:
        assert format_cents(parse_amount(text)) == text


def test_hidden_overdraft_limits():
    account = Account("z")
    account.deposit(700)
    account.withdraw(700)
    assert account.balance == 0
    with pytest.raises(InsufficientFunds):
        account.withdraw(1)
    overdrawn = Account("y", overdraft_limit=250)
    overdrawn.withdraw(250)
    assert overdrawn.balance == -250
    with pytest.raises(InsufficientFunds):
        overdrawn.withdraw(1)


def test_hidden_transfers_preserve_total():
    bank = Bank()
    bank.open("carol").deposit(5000)
    bank.open("dave").deposit(20)
    bank.open("erin", overdraft_limit=100)
    bank.transfer("carol", "erin", 1234)
    bank.transfer("erin", "dave", 1300)
    assert [bank.accounts[n].balance for n in ("carol", "dave", "erin")] == [3766, 1320, -66]
    assert bank.total_balance() == 5020
    with pytest.raises(InsufficientFunds):
        bank.transfer("dave", "carol", 1321)


def test_hidden_mortgage_payment():
    assert monthly_payment(2000000, 0.045, 360) == 10134
    assert monthly_payment(50000, 0.12, 3) == 17001


def test_hidden_long_schedule():
    rows = amortization(2000000, 0.045, 360)
    assert len(rows) == 360
    assert rows[-1][4] == 0
    assert {row[1] for row in rows[:-1]} == {10134}
    assert all(row[2] >= 0 and row[3] > 0 for row in rows)


def test_hidden_interest_free_schedule():
    rows = amortization(120000, 0, 12)
    assert all(row[1] == 10000 and row[2] == 0 for row in rows)
    assert rows[-1][4] == 0
