"""Fixtures of the repair tests: copies of examples/demo. The stub model's fixtures (`stub`, `gate`, `stub_server`)
are shared with tests/e2e in tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from demokit import copy_demo


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A private copy of examples/demo: the bug is `// 10` instead of `// 100` in shop/pricing.py:18."""
    return copy_demo(tmp_path / "demo", python=sys.executable)
