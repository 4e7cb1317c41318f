"""Secrets stay put: an API key never reaches a prompt, the ledger, a log, a progress message or the CLI's output,
and files matching the `secret_files` setting (default `.env*`, `*.pem`, `*secret*`, `*.key`) are never shown to a
model nor edited, even when localisation points into them or the model asks for them.

The repairs here are real: litellm talks HTTP to the test-owned stub model, pytest runs in the sandbox copy, and
every output is searched for the planted key byte for byte.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from repairkit import BUGGY, FIX, MODEL, PRICING, PROSE, in_turn, proposer, repair_loop, tree
from stub_model import StubModel, search_replace

from greenloop import config
from greenloop.cli.repair import result_json
from greenloop.repair.propose.context import Context
from greenloop.repair.events import LoopEvent
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.propose.localise import Place
from greenloop.repair.records import FileEdit, Patch, Proposal, RepairStatus, VerdictStatus
from greenloop.repair.check.validate import problems

KEY = "sk-planted-" + "7f3a9c0d" * 5
GATEWAY = f'''"""Payment gateway settings."""


def gateway_headers() -> dict[str, str]:
    return {{"Authorization": "Bearer {KEY}"}}
'''
# A model that first tries to learn the key by proposing an edit of .env (the SEARCH text only needs to match),
# then fixes the bug.
PRY = search_replace(".env", "OPENAI_API_KEY=", "OPENAI_API_KEY=rotated-")
ENV_REFUSAL = (".env matches the secret_files pattern '.env*': a repair never reads nor edits such a file; fix "
               "the code elsewhere")


def plant_key(root: Path) -> None:
    """The key in .env and in shop/config_secret.py, whose function the failing tests (only they) execute, so
    localisation ranks it as suspicious as the bug itself."""
    (root / ".env").write_text(f"OPENAI_API_KEY={KEY}\nDEBUG=1\n")
    (root / "shop" / "config_secret.py").write_text(GATEWAY)
    pricing = root / PRICING
    text = pricing.read_text().replace("\n\nCOUPONS", "\n\nfrom shop.config_secret import gateway_headers\n\nCOUPONS")
    pricing.write_text(text.replace(BUGGY, f"    gateway_headers()\n{BUGGY}"))


def state_bytes(root: Path) -> bytes:
    """Every byte greenloop keeps in the project: the ledger database and anything beside it."""
    return b"".join(p.read_bytes() for p in sorted((root / ".greenloop").rglob("*")) if p.is_file())


def leaks(outputs: dict[str, str | bytes]) -> list[str]:
    return [name for name, text in outputs.items() if (KEY.encode() if isinstance(text, bytes) else KEY) in text]


# --- end to end ------------------------------------------------------------------------------------------------

async def test_a_repair_given_an_api_key_writes_it_nowhere_and_shows_the_model_no_secret_file(
        demo: Path, stub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    plant_key(demo)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    model = stub(in_turn(PRY, FIX))
    before = tree(demo)
    events: list[LoopEvent] = []
    ledger = Ledger(demo)
    try:
        loop = repair_loop(demo, proposer(model, api_key=KEY), ledger=ledger,
                           on_event=events.append)
        result = await loop.run(demo / PRICING)
    finally:
        ledger.close()

    assert result.status is RepairStatus.GREEN and result.rounds == 2, result.handoff
    pry = result.attempts[0]
    assert pry.verdict.status is VerdictStatus.INVALID and pry.diff == ""
    assert pry.verdict.reason == f"no usable patch: {ENV_REFUSAL}"
    assert any(s.startswith("shop/config_secret.py:") for s in result.suspects), result.suspects  # localised...
    assert all('"Authorization"' not in call.prompt for call in model.calls)  # ...and still never shown
    assert leaks({
        **{f"request {call.number} to the model": json.dumps(call.body) for call in model.calls},
        "ledger": state_bytes(demo),
        "log": caplog.text,
        "progress events": repr(events),
        "result": json.dumps(result_json(demo, result)),
        "attempts": repr(result.attempts),
    }) == []
    assert tree(demo) == before


def test_the_cli_with_a_key_in_its_environment_prints_and_records_none_of_it(demo: Path, stub) -> None:
    plant_key(demo)
    model: StubModel = stub(in_turn(PRY, FIX))
    done = subprocess.run([sys.executable, "-m", "greenloop", "repair", PRICING, "--model", MODEL,
                           "--api-base", model.api_base, "--json"], cwd=demo, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "OPENAI_API_KEY": KEY})

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["status"], document["rounds"]) == ("green", 2)
    assert len(model.calls) == 2
    assert leaks({
        "stdout": done.stdout,
        "stderr": done.stderr,
        **{f"request {call.number} to the model": json.dumps(call.body) for call in model.calls},
        "ledger": state_bytes(demo),
    }) == []


FILE_ONLY = "pg-" + "c0ffee42" * 4  # a value only a secret file holds: in no variable of any environment
LEAKY_TEST = f'''from pathlib import Path

from shop.pricing import apply_discount


def test_discount_with_settings_in_the_message():
    assert apply_discount(1000, 10) == 900, Path(".env").read_text()
'''


async def test_a_secret_a_failing_test_reads_from_a_secret_file_is_masked_in_everything_a_repair_hands_on(
        demo: Path, stub, caplog: pytest.LogCaptureFixture) -> None:
    """The sandbox copy keeps .env (the project's tests may need it), so a failure message can quote it."""
    (demo / ".env").write_text(f"DATABASE_URL='postgres://app:{FILE_ONLY}@db/shop'\nDB_PASSWORD={FILE_ONLY}\n")
    (demo / "tests" / "test_settings_message.py").write_text(LEAKY_TEST)
    caplog.set_level(logging.DEBUG)
    model = stub(in_turn(PROSE, FIX))
    events: list[LoopEvent] = []
    ledger = Ledger(demo)
    try:
        loop = repair_loop(demo, proposer(model), ledger=ledger, on_event=events.append)
        result = await loop.run(demo / PRICING)
    finally:
        ledger.close()

    assert result.status is RepairStatus.GREEN, result.handoff
    assert "tests/test_settings_message.py::test_discount_with_settings_in_the_message" in result.targets
    assert "[redacted]" in model.calls[0].prompt  # the failure was shown, its secret masked
    outputs = {**{f"request {call.number}": json.dumps(call.body) for call in model.calls},
               "ledger": state_bytes(demo), "log": caplog.text, "events": repr(events),
               "result": json.dumps(result_json(demo, result))}
    assert [name for name, text in outputs.items()
            if (FILE_ONLY.encode() if isinstance(text, bytes) else FILE_ONLY) in text] == []


class EditsOf:
    """A proposer that proposes one fixed patch: a search gone wrong, or a model that got a patch past its parser."""

    name = "fixed"

    def __init__(self, patch: Patch) -> None:
        self.patch = patch

    async def propose(self, context: Context) -> Proposal:
        return Proposal(self.patch, self.name)


async def test_a_refused_patch_is_recorded_without_its_edits_of_secret_files(demo: Path) -> None:
    """The ledger keeps refused diffs to show what was tried; a secret file's new text is not among them."""
    (demo / "deploy.cfg").write_text("token = old\n")
    pricing = demo / PRICING
    text = pricing.read_text()
    patch = Patch([FileEdit(demo / "deploy.cfg", "token = old\n", f"token = {FILE_ONLY}\n"),
                   FileEdit(pricing, text, text.replace(BUGGY, BUGGY + "  # touched"))])
    ledger = Ledger(demo)
    try:
        loop = repair_loop(demo, EditsOf(patch), ledger=ledger, max_rounds=1, secret_files=["*.cfg"])
        result = await loop.run(demo / PRICING)
        [attempt] = ledger.attempts(result.repair_id)
    finally:
        ledger.close()

    assert attempt["verdict"] == "invalid"
    assert attempt["reason"].startswith("refused: deploy.cfg matches the secret_files pattern '*.cfg'")
    assert "# touched" in attempt["diff"] and "deploy.cfg" not in attempt["diff"]
    assert FILE_ONLY.encode() not in state_bytes(demo)


# --- the parts ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rel, pattern", [
    (".env", ".env*"), (".env.production", ".env*"), ("shop/config_secret.py", "*secret*"),
    ("secrets/db.py", "*secret*"), ("certs/server.pem", "*.pem"), ("deploy.key", "*.key"),
])
def test_an_edit_of_a_secret_file_is_refused_naming_the_pattern(demo: Path, rel: str, pattern: str) -> None:
    (demo / rel).parent.mkdir(parents=True, exist_ok=True)
    (demo / rel).write_text("TOKEN = 'x'\n")
    [problem] = problems(demo, Patch([FileEdit(demo / rel, "TOKEN = 'x'\n", "TOKEN = 'y'\n")]))
    assert problem == (f"{rel} matches the secret_files pattern {pattern!r}: a repair never reads nor edits such a "
                       "file; fix the code elsewhere")


