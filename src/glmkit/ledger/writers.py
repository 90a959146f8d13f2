"""Writing the ledger off the caller's thread: batched rows (``BackgroundWriter``) and WAL checkpoints."""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any

from glmkit.ledger.schema import REQUEST_FIELDS, check_fields
from glmkit.ledger.store import Ledger

__all__ = ["BackgroundWriter", "Checkpointer"]

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
                self.ledger.checkpoint()
        with contextlib.suppress(sqlite3.Error):
            self.ledger.checkpoint()
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
        check_fields(data, REQUEST_FIELDS, "requests")
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
