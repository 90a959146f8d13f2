"""The vision tools: one vision-model chat call each, with a focused prompt (``prompts.py``).

Images and videos come as a local path (checked against the limits in ``data/limits.toml`` by
``glmkit.media`` before anything is sent) or an http(s) URL (passed through for the API to fetch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio.to_thread
from pydantic import Field

from glmkit.mcp_server.paths import megabytes, source
from glmkit.mcp_server.prompts import SYSTEM, user_text
from glmkit.mcp_server.registry import tool
from glmkit.mcp_server.runtime import current_runtime, note_usage
from glmkit.media import limits

if TYPE_CHECKING:
    from glmkit.types.chat import ContentPartImage, ContentPartVideo

__all__ = [
    "analyze_chart",
    "analyze_image",
    "analyze_video",
    "compare_ui_screenshots",
    "diagnose_error_screenshot",
    "extract_text_from_screenshot",
    "ui_to_code",
    "understand_diagram",
]

_IMAGE = limits("image")
_VIDEO = limits("video")
ImageSource = Annotated[
    str,
    Field(
        description=f"The image: a local file path ({' or '.join(f.upper() for f in _IMAGE['formats'])}, at most "
        f"{megabytes(_IMAGE['max_bytes'])} and {_IMAGE['max_width']}x{_IMAGE['max_height']} px; relative paths "
        "resolve against the server's working directory) or an http(s) URL.",
        min_length=1,
    ),
]
Prompt = Annotated[str, Field(description="What you want to know or get from the image, in your own words.")]
OptionalPrompt = Annotated[
    str, Field(description="Optional: what you want in particular; leave empty for the default task.")
]


async def _parts(kind: str, sources: list[str]) -> list[ContentPartImage | ContentPartVideo]:
    from glmkit import media

    make: Callable[[str], ContentPartImage | ContentPartVideo] = (
        media.image_part if kind == "image" else media.video_part
    )
    # Reading and base64-encoding a large file should not stall other calls in flight.
    return [await anyio.to_thread.run_sync(make, source(src)) for src in sources]


async def _ask(name: str, kind: str, sources: list[str], prompt: str | None, **fields: str | None) -> str:
    rt = current_runtime()
    parts = await _parts(kind, sources)
    content = [*parts, {"type": "text", "text": user_text(name, prompt, **fields)}]
    messages: Any = [{"role": "system", "content": SYSTEM[name]}, {"role": "user", "content": content}]
    reply = await rt.client.chat.completions.create(model=rt.vision_model, messages=messages)
    note_usage(rt.vision_model, reply)
    return reply.content or "(the vision model returned no text)"


@tool("vision")
async def analyze_image(image_source: ImageSource, prompt: Prompt) -> str:
    """Look at an image and answer a question about it (photos, screenshots, mock-ups, scans, anything visual).

    Use this when no more specific vision tool fits; prefer extract_text_from_screenshot for exact text,
    diagnose_error_screenshot for errors, ui_to_code for interfaces, understand_diagram for diagrams and
    analyze_chart for charts.
    """
    return await _ask("analyze_image", "image", [image_source], prompt)


@tool("vision")
async def extract_text_from_screenshot(
    image_source: ImageSource,
    prompt: OptionalPrompt = "",
    programming_language: Annotated[
        str | None, Field(description="Optional: the language of code in the image, e.g. 'python'.")
    ] = None,
) -> str:
    """Transcribe the text in a screenshot exactly: code, terminal output, logs, documents, web pages.

    Keeps line breaks and indentation and puts code in fenced blocks. For scanned documents and PDFs use ocr.
    """
    return await _ask(
        "extract_text_from_screenshot", "image", [image_source], prompt, programming_language=programming_language
    )


@tool("vision")
async def diagnose_error_screenshot(
    image_source: ImageSource,
    prompt: OptionalPrompt = "",
    context: Annotated[
        str | None,
        Field(description="Optional: what you were doing when the error appeared (command, action, stack)."),
    ] = None,
) -> str:
    """Read an error in a screenshot (dialog, stack trace, failing test, console, log) and explain how to fix it.

    Returns the exact message, the likely root cause and concrete fix steps.
    """
    return await _ask("diagnose_error_screenshot", "image", [image_source], prompt, context=context)


@tool("vision")
async def ui_to_code(
    image_source: ImageSource,
    output_type: Annotated[
        Literal["code", "spec", "prompt", "description"],
        Field(
            description="code: runnable front-end code; spec: a design specification; prompt: a prompt to "
            "recreate the UI; description: a plain-language description."
        ),
    ] = "code",
    framework: Annotated[
        str | None, Field(description="Optional: the stack to use, e.g. 'React + Tailwind' or 'plain HTML/CSS'.")
    ] = None,
    prompt: OptionalPrompt = "",
) -> str:
    """Turn a UI screenshot or design mock-up into front-end code, a design spec, a prompt or a description."""
    return await _ask("ui_to_code", "image", [image_source], prompt, output_type=output_type, framework=framework)


@tool("vision")
async def understand_diagram(
    image_source: ImageSource,
    prompt: OptionalPrompt = "",
    diagram_type: Annotated[
        str | None,
        Field(description="Optional: the kind of diagram, e.g. 'architecture', 'sequence', 'ER', 'flowchart'."),
    ] = None,
) -> str:
    """Explain a technical diagram: architecture, flowchart, sequence, UML, ER, network or state diagram.

    Lists components and connections and walks through the flow.
    """
    return await _ask("understand_diagram", "image", [image_source], prompt, diagram_type=diagram_type)


@tool("vision")
async def analyze_chart(
    image_source: ImageSource,
    prompt: OptionalPrompt = "",
    analysis_focus: Annotated[
        str | None, Field(description="Optional: what to focus on, e.g. 'trends', 'anomalies', 'Q3 revenue'.")
    ] = None,
) -> str:
    """Read a chart, graph or dashboard: axes, series, key values, trends, outliers and the takeaway."""
    return await _ask("analyze_chart", "image", [image_source], prompt, analysis_focus=analysis_focus)


@tool("vision")
async def compare_ui_screenshots(
    expected_image_source: Annotated[
        str, Field(description="The EXPECTED UI (design or reference screenshot): a local path or a URL.")
    ],
    actual_image_source: Annotated[
        str, Field(description="The ACTUAL UI (screenshot of the implementation): a local path or a URL.")
    ],
    prompt: OptionalPrompt = "",
) -> str:
    """Compare an expected UI with the actual one and list every visual difference with the fix.

    Use for visual regression checks: layout, spacing, colours, fonts, text, missing or extra elements.
    """
    return await _ask("compare_ui_screenshots", "image", [expected_image_source, actual_image_source], prompt)


@tool("vision")
async def analyze_video(
    video_source: Annotated[
        str,
        Field(
            description=f"The video: a local file path ({', '.join(f.upper() for f in _VIDEO['formats'])}, at most "
            f"{megabytes(_VIDEO['max_bytes'])}) or an http(s) URL.",
            min_length=1,
        ),
    ],
    prompt: Annotated[str, Field(description="What you want to know about the video, in your own words.")],
) -> str:
    """Watch a video (screen recording, demo, bug reproduction) and answer a question about it."""
    return await _ask("analyze_video", "video", [video_source], prompt)
