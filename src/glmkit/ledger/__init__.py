"""The local ledger: one SQLite file shared by the CLI's conversation log, the gateway and the MCP server.

Two tables. ``conversations`` holds what ``glm ask`` and ``glm chat`` said and heard; ``requests``
holds one row per request the gateway relayed or the MCP server served. ``glm logs`` reads the first,
``glm usage`` sums both. The file is in WAL mode so readers never block the writer. The gateway writes its
rows to a journal beside it (``journal.Journal``: one write a row, copied into ``requests`` in batches and by every
reader before it reads), so its hot path never waits on a transaction.

Nothing is dropped: a row the database refuses (disk full, locked for too long) goes to
``<db>.pending.jsonl`` beside it and is replayed the next time a ``Ledger`` opens that file; a journal a
killed gateway left is copied in the next time a ``Ledger`` opens or reads the file.
"""

from __future__ import annotations

from glmkit.ledger.schema import MIGRATIONS
from glmkit.ledger.since import parse_since
from glmkit.ledger.store import Ledger, LedgerError, default_path
from glmkit.ledger.writers import BackgroundWriter, Checkpointer

__all__ = ["MIGRATIONS", "BackgroundWriter", "Checkpointer", "Ledger", "LedgerError", "default_path", "parse_since"]
