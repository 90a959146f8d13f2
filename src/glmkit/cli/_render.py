"""How answers look: plain text in a pipe, rich Markdown with collapsible reasoning on a terminal.

Imported late: only commands that print an answer or a table load this module (and rich with it).
A view receives the stream piece by piece (``reasoning``, ``content``) and is closed once, so the
same streaming loop serves ``glm ask`` and ``glm chat`` whatever the output is.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Protocol, TextIO

__all__ = ["LiveView", "PlainView", "View", "make_view", "print_table"]

_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


class View(Protocol):
    """Where a streamed answer goes."""

    def reasoning(self, text: str) -> None:
        """A piece of reasoning arrived."""

    def content(self, text: str) -> None:
        """A piece of the answer arrived."""

    def note(self, text: str) -> None:
        """A side remark (a model switch, a downgraded option): never on stdout."""

    def close(self, *, cancelled: bool = False, footer: str | None = None) -> None:
        """The answer is over (or was cancelled)."""


class PlainView:
    """For pipes: the answer goes to stdout unchanged; reasoning to stderr only when asked for.

    When the reader goes away (``glm ask ... | head -1``), ``content`` raises ``BrokenPipeError`` once
    (the session ends the turn as cancelled) and ``broken`` is set; nothing more is written to stdout.
    """

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, show_thinking: bool = False) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.show_thinking = show_thinking
        self.broken = False
        self._dim = bool(getattr(self.err, "isatty", lambda: False)())
        self._last = ""
        self._thought = False

    def _out(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            self.broken = True
            raise

    def _err(self, text: str) -> None:
        try:
            self.err.write(text)
            self.err.flush()
        except BrokenPipeError:
            pass  # nobody reads stderr any more: the answer still goes on

    def reasoning(self, text: str) -> None:
        if self.show_thinking:
            self._thought = True
            self._err(f"{_DIM}{text}{_RESET}" if self._dim else text)

    def content(self, text: str) -> None:
        if self._thought:
            self._err("\n")
            self._thought = False
        self._out(text)
        self._last = text

    def note(self, text: str) -> None:
        self._err(f"{_DIM}note: {text}{_RESET}\n" if self._dim else f"note: {text}\n")

    def close(self, *, cancelled: bool = False, footer: str | None = None) -> None:
        if self._thought:
            self._err("\n")
        if self._last and not self._last.endswith("\n"):
            with contextlib.suppress(BrokenPipeError):
                self._out("\n")
        if cancelled and not self.broken:
            self._err("[cancelled]\n")
        if footer:
            self._err(footer + "\n")


class _Tail:
    """The last ``lines`` lines of a renderable, so a growing answer scrolls like a terminal while it streams."""

    def __init__(self, renderable: Any, lines: int) -> None:
        self.renderable = renderable
        self.lines = max(lines, 1)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        rendered = console.render_lines(self.renderable, options, pad=False)
        for line in rendered[-self.lines :]:
            yield from line
            yield Segment.line()


class LiveView:
    """For terminals: reasoning dimmed while the model thinks, folded to one line once the answer starts
    (``show_thinking=True`` keeps it whole, ``False`` hides it); the answer rendered as Markdown as it streams.
    """

    def __init__(self, console: Any = None, *, show_thinking: bool | None = None, markdown: bool = True) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console(highlight=False)
        self.show_thinking = show_thinking
        self.markdown = markdown
        self._reasoning: list[str] = []
        self._content: list[str] = []
        self._start = time.monotonic()
        self._thought_for: float | None = None
        self._final = False
        self._notes: list[str] = []  # shown above the answer
        self._late: list[str] = []  # arrived once the answer had started: shown below it
        self.live = Live(console=self.console, refresh_per_second=10, get_renderable=self._render, transient=False)
        self.live.start()

    def reasoning(self, text: str) -> None:
        self._reasoning.append(text)

    def content(self, text: str) -> None:
        if self._thought_for is None:
            self._thought_for = time.monotonic() - self._start
        self._content.append(text)

    def note(self, text: str) -> None:
        (self._late if self._content else self._notes).append(text)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.markdown import Markdown
        from rich.text import Text

        items: list[Any] = [Text(f"note: {n}", style="dim") for n in self._notes]
        height = self.console.size.height
        reasoning = "".join(self._reasoning)
        if reasoning and self.show_thinking is not False:
            folded = self._thought_for is not None and not self.show_thinking
            if folded:
                items.append(Text(f"▸ Thought for {self._thought_for:.1f}s (--show-thinking to keep it)", style="dim"))
            elif self._final:
                items.append(Text(reasoning.strip() + "\n", style="dim italic"))
            else:
                room = 8 if self._content else max(height - 2, 1)
                items.append(_Tail(Text(reasoning.strip(), style="dim italic"), room))
        content = "".join(self._content)
        if content:
            body: Any = Markdown(content) if self.markdown else Text(content)
            items.append(body if self._final else _Tail(body, max(height - len(items) - 9, 3)))
        elif not reasoning and not self._final:
            items.append(Text(f"… {time.monotonic() - self._start:.1f}s", style="dim"))
        return Group(*items)

    def close(self, *, cancelled: bool = False, footer: str | None = None) -> None:
        self._final = True
        if self._thought_for is None and self._reasoning:
            self._thought_for = time.monotonic() - self._start
        self.live.stop()
        from rich.text import Text

        for note in self._late:
            self.console.print(Text(f"note: {note}", style="dim"))
        if cancelled:
            self.console.print(Text("[cancelled]", style="dim"))
        if footer:
            self.console.print(Text(footer, style="dim"))


def make_view(*, show_thinking: bool | None = None, plain: bool | None = None) -> View:
    """A ``LiveView`` when stdout is a terminal, else a ``PlainView`` (``plain`` forces one or the other)."""
    from glmkit.cli._common import is_tty

    if plain is None:
        plain = not is_tty()
    if plain:
        return PlainView(show_thinking=bool(show_thinking))
    return LiveView(show_thinking=show_thinking)


def print_table(
    columns: list[str], rows: list[list[Any]], *, title: str | None = None, out: TextIO | None = None
) -> None:
    """A table: boxed on a terminal, tab-separated in a pipe (so ``cut``/``awk`` work)."""
    from glmkit.cli._common import is_tty

    stream = out or sys.stdout
    if not is_tty(stream):
        stream.write("\t".join(columns) + "\n")
        for row in rows:
            stream.write("\t".join("" if v is None else str(v) for v in row) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold", show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    Console(file=stream, highlight=False).print(table)
