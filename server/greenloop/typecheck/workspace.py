"""One workspace's type checker for on-save checks: warm basedpyright, cold mypy, or nothing.

The engine keeps one of these for as long as it serves a workspace. It takes the checker and the interpreter on
every call rather than at construction, because both can change under a running server (the settings are
reloaded, the project's environment is switched); when they do, the warm server that no longer fits is closed
and, if still needed, a new one is started. mypy stays a cold run per save here: with its cache it already takes
~0.2 s after a one-line change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from greenloop.typecheck.checkers import TypeReport, check_types
from greenloop.typecheck.pyright_server import WARM_TIMEOUT, PyrightServer


class TypeChecker:
    def __init__(self, root: Path, *, timeout: float = WARM_TIMEOUT) -> None:
        self.root = root.resolve()
        self.timeout = timeout
        self.server: PyrightServer | None = None  # the warm basedpyright, once one was needed

    def files_changed(self, paths: Iterable[Path]) -> None:
        """Note files changed, created or deleted on disk (all of a check's `changed`, not only those checked):
        the warm server does not watch the disk, and would otherwise judge against the old text."""
        if self.server is not None:
            self.server.files_changed(paths)

    async def warm_up(self, checker: str, python: str) -> None:
        """Start basedpyright's server ahead of the first save (run it in the background when the workspace
        opens); nothing for the other checkers. Never raises for the checker's sake."""
        server = await self._server(checker, python)
        if server is not None:
            await server.warm_up()

    async def check(self, checker: str, python: str, files: Sequence[Path]) -> TypeReport:
        """Type-check `files` (all of the project when empty) with `checker` ("basedpyright", "mypy", "off")
        using the project interpreter `python`. Never raises for the project's or the checker's sake."""
        server = await self._server(checker, python)
        if server is None:
            return await check_types(checker, self.root, python, files)
        return await server.check(files)

    async def _server(self, checker: str, python: str) -> PyrightServer | None:
        """The warm server for this checker and interpreter, closing one that no longer fits."""
        if checker != "basedpyright" or (self.server is not None and self.server.python != python):
            await self.close()
        if checker != "basedpyright":
            return None
        if self.server is None:
            self.server = PyrightServer(self.root, python, timeout=self.timeout)
        return self.server

    async def close(self) -> None:
        """Stop the warm server (and every process of it). Also the way to make it start afresh, for instance
        after the project's environment changed: the next check starts a new one."""
        server, self.server = self.server, None
        if server is not None:
            await server.close()
