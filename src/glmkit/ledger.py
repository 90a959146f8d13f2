"""The local ledger: one SQLite file shared by the CLI's conversation log, the gateway and the MCP server.

Two tables. ``conversations`` holds what ``glm ask`` and ``glm chat`` said and heard; ``requests``
holds one row per request the gateway relayed or the MCP server served. ``glm logs`` reads the first,
``glm usage`` sums both. The file is in WAL mode so readers never block the writer, and the gateway
writes through a ``BackgroundWriter`` so its hot path never waits on the disk.

Nothing is dropped: a row the database refuses (disk full, locked for too long) goes to
``<db>.pending.jsonl`` beside it and is replayed the next time a ``Ledger`` opens that file.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from glmkit._errors import GLMError
from glmkit._fileio import private_dir, private_file

__all__ = ["BackgroundWriter", "Checkpointer", "Ledger", "LedgerError", "default_path", "parse_since"]

_CONVERSATION_FIELDS = (
    "created",
    "source",
    "model",
    "system",
    "prompt",
    "response",
    "reasoning",
    "messages",
    "tool_calls",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "latency_ms",
    "ttft_ms",
    "parent_id",
    "status",
    "error_code",
    "request_id",
)
_REQUEST_FIELDS = (
    "created",
    "source",
    "client",
    "route",
    "tool",
    "model_requested",
    "model_used",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "latency_ms",
    "ttft_ms",
    "status",
    "error_code",
    "queue_depth",
    "queue_wait_ms",
    "request_id",
    "notes",
    "billed",
    "cost_usd",
    "held_ms",
)
_JSON_FIELDS = {"messages", "tool_calls", "notes"}
# Column defaults applied when a field is missing or None (requests.status is an HTTP status: NULL when unknown).
_DEFAULTS = {"conversations": {"source": "cli", "status": "ok"}, "requests": {"source": "unknown"}}

# Each entry moves the schema one version on; never edit a shipped entry, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        source TEXT NOT NULL DEFAULT 'cli',
        model TEXT, system TEXT, prompt TEXT, response TEXT, reasoning TEXT,
        messages TEXT, tool_calls TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL, ttft_ms REAL,
        parent_id INTEGER REFERENCES conversations(id),
        status TEXT NOT NULL DEFAULT 'ok',
        error_code TEXT, request_id TEXT
    );
    CREATE INDEX conversations_created ON conversations(created);
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        source TEXT NOT NULL,
        client TEXT, route TEXT, tool TEXT, model_requested TEXT, model_used TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL, ttft_ms REAL,
        status INTEGER, error_code TEXT,
        queue_depth INTEGER, queue_wait_ms REAL,
        request_id TEXT
    );
    CREATE INDEX requests_created ON requests(created);
    """,
    # the gateway keeps sessions going: what it repaired in a request (a JSON list of notes), who paid for it
    # ('plan', or 'payg' when a spent plan fell back to the pay-as-you-go key), the estimated cost in USD of a
    # pay-as-you-go answer, and how long a background request was held for off-peak hours
    """
    ALTER TABLE requests ADD COLUMN notes TEXT;
    ALTER TABLE requests ADD COLUMN billed TEXT;
    ALTER TABLE requests ADD COLUMN cost_usd REAL;
    ALTER TABLE requests ADD COLUMN held_ms REAL
    """,
]


class LedgerError(GLMError):
    """The ledger's file cannot be used: not a SQLite database, not a file, or not readable."""

    exit_code = 1

    def __init__(self, path: Path, problem: str) -> None:
        aside = path.with_name(path.name + ".broken")
        super().__init__(
            f"The usage ledger {path} cannot be used: {problem}.",
            hint=f"Move it aside (mv {path} {aside}) and glmkit starts a new ledger.",
        )
        self.path = path


