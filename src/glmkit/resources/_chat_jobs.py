"""``client.chat.async_completions``: a chat answered as a job, submitted now and polled for its result."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.resources._chat_checks import prepare_chat_params
from glmkit.types.chat import ASYNC_CHAT_COMPLETIONS, ASYNC_RESULT, AsyncChatResult, AsyncTask, ChatCompletionParams

__all__ = ["AsyncChatJobs", "ChatJobs", "async_result_call", "async_submit_call"]


def async_submit_call(params: dict[str, Any]) -> Call[AsyncTask]:
    """The ``Call`` submitting an async chat job."""
    params = dict(params)
    options = split_options(params)
    params.pop("stream", None)
    body = prepare_chat_params(params)
    return with_options(Call(ASYNC_CHAT_COMPLETIONS, json=body, parse=AsyncTask.model_validate_json), options)


def async_result_call(task_id: str) -> Call[AsyncChatResult]:
    """The ``Call`` polling an async chat job."""
    if not task_id:
        raise InputError("task_id is required.")
    return Call(ASYNC_RESULT.format(id=task_id), parse=AsyncChatResult.model_validate_json)


class ChatJobs(SyncResource):
    """``client.chat.async_completions``: submit a job, poll its result."""

    def create(self, **params: Unpack[ChatCompletionParams]) -> AsyncTask:
        """Submit a chat job; poll with ``retrieve(task.id)``."""
        return self._client._request(async_submit_call(dict(params)))

    def retrieve(self, task_id: str) -> AsyncChatResult:
        """The job's state and, once SUCCESS, its choices."""
        return self._client._request(async_result_call(task_id))


class AsyncChatJobs(AsyncResource):
    """The async twin of ``ChatJobs``."""

    async def create(self, **params: Unpack[ChatCompletionParams]) -> AsyncTask:
        """Submit a chat job; poll with ``retrieve(task.id)``."""
        return await self._client._request(async_submit_call(dict(params)))

    async def retrieve(self, task_id: str) -> AsyncChatResult:
        """The job's state and, once SUCCESS, its choices."""
        return await self._client._request(async_result_call(task_id))
