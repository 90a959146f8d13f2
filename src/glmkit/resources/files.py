"""``client.files`` (upload, list, delete, content) and ``client.files.batches`` (JSONL batch jobs).

Uploads are checked first: at most 100 MB (the server answers HTTP 435 above), agent files by
extension, batch files line by line as JSON objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from typing_extensions import Unpack

from glmkit._errors import InputError
from glmkit._flows import Flow
from glmkit._resource import AsyncResource, SyncResource
from glmkit._transport import Call, split_options, with_options
from glmkit.media import MIME, limits, load_input
from glmkit.resources._tasks import check_options, require_id, waiting
from glmkit.types.files import (
    BATCH,
    BATCH_CANCEL,
    BATCH_DONE,
    BATCH_FAILED,
    BATCHES,
    BATCHES_LIST,
    FILE_CONTENT,
    FILE_DELETE,
    FILES,
    FILES_LIST,
    Batch,
    BatchCreateParams,
    BatchList,
    BatchListParams,
    FileCreateParams,
    FileDeleted,
    FileList,
    FileListParams,
    FileObject,
)
from glmkit.types.videos import WaitParams

__all__ = ["AsyncBatches", "AsyncFiles", "Batches", "Files"]


def _check_jsonl(data: bytes, name: str) -> None:
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{name} is empty; a batch file holds one JSON request per line.")
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            raise InputError(
                f"{name} line {n} is not a JSON object.",
                hint='Each line is {"custom_id": ..., "method": "POST", "url": "/v1/chat/completions", "body": {...}}.',
            )


def create_call(params: dict[str, Any]) -> Call[FileObject]:
    """The multipart ``Call`` uploading a file, checked first."""
    params = dict(params)
    options = split_options(params)
    lim = limits("files")
    purpose = params.pop("purpose", None)
    if purpose not in lim["purposes"]:
        raise InputError(f"purpose must be one of {', '.join(lim['purposes'])} (got {purpose!r}).")
    if params.get("file") is None:
        raise InputError("file is required: a path, bytes or a file object.")
    item = load_input(params.pop("file"), name=params.pop("filename", None), allow_url=False)
    assert item.data is not None
    if item.size > lim["max_bytes"]:
        raise InputError(
            f"{item.label} is {item.size / 1048576:.1f} MB; uploads take at most {lim['max_bytes'] // 1048576} MB.",
            hint="Split the file.",
        )
    ext = item.name.rsplit(".", 1)[-1].lower() if "." in item.name else ""
    if purpose == "agent" and ext not in lim["agent_extensions"]:
        raise InputError(
            f"{item.label}: agent files must be {', '.join(lim['agent_extensions'])}.", hint="Convert the file."
        )
    if purpose == "batch":
        _check_jsonl(item.data, item.label)
    name = item.name if not item.name.startswith("<") else ("batch.jsonl" if purpose == "batch" else "upload.bin")
    data = {"purpose": purpose, **{k: str(v) for k, v in params.items() if v is not None}}
    files = {"file": (name, item.data, MIME.get(ext, "application/octet-stream"))}
    return with_options(Call(FILES, data=data, files=files, parse=FileObject.model_validate_json), options)


def _query(query: Mapping[str, Any], allowed: type, where: str) -> dict[str, Any]:
    check_options(query, allowed, where)
    limit = query.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"limit must be a positive whole number (got {limit!r}).")
    return {k: v for k, v in query.items() if v is not None}


def list_call(query: FileListParams) -> Call[FileList]:
    """The ``Call`` listing files (``purpose``, ``limit``, ``after``, ``order``)."""
    return Call(FILES_LIST, params=_query(query, FileListParams, "files.list"), parse=FileList.model_validate_json)


def delete_call(file_id: str) -> Call[FileDeleted]:
    """The ``Call`` deleting a file."""
    return Call(FILE_DELETE.format(id=require_id(file_id, "file_id")), parse=FileDeleted.model_validate_json)


def content_call(file_id: str) -> Call[bytes]:
    """The ``Call`` reading a file's bytes."""
    return Call(FILE_CONTENT.format(id=require_id(file_id, "file_id")), parse=bytes)


def batch_create_call(params: dict[str, Any]) -> Call[Batch]:
    """The ``Call`` starting a batch."""
    params = dict(params)
    options = split_options(params)
    require_id(params.get("input_file_id", ""), "input_file_id")
    if params.get("endpoint") not in ("/v1/chat/completions", "/v1/embeddings"):
        raise InputError("endpoint must be /v1/chat/completions or /v1/embeddings.")
    params.setdefault("completion_window", "24h")
    return with_options(Call(BATCHES, json=params, parse=Batch.model_validate_json), options)


def batch_call(batch_id: str) -> Call[Batch]:
    """The ``Call`` reading a batch."""
    return Call(BATCH.format(id=require_id(batch_id, "batch_id")), parse=Batch.model_validate_json)


