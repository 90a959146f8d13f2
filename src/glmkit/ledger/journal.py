"""The gateway's journal: each request's row on disk in one write, copied into the ledger in batches.

A row committed to SQLite on its own costs a transaction: about 20 µs when SQLite's code and pages are warm, and
100-200 µs of a request's CPU when requests come one at a time and the caches are cold (``bench.gateway
--no-ledger`` measures it), a third of what the gateway spends on such a request. The journal keeps the promise
the ledger made (a request's row is on disk before its client sees the answer end, so killing ``glm serve`` loses
none) for the price of one ``write``: the row is a line appended to ``<db>.journal-<id>.jsonl``, in the page cache
as a commit with ``synchronous=NORMAL`` is.

A thread copies the lines into ``requests`` every ``interval`` seconds, many rows a transaction
(``Ledger.fold_journals``), and so does every reader of the ledger before it reads (``glm usage``, ``glm logs``,
another ``Ledger``), in any process: a reader never misses a request that was answered. How far each journal was
copied is kept in the transaction that copies it, so no row is copied twice or lost, whoever copies it and
whenever a process dies. The writer holds a lock on its journal for as long as it writes it (released by the
system when the process dies), moves to a new one past ``rotate_bytes``, and whoever copies a journal nobody holds
to its end removes it. Where locks are not to be had (not POSIX), there is no journal: rows go to SQLite directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from glmkit._fileio import private_dir
from glmkit._json import dumpb
from glmkit.ledger.fold import fold
from glmkit.ledger.schema import JOURNAL_GLOB, REQUEST_FIELDS, check_fields
from glmkit.ledger.store import Ledger

__all__ = ["Journal", "JournalShort"]


class JournalShort(OSError):
    """Rows the journal did not take (``rest``): the caller writes them to the ledger itself."""

    def __init__(self, message: str, rest: list[Mapping[str, Any]]) -> None:
        super().__init__(message)
        self.rest = rest


def _line(row: Mapping[str, Any]) -> bytes:
    try:
        return dumpb(row) + b"\n"
    except (TypeError, ValueError):  # a value JSON has no name for, or text that is not UTF-8: as the pending file
        return json.dumps(row, default=str).encode() + b"\n"


class Journal:
    """Appends ``requests`` rows to a journal file beside ``ledger`` and copies them in from a daemon thread.

    ``append`` checks the rows' fields (a typo fails loudly in the caller), writes them in one ``write`` and
    returns; an ``OSError`` means they are not written (the caller writes them to the ledger itself). ``fold``
    copies now; ``close`` copies what is left, lets the file go and stops the thread.
    """

    def __init__(self, ledger: Ledger, *, interval: float = 0.2, rotate_bytes: int = 1 << 20) -> None:
        import fcntl  # ImportError where there are no locks: the caller does without a journal

        self._fcntl = fcntl
        self.ledger = ledger
        self.interval = interval
        self.rotate_bytes = rotate_bytes
        self._lock = threading.Lock()  # the file being written, against its replacement
        self._written = 0  # bytes in the current file
        self._dirty = threading.Event()
        self._fd, self.path = self._open()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="glmkit-journal", daemon=True)
        self._thread.start()

    def _open(self) -> tuple[int, Path]:
        """A new journal, 0600 from its first byte, locked before it has the name copiers look for. Names sort
        by when they were made (copiers take journals in name order, so one writer's rows keep their order)."""
        folder = self.ledger.path.parent
        private_dir(folder)
        name = self.ledger.path.name + JOURNAL_GLOB.replace("*", f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}")
        target = folder / name
        staging = target.with_name(target.name + ".new")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(staging, flags, 0o600)
        try:
            self._fcntl.flock(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
            os.rename(staging, target)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                staging.unlink()
            raise
        return fd, target

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Write ``rows`` to the journal, in one write: on disk when this returns.

        Raises ``JournalShort`` (an ``OSError``) when the file took only part of them (a full disk): its ``rest``
        are the rows not written, which the caller writes elsewhere; the rows before them are in the journal.
        """
        now = time.time()
        pending: list[Mapping[str, Any]] = []
        lines = []
        for row in rows:
            check_fields(row, REQUEST_FIELDS, "requests")
            if row.get("created") is None:
                row = {**row, "created": now}
            pending.append(row)
            lines.append(_line(row))
        data = b"".join(lines)
        with self._lock:
            if self._fd < 0:
                raise JournalShort("the journal is closed", pending)
            try:
                written = os.write(self._fd, data)
            except OSError as exc:
                raise JournalShort(f"the journal refused the rows: {exc}", pending) from exc
            self._written += written
            if written != len(data):
                self._cut_short()
        if written != len(data):
            whole, taken = 0, 0
            for line in lines:  # the rows whose whole line went in are in the journal: the rest are not
                if taken + len(line) > written:
                    break
                taken += len(line)
                whole += 1
            raise JournalShort(f"the journal took {written} of {len(data)} bytes", pending[whole:])
        if not self._dirty.is_set():  # set already until the next copy: no lock and notify per row
            self._dirty.set()

    def _cut_short(self) -> None:
        """After a short write (the lock held): end the cut line, so nothing after it joins it and the file can be
        removed once copied, and go on in a new journal, or in none."""
        with contextlib.suppress(OSError):
            os.write(self._fd, b"\n")
        try:
            self._replace(*self._open())
        except OSError:
            self._replace(-1, self.path)

    def fold(self) -> int:
        """Copy what the journals hold into the ledger now (and move to a new journal if this one is long)."""
        self._dirty.clear()
        if self._written >= self.rotate_bytes:
            self._rotate()
        return fold(self.ledger)

    def _rotate(self) -> None:
        fd, path = self._open()
        with self._lock:
            self._replace(fd, path)

    def _replace(self, fd: int, path: Path) -> None:
        """Write to ``fd`` from now on (the lock held); the old file's lock goes with it, so the next copy takes
        the rest and removes it."""
        old, self._fd, self.path, self._written = self._fd, fd, path, 0
        os.close(old)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._dirty.wait(self.interval) and not self._stop.wait(self.interval):
                with contextlib.suppress(sqlite3.Error, OSError):
                    self.fold()  # busy or failing: the rows wait in the journal for the next copy
        self.ledger.close()

    def close(self) -> None:
        """Stop the thread, copy what is left and let the journal go (removed once it is copied)."""
        self._stop.set()
        self._dirty.set()
        self._thread.join()
        with self._lock:
            fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(sqlite3.Error, OSError):
            fold(self.ledger)
