"""``count_tokens``: Z.AI's tokenizer over a text or a local text file."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from glmkit.mcp_server.paths import local_path
from glmkit.mcp_server.registry import tool
from glmkit.mcp_server.runtime import current_runtime, note
from glmkit.types.tokenizer import TOKENIZER_MODELS

__all__ = ["count_tokens"]


@tool("tokens")
async def count_tokens(
    text: Annotated[str | None, Field(description="The text to count. Give this or path.")] = None,
    path: Annotated[
        str | None, Field(description="A local UTF-8 text file to count instead of text (source, docs, logs).")
    ] = None,
    model: Annotated[
        str | None,
        Field(
            description=f"Optional model id; the tokenizer knows {', '.join(TOKENIZER_MODELS)}; others are "
            f"counted as {TOKENIZER_MODELS[0]} (an approximation)."
        ),
    ] = None,
) -> str:
    """Count GLM tokens in a text or a file, e.g. to check that a prompt or file fits a context window."""
    from glmkit._errors import InputError

    if (text is None) == (path is None):
        raise InputError("Give exactly one of text or path.", hint="count_tokens(text='...') or (path='src/x.py').")
    if path is not None:
        file = local_path(path)
        if file.is_dir():
            raise InputError(f"{file} is a folder.", hint="Give one text file in it, e.g. path='src/x.py'.")
        if not file.is_file():
            raise InputError(f"No such file: {str(file)!r}.", hint="Check the path (relative to the server's cwd).")
        text = file.read_text(encoding="utf-8", errors="replace")
    options: dict[str, Any] = {"model": model} if model else {}
    tokens = await current_runtime().client.tokenizer.count(text, **options)
    note(model_requested=model)
    counted = f"{path}" if path is not None else f"{len(text or '')} characters"
    return f"{tokens} tokens ({counted})."
