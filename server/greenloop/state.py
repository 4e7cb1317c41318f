"""greenloop's own state in a project: `.greenloop/` (the repair ledger, the coverage data), never committed."""

from __future__ import annotations

from pathlib import Path


def state_dir(root: Path) -> Path:
    """`.greenloop/` in the workspace, created with a .gitignore that ignores everything in it."""
    directory = root / ".greenloop"
    directory.mkdir(exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# greenloop's local state: never commit it\n*\n")
    return directory
