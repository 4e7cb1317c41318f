"""The VS Code extension (editors/vscode) in a real VS Code: code-server 4.100.3 (VS Code 1.100.3) with the
extension's .vsix installed, driven through Debian's chromium by Playwright, against the real server and the
test-owned stub model. A person's path through it: save, the squiggle, the quick fix "Repair until green", the fix
shown in place (code lens, inlay hint), its diff, Apply, VS Code's Refactor Preview, save; the file on disk is
fixed, its tests pass and the repair ledger says accepted.

code-server and the .vsix are built once into a cache outside the repository (tests/editors/vscode_kit.py); without
node 20, npm, chromium or (on a cold cache) the npm registry the test is skipped, or fails under CI=true. The
screenshots of each stage go to the artifacts folder (`vscode/`), and the telling ones to docs/images/vscode-*.png
when the test passes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from demokit import BUGGY, FIX, FIXED, MODEL, PRICING, REPO, copy_demo, ledger_actions
from editors_kit import artifacts, assert_fixed_and_green, record_timings
from stub_model import always
from vscode_kit import CHROMIUM_FLAGS, EXTENSION, CodeServer, chromium, extension_vsix, processes_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

SERVER_SOURCES = REPO / "server" / "greenloop"
FIXED_HINT = f"greenloop: {FIXED.strip()}"
READY_LENS = "greenloop: fix ready: passes 2 tests"
DOCS_IMAGES = {"03-quick-fix": "vscode-quick-fix", "04-fix-ready": "vscode-inline-preview",
               "05-patch-diff": "vscode-patch-diff", "06-refactor-preview": "vscode-refactor-preview"}


def _manifest() -> dict[str, Any]:
    return json.loads((EXTENSION / "package.json").read_text())


def test_vscode_extension_manifest_fits_the_server() -> None:
    """Fast, without node: the extension's commands do not take the ids vscode-languageclient registers for the
    server's commands, each setting has a server name the server knows, versions are exact and locked, and the
    extension asks for no VS Code newer than code-server's 1.100."""
    from greenloop.config import Settings  # the server's one declaration of its settings

    manifest = _manifest()
    server_commands = set()
    for source in SERVER_SOURCES.rglob("*.py"):
        server_commands.update(re.findall(r'@server\.command\("([^"]+)"\)', source.read_text()))
    assert {"greenloop.repair", "greenloop.showPatch", "greenloop.applyFix"} <= server_commands
    ours = {command["command"] for command in manifest["contributes"]["commands"]}
    assert not ours & server_commands, "vscode-languageclient registers the server's command ids itself"
    assert all(command["category"] == "greenloop" for command in manifest["contributes"]["commands"])

    settings_ts = (EXTENSION / "src" / "settings.ts").read_text()
    mapping = dict(re.findall(r"^\s+(\w+): '(\w+)',$", settings_ts, re.MULTILINE))
    known = {field.name for field in Settings.__attrs_attrs__}
    declared = {key.removeprefix("greenloop.") for key in manifest["contributes"]["configuration"]["properties"]}
    for name in declared - {"python", "trace.server"}:
        assert name in mapping, f"greenloop.{name} is not sent to the server (src/settings.ts)"
        assert mapping[name] in known, f"greenloop.{name} maps to {mapping[name]!r}, unknown to the server"
        assert mapping[name] == re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
    assert {"python", "model", "apiBase", "maxRounds", "budgetUsd", "typeChecker", "onSave", "testTimeout",
            "sandbox"} <= declared

    lock = json.loads((EXTENSION / "package-lock.json").read_text())["packages"]
    for section in ("dependencies", "devDependencies"):
        for name, version in manifest[section].items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version}: pin exact versions"
            assert lock[f"node_modules/{name}"]["version"] == version, f"{name}: package-lock.json is stale"
    engine = re.fullmatch(r"\^(\d+)\.(\d+)\.\d+", manifest["engines"]["vscode"])
    assert engine and (int(engine[1]), int(engine[2])) <= (1, 100), manifest["engines"]["vscode"]


def _lines(root: Path) -> list[str]:
    return (root / PRICING).read_text().splitlines()


