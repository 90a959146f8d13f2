"""``python -m bench``: glmkit beside the clients users would pick instead, on 127.0.0.1.

Starts two upstreams pinned to one core (the bare asyncio server ``bench/rawserver.py`` for the
client-overhead rows, ``glm emulate`` for the end-to-end rows), then runs each client in a fresh
process pinned to the other core, repetitions interleaved, and prints one table: median (min-max)
and the median of the per-repetition ratios to raw httpx measured in the same repetition.
Writes everything to ``bench/results/<UTC date>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import inspect
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.worker import first_reply_script

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
COLUMNS = ("glmkit_sync", "glmkit_async", "openai", "zai", "httpx")
TITLES = {
    "glmkit_sync": "glmkit sync",
    "glmkit_async": "glmkit async",
    "openai": "openai",
    "zai": "zai-sdk",
    "httpx": "raw httpx (floor)",
}
# row key -> (title, unit, higher is better)
ROWS: dict[str, tuple[str, str, bool]] = {
    "import": ("import time", "ms", False),
    "first_reply": ("import + client + first reply", "ms", False),
    "cli": ("`glm --help` start-up", "ms", False),
    "seq": ("sequential requests/s (raw server)", "req/s", True),
    "conc": ("concurrent requests/s, 64 in flight (raw server)", "req/s", True),
    "stream": ("streaming typed chunks/s, 5,000-chunk stream (raw server)", "chunks/s", True),
    "seq_cpu": ("client CPU per request", "µs", False),
    "stream_cpu": ("client CPU per chunk", "µs", False),
    "seq_emu": ("sequential requests/s (glm emulate)", "req/s", True),
    "stream_emu": ("streaming chunks/s (glm emulate)", "chunks/s", True),
    "memory": ("peak RSS: import, 20 requests, one 5,000-chunk stream", "MB", False),
}
PYTHON_BARE = "python -c pass"


def cores() -> tuple[int | None, int | None]:
    """(server core, client core), or (None, None) where pinning is not possible."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(core: int | None) -> Any:
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"upstream exited early with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def upstreams(core: int | None, emulator: bool) -> Iterator[tuple[str, str | None]]:
    """The raw server and ``glm emulate``; both killed on the way out."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        raw_port = free_port()
        raw = subprocess.Popen(
            [sys.executable, "-m", "bench.rawserver", "--port", str(raw_port)],
            cwd=ROOT,
            preexec_fn=_pin(core),
            stdout=subprocess.DEVNULL,
        )
        procs.append(raw)
        emu_url = None
        if emulator:
            emu_port = free_port()
            glm = shutil.which("glm", path=str(Path(sys.executable).parent))
            cmd = [glm] if glm else [sys.executable, "-m", "glmkit.cli.app"]
            emu = subprocess.Popen(
                [*cmd, "emulate", "--port", str(emu_port)],
                cwd=ROOT,
                preexec_fn=_pin(core),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(emu)
            wait_port(emu_port, emu)
            emu_url = f"http://127.0.0.1:{emu_port}/api/paas/v4"
        wait_port(raw_port, raw)
        yield f"http://127.0.0.1:{raw_port}/api/paas/v4", emu_url
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


def run_worker(spec: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wall_ms(cmd: list[str], core: int | None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, preexec_fn=_pin(core), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - t0) * 1000


class Results:
    """values[row][column] = one figure per repetition; ratios are taken within a repetition."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, list[float | None]]] = {}
        self.notes: dict[str, str] = {}
        self.errors: list[str] = []

    def add(self, row: str, column: str, rep: int, value: float | None) -> None:
        cells = self.values.setdefault(row, {}).setdefault(column, [])
        while len(cells) <= rep:
            cells.append(None)
        cells[rep] = value

    def floor_of(self, row: str, column: str) -> str:
        # glmkit async is held against httpx's own async client (rows that have it): like against like.
        if column == "glmkit_async" and row in ("seq", "seq_cpu", "stream", "stream_cpu"):
            return "httpx_async"
        return "httpx"

    def summary(self, row: str, column: str) -> dict[str, Any] | None:
        vals = [v for v in self.values.get(row, {}).get(column, []) if v is not None]
        if not vals:
            return None
        out: dict[str, Any] = {
            "median": statistics.median(vals),
            "min": min(vals),
            "max": max(vals),
            "runs": vals,
        }
        floor = self.values.get(row, {}).get(self.floor_of(row, column), [])
        mine = self.values[row][column]
        ratios = [m / f for m, f in zip(mine, floor, strict=False) if m is not None and f]
        if ratios:
            out["ratio_to_httpx"] = statistics.median(ratios)
            out["ratio_floor"] = self.floor_of(row, column)
        return out


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(s: dict[str, Any] | None, show_ratio: bool = True) -> str:
    if s is None:
        return "n/a"
    text = fmt(s["median"])
    if len(s["runs"]) > 1:
        text += f" ({fmt(s['min'])}–{fmt(s['max'])})"
    if show_ratio and "ratio_to_httpx" in s:
        r = s["ratio_to_httpx"]
        text += f" **{r:.2f}×**" if r >= 0.1 else f" **{r:.3f}×**"
    return text


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str | None] = {}
    for dist in ("glmkit", "openai", "zai-sdk", "httpx", "pydantic", "pydantic-core", "llm"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def gateway_figures(quick: bool) -> dict[str, Any] | None:
    """``bench/gateway.py``'s ``run()`` (written with the gateway), or ``None`` when it is not there yet."""
    if not (BENCH / "gateway.py").exists():
        return None
    try:
        from bench import gateway  # type: ignore[attr-defined]

        run = gateway.run
        kwargs = {"quick": quick} if "quick" in inspect.signature(run).parameters else {}
        result = run(**kwargs)
        return dict(result) if result is not None else None
    except Exception as exc:  # the gateway row must not sink the client rows
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A smoke run: one repetition, short timings.")
    parser.add_argument("--reps", type=int, default=None, help="Repetitions of the throughput rows (default 7).")
    parser.add_argument("--duration", type=float, default=None, help="Seconds per timed loop (default 0.8).")
    parser.add_argument("--no-emulator", action="store_true", help="Skip the rows against `glm emulate`.")
    parser.add_argument("--no-gateway", action="store_true", help="Skip bench/gateway.py.")
    parser.add_argument(
        "--only",
        action="append",
        choices=["startup", "throughput", "memory", "gateway"],
        help="Run only these parts (repeatable); default all.",
    )
    parser.add_argument("--out", type=Path, default=None, help="Where to write the JSON (default bench/results/).")
    args = parser.parse_args(argv)

    quick = args.quick
    parts = set(args.only or ["startup", "throughput", "memory", "gateway"])
    reps = args.reps or (1 if quick else 7)
    start_reps = 2 if quick else 7
    duration = args.duration or (0.25 if quick else 0.8)
    server_core, client_core = cores()
    meta = machine()
    meta.update(reps=reps, start_reps=start_reps, duration=duration, server_core=server_core, client_core=client_core)
    t_start = time.perf_counter()
    res = Results()
    bin_dir = Path(sys.executable).parent
    progress = sys.stderr

    # start-up: import, import + first reply (fresh processes, interleaved), then the CLIs
    with upstreams(server_core, emulator=not args.no_emulator) as (raw_url, emu_url):
        progress.write(
            f"bench: raw server {raw_url}, emulator {emu_url or 'skipped'}; cores {server_core}/{client_core}\n"
        )
        for rep in range(start_reps if "startup" in parts else 0):
            for col in COLUMNS:
                script = first_reply_script(col, raw_url)
                proc = subprocess.run(
                    [sys.executable, "-c", script],
                    preexec_fn=_pin(client_core),
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                if proc.returncode != 0:
                    res.errors.append(
                        f"first reply {col}: {(proc.stderr.strip().splitlines() or ['failed'])[-1][:300]}"
                    )
                    continue
                import_ms, first_ms = map(float, proc.stdout.split())
                if col != "glmkit_async":  # the same `import glmkit` as the sync column
                    res.add("import", col, rep, import_ms)
                res.add("first_reply", col, rep, first_ms)
        progress.write("bench: start-up done\n")
        glm, llm = shutil.which("glm", path=str(bin_dir)), shutil.which("llm", path=str(bin_dir))
        bare: list[float] = []
        llm_ms: list[float] = []
        for rep in range(start_reps if "startup" in parts else 0):
            bare.append(wall_ms([sys.executable, "-c", "pass"], client_core))
            if glm:
                res.add("cli", "glmkit_sync", rep, wall_ms([glm, "--help"], client_core))
            if llm:
                llm_ms.append(wall_ms([llm, "--help"], client_core))
        if bare:
            res.notes["cli"] = (
                "`glm --help` in the glmkit column; `llm --help`: "
                + (
                    f"{fmt(statistics.median(llm_ms))} ms ({fmt(min(llm_ms))}–{fmt(max(llm_ms))})"
                    if llm_ms
                    else "n/a (llm not installed)"
                )
                + f"; bare `python -c pass`: {fmt(statistics.median(bare))} ms"
            )
        meta["llm_help_ms"] = llm_ms
        meta["python_bare_ms"] = bare

        # throughput: one process per client and repetition, clients interleaved
        tasks = ["seq", "stream", "conc"] + ([] if emu_url is None else ["seq_emu", "stream_emu"])
        # httpx's async client rides along as the floor of the glmkit async column (sequential and streaming only).
        order = ["glmkit_sync", "httpx", "glmkit_async", "httpx_async", "openai", "zai"]
        for rep in range(reps if "throughput" in parts else 0):
            # every other repetition runs backwards, so a slow spell of a shared machine favours no client
            for col in order if rep % 2 == 0 else order[::-1]:
                col_tasks = ["seq", "stream"] if col == "httpx_async" else tasks
                spec = {
                    "client": col,
                    "tasks": col_tasks,
                    "raw": raw_url,
                    "emu": emu_url,
                    "duration": duration,
                    "core": client_core,
                }
                out = run_worker(spec, timeout=60 + 20 * duration * len(col_tasks))
                if "error" in out:
                    res.errors.append(f"{col} rep {rep}: {out['error']}")
                    continue
                for task in col_tasks:
                    r = out.get(task) or {}
                    if "error" in r:
                        res.errors.append(f"{col} {task} rep {rep}: {r['error']}")
                    if "rate" not in r:
                        continue
                    res.add(task, col, rep, r["rate"])
                    if task in ("seq", "stream"):
                        res.add(f"{task}_cpu", col, rep, r["cpu_us_per_unit"])
            progress.write(f"bench: repetition {rep + 1}/{reps} done ({time.perf_counter() - t_start:.0f} s)\n")

        # memory: a fresh process per client
        for rep in range((1 if quick else 3) if "memory" in parts else 0):
            for col in COLUMNS:
                out = run_worker({"client": col, "tasks": ["memory"], "raw": raw_url, "core": client_core})
                if "memory" in out:
                    res.add("memory", col, rep, out["memory"]["peak_rss_mb"])
                else:
                    res.errors.append(f"memory {col}: {out.get('error')}")
        progress.write("bench: memory done\n")

    gateway = None if args.no_gateway or "gateway" not in parts else gateway_figures(quick)
    meta["elapsed_s"] = round(time.perf_counter() - t_start, 1)

    table = render(meta, res, gateway)
    print(table)
    out_path = (
        args.out
        or BENCH / "results" / f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d')}{'-quick' if quick else ''}.json"
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": meta,
        "rows": {
            row: {col: res.summary(row, col) for col in (*COLUMNS, "httpx_async") if res.summary(row, col)}
            for row in ROWS
        },
        "notes": res.notes,
        "gateway": gateway,
        "errors": res.errors,
        "table_markdown": table,
    }
    out_path.write_text(json.dumps(payload, indent=2) + "\n")
    progress.write(f"bench: wrote {out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path}\n")
    return 0


def pair_ratio(res: Results, row: str, mine: str, other: str) -> dict[str, float] | None:
    """Median (min, max) of mine/other taken within each repetition."""
    a, b = res.values.get(row, {}).get(mine, []), res.values.get(row, {}).get(other, [])
    ratios = [x / y for x, y in zip(a, b, strict=False) if x is not None and y]
    if not ratios:
        return None
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def targets(res: Results, gateway: dict[str, Any] | None) -> list[str]:
    """The issue's targets, each with where this run stands."""
    out = ["Targets (issue 8):", ""]

    def mark(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "MISSED")

    for col in ("glmkit_sync", "glmkit_async"):
        floor = res.floor_of("seq", col)
        r = pair_ratio(res, "seq", col, floor)
        rc = pair_ratio(res, "seq_cpu", floor, col)  # floor CPU / our CPU: the same ratio, from CPU time
        ok = None if r is None else r["median"] >= 0.85
        text = "n/a" if r is None else f"{r['median']:.2f} ({r['min']:.2f}–{r['max']:.2f})"
        if rc is not None:
            text += f"; from CPU per request: {rc['median']:.2f}"
        out.append(
            f"- sequential req/s ≥ 0.85× raw httpx ({TITLES[col]} vs {'httpx async' if floor == 'httpx_async' else 'httpx'}): {text} — {mark(ok)}"
        )
    for col in ("glmkit_sync", "glmkit_async"):
        r = pair_ratio(res, "stream", col, "openai")
        rc = pair_ratio(res, "stream_cpu", "openai", col)
        ok = None if r is None else r["median"] >= 10
        text = "n/a" if r is None else f"{r['median']:.1f}× ({r['min']:.1f}–{r['max']:.1f})"
        if rc is not None:
            text += f"; from CPU per chunk: {rc['median']:.1f}×"
        out.append(f"- streaming chunks/s ≥ 10× openai ({TITLES[col]}): {text} — {mark(ok)}")
    imp = res.summary("import", "glmkit_sync")
    out.append(
        f"- `import glmkit` < 100 ms: {fmt(imp['median'])} ms — {mark(imp['median'] < 100)}"
        if imp
        else "- `import glmkit` < 100 ms: n/a"
    )
    cli = res.summary("cli", "glmkit_sync")
    out.append(
        f"- `glm --help` < 150 ms: {fmt(cli['median'])} ms ({fmt(cli['min'])}–{fmt(cli['max'])}) — {mark(cli['median'] < 150)}"
        if cli
        else "- `glm --help` < 150 ms: n/a"
    )
    if gateway and "http" in gateway:
        from bench.gateway import targets as gateway_targets

        out += ["", "Gateway targets (issue 20):", "", *gateway_targets(gateway)]
    else:
        out.append("- gateway: n/a")
    return out


def render(meta: dict[str, Any], res: Results, gateway: dict[str, Any] | None) -> str:
    v = meta["versions"]
    lines = [
        f"glmkit benchmark, {meta['date']}: {meta['nproc']} cores ({meta['cpu']}), Python {meta['python']}; "
        f"glmkit {v['glmkit']}, openai {v['openai']}, zai-sdk {v['zai-sdk']}, httpx {v['httpx']}, pydantic {v['pydantic']}.",
        f"Median of {meta['reps']} runs (start-up rows: {meta['start_reps']}), (min–max), **ratio to raw httpx in the same run**. "
        f"Server on core {meta['server_core']}, client on core {meta['client_core']}; {meta['duration']} s per timed loop; "
        f"whole run {meta['elapsed_s']} s.",
        "",
        "| | " + " | ".join(TITLES[c] for c in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for row, (title, unit, _higher) in ROWS.items():
        if row not in res.values:
            continue
        cells = []
        for col in COLUMNS:
            s = res.summary(row, col)
            cells.append(cell(s, show_ratio=row not in ("cli",)))
        if row == "cli":
            llm = meta.get("llm_help_ms") or []
            title += f" [`llm --help`: {fmt(statistics.median(llm))} ms]" if llm else " [`llm --help`: n/a]"
        lines.append(f"| {title} ({unit}) | " + " | ".join(cells) + " |")
    lines.append("")
    lines += targets(res, gateway)
    lines.append("")
    lines.append("Notes:")
    for row, note in res.notes.items():
        lines.append(f"- {ROWS[row][0]}: {note}")
    if "httpx_async" in res.values.get("seq", {}):
        a = res.summary("seq", "httpx_async")
        b = res.summary("stream", "httpx_async")
        lines.append(
            "- glmkit async is held against httpx's AsyncClient in the sequential and streaming rows "
            f"(httpx async: {cell(a, False)} req/s, {cell(b, False)} chunks/s); everything else against the httpx column."
        )
    lines.append(
        "- raw httpx: `json.loads` of each body or `data:` line, no types. glmkit, openai and zai-sdk hand out typed "
        "objects; the streaming row iterates the SDK's chunk objects and reads `chunk.choices[0].delta.content`."
    )
    lines.append("- zai-sdk has no async client (no concurrent figure); glmkit sync is a sync client (none either).")
    if gateway is None:
        lines.append("- gateway added latency: n/a (bench/gateway.py is not there yet).")
    elif "error" in gateway:
        lines.append(f"- gateway added latency: n/a ({gateway['error']}).")
    else:
        from bench.gateway import table as gateway_table

        lines += [
            "",
            "Gateway (`bench/gateway.py`: `glm serve` in front of a bare fake upstream, gateway CPU from /proc):",
        ]
        lines += ["", gateway_table(gateway), ""]
    for err in res.errors:
        lines.append(f"- error: {err}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
