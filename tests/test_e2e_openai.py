"""The official openai package, pointed at `glm emulate` running as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from glmkit.testing import TEST_KEY, emulate_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def emulate() -> Iterator[str]:
    with emulate_process() as url:
        yield url


def test_openai_plain_and_streaming_chat(emulate: str) -> None:
    import openai

    client = openai.OpenAI(api_key=TEST_KEY, base_url=f"{emulate}/api/coding/paas/v4", max_retries=0)
    reply = client.chat.completions.create(model="glm-4.7", messages=[{"role": "user", "content": "ping"}])
    assert "ping" in reply.choices[0].message.content
    text = ""
    for chunk in client.chat.completions.create(
        model="glm-4.7", messages=[{"role": "user", "content": "ping"}], stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text == reply.choices[0].message.content


def test_openai_sees_typed_errors(emulate: str) -> None:
    import openai

    client = openai.OpenAI(api_key=TEST_KEY, base_url=f"{emulate}/api/paas/v4", max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="glm-4.7",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"X-Emulator-Fault": "code=1302"},
        )


def test_glm_ask_against_the_emulator_process(emulate: str) -> None:
    env = {**os.environ, "ZAI_API_KEY": TEST_KEY, "ZAI_BASE_URL": f"{emulate}/api/paas/v4"}
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
