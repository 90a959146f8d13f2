"""What a tool-calling run records (``ToolCallRecord``, ``RunStep``, ``RunResult``) and the events it reports.

Public as ``glmkit.tools.<Name>``; the loop that fills them is ``_run_flow.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from glmkit.types.chat import ChatCompletion, Usage

if TYPE_CHECKING:
    from glmkit.tools import Tool

ToolStatus = Literal["ok", "error", "invalid", "denied", "unknown", "pending"]


@dataclass
class ToolCallRecord:
    """One tool call: what the model asked, what ran, what went back.

    ``status``: ok, error (the tool raised), invalid (bad arguments), denied (``approve`` said no),
    unknown (no such tool), pending (a tool without a local implementation: the caller runs it).
    """

    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] | None = None
    status: ToolStatus = "ok"
    result: Any = None
    output: str = ""
    """The string sent back to the model as the tool message."""
    error: str | None = None
    duration: float = 0.0
    """Seconds the tool ran."""
    exception: BaseException | None = field(default=None, repr=False)
    _tool: Tool | None = field(default=None, repr=False, compare=False)
    _bound: tuple[list[Any], dict[str, Any]] = field(default_factory=lambda: ([], {}), repr=False, compare=False)


@dataclass
class RunStep:
    """One model turn and the tool calls it made."""

    index: int
    content: str
    reasoning: str
    finish_reason: str | None
    tool_calls: list[ToolCallRecord]
    usage: Usage | None
    completion: ChatCompletion = field(repr=False)
    duration: float = 0.0
    """Seconds for the model call and the tools."""


@dataclass
class RunResult:
    """The outcome of ``client.chat.run``.

    ``stop_reason``: the last turn's ``finish_reason`` (``stop``, ``length``, ``sensitive``, ...),
    ``max_steps`` when the model still wanted tools after ``max_steps`` turns, or ``tool_calls`` when it
    called a tool given as a plain dict (see ``pending_tool_calls``; append their results to
    ``messages`` and run again).
    """

    content: str
    reasoning: str
    stop_reason: str
    steps: list[RunStep]
    messages: list[dict[str, Any]]
    usage: Usage
    pending_tool_calls: list[ToolCallRecord] = field(default_factory=list)

    @property
    def completion(self) -> ChatCompletion | None:
        """The last model answer."""
        return self.steps[-1].completion if self.steps else None

    @property
    def tool_calls(self) -> list[ToolCallRecord]:
        """Every tool call of the run, in order."""
        return [c for s in self.steps for c in s.tool_calls]


# ---- events (``run_stream`` yields them, ``on_event`` hears them); ``step`` is the turn's index ----------


@dataclass
class TextDelta:
    """A piece of the answer's text, as it streams."""

    step: int
    text: str
    type: Literal["text_delta"] = "text_delta"


@dataclass
class ReasoningDelta:
    """A piece of the model's reasoning (it streams before the text and between tool calls)."""

    step: int
    text: str
    type: Literal["reasoning_delta"] = "reasoning_delta"


@dataclass
class ToolCallStarted:
    """A validated, approved tool call is about to run."""

    step: int
    call: ToolCallRecord
    type: Literal["tool_call_started"] = "tool_call_started"


@dataclass
class ToolCallFinished:
    """A tool call has its output (ok, error, invalid, denied or unknown; see ``call.status``)."""

    step: int
    call: ToolCallRecord
    type: Literal["tool_call_finished"] = "tool_call_finished"


@dataclass
class StepFinished:
    """A turn is over: the model answered and its tool calls ran."""

    step: int
    turn: RunStep
    type: Literal["step_finished"] = "step_finished"


@dataclass
class Done:
    """The run is over (always the last event)."""

    step: int
    answer: RunResult
    type: Literal["done"] = "done"


RunEvent = TextDelta | ReasoningDelta | ToolCallStarted | ToolCallFinished | StepFinished | Done
