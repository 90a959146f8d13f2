"""Files (``/files``) and batches (``/batches``) (reference §10.4, §12).

Apart from agent uploads (``purpose=agent``), the docs.z.ai pages do not document these: the shapes
follow the official SDK, and their availability on api.z.ai is UNVERIFIED.
"""

from __future__ import annotations

from typing import Any, Literal, Required

from typing_extensions import TypedDict

from glmkit.types._base import Endpoint
from glmkit.types._model import Model
from glmkit.types._params import RequestOptions

FILES = Endpoint("POST", "/files", "general")
FILES_LIST = Endpoint("GET", "/files", "general")
FILE_DELETE = Endpoint("DELETE", "/files/{id}", "general")
FILE_CONTENT = Endpoint("GET", "/files/{id}/content", "general")

BATCHES = Endpoint("POST", "/batches", "general")
BATCHES_LIST = Endpoint("GET", "/batches", "general")
BATCH = Endpoint("GET", "/batches/{id}", "general")
BATCH_CANCEL = Endpoint("POST", "/batches/{id}/cancel", "general")

Purpose = Literal["agent", "batch", "fine-tune", "retrieval", "voice-clone-input"]
BATCH_DONE = frozenset({"completed"})
BATCH_FAILED = frozenset({"failed", "expired", "cancelled"})


class FileCreateParams(RequestOptions, total=False):
    """An upload."""

    file: Required[Any]
    """A path, bytes or a file object (at most 100 MB)."""
    purpose: Required[str]
    """``agent`` (translation glossaries, chat ``file_id``), ``batch`` (JSONL), ``fine-tune``, ``retrieval``,
    ``voice-clone-input``."""
    knowledge_id: str
    sentence_size: int


class FileListParams(TypedDict, total=False):
    """``client.files.list(...)`` query: all optional."""

    purpose: str | None
    limit: int | None
    after: str | None
    """The id of the last file of the previous page."""
    order: str | None
    """``desc`` (default) or ``asc``."""


class BatchListParams(TypedDict, total=False):
    """``client.files.batches.list(...)`` query: all optional."""

    after: str | None
    limit: int | None


class FileObject(Model):
    """An uploaded file."""

    id: str
    object: str | None = "file"
    bytes: int | None = None
    filename: str | None = None
    purpose: str | None = None
    created_at: int | None = None
    status: str | None = None
    status_details: Any = None


class FileList(Model):
    """A page of files."""

    object: str | None = "list"
    data: list[FileObject] = []
    has_more: bool = False


class FileDeleted(Model):
    """The answer to a delete."""

    id: str
    deleted: bool
    object: str | None = "file"


class BatchCreateParams(RequestOptions, total=False):
    """A batch job over an uploaded JSONL file of requests."""

    input_file_id: Required[str]
    endpoint: Required[str]
    """``/v1/chat/completions`` or ``/v1/embeddings``."""
    completion_window: str
    """``24h``."""
    metadata: dict[str, str]
    auto_delete_input_file: bool


class BatchRequestCounts(Model):
    completed: int = 0
    failed: int = 0
    total: int = 0


class Batch(Model):
    """A batch job; ``status``: validating, failed, in_progress, finalizing, completed, expired, cancelling, cancelled."""

    id: str
    object: str | None = "batch"
    endpoint: str | None = None
    input_file_id: str | None = None
    completion_window: str | None = None
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int | None = None
    in_progress_at: int | None = None
    completed_at: int | None = None
    cancelled_at: int | None = None
    errors: Any = None
    request_counts: BatchRequestCounts | None = None
    metadata: dict[str, Any] | None = None


class BatchList(Model):
    """A page of batches."""

    object: str | None = "list"
    data: list[Batch] = []
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None
