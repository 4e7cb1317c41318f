"""Type checks on save: basedpyright or mypy as a subprocess, their JSON output read into Findings."""

from greenloop.typecheck.checkers import check_types

__all__ = ["check_types"]
