"""The ledger's two tables: their fields, the migrations that made them, and rows to and from SQLite."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONVERSATION_FIELDS",
    "DEFAULTS",
    "JSON_FIELDS",
    "MIGRATIONS",
    "REQUEST_FIELDS",
    "check_fields",
    "decode",
    "encode",
]

CONVERSATION_FIELDS = (
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
REQUEST_FIELDS = (
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
JSON_FIELDS = {"messages", "tool_calls", "notes"}
# Column defaults applied when a field is missing or None (requests.status is an HTTP status: NULL when unknown).
DEFAULTS = {"conversations": {"source": "cli", "status": "ok"}, "requests": {"source": "unknown"}}

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
    # how far each of the gateway's journals (``<db>.journal-<id>.jsonl``: its rows, one write each, before they
    # come here in batches) has been copied into ``requests``, kept in the transaction that copies them
    """
    CREATE TABLE journal_folds (name TEXT PRIMARY KEY, folded INTEGER NOT NULL)
    """,
]


JOURNAL_GLOB = ".journal-*.jsonl"
"""The names of the gateway's journals beside a ledger ``<db>`` (``journal.Journal``): ``<db>.journal-<id>.jsonl``."""


@functools.cache
def insert_sql(table: str, fields: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})"


def check_fields(row: Mapping[str, Any], allowed: tuple[str, ...], table: str) -> None:
    """``TypeError`` naming the fields of ``row`` that ``table`` does not have (a typo fails loudly)."""
    unknown = set(row) - set(allowed)
    if unknown:
        raise TypeError(f"unknown {table} field(s): {', '.join(sorted(unknown))}")


def encode(row: Mapping[str, Any], fields: tuple[str, ...], defaults: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of ``row`` in ``fields`` order, as SQLite stores them (JSON text, whole token counts)."""
    values = [row.get(name) for name in fields]
    at = _positions(fields)
    for name, default in defaults.items():
        if values[at[name]] is None:
            values[at[name]] = default
    for i, kind in _kinds(fields):
        value = values[i]
        if kind == 3:
            values[i] = int(value or 0)
        elif kind == 1:
            if value is None:
                values[i] = time.time()
        elif value is not None and not isinstance(value, str):
            values[i] = json.dumps(value, ensure_ascii=False, default=str)
    return tuple(values)


@functools.cache
def _positions(fields: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(fields)}


@functools.cache
def _kinds(fields: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """The position of each field ``encode`` changes, with how: 1 the creation time, 2 JSON, 3 a whole token count."""
    kinds = (
        (1 if name == "created" else 2 if name in JSON_FIELDS else 3 if name.endswith("_tokens") else 0)
        for name in fields
    )
    return tuple((i, kind) for i, kind in enumerate(kinds) if kind)


def decode(row: sqlite3.Row) -> dict[str, Any]:
    """A stored row as a dict, its JSON fields read back."""
    out = dict(row)
    for name in JSON_FIELDS & out.keys():
        if out[name]:
            with contextlib.suppress(ValueError):
                out[name] = json.loads(out[name])
    return out
