"""Shared vocabulary of the repair tests: the demo's bug and fix, scripted model replies, and a loop builder.

Every repair here is real: pytest runs in the sandbox copy, and litellm talks HTTP to the test-owned stub model
(tests/stub_model.py) on 127.0.0.1. The demo's own names (its bug, its tests and its fix) come from tests/demokit.py
and the generic scripts (`always`, `in_turn`, `errors`, `gated`) from tests/stub_model.py; both are re-exported
here for the repair tests. Copies of the demo come from demokit's `copy_demo`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from demokit import BUGGY, COUPON, FIX, FIXED, MODEL, NO_COUPON, PRICING, PROSE, ROUNDING, TARGETS  # noqa: F401
from stub_model import Call, Reply, StubModel, always, errors, gated, in_turn, search_replace  # noqa: F401

from greenloop.repair.check.judge import JudgeSettings
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.events import Listener
from greenloop.repair.loop import Budget, RepairLoop
from greenloop.repair.propose.base import Proposer
from greenloop.repair.propose.llm.proposer import LLMProposer, LLMSettings

# Baseline failure messages of the demo (pytest's assertion rewriting).
COUPON_BASELINE = "assert 495 == (9000 - 900)"


def pricing_edit(new: str, old: str = BUGGY, hypothesis: str = "the discount divides by the wrong number") -> str:
    return search_replace(PRICING, old, new, hypothesis)


def divide_by(divisor: str) -> str:
    """A reply that applies and parses but replaces the divisor of the buggy line."""
    return pricing_edit(f"    return total_cents - total_cents * percent // {divisor}")


# Right for 10 % (the coupon test), still wrong for 25 % (the rounding test): one of two targets passes.
PARTIAL_FIX = pricing_edit("    return total_cents - total_cents * percent // (100 if percent == 10 else 10)")
# Both targets pass, but a cart without a coupon now costs nothing: test_total_without_coupon regresses.
REGRESSING_FIX = pricing_edit(
    "    if percent <= 0:\n        return 0\n" + FIXED,
    old="    if percent <= 0:\n        return total_cents\n" + BUGGY,
)

# Round 1's wrong divisor, and the failure message its candidate produces: 9000 - 9000 * 10 // 1000 = 8910.
WRONG_1000 = divide_by("1000")
AFTER_1000 = "assert 8910 == (9000 - 900)"


# --- scripts: what the stub model answers -------------------------------------------------------------------

def fix_once_prompt_has(marker: str, otherwise: str, fix: str = FIX) -> Callable[[Call], Reply]:
    """The fix only when `marker` is in the prompt (e.g. the previous round's failure), else `otherwise`."""
    return lambda call: Reply(fix if marker in call.prompt else otherwise)


def hang(gate: threading.Event, seconds: float = 30.0) -> Callable[[Call], Reply]:
    """A model that does not answer until the test releases `gate` (or `seconds` pass), and then only talks."""
    return gated(gate, PROSE, seconds)


# --- building loops ----------------------------------------------------------------------------------------

def proposer(stub: StubModel, **settings: object) -> LLMProposer:
    """The real LLM proposer against the stub, with a short backoff so retry tests stay fast."""
    options: dict[str, object] = {"api_base": stub.api_base, "backoff": 0.05, **settings}
    return LLMProposer(LLMSettings(MODEL, **options))  # type: ignore[arg-type]


def repair_loop(root: Path, propose: Proposer, *, max_rounds: int = 3, type_checker: str = "off",
                ledger: Ledger | None = None, usd: float | None = None, tokens: int | None = None,
                seconds: float | None = None, on_event: Listener | None = None,
                secret_files: Sequence[str] | None = None) -> RepairLoop:
    return RepairLoop(root, propose, JudgeSettings(sys.executable, 60, type_checker),
                      Budget(max_rounds=max_rounds, usd=usd, tokens=tokens, seconds=seconds), ledger, on_event,
                      secret_files)


def tree(root: Path, skip: Sequence[str] = (".greenloop",)) -> dict[str, bytes]:
    """Every file under `root` with its bytes (minus `skip` directories): to prove nothing was written."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part in skip for part in p.relative_to(root).parts)}
