"""examples/demo as the repair tests (tests/repair and tests/e2e) name it: its bug, its failing tests, the model
reply that fixes it, and private copies of it to repair.

The bug: `apply_discount` divides by 10 instead of 100 (shop/pricing.py:18), so the coupon and rounding tests of
tests/test_cart.py fail and the cart without a coupon passes.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from stub_model import search_replace

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo"
MODEL = "openai/gpt-4o-mini"  # has a price in litellm's local cost map

PRICING = "shop/pricing.py"
CART_TESTS = "tests/test_cart.py"
BUGGY = "    return total_cents - total_cents * percent // 10"
FIXED = "    return total_cents - total_cents * percent // 100"
BUGGY_LINE_INDEX = 17  # 0-based: shop/pricing.py:18
COUPON = "tests/test_cart.py::test_coupon_takes_ten_percent_off"
ROUNDING = "tests/test_cart.py::test_discount_rounds_down_to_the_cent"
NO_COUPON = "tests/test_cart.py::test_total_without_coupon"
TARGETS = [COUPON, ROUNDING]

FIX = search_replace(PRICING, BUGGY, FIXED, "apply_discount divides by 10 instead of 100")
PROSE = "Hypothesis: the discount looks wrong somewhere in pricing, but I am not sure where."


def copy_demo(dest: Path, **settings: Any) -> Path:
    """A private copy of examples/demo whose `[tool.greenloop]` is replaced: no type checker (fast), a 30 s test
    timeout, plus `settings` (e.g. `python=sys.executable` to pin greenloop's own interpreter for the CLI)."""
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache",
                                                              ".greenloop", ".venv", "*.pyc"))
    values = {"type_checker": "off", "test_timeout": 30, **settings}
    lines = []
    for key, value in values.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {value}")
    pyproject = dest / "pyproject.toml"
    head = pyproject.read_text().split("[tool.greenloop]")[0]
    pyproject.write_text(head + "[tool.greenloop]\n" + "\n".join(lines) + "\n")
    return dest


def ledger_actions(root: Path) -> list[tuple[int, str | None]]:
    """(id, user_action) of every repair in the workspace's ledger: what the person decided about each fix."""
    path = root / ".greenloop" / "ledger.sqlite3"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [(row[0], row[1]) for row in db.execute("SELECT id, user_action FROM repairs ORDER BY id")]
    except sqlite3.OperationalError:  # the server made the file and has not yet created its tables
        return []
    finally:
        db.close()