def batch_list_call(query: BatchListParams) -> Call[BatchList]:
    """The ``Call`` listing batches (``after``, ``limit``)."""
    params = _query(query, BatchListParams, "batches.list")
    return Call(BATCHES_LIST, params=params, parse=BatchList.model_validate_json)


def batch_cancel_call(batch_id: str) -> Call[Batch]:
    """The ``Call`` cancelling a batch."""
    return Call(BATCH_CANCEL.format(id=require_id(batch_id, "batch_id")), parse=Batch.model_validate_json)


def _batch_status(batch: Batch) -> str:
    return "done" if batch.status in BATCH_DONE else "failed" if batch.status in BATCH_FAILED else "pending"


def batch_wait_flow(batch_id: str, options: WaitParams) -> Flow[Batch]:
    """Poll a batch (every 10 s at first, for at most a day unless ``options`` say otherwise)."""
    return waiting(
        batch_id,
        batch_call,
        status_of=_batch_status,
        what="batch",
        defaults=(10.0, 86400.0),
        error_of=lambda b: b.errors,
        **options,
    )


class Batches(SyncResource):
    """``client.files.batches``."""

    def create(self, **params: Unpack[BatchCreateParams]) -> Batch:
        """Start a batch over an uploaded ``purpose="batch"`` JSONL file."""
        return self._client._request(batch_create_call(dict(params)))

    def retrieve(self, batch_id: str) -> Batch:
        """A batch's state."""
        return self._client._request(batch_call(batch_id))

    def list(self, **query: Unpack[BatchListParams]) -> BatchList:
        """A page of batches (``after``, ``limit``)."""
        return self._client._request(batch_list_call(query))

    def cancel(self, batch_id: str) -> Batch:
        """Cancel a batch."""
        return self._client._request(batch_cancel_call(batch_id))

    def wait(self, batch_id: str, **options: Unpack[WaitParams]) -> Batch:
        """Poll until ``completed`` (raises ``JobFailedError`` on failed/expired/cancelled, ``JobTimeoutError``)."""
        return self._client._run(batch_wait_flow(batch_id, options))


class AsyncBatches(AsyncResource):
    """``client.files.batches`` on ``AsyncClient``."""

    async def create(self, **params: Unpack[BatchCreateParams]) -> Batch:
        """Start a batch."""
        return await self._client._request(batch_create_call(dict(params)))

    async def retrieve(self, batch_id: str) -> Batch:
        """A batch's state."""
        return await self._client._request(batch_call(batch_id))

    async def list(self, **query: Unpack[BatchListParams]) -> BatchList:
        """A page of batches."""
        return await self._client._request(batch_list_call(query))

    async def cancel(self, batch_id: str) -> Batch:
        """Cancel a batch."""
        return await self._client._request(batch_cancel_call(batch_id))

    async def wait(self, batch_id: str, **options: Unpack[WaitParams]) -> Batch:
        """Poll until ``completed``."""
        return await self._client._run(batch_wait_flow(batch_id, options))


class Files(SyncResource):
    """``client.files``."""

    def create(self, **params: Unpack[FileCreateParams]) -> FileObject:
        """Upload a file (checked locally: size, and per purpose the extension or JSONL lines)."""
        return self._client._request(create_call(dict(params)))

    def list(self, **query: Unpack[FileListParams]) -> FileList:
        """A page of uploaded files (``purpose``, ``limit``, ``after``, ``order``)."""
        return self._client._request(list_call(query))

    def delete(self, file_id: str) -> FileDeleted:
        """Delete a file."""
        return self._client._request(delete_call(file_id))

    def content(self, file_id: str) -> bytes:
        """A file's bytes (e.g. a batch's output JSONL)."""
        return self._client._request(content_call(file_id))

    @property
    def batches(self) -> Batches:
        """Batch jobs over uploaded JSONL files."""
        return Batches(self._client)


class AsyncFiles(AsyncResource):
    """``client.files`` on ``AsyncClient``."""

    async def create(self, **params: Unpack[FileCreateParams]) -> FileObject:
        """Upload a file."""
        return await self._client._request(create_call(dict(params)))

    async def list(self, **query: Unpack[FileListParams]) -> FileList:
        """A page of uploaded files (``purpose``, ``limit``, ``after``, ``order``)."""
        return await self._client._request(list_call(query))

    async def delete(self, file_id: str) -> FileDeleted:
        """Delete a file."""
        return await self._client._request(delete_call(file_id))

    async def content(self, file_id: str) -> bytes:
        """A file's bytes."""
        return await self._client._request(content_call(file_id))

    @property
    def batches(self) -> AsyncBatches:
        """Batch jobs over uploaded JSONL files."""
        return AsyncBatches(self._client)
