"""``glm transcribe``, ``glm image``, ``glm video``, ``glm translate``, ``glm slides``: every modality from the shell.

Outputs are written atomically (a temp file and a rename), progress goes to stderr, answers to stdout.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
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
    with_stdin,
)


def _emit_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _note(message: str) -> None:
    stderr_console().print(message, markup=False, highlight=False)


@contextlib.contextmanager
def _session(*, offline: bool, profile: str | None, endpoint: str | None, debug: bool) -> Iterator[Any]:
    """A client from the common options, with errors turned into messages and exit codes."""
    with handle_errors(debug):
        yield make_client(offline=offline, profile=profile, endpoint=endpoint)


@contextlib.contextmanager
def _busy(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal (its text updated through the yielded callable); plain lines otherwise."""
    if is_tty(sys.stderr):
        with stderr_console().status(message) as status:
            yield status.update
        return
    last: list[str] = []

    def line(text: str) -> None:
        if not last or last[-1] != text:
            last.append(text)
            _note(text)

    yield line


def _deliver(
    result: Any, url: str | None, output: Path | None, download: Callable[[str], bytes], json_out: bool
) -> None:
    """Save the file behind ``url`` to ``output`` (when given), then print JSON, or the path (else the URL)."""
    if output is not None and url:
        atomic_write(str(output), download(url))
    if json_out:
        _emit_json({**result.to_dict(), "saved": str(output) if output else None})
    else:
        sys.stdout.write(f"{output if output is not None else url}\n")


