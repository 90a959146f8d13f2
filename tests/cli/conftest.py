"""Fixtures for commands that read the Coding Plan (`glm doctor`, `glm usage`) against a real emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glmkit.testing import TEST_KEY, EmulatorServer

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(scope="module")
def coding_server() -> Iterator[EmulatorServer]:
    """One emulator on 127.0.0.1 per test module, accepting only TEST_KEY."""
    with EmulatorServer(keys=frozenset({TEST_KEY}), job_seconds=0.0) as s:
        yield s


@pytest.fixture
def coding_home(coding_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A fresh HOME, TEST_KEY aimed at the emulator's coding endpoint, no proxy variables, the quota reset."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    monkeypatch.setenv("ZAI_API_KEY", TEST_KEY)
    monkeypatch.setenv("ZAI_BASE_URL", coding_server.coding_base_url)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    httpx.delete(f"{coding_server.url}/api/_emulator/quota")
    yield home
    httpx.delete(f"{coding_server.url}/api/_emulator/quota")