def _until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def _extension_log(code: CodeServer) -> str:
    logs = sorted((code.user_data / "logs").rglob("*greenloop*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1].read_text(errors="replace")[-6000:] if logs else "(no greenloop output channel log)"


def test_in_vscode_a_fix_is_previewed_accepted_in_the_refactor_preview_saved_and_green(tmp_path: Path,
                                                                                         stub) -> None:
    chromium()
    vsix = extension_vsix()
    from playwright.sync_api import sync_playwright

    shots = artifacts() / "vscode"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    model = stub(always(FIX))
    root = copy_demo(tmp_path / "demo")
    settings = {
        "greenloop.python": sys.executable, "greenloop.model": MODEL, "greenloop.apiBase": model.api_base,
        "security.workspace.trust.enabled": False, "security.workspace.trust.startupPrompt": "never",
        "telemetry.telemetryLevel": "off", "workbench.startupEditor": "none", "workbench.tips.enabled": False,
        "workbench.welcomePage.walkthroughs.openOnInstall": False, "workbench.enableExperiments": False,
        "extensions.autoCheckUpdates": False, "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True, "update.mode": "none", "window.restoreWindows": "none",
        "chat.commandCenter.enabled": False, "git.enabled": False, "files.autoSave": "off",
        # For the screenshots: the whole replacement line in the hint, and room for it.
        "editor.inlayHints.maximumLength": 0, "editor.minimap.enabled": False,
    }
    code = CodeServer(tmp_path / "code-server", vsix, settings)
    timings: dict[str, float] = {}
    passed = False
    try:
        url = code.start()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium()), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1440, "height": 860})
            page.set_default_timeout(30_000)
            try:
                timings.update(_drive(page, url, root, shots))
            except Exception as exc:
                try:
                    page.screenshot(path=shots / "failure.png")
                except Exception:  # noqa: BLE001 (the first failure is the one to report)
                    pass
                raise AssertionError(f"in VS Code: {type(exc).__name__}: {exc}\n(screenshots in {shots})\n"
                                     f"code-server log:\n{code.log_tail()}\ngreenloop log:\n{_extension_log(code)}"
                                     ) from exc
            finally:
                browser.close()
        passed = True
    finally:
        code.stop()
        leftovers = processes_in(tmp_path)
        if leftovers:
            subprocess.run(["kill", "-9", *map(str, leftovers)], check=False)
    assert not leftovers, f"processes left running in {tmp_path}: {leftovers}"
    assert passed

    assert_fixed_and_green(root)
    record_timings("vscode", timings["save_to_diagnostic"], timings["repair_to_fix_ready"])
    images = REPO / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for shot, name in DOCS_IMAGES.items():
        shutil.copyfile(shots / f"{shot}.png", images / f"{name}.png")


