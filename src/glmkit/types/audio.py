"""Audio transcription: ``POST {base}/audio/transcriptions`` (reference §4), multipart with the file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

TRANSCRIPTIONS = Endpoint("POST", "/audio/transcriptions", "general")
ASR_MODEL = "glm-asr-2512"


class TranscriptionParams(RequestOptions, total=False):
    """A transcription request."""

    file: Required[Any]
    """A path, bytes, a file object, or base64 of a ``.wav``/``.mp3`` of at most 25 MB and 30 s."""
    model: str
    """``glm-asr-2512`` (the default)."""
    prompt: str
    """Earlier transcript as context (under 8000 characters)."""
    hotwords: list[str]
    """Domain words to favour (at most 100)."""
    request_id: str
    user_id: str
    """6 to 128 characters."""


class Transcription(Model):
    """The text of one recording."""

    id: str | None = None
    created: int | None = None
    request_id: str | None = None
    model: str | None = None
    text: str = ""


class TranscriptionChunk(Model):
    """One streamed event: ``type`` is ``transcript.text.delta`` (text in ``delta``) or ``transcript.text.done``."""

    id: str | None = None
    created: int | None = None
    model: str | None = None
    type: str = "transcript.text.delta"
    delta: str = ""


class TranscriptionAccumulator:
    """Folds streamed events into a ``Transcription``."""

    __slots__ = ("first", "parts", "finished")

    def __init__(self) -> None:
        self.first: TranscriptionChunk | None = None
        self.parts: list[str] = []
        self.finished = False

    def add(self, chunk: TranscriptionChunk) -> None:
        """Take one event."""
        if self.first is None:
            self.first = chunk
        if chunk.type == "transcript.text.done":
            self.finished = True
        elif chunk.delta:
            self.parts.append(chunk.delta)

    def result(self) -> Transcription:
        """What arrived so far."""
        first = self.first
        return Transcription(
            id=first.id if first else None,
            created=first.created if first else None,
            model=first.model if first else None,
            text="".join(self.parts),
        )


class TranscriptSegment(Model):
    """One piece of a long recording and its text."""

    index: int
    start: float
    end: float
    text: str


class LongTranscription(Model):
    """The joined text of a recording sent in pieces, with each piece's time span."""

    text: str
    model: str | None = None
    segments: list[TranscriptSegment] = []
    seconds: float = 0.0


@dataclass(frozen=True)
class TranscriptionProgress:
    """Reported after each piece of ``transcribe_long``."""

    done: int
    total: int
    seconds_done: float
    seconds_total: float
    text: str
    """The text of the piece just finished."""
    phase: Literal["segment"] = "segment"

    @property
    def fraction(self) -> float:
        """0.0 to 1.0."""
        return self.done / self.total if self.total else 1.0


class LongTranscriptionParams(TypedDict, total=False):
    """``client.audio.transcribe_long(file, ...)`` options."""

    model: str
    """``glm-asr-2512`` (the default)."""
    prompt: str | None
    """Context for every piece (names, a glossary); the text so far follows it, within 8000 characters."""
    hotwords: list[str] | None
    """Domain words to favour (at most 100), sent with every piece."""
    on_progress: Callable[[TranscriptionProgress], Any] | None
    """Called with a ``TranscriptionProgress`` after each piece."""
    cancel: Any
    """A ``threading.Event``/``anyio.Event`` (anything with ``is_set()``) or a callable, checked before each piece."""
    segment_seconds: float | None
    """The target piece length (default 28 s; never above 30)."""
