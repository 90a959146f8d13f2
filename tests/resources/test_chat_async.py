"""Async twins of the main chat tests."""

from __future__ import annotations

import pytest

import glmkit
from glmkit import AsyncClient

pytestmark = pytest.mark.anyio
MSG = [{"role": "user", "content": "hello emulator"}]


async def test_async_plain_and_stream_agree(aclient: AsyncClient) -> None:
    plain = await aclient.chat.completions.create(model="glm-4.7", messages=MSG)
    async with aclient.chat.completions.stream(model="glm-4.7", messages=MSG) as stream:
        pieces = [t async for t in stream.text_stream]
        final = await stream.get_final_completion()
    assert "".join(pieces) == plain.content == final.content
    assert final.usage.total_tokens == plain.usage.total_tokens


async def test_async_create_stream_true(aclient: AsyncClient) -> None:
    stream = await aclient.chat.completions.create(model="glm-4.7", messages=MSG, stream=True)
    async with stream:
        chunks = [c async for c in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None


async def test_async_retries_then_raises(emulator_app) -> None:  # type: ignore[no-untyped-def]
    from glmkit.testing import async_offline_client

    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    client = async_offline_client(emulator_app, sleep=sleep, max_retries=3)
    with pytest.raises(glmkit.ConcurrencyLimitError):
        await client.chat.completions.create(
            model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": "code=1302"}
        )
    assert len(slept) == 3
    assert sum(1 for r in emulator_app.state.emulator.requests if r["path"].endswith("/chat/completions")) == 4


async def test_async_cut_stream_keeps_partial(aclient: AsyncClient) -> None:
    stream = await aclient.chat.completions.create(
        model="glm-4.7", messages=MSG, stream=True, extra_headers={"X-Emulator-Fault": "kind=cut,after=10"}
    )
    with pytest.raises(glmkit.APIConnectionError) as info:
        async for _ in stream:
            pass
    assert info.value.partial is not None


async def test_async_models_and_tokenizer(aclient: AsyncClient) -> None:
    models = await aclient.models.list()
    assert any(m.id == "glm-4.7" for m in models.data)
    assert await aclient.tokenizer.count("hello world, twice") > 0


async def test_async_reasoning_stream_then_text_stream(aclient: AsyncClient) -> None:
    plain = await aclient.chat.completions.create(model="glm-4.7", messages=MSG)
    async with aclient.chat.completions.stream(model="glm-4.7", messages=MSG) as stream:
        reasoning = "".join([t async for t in stream.reasoning_stream])
        text = "".join([t async for t in stream.text_stream])
        assert [c async for c in stream] == []
    assert (reasoning, text) == (plain.reasoning, plain.content)


async def test_async_sensitive_finish_raises_from_text_stream(aclient: AsyncClient) -> None:
    async with aclient.chat.completions.stream(
        model="glm-4.7", messages=MSG, extra_headers={"X-Emulator-Fault": "kind=finish,reason=sensitive"}
    ) as stream:
        with pytest.raises(glmkit.ContentFilterError):
            [t async for t in stream.text_stream]
