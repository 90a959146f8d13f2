"""The public API as a user writes it, checked by mypy (``files`` in pyproject): each call's type is what users get.

Nothing here sends a request: the functions are only type-checked; pytest imports the module and runs the one
test, which checks that the names the annotations use are importable.
"""

from __future__ import annotations

from pathlib import Path
from typing import assert_type

from pydantic import BaseModel

from glmkit import AsyncClient, Client, Tool, tool
from glmkit._streaming import AsyncStream, AsyncStreamManager, Stream
from glmkit.emulator.state import EmulatorState
from glmkit.media import file_part, image_part, video_part
from glmkit.resources._run_types import RunEvent, RunResult
from glmkit.resources._structured import ParsedCompletion
from glmkit.resources.audio import AsyncTranscriptionStream, TranscriptionStream
from glmkit.resources.chat import AsyncChatCompletionStream, ChatCompletionStream
from glmkit.resources.responses import AsyncResponseStream, ResponseStream
from glmkit.testing import EmulatorServer
from glmkit.types import JSONObject, RawResponse
from glmkit.types.agents import AgentChunk, AgentResponse
from glmkit.types.anthropic import error_body
from glmkit.types.audio import LongTranscription, Transcription
from glmkit.types.chat import (
    AsyncChatResult,
    AsyncTask,
    ChatCompletion,
    ChatCompletionChunk,
    ContentPartFile,
    ContentPartFileURL,
    ContentPartImage,
    ContentPartVideo,
    FunctionToolParam,
    MessageParam,
)
from glmkit.types.images import ImagesResponse, ImageTask, ImageTaskResult
from glmkit.types.models import ModelList
from glmkit.types.quota import QuotaInfo
from glmkit.types.reader import ReaderResponse
from glmkit.types.responses import Response
from glmkit.types.tokenizer import TokenizerResult
from glmkit.types.videos import VideoTask, VideoTaskResult
from glmkit.types.web_search import WebSearchResponse

MESSAGES: list[MessageParam] = [{"role": "user", "content": "hi"}]


class Answer(BaseModel):
    text: str


def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def forecast(city: str, days: int = 1) -> str:
    """The forecast for a city."""
    return f"sunny in {city} for {days} days"


@tool(name="lookup", strict=True)
async def lookup(key: str) -> int:
    """A number by its key."""
    return len(key)


def chat(client: Client) -> None:
    assert_type(client.chat.completions.create(model="glm-5.3", messages=MESSAGES), ChatCompletion)
    stream = client.chat.completions.create(model="glm-5.3", messages=MESSAGES, stream=True)
    assert_type(stream, ChatCompletionStream)
    with client.chat.completions.stream(model="glm-5.3", messages=MESSAGES) as s:
        assert_type(s, ChatCompletionStream)
        for chunk in s:
            assert_type(chunk, ChatCompletionChunk)
        for text in s.text_stream:
            assert_type(text, str)
    assert_type(stream.get_final_completion(), ChatCompletion)
    assert_type(client.chat.async_completions.create(model="glm-5.3", messages=MESSAGES), AsyncTask)
    assert_type(client.chat.async_completions.retrieve("task"), AsyncChatResult)
    assert_type(client.chat.run(model="glm-5.3", messages=MESSAGES, tools=[weather], temperature=0.2), RunResult)
    for event in client.chat.run_stream(model="glm-5.3", messages=MESSAGES, tools=[]):
        assert_type(event, RunEvent)
    assert_type(client.chat.parse(model="glm-5.3", messages=MESSAGES, response_format=Answer), ParsedCompletion)


async def async_chat(client: AsyncClient) -> None:
    assert_type(await client.chat.completions.create(model="glm-5.3", messages=MESSAGES), ChatCompletion)
    stream = await client.chat.completions.create(model="glm-5.3", messages=MESSAGES, stream=True)
    assert_type(stream, AsyncChatCompletionStream)
    manager = client.chat.completions.stream(model="glm-5.3", messages=MESSAGES)
    assert_type(manager, AsyncStreamManager[AsyncChatCompletionStream])
    async with manager as s:
        assert_type(s, AsyncChatCompletionStream)
        async for chunk in s:
            assert_type(chunk, ChatCompletionChunk)
        async for text in s.text_stream:
            assert_type(text, str)
    async with await client.responses.create(model="glm-5.3", input="hi", stream=True) as r:
        assert_type(r, AsyncResponseStream)
    assert_type(await stream.get_final_completion(), ChatCompletion)
    assert_type(await client.chat.async_completions.retrieve("task"), AsyncChatResult)
    assert_type(await client.chat.run(model="glm-5.3", messages=MESSAGES, tools=[]), RunResult)
    async for event in client.chat.run_stream(model="glm-5.3", messages=MESSAGES, tools=[]):
        assert_type(event, RunEvent)
    parsed = await client.chat.parse(model="glm-5.3", messages=MESSAGES, response_format=Answer)
    assert_type(parsed, ParsedCompletion)


