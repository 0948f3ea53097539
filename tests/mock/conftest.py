"""Shared by the mock's HTTP tests: a client of the module's ``server`` fixture, on a reset mock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infsh_harness.mock.server import MockServer


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    """The first default key's client; the mock is reset first (the key also opens the controls)."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": "Bearer inf_test_key"}, timeout=20, trust_env=False
    ) as c:
        c.post("/_mock/reset").raise_for_status()
        yield c