def transcribe(
    file: Path = typer.Argument(..., help="A WAV or MP3 file; longer than 30 s is split on silence."),
    model: str = typer.Option("glm-asr-2512", "--model", "-m", help="The transcription model."),
    prompt: str = typer.Option(None, "--prompt", "-p", help="Context sent with every piece: names, terms."),
    hotword: list[str] = typer.Option(None, "--hotword", "-w", help="A domain word to favour (repeatable)."),
    stream: bool = typer.Option(False, "--stream", help="Print text as it arrives (recordings of 30 s or less)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the text to this file."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Transcribe speech to text: glm transcribe meeting.wav -o meeting.txt."""
    with _session(offline=offline, profile=profile, endpoint=endpoint, debug=debug) as client:
        if stream and not json_out:
            params: dict[str, Any] = {"file": file, "model": model, "prompt": prompt, "hotwords": hotword or None}
            s = client.audio.transcriptions.create(stream=True, **params)
            with s:
                for piece in s.text_stream:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
                text = s.get_final_transcription().text
            sys.stdout.write("\n")
            if output is not None:
                atomic_write(str(output), (text + "\n").encode("utf-8"))
            return
        _transcribe_long(client, file, output, json_out, model=model, prompt=prompt, hotwords=hotword or None)


def _transcribe_long(client: Any, file: Path, output: Path | None, json_out: bool, **options: Any) -> None:
    """Piece by piece with progress; the first Ctrl-C stops after the piece in flight and keeps the text so far."""
    import threading

    from glmkit._errors import OperationCancelledError

    show, stop, total = is_tty(sys.stderr), threading.Event(), [0]

    def progress(p: Any) -> None:
        total[0] = p.total
        if p.total > 1 and show:
            _note(f"transcribed {p.done}/{p.total} pieces ({p.seconds_done:.0f}/{p.seconds_total:.0f} s)")

    try:
        with _first_ctrl_c_sets(stop, "stopping after the piece being transcribed (Ctrl-C again to quit now)"):
            result = client.audio.transcribe_long(file, on_progress=progress, cancel=stop, **options)
    except OperationCancelledError as exc:
        partial = exc.partial
        if partial is None or not partial.segments:
            raise
        where = _write_text(partial, output, json_out)
        _note(f"stopped after {len(partial.segments)} of {total[0]} pieces; the text so far is in {where}")
        raise typer.Exit(130) from None
    where = _write_text(result, output, json_out)
    if output is not None and not json_out:
        _note(f"wrote {where} ({len(result.segments)} pieces, {result.seconds:.1f} s of audio)")


def _write_text(result: Any, output: Path | None, json_out: bool) -> str:
    """The transcript to ``output`` (or stdout), JSON on stdout with ``--json``; says where it went."""
    if output is not None:
        atomic_write(str(output), (result.text + "\n").encode("utf-8"))
    if json_out:
        _emit_json(result.to_dict())
    elif output is None:
        sys.stdout.write(result.text + "\n")
    return str(output) if output is not None else "stdout"


@contextlib.contextmanager
def _first_ctrl_c_sets(event: Any, message: str) -> Iterator[None]:
    """While inside, the first Ctrl-C sets ``event`` (work stops at a safe point); a second one interrupts."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; elsewhere Ctrl-C keeps its usual meaning
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()
        _note(message)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def image(
    prompt: str = typer.Argument(..., help="What to draw."),
    output: Path = typer.Option(None, "--output", "-o", help="Save the image here (else print its URL)."),
    model: str = typer.Option("glm-image", "--model", "-m", help="glm-image or cogview-4-250304."),
    size: str = typer.Option(None, "--size", "-s", help="WIDTHxHEIGHT, e.g. 1280x1280."),
    quality: str = typer.Option(None, "--quality", "-q", help="hd or standard."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Generate an image: glm image "a lighthouse at dusk" -o lighthouse.png."""
    with _session(offline=offline, profile=profile, endpoint=endpoint, debug=debug) as client:
        result = client.images.generate(model=model, prompt=prompt, size=size, quality=quality)
        _deliver(result, result.url, output, client.images.download, json_out)


def video(
    prompt: str = typer.Argument(None, help="What should happen (at most 512 characters)."),
    model: str = typer.Option("cogvideox-3", "--model", "-m", help="cogvideox-3, viduq1-text, vidu2-image, ..."),
    image_url: list[str] = typer.Option(None, "--image", "-i", help="A first frame / reference image (repeatable)."),
    size: str = typer.Option(None, "--size", "-s", help="e.g. 1920x1080."),
    duration: int = typer.Option(None, "--duration", "-d", help="Seconds (per model: 4, 5 or 10)."),
    task: str = typer.Option(None, "--task", help="Wait for (or fetch) an earlier task instead of submitting."),
    wait: bool = typer.Option(False, "--wait", "-w", help="Wait for the video (implied by -o)."),
    output: Path = typer.Option(None, "--output", "-o", help="Save the video here."),
    timeout: float = typer.Option(900.0, "--timeout", help="Seconds to wait at most."),
    poll: float = typer.Option(2.0, "--poll", help="Seconds between the first polls (then backs off)."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Generate a video: glm video "a cat surfing" --wait -o cat.mp4 (Ctrl-C keeps the task; resume with --task)."""
    with _session(offline=offline, profile=profile, endpoint=endpoint, debug=debug) as client:
        if task is None:
            params = {"model": model, "prompt": prompt, "size": size, "duration": duration}
            state: Any = _submit_video(client, {**params, "image_url": image_url or None})
        task_id = task or state.id
        if not (wait or output):
            if task is not None:
                state = client.videos.retrieve(task)
            if json_out:
                _emit_json(state.to_dict())
            else:
                sys.stdout.write(f"{state.task_status + ' ' if task else ''}{task_id}\n")
            return
        final = _wait_video(client, task_id, poll=poll, timeout=timeout)
        _deliver(final, final.url, output, client.videos.download, json_out)


def _submit_video(client: Any, params: dict[str, Any]) -> Any:
    if not params["prompt"] and not params["image_url"]:
        from glmkit._errors import InputError

        raise InputError("Give a prompt (or --image), or --task ID to resume.")
    submitted = client.videos.generate(**{k: v for k, v in params.items() if v is not None})
    _note(f"task {submitted.id} submitted")
    return submitted


def _wait_video(client: Any, task_id: str, *, poll: float, timeout: float) -> Any:
    """Wait with a spinner on a terminal (a line per status otherwise); Ctrl-C names the task to resume."""
    try:
        with _busy(f"video {task_id}: submitted") as show:
            terminal = is_tty(sys.stderr)

            def progress(p: Any) -> None:
                show(f"video {task_id}: {p.status}" + (f" · {p.elapsed:.0f} s" if terminal else ""))

            return client.videos.wait(task_id, poll=poll, timeout=timeout, on_progress=progress)
    except KeyboardInterrupt:
        _note(f"stopped waiting; the task goes on. Resume with: glm video --task {task_id} --wait")
        raise


def translate(
    text: list[str] = typer.Argument(None, help="The text (stdin is read when piped)."),
    to: str = typer.Option("zh-CN", "--to", "-t", help="Target language code: en, ja, ko, fr, de, zh-CN, ..."),
    source: str = typer.Option("auto", "--from", "-f", help="Source language code, or auto."),
    strategy: str = typer.Option(None, "--strategy", help="general, paraphrase, two_step, three_step, reflection."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Translate text with Z.AI's translation agent: glm translate --to ja "good morning"."""
    with handle_errors(debug):
        body = with_stdin(text, sep="\n")
        if not body.strip():
            from glmkit._errors import InputError

            raise InputError("No text given.", hint='Pass it (glm translate --to ja "...") or pipe it in.')
        client = make_client(offline=offline, profile=profile, endpoint=endpoint)
        result = client.agents.translate(body, to=to, source=source, strategy=strategy)
        if json_out:
            _emit_json(result.to_dict())
        else:
            sys.stdout.write(result.text.rstrip("\n") + "\n")


def slides(
    topic: list[str] = typer.Argument(..., help="What the deck is about."),
    output: Path = typer.Option(None, "--output", "-o", help="Save the deck (.pptx) here."),
    pdf: Path = typer.Option(None, "--pdf", help="Also save a PDF here."),
    conversation: str = typer.Option(None, "--continue", help="A conversation id to add pages to."),
    json_out: bool = JSON,
    offline: bool = OFFLINE,
    profile: str = PROFILE,
    endpoint: str = ENDPOINT,
    debug: bool = DEBUG,
) -> None:
    """Make a slide deck with GLM Slides: glm slides "intro to Rust ownership" -o deck.pptx."""
    with _session(offline=offline, profile=profile, endpoint=endpoint, debug=debug) as client:
        with _busy("making slides..."):
            deck = client.agents.slides(" ".join(topic), conversation_id=conversation)
        saved: dict[str, str] = {}
        if (output or pdf) and deck.conversation_id:
            export = client.agents.conversation(deck.conversation_id, include_pdf=pdf is not None)
            for item in export.content_of("file_url"):
                is_pdf = str(item.get("tag_en", "")).upper() == "PDF"
                target = pdf if is_pdf else output
                if target is not None and str(target) not in saved.values():
                    atomic_write(str(target), client.agents.download(item["file_url"]))
                    saved["pdf" if is_pdf else "deck"] = str(target)
        if json_out:
            _emit_json({**deck.to_dict(), "saved": saved})
            return
        _note(f"{len(deck.pages)} pages, conversation {deck.conversation_id}")
        for path in saved.values():
            sys.stdout.write(f"{path}\n")
        if not saved:
            sys.stdout.write(deck.text + "\n")


def register(app: typer.Typer) -> None:
    """Add the media commands to the app."""
    app.command("transcribe")(transcribe)
    app.command("image")(image)
    app.command("video")(video)
    app.command("translate")(translate)
    app.command("slides")(slides)