def responses(client: Client) -> None:
    assert_type(client.responses.create(model="glm-5.3", input="hi"), Response)
    assert_type(client.responses.create(model="glm-5.3", input="hi", stream=True), ResponseStream)
    assert_type(client.responses.stream(model="glm-5.3", input="hi").get_final_response(), Response)


async def async_responses(client: AsyncClient) -> None:
    assert_type(await client.responses.create(model="glm-5.3", input="hi"), Response)
    assert_type(await client.responses.create(model="glm-5.3", input="hi", stream=True), AsyncResponseStream)


def media(client: Client, path: Path) -> None:
    image = client.images.generate(prompt="a lighthouse")
    assert_type(image, ImagesResponse)
    assert_type(client.images.save(image, path), Path)
    assert_type(client.images.submit(prompt="a lighthouse"), ImageTask)
    assert_type(client.images.wait("task"), ImageTaskResult)
    assert_type(client.videos.generate(model="cogvideox-3", prompt="a cat"), VideoTask)
    video = client.videos.wait("task")
    assert_type(video, VideoTaskResult)
    assert_type(client.videos.save(video, path), Path)
    assert_type(client.audio.transcriptions.create(file=path), Transcription)
    assert_type(client.audio.transcriptions.create(file=path, stream=True), TranscriptionStream)
    assert_type(client.audio.transcribe_long(path), LongTranscription)


async def async_media(client: AsyncClient, path: Path) -> None:
    image = await client.images.generate(prompt="a lighthouse")
    assert_type(image, ImagesResponse)
    assert_type(await client.images.save(image, path), Path)
    assert_type(await client.videos.save(await client.videos.wait("task"), path), Path)
    stream = await client.audio.transcriptions.create(file=path, stream=True)
    assert_type(stream, AsyncTranscriptionStream)


def tools(client: Client) -> None:
    assert_type(client.web_search(search_query="glm"), WebSearchResponse)
    assert_type(client.web_search.create(search_query="glm"), WebSearchResponse)
    assert_type(client.reader.read("https://example.com"), ReaderResponse)
    assert_type(client.agents.invoke("general_translation", text="hi"), AgentResponse | Stream[AgentChunk])
    assert_type(client.agents.translate("hi", to="ja"), AgentResponse)
    assert_type(client.tokenizer.create(model="glm-5.3", messages=MESSAGES), TokenizerResult)
    assert_type(client.models.list(), ModelList)
    assert_type(client.tokenizer.count("hello"), int)
    assert_type(client.quota.limits(), QuotaInfo)


async def async_tools(client: AsyncClient) -> None:
    assert_type(await client.web_search(search_query="glm"), WebSearchResponse)
    invoked = await client.agents.invoke("general_translation", text="hi")
    assert_type(invoked, AgentResponse | AsyncStream[AgentChunk])
    assert_type(await client.quota.limits(), QuotaInfo)


def test_the_checked_module_imports() -> None:
    assert callable(chat) and callable(async_chat)
    assert forecast("Paris") == "sunny in Paris for 1 days" and forecast.to_param()["function"]["name"] == "forecast"


async def typed_tools() -> None:
    # @tool keeps the function's signature: calls are checked and give the function's return type.
    assert_type(forecast("Paris", days=2), str)
    assert_type(await lookup("answer"), int)
    forecast(3)  # type: ignore[arg-type]
    tools: list[Tool] = [forecast, lookup]
    assert_type(tools[0].to_param(), FunctionToolParam)
    assert_type(forecast.bind({"city": "Paris"}), tuple[list[object], dict[str, object]])


def typed_results(client: Client, server: EmulatorServer, path: Path) -> None:
    completion = client.chat.completions.create(model="glm-5.3", messages=MESSAGES)
    assert_type(completion.raw_response, RawResponse | None)
    assert_type(completion.to_dict(), JSONObject)
    answer = client.agents.translate("hi", to="ja")
    assert_type(answer.pages, list[JSONObject])
    assert_type(answer.content_of("file_url"), list[JSONObject])
    assert_type(answer.choices[0].items, list[JSONObject])
    assert_type(error_body(429, "slow down"), JSONObject)
    assert_type(server.state, EmulatorState)
    assert_type(image_part(path), ContentPartImage)
    assert_type(video_part(path), ContentPartVideo)
    assert_type(file_part(path), ContentPartFileURL | ContentPartFile)
    # a content part goes into a message as it is
    client.chat.completions.create(
        model="glm-5v-turbo",
        messages=[{"role": "user", "content": [image_part(path), {"type": "text", "text": "What is this?"}]}],
    )
