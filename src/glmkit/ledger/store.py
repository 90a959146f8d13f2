"""The SQLite ledger itself: opening (and migrating) the file, writing rows, reading them back."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from glmkit._errors import GLMError
from glmkit._fileio import private_dir, private_file
from glmkit.ledger.schema import (
    CONVERSATION_FIELDS,
    DEFAULTS,
    JOURNAL_GLOB,
    MIGRATIONS,
    REQUEST_FIELDS,
    check_fields,
    decode,
    encode,
    insert_sql,
)
from glmkit.ledger.since import filters, parse_since

__all__ = ["Ledger", "LedgerError", "default_path"]


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


def _closed_if_dead(thread: threading.Thread, conn: sqlite3.Connection) -> bool:
    """Close ``conn`` if the thread that opened it has ended; whether it did."""
    if thread.is_alive():
        return False
    conn.close()
    return True


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """``<data dir>/glmkit.db`` (``GLMKIT_HOME`` moves it)."""
    from glmkit._config import data_dir

    return data_dir(environ) / "glmkit.db"


class Ledger:
    """The SQLite ledger. Safe to share between threads (one connection per thread)."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 5.0, autocheckpoint: bool = True) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.timeout = timeout
        self.autocheckpoint = autocheckpoint  # False: a ``Checkpointer`` does it, so commits stay quick
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[tuple[threading.Thread, sqlite3.Connection]] = []  # every thread's, for ``close``
        self._opened_lock = threading.Lock()
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
        self._fresh()  # what a gateway that died left in its journal

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
            with self._opened_lock:
                self._opened = [(t, c) for t, c in self._opened if not _closed_if_dead(t, c)]
                self._opened.append((threading.current_thread(), conn))
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

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database, without waiting for writers (a PASSIVE checkpoint)."""
        self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        """Close this thread's connection, and those of threads that have ended (no one can be using them); another
        live thread's stays open for it. A later call opens a fresh one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        with self._opened_lock:
            self._opened = [(t, c) for t, c in self._opened if c is not conn and not _closed_if_dead(t, c)]

    def __del__(self) -> None:
        # unreachable, so no thread is using it: every connection closed rather than left to the collector
        for _, conn in getattr(self, "_opened", ()):
            with contextlib.suppress(Exception):
                conn.close()

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
        self._insert("conversations", CONVERSATION_FIELDS, by_table["conversations"])
        self._insert("requests", REQUEST_FIELDS, by_table["requests"])
        path.unlink()

    # -- journals (the gateway's rows, on disk one write each, copied here in batches) -----------------------
    def fold_journals(self) -> int:
        """Copy into ``requests`` what the journals hold beyond what was copied before; the number of rows copied
        (``fold.fold``: exactly once, by any process, at any time)."""
        from glmkit.ledger.fold import fold

        return fold(self)

    def _fresh(self) -> None:
        """Before a read: the journals' rows copied in, so a reader sees every request answered so far."""
        if next(self.path.parent.glob(self.path.name + JOURNAL_GLOB), None) is None:
            return  # none (the usual case outside a running gateway): nothing to import or lock
        with contextlib.suppress(sqlite3.Error, OSError):
            self.fold_journals()

    # -- writing ------------------------------------------------------------------------------------
    def _insert(self, table: str, fields: tuple[str, ...], rows: list[dict[str, Any]]) -> int | None:
        if not rows:
            return None
        sql = insert_sql(table, fields)
        conn = self._conn()
        values = [encode(r, fields, DEFAULTS[table]) for r in rows]
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
            check_fields(row, fields, table)
            row.setdefault("created", time.time())
        try:
            return self._insert(table, fields, rows)
        except sqlite3.Error:
            self._save_pending(table, rows)
            return None

    def add_conversation(self, **fields: Any) -> int | None:
        """Log one exchange; returns its id (None if it had to be parked in the pending file)."""
        fields.setdefault("source", "cli")
        return self._write("conversations", CONVERSATION_FIELDS, [fields])

    def add_request(self, **fields: Any) -> None:
        """Record one gateway/MCP/CLI request."""
        self._write("requests", REQUEST_FIELDS, [fields])

    def add_requests(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Record many requests in one transaction."""
        self._write("requests", REQUEST_FIELDS, [dict(r) for r in rows])

    # -- reading ------------------------------------------------------------------------------------
    def _select(self, sql: str, args: Iterable[Any]) -> list[sqlite3.Row]:
        """All rows of a query; a damaged file (pages past the header unreadable) is a ``LedgerError``."""
        self._fresh()
        with _readable(self.path):
            return self._conn().execute(sql, tuple(args)).fetchall()

    def conversations(
        self, *, query: str | None = None, limit: int = 20, since: str | float | None = None, source: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest conversations first; ``query`` searches prompt, response, system and model."""
        where, args = filters(since, source)
        if query:
            like = f"%{query}%"
            where.append("(prompt LIKE ? OR response LIKE ? OR system LIKE ? OR model LIKE ?)")
            args += [like] * 4
        sql = f"SELECT * FROM conversations WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        return [decode(r) for r in self._select(sql, [*args, int(limit)])]

    def conversation(self, id: int) -> dict[str, Any] | None:
        """One conversation by id."""
        rows = self._select("SELECT * FROM conversations WHERE id = ?", (int(id),))
        return decode(rows[0]) if rows else None

    def last_conversation(self, source: str | None = None, *, failed: bool = True) -> dict[str, Any] | None:
        """The newest conversation; ``failed=False`` skips turns that ended in an error (``glm ask -c``)."""
        where, args = filters(None, source)
        if not failed:
            where.append("status != 'error'")
        sql = f"SELECT * FROM conversations WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT 1"
        rows = self._select(sql, args)
        return decode(rows[0]) if rows else None

    def requests(
        self, *, since: str | float | None = None, source: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first."""
        where, args = filters(since, source)
        sql = f"SELECT * FROM requests WHERE {' AND '.join(where)} ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [decode(r) for r in self._select(sql, args)]

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
        self._fresh()
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
        self._fresh()
        row = (
            self._conn()
            .execute("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE created >= ? AND billed = 'payg'", (since,))
            .fetchone()
        )
        return float(row[0])
