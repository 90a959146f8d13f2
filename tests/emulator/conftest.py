"""Fixtures for the emulator's own tests: a fresh app per test, driven over HTTP with httpx (not the glmkit
client, whose local checks would stop bad requests before the emulator sees them)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from emulator_http import CODING, http_client
from starlette.applications import Starlette

from glmkit.emulator import EmulatorConfig, create_app


@pytest.fixture
def app() -> Starlette:
    """The emulator, fresh for each test."""
    return create_app(EmulatorConfig(job_seconds=0.0))


@pytest.fixture
def http(app: Starlette) -> Iterator[httpx.Client]:
    """The general surface of ``app``."""
    with http_client(app) as c:
        yield c


@pytest.fixture
def coding(app: Starlette) -> Iterator[httpx.Client]:
    """The coding surface of ``app``."""
    with http_client(app, base=CODING) as c:
        yield c
