"""``glm search``, ``glm read`` and ``glm ocr``: web search, a page as markdown, a document as markdown.

Search and read use REST, or the Coding Plan's MCP servers when the key has no balance (the SDK decides;
a note on stderr says which answered). OCR splits long PDFs into page ranges with a progress bar; Ctrl-C
stops after the current range and keeps the pages already parsed.
"""

from __future__ import annotations

import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import typer

from glmkit._fileio import atomic_write
from glmkit.cli._common import (
    DEBUG,
    ENDPOINT,
    JSON,
    OFFLINE,
    PROFILE,
    handle_errors,
    is_tty,
    make_client,
    stderr_console,
)

_MCP_NOTE = "(answered by the Coding Plan's {} MCP server: this key has no balance for the REST API)"


def _note_mcp(response: Any, server: str) -> None:
    if getattr(response, "served_by", "rest") == "mcp":
        stderr_console().print(f"[dim]{_MCP_NOTE.format(server)}[/dim]")


def search(
    query: list[str] = typer.Argument(..., help="What to search for."),
    count: int = typer.Option(None, "--count", "-n", help="How many results, 1-50 (default 10)."),
    domain: str = typer.Option(None, "--domain", "-d", help="Only results from this domain, e.g. docs.python.org."),
    recency: str = typer.Option(None, "--recency", "-r", help="oneDay, oneWeek, oneMonth, oneYear or noLimit."),
    content_size: str = typer.Option(None, "--content-size", help="medium or high (longer snippets)."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Search the web: glm search "GLM-5.3 release notes" --recency oneMonth."""
    with handle_errors(debug):
        params: dict[str, Any] = {"search_query": " ".join(query)}
        for name, value in (
            ("count", count),
            ("search_domain_filter", domain),
            ("search_recency_filter", recency),
            ("content_size", content_size),
        ):
            if value is not None:
                params[name] = value
        client = make_client(offline=offline, profile=profile, endpoint=endpoint)
        response = client.web_search(**params)
        if json_out:
            sys.stdout.write(response.to_json(indent=2) + "\n")
            return
        from glmkit.cli._render import print_table

        rows = [
            [i, hit.title, hit.link, hit.publish_date or "", hit.media or ""]
            for i, hit in enumerate(response.search_result, 1)
        ]
        print_table(["#", "Title", "Link", "Date", "Source"], rows, title=f"Web search: {params['search_query']}")
        if not rows:
            stderr_console().print("[dim]no results[/dim]")
        _note_mcp(response, "web-search-prime")


def read(
    url: str = typer.Argument(..., help="The page to read (http or https)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the page here instead of stdout."),
    fmt: str = typer.Option("markdown", "--format", "-f", help="markdown or text."),
    no_images: bool = typer.Option(False, "--no-images", help="Leave images out."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Fetch afresh instead of from the reader's cache."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """A web page as Markdown: glm read https://docs.z.ai/ -o page.md."""
    with handle_errors(debug):
        params: dict[str, Any] = {"return_format": fmt}
        if no_images:
            params["retain_images"] = False
        if no_cache:
            params["no_cache"] = True
        client = make_client(offline=offline, profile=profile, endpoint=endpoint)
        response = client.reader.read(url, **params)
        text = response.to_json(indent=2) if json_out else response.content
        _emit(text, output)
        _note_mcp(response, "web-reader")


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    atomic_write(str(output), text.encode("utf-8"))
    stderr_console().print(f"[dim]wrote {len(text):,} characters to {output}[/dim]")


def ocr(
    file: str = typer.Argument(..., help="A PDF, PNG or JPEG: a path or an http(s) URL."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the markdown here instead of stdout."),
    start_page: int = typer.Option(None, "--start-page", help="First PDF page (1-based)."),
    end_page: int = typer.Option(None, "--end-page", help="Last PDF page."),
    pages_per_request: int = typer.Option(
        None, "--pages-per-request", help="Pages per request for long PDFs (default: the API's limit)."
    ),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """A document as Markdown with GLM-OCR: glm ocr scan.pdf -o scan.md (long PDFs go in page ranges)."""
    with handle_errors(debug):
        params: dict[str, Any] = {}
        if start_page is not None:
            params["start_page_id"] = start_page
        if end_page is not None:
            params["end_page_id"] = end_page
        source: Any = file if file.lower().startswith(("http://", "https://")) else Path(file)
        client = make_client(offline=offline, profile=profile, endpoint=endpoint)
        result = _run_ocr(client, source, params, pages_per_request, output)
        _emit(result.to_json(indent=2) if json_out else result.markdown, output)


def _page_total(source: Any, params: dict[str, Any]) -> int | None:
    """Pages the bar will count (``None`` for a URL or an image: one request, no bar)."""
    from glmkit.media import pdf_page_count

    if not isinstance(source, Path) or source.suffix.lower() != ".pdf" or not source.is_file():
        return None
    try:
        pages = pdf_page_count(source.read_bytes())
    except ValueError:
        return None  # the SDK's own check names the problem
    return min(params.get("end_page_id") or pages, pages) - (params.get("start_page_id") or 1) + 1


def _run_ocr(client: Any, source: Any, params: dict[str, Any], per: int | None, output: Path | None) -> Any:
    """Run OCR in a worker thread so Ctrl-C can stop it between page ranges and keep what was parsed."""
    from rich.markup import escape

    from glmkit._errors import OperationCancelledError

    stop, done = threading.Event(), threading.Event()
    box: dict[str, Any] = {}
    progress = _progress_bar(_page_total(source, params))

    def work() -> None:
        try:
            box["result"] = client.layout_parsing.create(
                file=source,
                cancel=stop,
                pages_per_request=per,
                on_progress=lambda p: progress.update(
                    progress.task_ids[0], completed=p.pages_done, total=p.pages_total
                ),
                **params,
            )
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc
        finally:
            done.set()

    with warnings.catch_warnings(record=True) as caught, progress:
        warnings.simplefilter("always")
        threading.Thread(target=work, name="glm-ocr", daemon=True).start()
        _wait(done, stop)
    for warning in caught:
        stderr_console().print(f"[dim]note: {escape(str(warning.message))}[/dim]")
    error = box.get("error")
    if isinstance(error, OperationCancelledError):
        if error.partial is not None:
            _emit(error.partial.markdown, output)
        stderr_console().print(f"[yellow]{error.message}[/yellow] The pages parsed so far were kept.")
        raise typer.Exit(130)
    if error is not None:
        raise error
    return box["result"]


def _progress_bar(total: int | None) -> Any:
    """A bar of pages on stderr (off for one request, or when stderr is no terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("OCR pages"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console(),
        transient=True,
        disable=total is None or not is_tty(sys.stderr),
    )
    progress.add_task("ocr", total=total)
    return progress


def _wait(done: threading.Event, stop: threading.Event) -> None:
    """Wait for the worker; the first Ctrl-C asks it to stop after the current page range."""
    # An Event, not Thread.join: a join interrupted by Ctrl-C can report a live thread as finished (3.11).
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        stop.set()
        stderr_console().print("stopping after the current page range (Ctrl-C again to abort)")
        while not done.wait(0.1):
            pass


def register(app: typer.Typer) -> None:
    """Add ``search``, ``read`` and ``ocr`` to the app."""
    app.command("search")(search)
    app.command("read")(read)
    app.command("ocr")(ocr)
