"""Client construction: ``with_options`` shares the pool, keys stay out of reprs, unknown options are refused."""

from __future__ import annotations

import pytest

from glmkit import InputError
from glmkit.testing import async_offline_client, offline_client

MSG = [{"role": "user", "content": "hi"}]


def test_with_options_shares_the_pool_and_changes_only_what_was_asked(emulator_app) -> None:  # type: ignore[no-untyped-def]
    client = offline_client(emulator_app, sleep=lambda s: None)
    faster = client.with_options(timeout=5, max_retries=0)
    assert (faster.settings.timeout, faster.settings.max_retries) == (5, 0)
    assert client.settings.max_retries != 0
    assert faster._transport.http is client._transport.http
    assert faster.chat.completions.create(model="glm-4.7", messages=MSG).content
    with pytest.raises(InputError, match="retries") as info:
        client.with_options(retries=1)
    assert "max_retries" in (info.value.hint or "")


@pytest.mark.anyio
async def test_async_with_options(emulator_app) -> None:  # type: ignore[no-untyped-def]
    client = async_offline_client(emulator_app)
    quick = client.with_options(max_retries=0)
    assert type(quick) is type(client) and quick._transport.http is client._transport.http
    assert (await quick.chat.completions.create(model="glm-4.7", messages=MSG)).content
    await client.close()


def test_repr_never_shows_the_key(test_key: str) -> None:
    client = offline_client(api_key=test_key)
    assert test_key not in repr(client) and test_key not in repr(client.with_options(timeout=1))
