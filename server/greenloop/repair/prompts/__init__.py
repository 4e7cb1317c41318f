"""Prompt texts, kept as data so that wording changes never touch the loop's logic."""

from __future__ import annotations

from importlib import resources


def load(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def render(name: str, fields: dict[str, str]) -> str:
    text = load(name)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", value)
    return text
