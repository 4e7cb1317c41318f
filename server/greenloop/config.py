"""Settings: one typed record, layered from defaults, `[tool.greenloop]`, and the editor.

Layers, later wins: built-in defaults, the project's `pyproject.toml` `[tool.greenloop]`, the LSP
initializationOptions, then `workspace/didChangeConfiguration`. A bad value never stops greenloop: it produces a
message naming the setting and the value, and the default stays in force.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TYPE_CHECKERS = ("basedpyright", "mypy", "off")
SANDBOX_LEVELS = ("full", "network", "none")  # strongest first; see greenloop.run.contain
SECRET_FILES = (".env*", "*.pem", "*secret*", "*.key")  # see greenloop.repair.secrets


@dataclass(frozen=True)
class Settings:
    python: str | None = None  # the project's interpreter; None = find .venv/venv, VIRTUAL_ENV, then our own
    test_timeout: float = 60.0  # seconds for one pytest run before its whole process group is killed
    type_checker: str = "basedpyright"
    on_save: bool = True  # run checks when a file is saved
    watch: bool = True  # notice files changed outside the editor
    # The repair loop
    model: str | None = None  # a litellm model string; None = no LLM proposer
    api_base: str | None = None  # e.g. http://127.0.0.1:8080/v1 for a local OpenAI-compatible server
    critic_model: str | None = None  # a separate model for the root-cause critique step
    max_rounds: int = 3
    budget_usd: float | None = None
    budget_tokens: int | None = None
    repair_timeout: float = 600.0  # wall-clock seconds for one whole repair
    sandbox: str = "full"  # the least isolation candidate code may run under: full, network or none
    secret_files: tuple[str, ...] = SECRET_FILES  # glob patterns of files never sent to a model nor edited


@dataclass
class LoadedSettings:
    settings: Settings
    problems: list[str]


def _check_python(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("expected a path to a Python interpreter")
    return value


def _check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86400:
        raise ValueError("expected a number of seconds between 0 and 86400")
    return float(value)


def _check_checker(value: Any) -> str:
    if value is False:
        return "off"
    if not isinstance(value, str) or value.lower() not in TYPE_CHECKERS:
        raise ValueError("expected one of " + ", ".join(TYPE_CHECKERS))
    return value.lower()


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _check_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _check_sandbox(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in SANDBOX_LEVELS:
        raise ValueError("expected one of " + ", ".join(SANDBOX_LEVELS))
    return value.lower()


def _check_patterns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ValueError("expected a list of glob patterns such as [\".env*\", \"*.pem\"]")
    return tuple(p.strip() for p in value)


def _check_rounds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValueError("expected a whole number of rounds between 1 and 100")
    return value


def _check_optional_positive(kind: type) -> Any:
    def check(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError("expected a positive number")
        if kind is int and not float(value).is_integer():
            raise ValueError("expected a whole number")
        return kind(value)

    return check


_VALIDATORS = {
    "python": _check_python,
    "test_timeout": _check_timeout,
    "type_checker": _check_checker,
    "on_save": _check_bool,
    "watch": _check_bool,
    "model": _check_text,
    "api_base": _check_text,
    "critic_model": _check_text,
    "max_rounds": _check_rounds,
    "budget_usd": _check_optional_positive(float),
    "budget_tokens": _check_optional_positive(int),
    "repair_timeout": _check_timeout,
    "sandbox": _check_sandbox,
    "secret_files": _check_patterns,
}


def apply(base: Settings, raw: Any, origin: str) -> LoadedSettings:
    """Layer the mapping `raw` over `base`; unknown names and bad values become messages, not errors."""
    problems: list[str] = []
    if raw is None:
        return LoadedSettings(base, problems)
    if not isinstance(raw, Mapping):
        return LoadedSettings(base, [f"{origin}: expected a table of settings, got {type(raw).__name__}"])
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        validator = _VALIDATORS.get(name)
        if validator is None:
            known = ", ".join(sorted(_VALIDATORS))
            problems.append(f"{origin}: unknown setting {key!r} ignored (known settings: {known})")
            continue
        try:
            changes[name] = validator(value)
        except ValueError as exc:
            default = getattr(base, name)
            problems.append(f"{origin}: invalid {key} = {value!r}: {exc}; using {default!r}")
    return LoadedSettings(dataclasses.replace(base, **changes), problems)


def read_pyproject(root: Path) -> LoadedSettings:
    """Read `[tool.greenloop]` from `root/pyproject.toml`, if there is one."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return LoadedSettings(Settings(), [])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return LoadedSettings(Settings(), [f"{path}: cannot read [tool.greenloop] ({exc}); using defaults"])
    table = data.get("tool", {}).get("greenloop")
    return apply(Settings(), table, f"{path} [tool.greenloop]")


def resolve(root: Path, *editor_layers: tuple[Any, str]) -> LoadedSettings:
    """The settings in force for the project at `root`: pyproject first, then each editor layer in order."""
    loaded = read_pyproject(root)
    problems = list(loaded.problems)
    settings = loaded.settings
    for raw, origin in editor_layers:
        layer = apply(settings, raw, origin)
        settings = layer.settings
        problems.extend(layer.problems)
    return LoadedSettings(settings, problems)