@contextlib.contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn SQLite's and the file system's refusals of ``path`` into one ``LedgerError`` naming it."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            raise  # busy, not broken: the caller's own handling (the pending file) applies
        raise LedgerError(path, str(exc)) from exc
    except OSError as exc:
        raise LedgerError(path, exc.strerror or str(exc)) from exc


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``<data dir>/glmkit.db`` (``GLMKIT_HOME`` moves it)."""
    from glmkit._config import data_dir

    return data_dir(environ) / "glmkit.db"


_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str | float | datetime | None, *, now: float | None = None) -> float | None:
    """A start time as a Unix timestamp from ``24h``, ``7d``, ``30m``, an ISO date/time, a datetime or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    match = _SINCE.match(value)
    if match:
        return (time.time() if now is None else now) - float(match.group(1)) * _UNITS[match.group(2)]
    if value.strip().lower() == "today":
        start = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        return start.timestamp()
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        from glmkit._errors import InputError

        raise InputError(
            f"Cannot read {value!r} as a start time.",
            hint="Use a span like 30m, 24h, 7d, 2w, 'today' or a date like 2026-11-01.",
        ) from None


def _filters(since: str | float | None, source: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their arguments) for a start time and a source."""
    where, args = ["1=1"], []  # type: list[str], list[Any]
    start = parse_since(since)
    if start is not None:
        where.append("created >= ?")
        args.append(start)
    if source:
        where.append("source = ?")
        args.append(source)
    return where, args


def _check_fields(row: Mapping[str, Any], allowed: tuple[str, ...], table: str) -> None:
    unknown = set(row) - set(allowed)
    if unknown:
        raise TypeError(f"unknown {table} field(s): {', '.join(sorted(unknown))}")


def _encode(row: Mapping[str, Any], fields: tuple[str, ...], defaults: Mapping[str, Any]) -> tuple[Any, ...]:
    values = []
    for name in fields:
        value = row.get(name)
        if value is None:
            value = defaults.get(name)
        if name == "created" and value is None:
            value = time.time()
        elif name in _JSON_FIELDS and value is not None and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        elif name.endswith("_tokens"):
            value = int(value or 0)
        values.append(value)
    return tuple(values)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for name in _JSON_FIELDS & out.keys():
        if out[name]:
            with contextlib.suppress(ValueError):
                out[name] = json.loads(out[name])
    return out


class Ledger:
    """The SQLite ledger. Safe to share between threads (one connection per thread)."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 5.0, autocheckpoint: bool = True) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.timeout = timeout
        self.autocheckpoint = autocheckpoint  # False: a ``Checkpointer`` does it, so commits stay quick
        self._local = threading.local()
        self._lock = threading.Lock()
        with _readable(self.path):
            if self.path.exists() and not self.path.is_file():
                raise LedgerError(self.path, "it is not a regular file")
            private_dir(self.path.parent)
            private_file(self.path)  # 0600 before SQLite writes a byte; -wal and -shm take this mode
            for companion in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + companion)
                if side.exists():
                    private_file(side)  # left readable by an older glmkit
            self._migrate()
        self._replay_pending()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    # -- connection and schema --------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            if not self.autocheckpoint:
                conn.execute("PRAGMA wal_autocheckpoint=0")
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        # Opening may wait out another process's migration, however short this ledger's own busy timeout is.
        conn.execute(f"PRAGMA busy_timeout = {int(max(self.timeout, 5.0) * 1000)}")
        try:
            self._apply_migrations(conn)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    def _apply_migrations(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in filter(str.strip, script.split(";")):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={number}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- pending rows (written when the database refused them) --------------------------------------
    @property
    def pending_path(self) -> Path:
        return self.path.with_name(self.path.name + ".pending.jsonl")

    def _save_pending(self, table: str, rows: list[dict[str, Any]]) -> None:
        private_file(self.pending_path)
        with open(self.pending_path, "a", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps({"table": table, "row": row}, default=str) + "\n")

    def _replay_pending(self) -> None:
        path = self.pending_path
        if not path.exists():
            return
        by_table: dict[str, list[dict[str, Any]]] = {"conversations": [], "requests": []}
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
                by_table[item["table"]].append(item["row"])
            except (ValueError, KeyError, TypeError):
                continue
        self._insert("conversations", _CONVERSATION_FIELDS, by_table["conversations"])
        self._insert("requests", _REQUEST_FIELDS, by_table["requests"])
        path.unlink()

    # -- writing ------------------------------------------------------------------------------------
    def _insert(self, table: str, fields: tuple[str, ...], rows: list[dict[str, Any]]) -> int | None:
        if not rows:
            return None
        sql = f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"
        conn = self._conn()
        values = [_encode(r, fields, _DEFAULTS[table]) for r in rows]
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.executemany(sql, values) if len(values) > 1 else conn.execute(sql, values[0])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return cursor.lastrowid

    def _write(self, table: str, fields: tuple[str, ...], rows: list[dict[str, Any]]) -> int | None:
        for row in rows:
            _check_fields(row, fields, table)
            row.setdefault("created", time.time())
        try:
            return self._insert(table, fields, rows)
        except sqlite3.Error:
            self._save_pending(table, rows)
            return None

    def add_conversation(self, **fields: Any) -> int | None:
        """Log one exchange; returns its id (None if it had to be parked in the pending file)."""
        fields.setdefault("source", "cli")
        return self._write("conversations", _CONVERSATION_FIELDS, [fields])

    def add_request(self, **fields: Any) -> None:
        """Record one gateway/MCP/CLI request."""
        self._write("requests", _REQUEST_FIELDS, [fields])

    def add_requests(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Record many requests in one transaction."""
        self._write("requests", _REQUEST_FIELDS, [dict(r) for r in rows])

    # -- reading ------------------------------------------------------------------------------------
    def _select(self, sql: str, args: Iterable[Any]) -> list[sqlite3.Row]:
        """All rows of a query; a damaged file (pages past the header unreadable) is a ``LedgerError``."""
        with _readable(self.path):
            return self._conn().execute(sql, tuple(args)).fetchall()

    def conversations(
        self, *, query: str | None = None, limit: int = 20, since: str | float | None = None, source: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest conversations first; ``query`` searches prompt, response, system and model."""
        where, args = _filters(since, source)
        if query:
            like = f"%{query}%"
            where.append("(prompt LIKE ? OR response LIKE ? OR system LIKE ? OR model LIKE ?)")
            args += [like] * 4
        sql = f"SELECT * FROM conversations WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        return [_decode(r) for r in self._select(sql, [*args, int(limit)])]

    def conversation(self, id: int) -> dict[str, Any] | None:
        """One conversation by id."""
        rows = self._select("SELECT * FROM conversations WHERE id = ?", (int(id),))
        return _decode(rows[0]) if rows else None

    def last_conversation(self, source: str | None = None, *, failed: bool = True) -> dict[str, Any] | None:
        """The newest conversation; ``failed=False`` skips turns that ended in an error (``glm ask -c``)."""
        where, args = _filters(None, source)
        if not failed:
            where.append("status != 'error'")
        sql = f"SELECT * FROM conversations WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT 1"
        rows = self._select(sql, args)
        return _decode(rows[0]) if rows else None

    def requests(
        self, *, since: str | float | None = None, source: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first."""
        where, args = _filters(since, source)
        sql = f"SELECT * FROM requests WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_decode(r) for r in self._select(sql, args)]

    def count(self, table: str = "requests") -> int:
        """Rows in ``requests`` or ``conversations``."""
        if table not in ("requests", "conversations"):
            raise ValueError("table must be 'requests' or 'conversations'")
        return int(self._select(f"SELECT COUNT(*) FROM {table}", ())[0][0])

    def usage(self, *, since: str | float | None = None, by: str = "model") -> list[dict[str, Any]]:
        """Tokens and request counts grouped by ``model``, ``hour``, ``day``, ``tool`` or ``source``, both tables together."""
        keys = {
            "model": ("model", "COALESCE(model_used, model_requested)"),
            "hour": ("strftime('%Y-%m-%d %H:00', created, 'unixepoch', 'localtime')",) * 2,
            "day": ("strftime('%Y-%m-%d', created, 'unixepoch', 'localtime')",) * 2,
            "tool": ("'cli'", "COALESCE(tool, client, source)"),
            "source": ("source", "source"),
        }
        if by not in keys:
            raise ValueError(f"by must be one of {', '.join(keys)}")
        conv_key, req_key = keys[by]
        start = parse_since(since) or 0.0
        cols = "COUNT(*) AS requests, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens"
        sql = f"""
            SELECT key, SUM(requests) AS requests, SUM(input_tokens) AS input_tokens,
                   SUM(output_tokens) AS output_tokens, SUM(reasoning_tokens) AS reasoning_tokens
            FROM (
                SELECT {conv_key} AS key, {cols} FROM conversations WHERE created >= ? GROUP BY 1
                UNION ALL
                SELECT {req_key} AS key, {cols} FROM requests WHERE created >= ? GROUP BY 1
            ) GROUP BY key ORDER BY key
        """
        return [dict(r) for r in self._select(sql, (start, start))]

    def interventions(self, *, since: str | float | None = None) -> dict[str, Any]:
        """What the gateway did to keep sessions going: repaired requests (with their notes, newest last),
        pay-as-you-go fallbacks with their estimated cost, and background requests held for off-peak hours."""
        start = parse_since(since) or 0.0
        conn = self._conn()
        repairs = [
            {"created": r["created"], "route": r["route"], "tool": r["tool"], "notes": json.loads(r["notes"])}
            for r in conn.execute(
                "SELECT created, route, tool, notes FROM requests WHERE created >= ? AND notes IS NOT NULL ORDER BY id",
                (start,),
            )
        ]
        fb = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM requests WHERE created >= ? AND billed = 'payg'",
            (start,),
        ).fetchone()
        by_model = [
            dict(r)
            for r in conn.execute(
                "SELECT COALESCE(model_used, model_requested) AS model, COUNT(*) AS requests,"
                " COALESCE(SUM(cost_usd), 0) AS cost_usd FROM requests WHERE created >= ? AND billed = 'payg'"
                " GROUP BY 1 ORDER BY 1",
                (start,),
            )
        ]
        held = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(held_ms), 0) FROM requests WHERE created >= ? AND held_ms > 0", (start,)
        ).fetchone()
        return {
            "repaired": repairs,
            "fallbacks": {"requests": int(fb[0]), "cost_usd": float(fb[1]), "by_model": by_model},
            "held": {"requests": int(held[0]), "held_ms": float(held[1])},
        }

    def payg_spent(self, since: float) -> float:
        """Estimated USD the pay-as-you-go fallback has cost since ``since`` (a Unix time)."""
        row = (
            self._conn()
            .execute("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE created >= ? AND billed = 'payg'", (since,))
            .fetchone()
        )
        return float(row[0])


_STOP = object()


class Checkpointer:
    """Copies the WAL into the database every ``interval`` seconds from a daemon thread.

    SQLite otherwise checkpoints inside the commit that fills the WAL past 1000 pages: a pause of
    several ms (tens on a busy disk) for whichever writer crosses the mark. A writer that must stay
    quick (the gateway, writing on its event loop) opens its ``Ledger`` with ``autocheckpoint=False``
    and lets this thread do it; a PASSIVE checkpoint never waits for writers, nor makes them wait.
    """

    def __init__(self, ledger: Ledger, *, interval: float = 1.0) -> None:
        self.ledger = ledger
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="glmkit-checkpoint", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(sqlite3.Error):
                self.ledger._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        with contextlib.suppress(sqlite3.Error):
            self.ledger._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.ledger.close()

    def close(self) -> None:
        """Checkpoint once more and stop the thread."""
        self._stop.set()
        self._thread.join()


class BackgroundWriter:
    """Writes ``requests`` rows from a daemon thread in batches, so callers never wait on the disk.

    ``submit`` checks the row's fields at once (a typo fails loudly in the caller) and returns;
    ``flush`` waits until everything submitted so far is on disk; ``close`` flushes and stops.
    """

    def __init__(self, ledger: Ledger, *, batch: int = 256) -> None:
        self.ledger = ledger
        self.batch = batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="glmkit-ledger", daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, row: Mapping[str, Any]) -> None:
        """Queue one request row (``created`` is stamped now if missing)."""
        if self._closed:
            raise RuntimeError("the ledger writer is closed")
        data = dict(row)
        _check_fields(data, _REQUEST_FIELDS, "requests")
        data.setdefault("created", time.time())
        self._queue.put(data)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            rows, stop, taken = [], False, 1
            if item is _STOP:
                stop = True
            else:
                rows.append(item)
            while len(rows) < self.batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                taken += 1
                if nxt is _STOP:
                    stop = True
                    break
                rows.append(nxt)
            try:
                if rows:
                    self.ledger.add_requests(rows)
            finally:
                for _ in range(taken):
                    self._queue.task_done()
            if stop:
                self.ledger.close()
                return

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every submitted row is written."""
        if timeout is None:
            self._queue.join()
            return
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
