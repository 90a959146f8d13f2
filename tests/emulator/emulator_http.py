"""Helpers of the emulator tests: httpx clients on an in-process emulator, error reading, request bodies."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from glmkit.testing import TEST_KEY, EmulatorTransport

GENERAL = "http://emulator.invalid/api/paas/v4"
CODING = "http://emulator.invalid/api/coding/paas/v4"
USER = [{"role": "user", "content": "Hello there"}]


def http_client(app: Starlette, key: str | None = TEST_KEY, base: str = GENERAL) -> httpx.Client:
    """An httpx client on ``app`` (in-process, streaming) sending ``key`` as a Bearer key."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(transport=EmulatorTransport(app), base_url=base, headers=headers, timeout=10)


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(HTTP status, business code, message) of an error answer; the code must be a string (§13.1)."""
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    return response.status_code, error["code"], error["message"]


def chat(model: str = "glm-4.7", messages: Any = None, **fields: Any) -> dict[str, Any]:
    """A chat body."""
    return {"model": model, "messages": USER if messages is None else messages, **fields}
