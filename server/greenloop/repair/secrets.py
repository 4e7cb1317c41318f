"""Secrets: which files a repair never shows to a model nor edits, and which values never leave the process.

Why a module of its own: three stages must agree on one definition. The context a proposer builds leaves secret
files out (`context.py`), the LLM proposer never reads them to apply an edit and masks credential values in
everything it sends or reports (`propose/llm.py`), and the guards refuse any edit of them (`validate.py`).

Secret files are those matching the `secret_files` setting (glob patterns, default `.env*`, `*.pem`,
`*secret*`, `*.key`), matched case-insensitively against the file's name and each folder above it inside the
project, so `secrets/db.py` is as secret as `config_secret.py`.

Credential values are the API key a repair was given, the values of environment variables whose names say
they are credentials (`OPENAI_API_KEY`, `GITHUB_TOKEN`, `DB_PASSWORD`...) and the values held in the project's
secret files (`file_values`): a failure message, a provider's error or a candidate that prints its environment or
reads `.env` (the sandbox copy keeps it, since the project's tests may need it) can carry them, and masking them
is cheaper than proving it cannot. Masking applies to what goes to a model, the ledger, progress messages and the
repair's result.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from greenloop import config, ignore

CREDENTIAL_NAME = re.compile(r"API_?KEY|ACCESS_KEY|PRIVATE_KEY|_KEY$|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL",
                             re.IGNORECASE)
MIN_VALUE_CHARS = 8  # shorter values ("1", "true") are not secrets and masking them would garble text
MASK = "[redacted]"
MAX_SECRET_FILE_BYTES = 64 * 1024  # a secret file is a key or a settings file; more is not read for values
MAX_SECRET_FILES = 200  # a bound on the walk's reading, whatever the project holds
# `NAME=value`, `export NAME="value"`, `name: value` (a .env, a settings file, YAML): the value is the secret.
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?[A-Za-z_][\w.-]*\s*[=:]\s*(?P<value>.+?)\s*$")
_QUOTED = re.compile(r"""^(?P<q>["'])(?P<inner>.*)(?P=q)""")


def configured(root: Path) -> tuple[str, ...]:
    """The `secret_files` patterns `root`'s pyproject.toml sets (the defaults without one). A stage that is handed
    the settings in force (editor layers included) should pass their `secret_files` instead."""
    return config.read_pyproject(root).settings.secret_files


def matching_pattern(relative: PurePath, patterns: Sequence[str]) -> str | None:
    """The first pattern that makes the project-relative path `relative` secret, or None."""
    names = [part.lower() for part in relative.parts]
    whole = relative.as_posix().lower()
    for pattern in patterns:
        wanted = pattern.lower()
        if "/" in wanted:
            if fnmatch.fnmatchcase(whole, wanted.lstrip("/")):
                return pattern
        elif any(fnmatch.fnmatchcase(name, wanted) for name in names):
            return pattern
    return None


def secret_pattern(root: Path, path: Path, patterns: Sequence[str]) -> str | None:
    """`matching_pattern` for a path given absolute (or relative to `root`); paths outside `root` are judged by
    their name alone."""
    absolute = Path(os.path.abspath(root / path))
    try:
        relative: PurePath = absolute.relative_to(root.resolve())
    except ValueError:
        relative = PurePath(absolute.name)
    return matching_pattern(relative, patterns)


def refusal(relative: str, pattern: str) -> str:
    """The one sentence every stage gives for a secret file, for the proposer and the person reading the log."""
    return (f"{relative} matches the secret_files pattern {pattern!r}: a repair never reads nor edits such a "
            "file; fix the code elsewhere")


def file_values(root: Path, patterns: Sequence[str]) -> list[str]:
    """The values the secret files under `root` hold: assigned values (quoted or one word) and bare one-word lines
    (a PEM body, a raw token). Environments, caches and VCS folders are not walked; a file over
    MAX_SECRET_FILE_BYTES is read only that far."""
    root = root.resolve()
    found: list[str] = []
    seen = 0
    for directory, folders, names in os.walk(root):
        folders[:] = [f for f in folders if not ignore.skipped_name(f)
                      and not ignore.is_environment(Path(directory) / f)]
        for name in names:
            path = Path(directory) / name
            if seen >= MAX_SECRET_FILES or not matching_pattern(path.relative_to(root), patterns):
                continue
            seen += 1
            try:
                with path.open("rb") as handle:
                    text = handle.read(MAX_SECRET_FILE_BYTES).decode("utf-8", errors="replace")
            except OSError:
                continue
            found += [value for line in text.splitlines() if (value := _line_value(line))]
    return found


def _line_value(line: str) -> str | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    assigned = _ASSIGNMENT.match(stripped)
    if assigned:
        value = assigned["value"]
        quoted = _QUOTED.match(value)
        if quoted:
            return quoted["inner"]
        return value if not any(c.isspace() for c in value) else None
    return stripped if len(stripped) >= 2 * MIN_VALUE_CHARS and not any(c.isspace() for c in stripped) else None


@dataclass(frozen=True)
class Redactor:
    """Masks known credential values in text. Longest values first, so a key that contains another is masked
    whole."""

    values: tuple[str, ...] = ()

    @classmethod
    def gather(cls, *extra: str | None, environ: Mapping[str, str] | None = None) -> Redactor:
        """The given values (an explicit API key, secret files' values) plus every credential-named environment
        variable's value."""
        environ = os.environ if environ is None else environ
        return cls.of((*extra, *(v for k, v in environ.items() if CREDENTIAL_NAME.search(k))))

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Redactor:
        kept = {v.strip() for v in values if v and len(v.strip()) >= MIN_VALUE_CHARS}
        return cls(tuple(sorted(kept, key=len, reverse=True)))

    def also(self, other: Redactor) -> Redactor:
        """A redactor that masks what either masks."""
        return Redactor.of((*self.values, *other.values))

    def __call__(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text
