"""Fixtures for the emulator's own tests: a fresh app per test, driven over HTTP with httpx (not the glmkit
client, whose local checks would stop bad requests before the emulator sees them)."""

from __future__ import annotations

import sys
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List, per surface, how many recorded live exchanges the fidelity suite checked in this run."""
    fidelity = sys.modules.get("test_live_fidelity")
    checked = getattr(fidelity, "CHECKED", None)
    if not checked:
        return
    terminalreporter.section("live fidelity: recorded exchanges checked")
    for surface, names in sorted(checked.items()):
        terminalreporter.write_line(f"{surface}: {len(names)}")