def _drive(page: Page, url: str, root: Path, shots: Path) -> dict[str, float]:
    """The person's path through VS Code; returns the two timings."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    status_items = page.locator("#workbench\\.parts\\.statusbar .statusbar-item")
    editor = page.locator(".editor-instance .monaco-editor:not(.monaco-diff-editor *)").first
    lines = editor.locator(".view-lines")

    def status(text: str) -> bool:
        return text in [item.strip() for item in status_items.all_inner_texts()]

    def shot(name: str) -> None:
        page.screenshot(path=shots / f"{name}.png")

    def visible_text() -> str:
        return lines.inner_text().replace("\xa0", " ")

    page.goto(f"{url}/?folder={root}")
    page.locator(".monaco-workbench").wait_for(timeout=90_000)
    # The extension started the server and showed its first status (before that, a save would go unheard).
    _until("the greenloop status bar item", lambda: status("greenloop"), 90)

    page.keyboard.press("Control+P")
    page.locator(".quick-input-widget input").wait_for()
    page.keyboard.type(PRICING)
    page.locator(".quick-input-widget .monaco-list-row", has_text="pricing.py").first.wait_for()
    page.keyboard.press("Enter")
    page.locator(".tabs-container .tab.active", has_text="pricing.py").wait_for()
    _until("pricing.py in the editor", lambda: "def apply_discount" in visible_text(), 30)
    shot("01-opened")

    # An unchanged file saves without didSave: type a space, delete it, then save.
    page.keyboard.press("Control+Home")
    page.keyboard.type(" ")
    page.keyboard.press("Backspace")
    page.locator(".tabs-container .tab.active.dirty").wait_for()
    saved = time.monotonic()
    page.keyboard.press("Control+S")
    editor.locator(".squiggly-error").first.wait_for(timeout=120_000)
    save_to_diagnostic = time.monotonic() - saved
    _until("'2 failing' in the status bar", lambda: status("2 failing"), 60)
    shot("02-diagnostic")

    page.keyboard.press("Control+G")
    page.locator(".quick-input-widget input").wait_for()
    page.keyboard.type("18")
    page.keyboard.press("Enter")
    _until("the cursor on line 18",
           lambda: any(t.strip().startswith("Ln 18,") for t in status_items.all_inner_texts()), 15)
    repair_action = page.locator(".action-widget .monaco-list-row.action[aria-label='Repair until green']")
    menus: list[str] = []
    for attempt in range(4):
        # Asked again when the menu does not list it: in one CI run it never showed within 30 s of one Ctrl+.
        # (the keystroke can land while the Go to Line box still closes). What each attempt showed is reported.
        page.keyboard.press("Control+.")
        try:
            repair_action.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            menus.append(" | ".join(page.locator(".action-widget").all_inner_texts()) or "(no menu)")
            shot(f"03-quick-fix-attempt-{attempt + 1}")
            page.keyboard.press("Escape")
    else:
        raise AssertionError(f"no 'Repair until green' on line 18 after {len(menus)} Ctrl+.: {menus}")
    for _ in range(10):  # the keyboard, not the mouse: an overlay may cover the menu
        if "focused" in (repair_action.get_attribute("class") or ""):
            break
        page.keyboard.press("ArrowDown")
    assert "focused" in (repair_action.get_attribute("class") or ""), "cannot focus 'Repair until green'"
    shot("03-quick-fix")
    page.keyboard.press("Enter")
    asked = time.monotonic()

    lens = editor.locator(".codelens-decoration", has_text=READY_LENS)
    lens.wait_for(timeout=180_000)
    repair_to_fix_ready = time.monotonic() - asked
    _until("the inlay hint with the fixed line", lambda: FIXED_HINT in visible_text(), 30)
    _until("'fix ready' in the status bar", lambda: status("fix ready"), 30)
    assert [a.strip() for a in lens.locator("a").all_inner_texts()] == ["Preview", "Apply", "Discard"]
    assert BUGGY in _lines(root), "a ready fix is not applied until the person asks"
    shot("04-fix-ready")

    # Preview: the extension's diff editor, the file now against the file with the fix.
    lens.locator("a", has_text="Preview").click()
    diff = page.locator(".monaco-diff-editor").first
    diff.wait_for()
    page.locator(".tabs-container .tab.active", has_text="greenloop fix ready").wait_for()
    _until("the fixed line in the diff's right side",
           lambda: "percent // 100" in diff.locator(".editor.modified .view-lines").inner_text().replace("\xa0", " "),
           30)
    shot("05-patch-diff")
    page.locator(".tabs-container .tab", has_text=re.compile(r"^\s*pricing\.py")).first.click()
    lens.wait_for()

    # Apply: VS Code's Refactor Preview, where nothing is applied until the person ticks the change and applies.
    lens.locator("a", has_text="Apply").click()
    preview = page.locator("#refactorPreview .bulk-edit-panel")
    preview.locator(".monaco-list-row[aria-label*='replacing']").wait_for()
    assert BUGGY in _lines(root), "the Refactor Preview applies nothing by itself"
    box = preview.locator("input.edit-checkbox").first
    if not box.is_checked():  # VS Code leaves edits marked needsConfirmation unticked
        box.click()
    _until("the change ticked", lambda: all(b.is_checked() for b in preview.locator("input.edit-checkbox").all()), 10)
    shot("06-refactor-preview")
    page.locator("#refactorPreview .monaco-button", has_text=re.compile(r"^\s*Apply\s*$")).click()
    _until("the fix in the editor", lambda: "percent // 100" in visible_text() and FIXED_HINT not in visible_text(),
           30)

    # The fix is no longer waiting: the extension closes its diff.
    _until("the patch's tab closed", lambda: page.locator(".tabs-container .tab", has_text="greenloop fix").count() == 0,
           30)
    lines.click()
    page.keyboard.press("Control+S")
    _until("the fixed file on disk", lambda: FIXED in _lines(root), 30)
    _until("the ledger's 'accepted'", lambda: ledger_actions(root) == [(1, "accepted")], 30)
    _until("a green status bar", lambda: status("greenloop"), 90)
    _until("no squiggle", lambda: editor.locator(".squiggly-error").count() == 0, 30)
    shot("07-green")
    return {"save_to_diagnostic": save_to_diagnostic, "repair_to_fix_ready": repair_to_fix_ready}
