"""The focused prompts behind each vision tool: a system prompt saying what to look for and how to answer.

Each tool sends its system prompt, then the image(s) and one user text made from the agent's request
and the tool's optional fields. Keep them short: the vision model reads them on every call.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SYSTEM", "user_text"]

_COMMON = (
    "You are the eyes of a coding agent that cannot see images. Describe only what is visible; "
    "say when something is unreadable or cut off instead of guessing. Answer in Markdown."
)

SYSTEM: Mapping[str, str] = {
    "analyze_image": _COMMON + " Answer the agent's question about the image directly, then add any detail it "
    "will need to act on the answer.",
    "extract_text_from_screenshot": _COMMON + " Transcribe the text in the screenshot exactly: keep line breaks, "
    "indentation and symbols. Put code, terminal output and logs in fenced code blocks with the right language "
    "tag. Do not fix, summarise or translate the text. Mark unreadable characters as [?].",
    "diagnose_error_screenshot": _COMMON + " The image shows an error (dialog, stack trace, failing test, log, "
    "browser console). Give: 1) the exact error message and where it comes from (file, line, component); "
    "2) the most likely root cause; 3) concrete fix steps or code; 4) what to check if the fix does not work.",
    "ui_to_code": _COMMON + " The image is a user interface (screenshot or design mock-up). Reproduce its layout, "
    "hierarchy, spacing, colours (hex), typography and text content faithfully.",
    "understand_diagram": _COMMON + " The image is a technical diagram (architecture, flowchart, sequence, UML, ER, "
    "network, state machine). Name the diagram type, list the components and every connection with its "
    "direction and label, explain the flow step by step, and note assumptions or ambiguities.",
    "analyze_chart": _COMMON + " The image is a chart, graph or dashboard. Give the chart type, axes and units, "
    "the series, key values read off the chart (say when approximate), trends, outliers and the conclusion a "
    "reader should draw. Do not invent numbers that are not visible.",
    "compare_ui_screenshots": _COMMON + " The first image is the EXPECTED user interface, the second the ACTUAL "
    "one. List every visible difference (layout, spacing, alignment, colour, font, text, missing or extra "
    "elements, states), each with its location and severity (high/medium/low), then say which CSS or code "
    "changes would make ACTUAL match EXPECTED. Say plainly if they match.",
    "analyze_video": _COMMON + " The input is a video. Describe what happens in order, with approximate "
    "timestamps, and answer the agent's question about it.",
}

_UI_OUTPUT = {
    "code": "Write complete, runnable front-end code for this UI{framework}. Use semantic markup and keep the "
    "structure close to the screenshot. Return the code in fenced blocks, one per file, with file names.",
    "spec": "Write a design specification for this UI: layout grid, components and their states, colours (hex), "
    "typography (family, size, weight), spacing and sizes, so that a developer can build it{framework}.",
    "prompt": "Write a prompt that another AI model could use to recreate this UI exactly{framework}.",
    "description": "Describe this UI in plain language: its purpose, sections, components and visual style.",
}


def _line(label: str, value: str | None) -> str:
    return f"\n{label}: {value.strip()}" if value and value.strip() else ""


def user_text(tool: str, prompt: str | None, **fields: str | None) -> str:
    """The user text for a vision tool: the tool's task, the agent's request, and the optional fields."""
    request = (prompt or "").strip()
    if tool == "ui_to_code":
        framework = fields.get("framework")
        task = _UI_OUTPUT[fields.get("output_type") or "code"].format(
            framework=f" using {framework.strip()}" if framework and framework.strip() else ""
        )
        return task + _line("Extra requirements", request)
    extras = "".join(
        _line(label, fields.get(name))
        for name, label in (
            ("programming_language", "The text is probably this programming language"),
            ("context", "What the agent was doing when the error appeared"),
            ("diagram_type", "Diagram type"),
            ("analysis_focus", "Focus the analysis on"),
        )
    )
    default = {
        "analyze_image": "Describe this image in detail.",
        "extract_text_from_screenshot": "Extract all the text in this screenshot.",
        "diagnose_error_screenshot": "What is this error and how do I fix it?",
        "understand_diagram": "Explain this diagram.",
        "analyze_chart": "What does this chart show?",
        "compare_ui_screenshots": "Compare the expected UI (first image) with the actual UI (second image).",
        "analyze_video": "Describe this video.",
    }[tool]
    return (request or default) + extras
