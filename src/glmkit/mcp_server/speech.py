"""``transcribe``: speech to text with GLM-ASR; recordings longer than 30 s are cut on silence and joined."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from glmkit.mcp_server.output import check_target, deliver
from glmkit.mcp_server.paths import local_path
from glmkit.mcp_server.registry import tool
from glmkit.mcp_server.runtime import current_runtime, note, progress_reporter
from glmkit.media import limits

__all__ = ["transcribe"]

_AUDIO = limits("audio")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@tool("speech")
async def transcribe(
    audio_path: Annotated[
        str,
        Field(
            description=f"A local {' or '.join(f.upper() for f in _AUDIO['formats'])} file (any length: long "
            f"recordings are split into pieces of at most {_AUDIO['max_seconds']:g} s).",
            min_length=1,
        ),
    ],
    context: Annotated[
        str | None,
        Field(description="Optional: text that came before or describes the recording, to guide spelling."),
    ] = None,
    hotwords: Annotated[
        list[str] | None,
        Field(
            description=f"Optional: names and terms to spell right (up to {_AUDIO['hotwords_max_items']}), "
            "e.g. ['glmkit', 'Z.AI']."
        ),
    ] = None,
    timestamps: Annotated[
        bool, Field(description="Prefix each piece of a long recording with its [start-end] time.")
    ] = False,
    save_to: Annotated[
        str | None,
        Field(description="Optional: write the whole transcript to this file and return only a preview."),
    ] = None,
    ctx: Context | None = None,
) -> str:
    """Transcribe speech in an audio file (meeting, voice note, screen-recording audio) to text with GLM-ASR."""
    path = str(local_path(audio_path))
    check_target(save_to)
    async with progress_reporter(ctx) as report:

        def on_progress(p: Any) -> None:
            report(p.seconds_done, p.seconds_total, f"{p.done} of {p.total} pieces transcribed")

        result = await current_runtime().client.audio.transcribe_long(
            path, prompt=context or None, hotwords=hotwords or None, on_progress=on_progress
        )
    note(model_requested=result.model, model_used=result.model)
    if timestamps and result.segments:
        text = "\n".join(f"[{_clock(s.start)}-{_clock(s.end)}] {s.text.strip()}" for s in result.segments)
    else:
        text = result.text
    if not text.strip():
        return "(no speech recognised)"
    what = f"transcript ({_clock(result.seconds)} of audio)"
    return deliver(text, what=what, save_to=save_to, name=Path(audio_path).stem or "transcript")
