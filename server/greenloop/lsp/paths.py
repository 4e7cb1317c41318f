"""Which paths a client names the server acts on: a `file:` URI that resolves, outside the system's own folders,
to a regular file (or a folder, where folders are asked for). Anything else is logged and ignored, never checked."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from pygls.uris import to_fs_path

SYSTEM_FOLDERS = tuple(Path(p) for p in ("/proc", "/sys", "/dev", "/etc", "/boot", "/run"))


def path_of(uri: Any) -> Path | None:
    """The file system path a `file:` URI names; None for anything else (untitled:, a notebook cell, not a string)."""
    fs_path = to_fs_path(uri) if isinstance(uri, str) else None
    return Path(fs_path) if fs_path else None


def unusable(path: Path, folders: bool) -> str | None:
    """Why `path` cannot be checked, or None. A file that does not exist (deleted before its save arrived) is
    usable: its checks must learn that it is gone."""
    try:
        resolved = path.resolve()
        mode: int | None = os.stat(resolved).st_mode
    except FileNotFoundError:
        resolved, mode = path, None
    except (OSError, ValueError, RuntimeError) as exc:  # too long, a loop of links, a NUL byte, not encodable
        return f"not a usable path ({type(exc).__name__}: {exc})"[:300]
    if any(p.is_relative_to(folder) for p in (path, resolved) for folder in SYSTEM_FOLDERS):
        return "a system location, never checked"
    if mode is not None and not (stat.S_ISREG(mode) or (folders and stat.S_ISDIR(mode))):
        return "not a regular file"
    return None
