"""``client.audio``: transcription with GLM-ASR, plain or streamed, and ``transcribe_long`` for long recordings.

The file is checked locally first (WAV/MP3, ≤ 25 MB, ≤ 30 s, read from the file itself), so a bad
file never costs a request. ``transcribe_long`` cuts longer audio on silence into pieces the API
accepts and joins the text; it is a flow (``_flows``), so sync and async share it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal, TypeVar, overload

import httpx
from typing_extensions import Unpack

from glmkit._errors import GLMError, InputError, OperationCancelledError
from glmkit._flows import Flow, Request
from glmkit._resource import AsyncResource, SyncResource
from glmkit._streaming import AsyncStream, Stream, StreamCore
from glmkit._transport import Call, request_id_of, split_options, with_options
from glmkit.catalog import get_model
from glmkit.media import AudioSegment, MediaInput, check_audio, limits, split_audio
from glmkit.resources._tasks import check_options, check_prompt, is_cancelled
from glmkit.types.audio import (
    ASR_MODEL,
    TRANSCRIPTIONS,
    LongTranscription,
    LongTranscriptionParams,
    Transcription,
    TranscriptionAccumulator,
    TranscriptionChunk,
    TranscriptionParams,
    TranscriptionProgress,
    TranscriptSegment,
)

__all__ = ["AsyncAudio", "AsyncTranscriptionStream", "AsyncTranscriptions", "Audio", "TranscriptionStream"]

ProgressCallback = Callable[[TranscriptionProgress], Any]
_CONTEXT_CHARS = 2000  # how much of the text so far goes into the next piece's prompt


class TranscriptionStream(Stream[TranscriptionChunk]):
    """Streamed transcription events; ``text_stream`` for the text, ``get_final_transcription()`` for all of it."""

    @property
    def text_stream(self) -> Iterator[str]:
        """The text pieces as they arrive."""
        for chunk in self:
            if chunk.delta and chunk.type != "transcript.text.done":
                yield chunk.delta

    def get_final_transcription(self) -> Transcription:
        """Read the rest and return the whole text."""
        if not self._core.done:
            for _ in self:
                pass
        acc: TranscriptionAccumulator = self._core.accumulator
        return acc.result()


class AsyncTranscriptionStream(AsyncStream[TranscriptionChunk]):
    """The async twin of ``TranscriptionStream``."""

    @property
    async def text_stream(self) -> AsyncIterator[str]:
        """The text pieces as they arrive."""
        async for chunk in self:
            if chunk.delta and chunk.type != "transcript.text.done":
                yield chunk.delta

    async def get_final_transcription(self) -> Transcription:
        """Read the rest and return the whole text."""
        if not self._core.done:
            async for _ in self:
                pass
        acc: TranscriptionAccumulator = self._core.accumulator
        return acc.result()


S = TypeVar("S", TranscriptionStream, AsyncTranscriptionStream)


def _open(cls: type[S], response: httpx.Response) -> S:
    return cls(
        response,
        StreamCore(TranscriptionChunk.model_validate_json, TranscriptionAccumulator(), request_id_of(response)),
    )


def transcription_call(params: dict[str, Any], stream_cls: type[S] | None = None) -> Call[Transcription | S]:
    """The multipart ``Call`` for one transcription, streamed as ``stream_cls`` when ``params`` ask; the file is
    checked before anything is sent. Without ``stream_cls`` the call is never streamed."""
    params = dict(params)
    options = split_options(params)
    if stream_cls is None:
        params["stream"] = False
    if params.get("file") is None:
        raise InputError("file is required: a path, bytes, a file object or base64 of a WAV/MP3 recording.")
    info = check_audio(params.pop("file"))
    lim = limits("audio")
    model = params.pop("model", None) or ASR_MODEL
    known = get_model(model) if isinstance(model, str) else None
    if not isinstance(model, str) or (known is not None and known.kind != "asr"):
        raise InputError(f"{model!r} is not a transcription model.", hint=f"Use {ASR_MODEL}.")
    check_prompt(
        params.get("prompt"), lim["prompt_max_chars"], "GLM-ASR takes", shorten="Pass only the end of the transcript."
    )
    hotwords = params.pop("hotwords", None)
    if hotwords is not None:
        if isinstance(hotwords, str) or not all(isinstance(w, str) for w in hotwords):
            raise InputError("hotwords must be a list of strings.")
        if len(hotwords) > lim["hotwords_max_items"]:
            raise InputError(f"hotwords has {len(hotwords)} items; GLM-ASR takes at most {lim['hotwords_max_items']}.")
    uid = params.get("user_id")
    if uid is not None and not 6 <= len(str(uid)) <= 128:
        raise InputError("user_id must be 6 to 128 characters.")
    streaming = bool(params.pop("stream", False))
    data: dict[str, Any] = {"model": model, **{k: _form_value(v) for k, v in params.items() if v is not None}}
    if hotwords:
        data["hotwords"] = list(hotwords)  # repeated form fields; the wire form for arrays is UNVERIFIED (§4)
    if streaming:
        data["stream"] = "true"
    name = info.name if not info.name.startswith("<") else f"audio.{info.format}"
    files = {"file": (name, info.data, info.mime)}
    call: Call[Transcription | S]
    if streaming and stream_cls is not None:
        call = Call(TRANSCRIPTIONS, data=data, files=files, stream=functools.partial(_open, stream_cls))
    else:
        call = Call(TRANSCRIPTIONS, data=data, files=files, parse=Transcription.model_validate_json)
    return with_options(call, options)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)  # e.g. sensitive_word_check
    return str(value)


def _join(texts: list[str]) -> str:
    out = ""
    for text in (t.strip() for t in texts):
        if not text:
            continue
        # No space between two CJK characters (Chinese/Japanese text has none).
        if out and not (_is_cjk(out[-1]) and _is_cjk(text[0])):
            out += " "
        out += text
    return out


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uff00" <= ch <= "\uffef"


def _piece_prompt(user_prompt: str | None, text_so_far: str) -> str | None:
    """The user's prompt, then as much of the text so far as fits GLM-ASR's prompt limit (§4: 8000 chars).

    The user's words (a glossary, names) matter for every piece, so they go with each one; the end of
    the transcript follows them, since it is the context nearest the new audio.
    """
    head = str(user_prompt) if user_prompt else ""
    room = min(_CONTEXT_CHARS, limits("audio")["prompt_max_chars"] - len(head) - 2)
    context = text_so_far[-room:] if room > 0 and text_so_far else ""
    return "\n\n".join(p for p in (head, context) if p) or None


def transcribe_long_flow(
    segments: list[AudioSegment],
    params: dict[str, Any],
    *,
    on_progress: ProgressCallback | None = None,
    cancel: Any = None,
) -> Flow[LongTranscription]:
    """Send each piece in order, carrying the text so far as context; report progress; stop when cancelled."""
    done: list[TranscriptSegment] = []
    total = segments[-1].end if segments else 0.0
    model = params.get("model") or ASR_MODEL

    def partial() -> LongTranscription:
        return LongTranscription(
            text=_join([s.text for s in done]), model=model, segments=list(done), seconds=done[-1].end if done else 0.0
        )

    for seg in segments:
        if is_cancelled(cancel):
            raise OperationCancelledError(
                f"Transcription cancelled after {len(done)} of {len(segments)} pieces ({seg.start:.0f} s).",
                partial=partial(),
                hint="The text so far is on the exception's .partial.",
            )
        piece = dict(params)
        piece["file"] = MediaInput(seg.data, name=f"part{seg.index:03d}.{seg.format}")
        prompt = _piece_prompt(params.get("prompt"), _join([s.text for s in done]))
        if prompt:
            piece["prompt"] = prompt
        try:
            result: Transcription = yield Request(transcription_call(piece))
        except GLMError as exc:
            exc.partial = partial()
            raise
        done.append(TranscriptSegment(index=seg.index, start=seg.start, end=seg.end, text=result.text))
        if on_progress is not None:
            on_progress(TranscriptionProgress(len(done), len(segments), seg.end, total, result.text))
    return partial()


def long_flow(file: Any, options: LongTranscriptionParams) -> Flow[LongTranscription]:
    """Check the options, cut the file into pieces and return the flow that transcribes them in order."""
    check_options(options, LongTranscriptionParams, "transcribe_long")
    if file is None:
        raise InputError("file is required: a path, bytes, a file object or base64 of a WAV/MP3 recording.")
    on_progress = options.get("on_progress")
    if on_progress is not None and not callable(on_progress):
        raise InputError("on_progress must be a callable taking a TranscriptionProgress.")
    params = {k: options.get(k) for k in ("model", "prompt", "hotwords")}
    params = {k: v for k, v in params.items() if v is not None}
    segments = split_audio(file, target_seconds=options.get("segment_seconds"))
    return transcribe_long_flow(segments, params, on_progress=on_progress, cancel=options.get("cancel"))


class Transcriptions(SyncResource):
    """``client.audio.transcriptions``."""

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[TranscriptionParams]) -> TranscriptionStream: ...
    @overload
    def create(self, *, stream: Literal[False] = ..., **params: Unpack[TranscriptionParams]) -> Transcription: ...
    def create(self, **params: Any) -> Transcription | TranscriptionStream:
        """Transcribe a WAV/MP3 of at most 30 s; with ``stream=True`` a ``TranscriptionStream``.

        Raises:
            InputError: the file is not WAV/MP3, over 25 MB or 30 s, or unreadable (nothing is sent).
        """
        return self._client._request(transcription_call(params, TranscriptionStream))


class AsyncTranscriptions(AsyncResource):
    """``client.audio.transcriptions`` on ``AsyncClient``."""

    @overload
    async def create(
        self, *, stream: Literal[True], **params: Unpack[TranscriptionParams]
    ) -> AsyncTranscriptionStream: ...
    @overload
    async def create(self, *, stream: Literal[False] = ..., **params: Unpack[TranscriptionParams]) -> Transcription: ...
    async def create(self, **params: Any) -> Transcription | AsyncTranscriptionStream:
        """Transcribe a WAV/MP3 of at most 30 s (see ``Transcriptions.create``)."""
        return await self._client._request(transcription_call(params, AsyncTranscriptionStream))


class Audio(SyncResource):
    """``client.audio``."""

    @property
    def transcriptions(self) -> Transcriptions:
        """Speech to text."""
        return Transcriptions(self._client)

    def transcribe_long(self, file: Any, **options: Unpack[LongTranscriptionParams]) -> LongTranscription:
        """Transcribe a recording of any length: cut on silence into ≤ 30 s pieces, sent in order, text joined.

        ``file`` is a WAV or MP3 (path, bytes, file object or base64); ``options`` are ``model``, ``prompt``,
        ``hotwords``, ``on_progress``, ``cancel`` and ``segment_seconds`` (``LongTranscriptionParams``).

        Raises:
            InputError: the file is not WAV/MP3 or unreadable, or an option is wrong (nothing is sent).
            OperationCancelledError: ``cancel`` was set; ``.partial`` has the text so far.
        """
        return self._client._run(long_flow(file, options))


class AsyncAudio(AsyncResource):
    """``client.audio`` on ``AsyncClient``."""

    @property
    def transcriptions(self) -> AsyncTranscriptions:
        """Speech to text."""
        return AsyncTranscriptions(self._client)

    async def transcribe_long(self, file: Any, **options: Unpack[LongTranscriptionParams]) -> LongTranscription:
        """Transcribe a recording of any length (see ``Audio.transcribe_long``); also stops on task cancellation."""
        return await self._client._run(long_flow(file, options))
