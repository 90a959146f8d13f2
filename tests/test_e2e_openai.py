"""The official openai package, pointed at `glm emulate` running as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from glmkit.testing import TEST_KEY, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emulate_process() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "glmkit.cli.app", "emulate", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/_emulator/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("glm emulate did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_openai_plain_and_streaming_chat(emulate_process: str) -> None:
    import openai

    client = openai.OpenAI(api_key=TEST_KEY, base_url=f"{emulate_process}/api/coding/paas/v4", max_retries=0)
    reply = client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "ping"}])
    assert "ping" in reply.choices[0].message.content
    text = ""
    for chunk in client.chat.completions.create(
        model="glm-4.7", messages=[{"role": "user", "content": "ping"}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text == reply.choices[0].message.content


def test_openai_sees_typed_errors(emulate_process: str) -> None:
    import openai

    client = openai.OpenAI(api_key=TEST_KEY, base_url=f"{emulate_process}/api/paas/v4", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="glm-4.7",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"X-Emulator-Fault": "code=1302"},
        )


def test_glm_ask_against_the_emulator_process(emulate_process: str) -> None:
    env = {**os.environ, "ZAI_API_KEY": TEST_KEY, "ZAI_BASE_URL": f"{emulate_process}/api/paas/v4"}
    out = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "ask", "-m", "glm-4.7", "what", "now"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert '"what now"' in out.stdout
    piped = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "ask", "-m", "glm-4.7", "review"],
        input="diff --git a b",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "diff --git" in piped.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "ask", "x"],
        capture_output=True,
        text=True,
        env={**env, "ZAI_API_KEY": ""},
        timeout=60,
    )
    assert bad.returncode == 2 and "ZAI_API_KEY" in bad.stderr
