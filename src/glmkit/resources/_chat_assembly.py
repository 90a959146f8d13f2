"""Assembling a streamed chat answer: chunks folded into the ``ChatCompletion`` they add up to."""

from __future__ import annotations

from typing import Any

from glmkit.types.chat import ChatCompletion, ChatCompletionChunk, ChatMessage, Choice, FunctionCall, ToolCall, Usage

__all__ = ["ChunkAccumulator"]


class _ChoiceAcc:
    __slots__ = ("content", "finish_reason", "reasoning", "role", "tools")

    def __init__(self) -> None:
        self.role = "assistant"
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tools: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None


class ChunkAccumulator:
    """Folds chunks into the ``ChatCompletion`` they add up to (text, reasoning, tool-call argument deltas, usage)."""

    __slots__ = ("choices", "created", "extra", "id", "model", "usage")

    def __init__(self) -> None:
        self.id: str | None = None
        self.created: int | None = None
        self.model: str | None = None
        self.usage: Usage | None = None
        self.choices: dict[int, _ChoiceAcc] = {}
        self.extra: dict[str, Any] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in."""
        # Called for every streamed chunk: each attribute is read once.
        if self.id is None:
            self.id, self.created, self.model = chunk.id, chunk.created, chunk.model
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        extra = chunk.__pydantic_extra__
        if extra:
            self.extra.update(extra)
        accs = self.choices
        for c in chunk.choices:
            index = c.index
            acc = accs.get(index)
            if acc is None:
                acc = accs[index] = _ChoiceAcc()
            d = c.delta
            text = d.content
            if text:
                acc.content.append(text)
            text = d.reasoning_content
            if text:
                acc.reasoning.append(text)
            role = d.role
            if role:
                acc.role = role
            tools = d.tool_calls
            if tools:
                for pos, tc in enumerate(tools):
                    self._add_tool(acc, tc, pos)
            finish = c.finish_reason
            if finish is not None:
                acc.finish_reason = finish

    @staticmethod
    def _add_tool(acc: _ChoiceAcc, tc: ToolCall, pos: int) -> None:
        idx = tc.index if tc.index is not None else pos
        slot = acc.tools.get(idx)
        if slot is None:
            slot = acc.tools[idx] = {"id": tc.id, "type": tc.type or "function", "name": None, "arguments": []}
        if tc.id:
            slot["id"] = tc.id
        if tc.function is not None:
            if tc.function.name:
                slot["name"] = tc.function.name
            if tc.function.arguments:
                slot["arguments"].append(tc.function.arguments)

    @property
    def text(self) -> str:
        """The first choice's text so far."""
        acc = self.choices.get(0)
        return "".join(acc.content) if acc else ""

    def result(self) -> ChatCompletion:
        """The completion assembled so far."""
        choices = []
        for index in sorted(self.choices):
            acc = self.choices[index]
            tools = [
                ToolCall(
                    id=t["id"], type=t["type"], function=FunctionCall(name=t["name"], arguments="".join(t["arguments"]))
                )
                for _, t in sorted(acc.tools.items())
            ]
            message = ChatMessage(
                role=acc.role,
                content="".join(acc.content) if acc.content or not tools else None,
                reasoning_content="".join(acc.reasoning) if acc.reasoning else None,
                tool_calls=tools or None,
            )
            choices.append(Choice(index=index, finish_reason=acc.finish_reason, message=message))
        return ChatCompletion(
            id=self.id, created=self.created, model=self.model, choices=choices, usage=self.usage, **self.extra
        )


__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()]
