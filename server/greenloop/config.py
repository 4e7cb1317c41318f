"""Settings: one typed record, layered from defaults, `[tool.greenloop]`, and the editor.

Layers, later wins: built-in defaults, the project's `pyproject.toml` `[tool.greenloop]`, the LSP
initializationOptions, then `workspace/didChangeConfiguration`. A bad value never stops greenloop: it produces a
message naming the setting and the value, and the value in force stays.

Declared once: `Settings` (attrs) names each setting with its kind and default; each kind (`Seconds`, `Rounds`,
a `Literal` of choices...) is checked by one cattrs structure hook, which words the message. A new setting is one
line in `Settings`, and a new kind one hook.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, NewType, get_args

import attrs
import cattrs

TypeChecker = Literal["basedpyright", "mypy", "off"]
SandboxLevel = Literal["full", "network", "none"]  # strongest first; see greenloop.run.contain
TYPE_CHECKERS: tuple[str, ...] = get_args(TypeChecker)
SANDBOX_LEVELS: tuple[str, ...] = get_args(SandboxLevel)
SECRET_FILES = (".env*", "*.pem", "*secret*", "*.key")  # see greenloop.repair.secrets

# The kinds of value a setting can take, each checked (and its message worded) once, in `_CONVERTER`'s hooks.
Text = NewType("Text", str)  # "" means unset
Interpreter = NewType("Interpreter", str)  # a path or a command name; "" means unset
Seconds = NewType("Seconds", float)  # 0 < s <= one day
Rounds = NewType("Rounds", int)  # 1..100
Money = NewType("Money", float)  # > 0
Tokens = NewType("Tokens", int)  # > 0, whole
Patterns = NewType("Patterns", tuple)  # glob patterns


@attrs.frozen
class Settings:
    """Every setting, its kind and its default: the one declaration that checking and messages follow."""

    python: Interpreter | None = None  # the project's interpreter; None = find .venv/venv, VIRTUAL_ENV, then our own
    test_timeout: Seconds = Seconds(60.0)  # seconds one test may take before it is stopped
    type_checker: TypeChecker = "basedpyright"
    on_save: bool = True  # run checks when a file is saved
    watch: bool = True  # notice files changed outside the editor
    # The repair loop
    model: Text | None = None  # a litellm model string; None = no LLM proposer
    api_base: Text | None = None  # e.g. http://127.0.0.1:8080/v1 for a local OpenAI-compatible server
    critic_model: Text | None = None  # a separate model for the root-cause critique step
    max_rounds: Rounds = Rounds(3)
    budget_usd: Money | None = None
    budget_tokens: Tokens | None = None
    repair_timeout: Seconds = Seconds(600.0)  # wall-clock seconds for one whole repair
    sandbox: SandboxLevel = "full"  # the least isolation candidate code may run under
    secret_files: Patterns = Patterns(SECRET_FILES)  # glob patterns of files never sent to a model nor edited


@attrs.define
class LoadedSettings:
    settings: Settings
    problems: list[str]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value)


def _seconds(value: Any, _: Any) -> float:
    try:
        if 0 < _number(value) <= 86400:
            return float(value)
    except TypeError:
        pass
    raise ValueError("expected a number of seconds between 0 and 86400")


def _rounds(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ValueError("expected a whole number of rounds between 1 and 100")
    return value


def _positive(kind: type) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        try:
            number = _number(value)
        except TypeError:
            number = 0
        if number <= 0:
            raise ValueError("expected a positive number")
        if kind is int and not number.is_integer():
            raise ValueError("expected a whole number")
        return kind(value)

    return structure


def _text(what: str) -> Callable[[Any, Any], str | None]:
    def structure(value: Any, _: Any) -> str | None:
        if value == "":
            return None
        if not isinstance(value, str):
            raise ValueError(f"expected {what}")
        return value

    return structure


def _bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _patterns(value: Any, _: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ValueError("expected a list of glob patterns such as [\".env*\", \"*.pem\"]")
    return tuple(p.strip() for p in value)


def _choice(choices: tuple[str, ...], false: str | None = None) -> Callable[[Any, Any], str]:
    def structure(value: Any, _: Any) -> str:
        if value is False and false is not None:
            return false
        if not isinstance(value, str) or value.lower() not in choices:
            raise ValueError("expected one of " + ", ".join(choices))
        return value.lower()

    return structure


_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {
    Seconds: _seconds, Rounds: _rounds, Money: _positive(float), Tokens: _positive(int), Text: _text("a string"),
    Interpreter: _text("a path to a Python interpreter"), Patterns: _patterns,
    TypeChecker: _choice(TYPE_CHECKERS, false="off"), SandboxLevel: _choice(SANDBOX_LEVELS),
}
_CONVERTER = cattrs.Converter()
_CONVERTER.register_structure_hook_func(lambda kind: kind in _HOOKS, lambda value, kind: _HOOKS[kind](value, kind))
_CONVERTER.register_structure_hook(bool, _bool)  # a class: cattrs' own bool hook (truthiness) would win otherwise
attrs.resolve_types(Settings)
_FIELDS = {field.name: field for field in attrs.fields(Settings)}


def _structure(name: str, value: Any) -> Any:
    """One setting's value checked against its declared kind; ValueError says what was expected."""
    kind = _FIELDS[name].type
    assert kind is not None  # resolved above
    try:
        return _CONVERTER.structure(value, kind)
    except ValueError:
        raise
    except (TypeError, cattrs.BaseValidationError) as exc:
        raise ValueError(f"expected {getattr(kind, '__name__', kind)}") from exc


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
        if name not in _FIELDS:
            known = ", ".join(sorted(_FIELDS))
            problems.append(f"{origin}: unknown setting {key!r} ignored (known settings: {known})")
            continue
        try:
            changes[name] = _structure(name, value)
        except ValueError as exc:
            default = getattr(base, name)
            problems.append(f"{origin}: invalid {key} = {value!r}: {exc}; using {default!r}")
    return LoadedSettings(attrs.evolve(base, **changes), problems)


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
