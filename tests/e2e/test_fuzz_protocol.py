"""Hostile traffic never silences the real server: after any generated case (malformed frames and JSON-RPC, wrong
types, unknown methods, huge documents, positions out of range, storms of changes and saves, save, close, cancel
and shutdown during a repair) every well-framed request has been answered, a valid request is answered within a
second, no error dialog appeared, and nothing the server started outlives it.

The short profile; `bench/fuzz.py` runs the same driver (tests/fuzzkit.py) for minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from fuzzkit import Fuzzer, Step, cases
from rawclient import demo_workspace


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzer]:
    fuzzer = Fuzzer(demo_workspace(Path(tmp_path_factory.mktemp("fuzz")) / "demo"))
    yield fuzzer
    strays = fuzzer.close()
    assert not strays, f"processes outlived the server: {sorted(strays)}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=cases())
def test_the_server_answers_every_request_and_stays_responsive_under_generated_hostile_traffic(
    fuzzer: Fuzzer, case: list[Step]
) -> None:
    result = fuzzer.run(case)
    assert not result.problems, "\n".join(result.problems)
    assert result.latency is not None and result.latency < 1.0
