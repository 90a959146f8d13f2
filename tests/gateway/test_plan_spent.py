"""A spent plan window (issue 19): without a fallback the client gets the reset time and `retry-after` and is not
retried; with the opt-in pay-as-you-go fallback the session goes on, billed and said so (header, ledger, `glm usage`),
within the cap. Real `glm emulate` and `glm serve` processes, official `anthropic` and `openai` clients."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glmkit.testing import TEST_KEY
from tests.gateway.conftest import SCHEMES, base_env, emulator_process, serve_process

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PAYG_KEY = "fedcba9876543210fedcba9876543210.payAsYouGo000001"
HELLO = [{"role": "user", "content": "hello after the window is spent"}]


@pytest.fixture(scope="module", params=SCHEMES)
def spent(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`glm emulate` whose plan has spent its 5-hour window (it resets in two hours), over http and https."""
    with emulator_process(tmp_path_factory.mktemp("spent"), request.param) as url:
        quota = {"5h": {"percentage": 100, "reset_in": 7200}}
        httpx.post(f"{url}/api/_emulator/quota", json=quota, timeout=5).raise_for_status()
        yield url


def gateway(spent: str, home: Path, table: str = "") -> Any:
    """`glm serve` in front of the spent emulator, with ``table`` as its ``[gateway]`` settings."""
    (home / "config.toml").write_text(f"[gateway]\n{table}", encoding="utf-8")
    return serve_process(spent, home, "translate")


def chat_posts(emulator: str) -> list[str]:
    log = httpx.get(f"{emulator}/_emulator/requests", timeout=5).json()["requests"]
    return [r["path"] for r in log if r["path"].endswith("/chat/completions")]


def ledger_rows(home: Path, count: int) -> list[dict[str, Any]]:
    from glmkit.ledger import Ledger

    deadline = time.monotonic() + 10
    while True:
        if (home / "glmkit.db").exists():
            ledger = Ledger(home / "glmkit.db")
            try:
                found = ledger.requests()
            finally:
                ledger.close()
            if len(found) >= count:
                return found
        assert time.monotonic() < deadline, f"the ledger never held {count} rows"
        time.sleep(0.05)


def test_without_a_fallback_the_client_gets_the_reset_time_and_is_not_retried(spent: str, tmp_path: Path) -> None:
    import anthropic
    import openai

    with gateway(spent, tmp_path) as serve:
        before = len(chat_posts(spent))
        claude = anthropic.Anthropic(api_key=TEST_KEY, base_url=serve.url, max_retries=2)
        with pytest.raises(anthropic.RateLimitError) as refused:
            claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=HELLO)  # type: ignore[arg-type]
        gpt = openai.OpenAI(api_key=TEST_KEY, base_url=f"{serve.url}/v1", max_retries=2)
        with pytest.raises(openai.RateLimitError) as refused_openai:
            gpt.chat.completions.create(model="glm-5.3", messages=HELLO)  # type: ignore[arg-type]
    for exc in (refused.value, refused_openai.value):
        assert exc.status_code == 429
        assert "resets at" in exc.message and "fallback_key" in exc.message
        assert 7000 < int(exc.response.headers["retry-after"]) <= 7200
        assert exc.response.headers["x-should-retry"] == "false"
    assert len(chat_posts(spent)) == before + 2  # one request each: nothing retried blindly


def test_the_pay_as_you_go_fallback_goes_on_and_says_so(spent: str, tmp_path: Path) -> None:
    import anthropic
    import openai

    with gateway(spent, tmp_path, f'fallback_key = "{PAYG_KEY}"\nfallback_cap_usd = 1.0\n') as serve:
        before = chat_posts(spent)
        claude = anthropic.Anthropic(api_key=TEST_KEY, base_url=serve.url, max_retries=0)
        raw = claude.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=100, messages=HELLO)  # type: ignore[arg-type]
        assert raw.headers["x-glm-billed"] == "payg"
        assert raw.parse().stop_reason == "end_turn"
        gpt = openai.OpenAI(api_key=TEST_KEY, base_url=f"{serve.url}/v1", max_retries=0)
        chunks = list(gpt.chat.completions.create(model="glm-5.3", messages=HELLO, stream=True))  # type: ignore[arg-type]
        assert chunks[-1].choices[0].finish_reason == "stop"
        rows = ledger_rows(tmp_path, 2)
    sent = chat_posts(spent)[len(before) :]
    assert (
        sent
        == [
            "/api/coding/paas/v4/chat/completions",  # the plan: 1308
            "/api/paas/v4/chat/completions",  # the general endpoint, once
        ]
        * 2
    )
    assert [r["billed"] for r in rows] == ["payg", "payg"]
    assert all(r["cost_usd"] > 0 and r["status"] == 200 for r in rows)
    assert rows[0]["notes"][0] == "plan 1308: sent pay-as-you-go"

    env = base_env(tmp_path)
    shown = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "usage", "--offline", "--json"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr.decode()
    fallbacks = json.loads(shown.stdout)["local"]["gateway"]["fallbacks"]
    assert fallbacks["requests"] == 2 and fallbacks["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows))
    text = subprocess.run(
        [sys.executable, "-m", "glmkit.cli.app", "usage", "--offline"], env=env, capture_output=True, timeout=60
    ).stdout.decode()
    assert "pay-as-you-go fallbacks (plan window spent): 2 request(s)" in text


def test_past_the_cap_the_plan_error_stands(spent: str, tmp_path: Path) -> None:
    import openai

    with gateway(spent, tmp_path, f'fallback_key = "{PAYG_KEY}"\nfallback_cap_usd = 0.000001\n') as serve:
        before = len(chat_posts(spent))
        gpt = openai.OpenAI(api_key=TEST_KEY, base_url=f"{serve.url}/v1", max_retries=0)
        with pytest.raises(openai.RateLimitError) as refused:
            gpt.chat.completions.create(model="glm-5.3", messages=HELLO)  # type: ignore[arg-type]
        assert "cap is reached" in refused.value.message
        assert len(chat_posts(spent)) == before + 1  # nothing sent to the pay-as-you-go endpoint


def test_a_fallback_key_needs_a_spending_cap() -> None:
    from glmkit import InputError
    from glmkit.gateway.config import GatewayConfig

    with pytest.raises(InputError, match="needs a spending cap") as err:
        GatewayConfig(fallback_key=PAYG_KEY, ledger=False)
    assert "fallback_cap_usd" in str(err.value.hint)
    assert PAYG_KEY not in repr(GatewayConfig(fallback_key=PAYG_KEY, fallback_cap_usd=2, ledger=False))
