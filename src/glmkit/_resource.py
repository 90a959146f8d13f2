"""Resources: a handle on the client, nothing more."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glmkit._client import AsyncClient, Client


class SyncResource:
    """A group of endpoints on a ``Client``."""

    def __init__(self, client: Client) -> None:
        self._client = client


class AsyncResource:
    """A group of endpoints on an ``AsyncClient``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