def test_the_context_leaves_out_secret_files_and_the_setting_decides_which_they_are(demo: Path) -> None:
    (demo / "shop" / "config_secret.py").write_text("def f():\n    return 'MARKER-CONFIG-SECRET'\n")
    (demo / "shop" / "keys_private.py").write_text("def f():\n    return 'MARKER-KEYS-PRIVATE'\n")
    places = [Place(demo / "shop" / "config_secret.py", 2, "function f", 1, 2, "most suspicious"),
              Place(demo / "shop" / "keys_private.py", 2, "function f", 1, 2, "most suspicious"),
              Place(demo / PRICING, 18, "function apply_discount", 14, 18, "most suspicious")]

    shown = "\n".join(Context(demo, [], places).fields().values())
    assert "MARKER-CONFIG-SECRET" not in shown and "MARKER-KEYS-PRIVATE" in shown
    assert "def apply_discount" in shown  # the rest of the context is still there

    pyproject = demo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'secret_files = ["*_private.py"]\n')
    shown = "\n".join(Context(demo, [], places).fields().values())
    assert "MARKER-KEYS-PRIVATE" not in shown and "MARKER-CONFIG-SECRET" in shown
    edit = Patch([FileEdit(demo / "shop" / "keys_private.py", "x = 1\n", "x = 2\n")])
    assert problems(demo, edit) == [
        "shop/keys_private.py matches the secret_files pattern '*_private.py': a repair never reads nor edits such "
        "a file; fix the code elsewhere"]


def test_secret_files_yield_their_values_not_their_code() -> None:
    from greenloop.repair.secrets import _line_value
    assert [_line_value(line) for line in ["API_TOKEN=abcdef123456", 'export DB_URL="postgres://u:pw@h/db"',
                                           "password: 'two words here'", "# KEY=commented-out-value",
                                           "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "return compute(x, y)", "DEBUG=1"]] \
        == ["abcdef123456", "postgres://u:pw@h/db", "two words here", None, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
            None, "1"]


def test_the_secret_files_setting_defaults_and_rejects_a_bad_value_with_a_message() -> None:
    assert config.Settings().secret_files == (".env*", "*.pem", "*secret*", "*.key")
    assert config.apply(config.Settings(), {"secret_files": ["*.vault", "creds/*"]}, "test").settings.secret_files \
        == ("*.vault", "creds/*")
    loaded = config.apply(config.Settings(), {"secret_files": "*.vault"}, "editor")
    assert loaded.settings.secret_files == config.Settings().secret_files
    assert loaded.problems == ["editor: invalid secret_files = '*.vault': expected a list of glob patterns such as "
                               "[\".env*\", \"*.pem\"]; using ('.env*', '*.pem', '*secret*', '*.key')"]
