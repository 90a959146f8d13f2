"""The tools of each group, registered where they are defined.

```python
@tool("tokens")
async def count_tokens(text: str) -> str: ...
```
``@tool`` records the function under its group and returns it unchanged, so a test can call it directly
(inside ``use_runtime``, which gives it a client); ``build_server`` wraps the recorded ones for the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from glmkit.mcp_server.runtime import ToolFn

__all__ = ["TOOLS", "tool"]

F = TypeVar("F", bound=ToolFn)

# group -> tool name -> its function, in the order they were defined (the order ``tools/list`` shows).
TOOLS: dict[str, dict[str, ToolFn]] = {}


def tool(group: str) -> Callable[[F], F]:
    """Register an async function as a tool of ``group``; the function itself is returned as it was."""

    def register(fn: F) -> F:
        TOOLS.setdefault(group, {})[fn.__name__] = fn  # a module imported again replaces its tools
        return fn

    return register
