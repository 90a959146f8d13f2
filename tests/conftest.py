"""Shared fixtures: a clean environment, the emulator in-process and on a loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from glmkit.testing import TEST_KEY, EmulatorServer, async_offline_client, offline_client


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real keys or endpoints leak in; config and data live in a temporary GLMKIT_HOME."""
    for name in list(os.environ):
        if name.startswith(("ZAI_", "GLM_", "ZHIPUAI_", "GLMKIT_", "ANTHROPIC_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GLMKIT_HOME", str(tmp_path / "glmkit-home"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator_app():  # type: ignore[no-untyped-def]
    from glmkit.emulator import EmulatorConfig, create_app

    return create_app(EmulatorConfig(job_seconds=0.0))


@pytest.fixture
def client(emulator_app):  # type: ignore[no-untyped-def]
    c = offline_client(emulator_app, sleep=lambda s: None)
    yield c
    c.close()


@pytest.fixture
async def aclient(emulator_app):  # type: ignore[no-untyped-def]
    async def no_sleep(seconds: float) -> None:
        return None

    c = async_offline_client(emulator_app, sleep=no_sleep)
    yield c
    await c.close()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    """One real emulator on 127.0.0.1 for the session (faults are per-request headers, so tests stay independent)."""
    with EmulatorServer(job_seconds=0.0) as server:
        yield server


@pytest.fixture
def test_key() -> str:
    return TEST_KEY
