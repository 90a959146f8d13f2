"""Fixtures for the resource tests: a fresh emulator app per test and a sync client wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from glmkit import Client
from glmkit.emulator import EmulatorConfig, create_app
from glmkit.testing import offline_client


@pytest.fixture
def app() -> Starlette:
    """The emulator, fresh for each test (a module may override it, e.g. with a fixed clock)."""
    return create_app(EmulatorConfig())


@pytest.fixture
def sclient(app: Starlette) -> Iterator[Client]:
    """A sync client on ``app`` that never sleeps between retries."""
    c = offline_client(app, sleep=lambda s: None)
    yield c
    c.close()
