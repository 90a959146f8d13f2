"""The OpenAI Responses API over GLM chat completions, both ways, as pure functions (no I/O).

Shared by the emulator (``/api/v1/responses`` answers from the chat answer generator) and the gateway's
translate mode (``/v1/responses`` onto the coding endpoint's chat completions):

- ``to_chat(body, ...)``: a Responses request -> (a GLM chat body, a ``Plan``).
- ``ResponseWriter``: chat deltas (reasoning, text, tool-call fragments, a finish reason and usage) -> the
  Responses event sequence (``response.created`` ... ``response.completed``, each with ``sequence_number``)
  and the whole ``response`` object; ``feed_chunk`` takes GLM stream chunks, ``add_message`` a whole message.

Choices where the reference is silent (UNVERIFIED, kept here rather than invented twice):
- ``developer`` messages become ``system`` messages; ``instructions`` the first system message.
- A ``custom`` (free-form) tool, such as Codex's ``apply_patch``, becomes a function taking one string
  ``input`` (its grammar goes in the description); GLM's call comes back as a ``custom_tool_call``.
- Hosted tools (``web_search``, ``namespace`` groups, ...) have no GLM function form and are left out.
- ``tool_choice``: ``none`` sends no tools, ``required`` becomes ``auto`` (the only value GLM documents,
  §2.1), a named tool keeps only that tool.
- Reasoning goes out as a ``reasoning`` item with ``reasoning_text`` content (GLM's reasoning is raw, not a
  summary) and, when ``include`` asks for ``reasoning.encrypted_content``, the same text base64-encoded there,
  so a client that sends back only the opaque field (Codex) still returns it with its tool results (§2.5).
"""

from __future__ import annotations

from glmkit.responses_chat.request import Plan, TranslationError, to_chat
from glmkit.responses_chat.writer import ResponseWriter

__all__ = ["Plan", "ResponseWriter", "TranslationError", "to_chat"]
