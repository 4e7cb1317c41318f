"""Type checks on save: basedpyright or mypy, read into Findings.

`check_types` is one cold run (the CLI, the repair judge); `TypeChecker` is a workspace's checker for on-save
checks, which keeps basedpyright's language server warm (`pyright_server.PyrightServer`).
"""

from greenloop.typecheck.checkers import TypeReport, check_types
from greenloop.typecheck.workspace import TypeChecker

__all__ = ["TypeChecker", "TypeReport", "check_types"]
