"""The repair's face in the protocol: code actions, hover, code lenses, inlay hints and the `greenloop.*` commands.

Each handler only finds the workspace's repair and translates: what a repair does is
`repair/present/workspace.py`, what the editor shows is built by `lsp/actions.py` and `lsp/preview.py`. The
commands (arguments are one object; every answer is an object too, documented in docs/editors.md):

- `greenloop.repair` {"uri", "tests": null | [node ids], "line": null | 0-based line}: start in the background;
- `greenloop.cancel` {}: cancel the running repair;
- `greenloop.showPatch` {"repair_id"?, "open"?: true}: the waiting fix's diff (opened as a file unless open=false);
- `greenloop.applyFix` / `greenloop.discardFix` {"repair_id"?}: the person's decision;
- `greenloop.status` {}: the status snapshot (`lsp/status.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from greenloop.lsp import actions, preview
from greenloop.lsp.paths import path_of, unusable

if TYPE_CHECKING:
    from greenloop.lsp.server import GreenloopServer
    from greenloop.repair.present.workspace import WorkspaceRepair

REPAIR_USAGE = ('greenloop.repair needs {"uri": a file or folder of the workspace, "tests": null or a list of node '
                'ids, "line": null or the 0-based line the person is on}')


def _argument(args: tuple[Any, ...]) -> dict[str, Any]:
    return dict(args[0]) if args and isinstance(args[0], Mapping) else {}


def register(server: GreenloopServer) -> None:
    """Add the handlers to `server`. Each handler's first parameter (the server again, which pygls passes when
    the annotation is a `LanguageServer`) is typed with pygls' base class: pygls resolves handler annotations at
    run time, and the server's own class is not importable here (it imports this module); handlers use `server`."""

    def repair_of(uri: str) -> WorkspaceRepair | None:
        session = server.known_session(uri)
        return server.repairs.get(session) if session is not None else None

    def document(uri: str) -> tuple[Any, str] | None:
        path = path_of(uri)
        doc = server.workspace.text_documents.get(uri)
        return None if path is None or doc is None else (path, doc.source)

    def shown(uri: str) -> tuple[WorkspaceRepair, Any, str] | None:
        """The repair to show beside an open document, with the document's path and text (lenses and hints)."""
        repair, opened = repair_of(uri), document(uri)
        return None if repair is None or opened is None else (repair, *opened)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, actions.SOURCE_REPAIR]))
    def code_action(_: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        path = path_of(uri)
        if path is None or unusable(path, False):
            return []
        repair = repair_of(uri)
        fix = repair.fix if repair is not None else None
        return actions.code_actions(uri, params.context.diagnostics, fix, fix.covers(path) if fix else False,
                                    repair is not None and repair.running)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(_: LanguageServer, params: types.HoverParams) -> types.Hover | None:
        """While a fix waits for the person, hovering a failing line or a line the fix changes shows the diff."""
        uri = params.text_document.uri
        path = path_of(uri)
        session = server.known_session(uri)
        repair = server.repairs.get(session) if session is not None else None
        fix = repair.fix if repair is not None else None
        if path is None or session is None or fix is None or not fix.covers(path):
            return None
        line = params.position.line + 1
        failing = any(f.path == path.resolve() and f.line == line and f.source == "greenloop"
                      for f in session.engine.findings())
        opened = document(uri)
        changed = opened is not None and params.position.line in preview.changed_lines(path, opened[1], fix)
        return actions.hover(fix) if failing or changed else None

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(_: LanguageServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        here = shown(params.text_document.uri)
        if here is None:
            return []
        repair, path, text = here
        return preview.running_lenses(path, text, repair.progress) + preview.fix_lenses(path, text, repair.fix)

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    def inlay_hint(_: LanguageServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        here = shown(params.text_document.uri)
        if here is None:
            return []
        repair, path, text = here
        return preview.inlay_hints(path, text, repair.fix, params.range, server.workspace.position_codec.client_num_units)

    @server.command("greenloop.repair")
    def repair_command(_: LanguageServer, *args: Any) -> dict[str, Any]:
        """Start a repair in the background and answer at once; progress and the result arrive later."""
        argument = _argument(args)
        uri, tests, line = argument.get("uri"), argument.get("tests"), argument.get("line")
        path = path_of(uri)
        if not isinstance(uri, str) or path is None or not (
                tests is None or isinstance(tests, list) and all(isinstance(t, str) for t in tests)) or not (
                line is None or isinstance(line, int) and not isinstance(line, bool) and line >= 0):
            return {"started": False, "reason": REPAIR_USAGE}
        session = server.admit(uri, folders=True)
        if session is None:
            return {"started": False, "reason": f"greenloop.repair: {str(path)[:300]} is in no workspace folder or "
                                                "project (or cannot be checked); see the log"}
        return server.repair_for(session).start(path, list(tests) if tests else None,
                                            None if line is None else line + 1)

    @server.command("greenloop.cancel")
    def cancel_command(_: LanguageServer, *args: Any) -> dict[str, Any]:
        return {"cancelled": any([repair.cancel() for repair in server.repairs.values()])}

    @server.command("greenloop.showPatch")
    async def show_patch_command(_: LanguageServer, *args: Any) -> dict[str, Any]:
        argument = _argument(args)
        repair = server.repair_with_fix(argument.get("repair_id"))
        return await repair.show_patch(argument.get("open", True) is not False) if repair else {"patch": None}

    @server.command("greenloop.applyFix")
    async def apply_fix_command(_: LanguageServer, *args: Any) -> dict[str, Any]:
        repair = server.repair_with_fix(_argument(args).get("repair_id"))
        if repair is None:
            return {"applied": False, "reason": "no greenloop fix is waiting"}
        return await repair.apply()

    @server.command("greenloop.discardFix")
    def discard_fix_command(_: LanguageServer, *args: Any) -> dict[str, Any]:
        repair = server.repair_with_fix(_argument(args).get("repair_id"))
        if repair is None:
            return {"discarded": False, "reason": "no greenloop fix is waiting"}
        return repair.discard()

    @server.command("greenloop.status")
    def status_command(_: LanguageServer, *args: Any) -> dict[str, Any]:
        return server.status.now()

    @server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(_: LanguageServer, params: types.WorkDoneProgressCancelParams) -> None:
        for repair in server.repairs.values():
            repair.cancel_progress(params.token)
