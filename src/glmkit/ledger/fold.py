"""Copying the gateway's journals (``journal.Journal``) into the ledger's ``requests``: exactly once, by any process."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glmkit._json import loads
from glmkit.ledger.schema import DEFAULTS, JOURNAL_GLOB, REQUEST_FIELDS, encode, insert_sql

if TYPE_CHECKING:
    from glmkit.ledger.store import Ledger

__all__ = ["fold", "journal_paths"]


def journal_paths(ledger: Ledger) -> list[Path]:
    """The journal files beside ``ledger``, oldest name first."""
    return sorted(ledger.path.parent.glob(ledger.path.name + JOURNAL_GLOB))


def fold(ledger: Ledger) -> int:
    """Copy into ``requests`` the rows the journals hold beyond what was copied before; the number copied.

    Any process may, at any time: how far each journal was copied is kept in ``journal_folds``, in the same
    transaction as its rows, so every row arrives exactly once whoever copies it and whenever a process dies.
    Only whole lines are taken (a writer may be half-way through one). A journal no process writes any more
    (its lock is free), copied to its end, is removed.
    """
    if not journal_paths(ledger):
        return 0
    conn = ledger._conn()
    copied = 0
    finished: list[Path] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        paths = journal_paths(ledger)  # again, now that no other copier can run: its files and offsets hold still
        done = dict(conn.execute("SELECT name, folded FROM journal_folds").fetchall())
        for path in paths:
            start = done.get(path.name, 0)
            try:
                with open(path, "rb") as fh:
                    fh.seek(start)
                    data = fh.read()
                    abandoned = _unlocked(fh.fileno())
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1
            rows = []
            for line in data[:end].splitlines():
                with contextlib.suppress(ValueError):
                    row = loads(line)
                    if isinstance(row, dict):
                        rows.append(row)
            values = [v for v in map(_journal_values, rows) if v is not None]
            if values:
                conn.executemany(insert_sql("requests", REQUEST_FIELDS), values)
                copied += len(values)
            if end:
                conn.execute(
                    "INSERT INTO journal_folds (name, folded) VALUES (?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET folded = excluded.folded",
                    (path.name, start + end),
                )
            if abandoned and end == len(data):
                finished.append(path)
        names = {p.name for p in paths}
        stale = [(name,) for name in done if name not in names]  # files removed once copied to their end
        if stale:
            conn.executemany("DELETE FROM journal_folds WHERE name = ?", stale)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for path in finished:  # after the commit: a file left behind by a crash here is known to be copied
        with contextlib.suppress(OSError):
            path.unlink()
    return copied


def _journal_values(row: dict[str, Any]) -> tuple[Any, ...] | None:
    """A journal row as the values of an insert; None for one that cannot be stored (a count that is not a number),
    which is skipped rather than holding up every row after it."""
    try:
        values = encode(row, REQUEST_FIELDS, DEFAULTS["requests"])
    except (TypeError, ValueError):
        return None
    return tuple(v if v is None or isinstance(v, (str, int, float)) else str(v) for v in values)


def _unlocked(fd: int) -> bool:
    """Whether no process holds the lock of the journal open as ``fd`` (its writer is gone); False where locks are
    not to be had (the file is then left, copied, to its writer)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True  # released with ``fd``
