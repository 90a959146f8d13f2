"""``client.models``: the live model list, and the local catalog."""

from __future__ import annotations

import builtins

from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call
from glmkit.catalog import ModelInfo, all_models, get_model
from glmkit.types.models import LIST_MODELS, ModelList


def list_call() -> Call[ModelList]:
    """The ``Call`` listing the endpoint's models."""
    return Call(LIST_MODELS, parse=ModelList.model_validate_json)


class Models(SyncResource):
    """``client.models``."""

    def list(self) -> ModelList:
        """The models the endpoint serves (``GET /models``)."""
        return self._client._request(list_call())

    def info(self, model: str) -> ModelInfo | None:
        """What glmkit's catalog knows of a model (context, output, thinking, modalities), offline."""
        return get_model(model.lower())

    def catalog(self) -> builtins.list[ModelInfo]:
        """The whole local catalog."""
        return all_models()


class AsyncModels(AsyncResource):
    """``client.models`` on ``AsyncClient``."""

    async def list(self) -> ModelList:
        """The models the endpoint serves (``GET /models``)."""
        return await self._client._request(list_call())

    def info(self, model: str) -> ModelInfo | None:
        """What glmkit's catalog knows of a model, offline."""
        return get_model(model.lower())

    def catalog(self) -> builtins.list[ModelInfo]:
        """The whole local catalog."""
        return all_models()
