"""Prompt texts, kept as data so that wording changes never touch the loop's logic."""

from __future__ import annotations

import re
from importlib import resources


def load(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def render(name: str, fields: dict[str, str]) -> str:
    """Fill `{field}` placeholders in one pass: braces inside the inserted values are left alone."""
    return re.sub(r"\{(\w+)\}", lambda m: fields.get(m[1], m[0]), load(name))
