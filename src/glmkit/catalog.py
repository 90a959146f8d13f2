"""The model catalog (``data/models.toml``) as typed records, and the per-model request rules."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glmkit._errors import InputError

__all__ = [
    "ChatLimits",
    "ModelInfo",
    "all_models",
    "cache_path",
    "cache_state",
    "chat_limits",
    "check_chat_model",
    "default_model",
    "get_model",
    "infer",
    "installed_date",
    "normalize_model_id",
    "refresh",
]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(\[1m\])?$")


@dataclass(frozen=True)
class ModelInfo:
    """What glmkit knows of one model."""

    id: str
    kind: str = "chat"
    released: str | None = None
    context: int = 0
    max_output: int = 0
    default_output: int = 0
    thinking: str = "none"
    efforts: tuple[str, ...] = ()
    effort_map: dict[str, str] = field(default_factory=dict)
    modalities: tuple[str, ...] = ("text",)
    vision: bool = False
    plan: bool = False
    tool_stream: bool = False
    inferred: tuple[str, ...] = ()
    """Fields guessed from the id: the model came from Z.AI's ``/models`` listing, not the installed catalog."""

    @property
    def can_disable_thinking(self) -> bool:
        """False for models that always think (the GLM-5.3 family)."""
        return self.thinking != "always"


def _info(mid: str, row: Mapping[str, Any]) -> ModelInfo:
    fields = dict(row)
    for key in ("efforts", "modalities", "inferred"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return ModelInfo(id=mid, **fields)


@functools.cache
def _installed() -> dict[str, ModelInfo]:
    from glmkit import data

    return {mid: _info(mid, row) for mid, row in data.load("models")["models"].items()}


@functools.cache
def _table() -> dict[str, ModelInfo]:
    """The installed catalog, plus the models ``glm models --refresh`` found that it lacks (never overriding it)."""
    out = dict(_installed())
    cached = cache_state()
    known = set(ModelInfo.__dataclass_fields__)
    for mid, row in (cached or {}).get("models", {}).items():
        if isinstance(row, dict) and mid not in out and set(row) <= known:
            try:
                out[mid] = _info(mid, row)
            except (TypeError, ValueError):
                continue  # a damaged cache row is skipped; `glm doctor` reports the cache
    return out


def all_models() -> list[ModelInfo]:
    """Every known model, newest chat models first."""
    return list(_table().values())


def default_model(slot: str = "chat") -> str:
    """The default model for a slot: chat, fast, vision, tokenizer, opus, sonnet, haiku."""
    from glmkit import data

    return str(data.load("models")["defaults"][slot])


def get_model(model_id: str) -> ModelInfo | None:
    """The record of a known model (``[1m]`` suffix ignored), or ``None``."""
    return _table().get(model_id.removesuffix("[1m]"))


def normalize_model_id(model: Any) -> str:
    """Check a model id's form and lowercase it (``GLM-4.7`` -> ``glm-4.7``); unknown ids pass through."""
    if not isinstance(model, str) or not model.strip():
        raise InputError("model must be a non-empty string such as 'glm-5.3'.", hint="`glm models` lists them.")
    mid = model.strip().lower()
    if not _ID_RE.match(mid):
        raise InputError(
            f"{model!r} is not a model id: ids are lowercase letters, digits, '.', '_' and '-' (e.g. 'glm-4.7').",
            hint="`glm models` lists them.",
        )
    return mid


def check_chat_model(model: Any, *, hint: str = "`glm models -k chat` lists them.") -> tuple[str, ModelInfo | None]:
    """A model id, normalized, and its record (``None`` for an id the catalog does not know yet).

    Raises:
        InputError: a malformed id, or a model of another kind (image, video, ...).
    """
    mid = normalize_model_id(model)
    info = get_model(mid)
    if info is not None and info.kind != "chat":
        raise InputError(f"{mid} is not a chat model (it serves {info.kind}).", hint=hint)
    return mid, info


@dataclass(frozen=True)
class ChatLimits:
    """The limits of a chat request, from ``data/limits.toml`` ``[chat]`` and ``[ids]`` (reference §2.1, §2.3).

    One table, three readers: the SDK checks a request against it, the emulator enforces it, the gateway clamps to it.
    """

    temperature: tuple[float, float]
    top_p: tuple[float, float]
    max_tokens: int
    """The top of ``max_tokens`` when the model's own maximum is not known."""
    max_tools: int
    max_stop_words: int
    tool_name_chars: int
    user_id_chars: tuple[int, int]
    web_search_count: tuple[int, int]

    @property
    def sampling(self) -> tuple[tuple[str, float, float], ...]:
        """``(name, lowest, highest)`` of each sampling parameter."""
        return ("temperature", *self.temperature), ("top_p", *self.top_p)

    @property
    def stop_words(self) -> str:
        """The stop limit as error texts say it: ``one stop word``, ``2 stop words``."""
        n = self.max_stop_words
        return "one stop word" if n == 1 else f"{n} stop words"

    def tool_name_ok(self, name: str) -> bool:
        """Whether a function tool's name is one the API takes: 1 to ``tool_name_chars`` of ``[a-zA-Z0-9_-]``.

        String methods, not a pattern: an agent sends its 10-40 tools with every request."""
        if not 0 < len(name) <= self.tool_name_chars or not name.isascii():
            return False
        rest = name.replace("_", "").replace("-", "")
        return not rest or rest.isalnum()

    def max_output(self, info: ModelInfo | None) -> int:
        """The top of ``max_tokens`` for a model (its own maximum, else the table's)."""
        return info.max_output if info is not None and info.max_output else self.max_tokens


def chat_limits() -> ChatLimits:
    """The chat limits of ``data/limits.toml``: built once from the installed table (the gateway asks twice per
    request); a ``data.load`` swapped for another (a test's own table, changed in place) is read on each call."""
    from glmkit import data

    if hasattr(data.load, "cache_info"):  # the installed loader, which parses each table once
        return _installed_chat_limits()
    return _chat_limits_of(data.load("limits"))


@functools.cache
def _installed_chat_limits() -> ChatLimits:
    from glmkit import data

    return _chat_limits_of(data.load("limits"))


def _chat_limits_of(table: Mapping[str, Any]) -> ChatLimits:
    row = {**table["chat"], "user_id_chars": table["ids"]["user_id_chars"]}
    pairs = {k: tuple(v) for k, v in row.items() if isinstance(v, list)}
    return ChatLimits(**{**row, **pairs})


# ---- the cached catalog: what Z.AI's /models lists beyond the installed table ---------------------------------------

CACHE_NAME = "models-cache.json"
_KINDS = (
    ("ocr", "ocr"),
    ("asr", "asr"),
    ("cogview", "image"),
    ("image", "image"),
    ("vidu", "video"),
    ("video", "video"),
)
_VISION_ID = re.compile(r"^glm-\d+(\.\d+)?v(\b|-)|-flash(x)?$")


def cache_path(environ: Mapping[str, str] | None = None) -> Path:
    """``<data dir>/models-cache.json``: the models ``glm models --refresh`` found that the installed catalog lacks."""
    from glmkit._config import data_dir

    return data_dir(environ) / CACHE_NAME


def installed_date() -> str:
    """When the installed catalog (``data/models.toml``) was last brought up to date (``YYYY-MM-DD``)."""
    from glmkit import data

    return str(data.load("models")["catalog"]["updated"])


def cache_state(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The cached catalog's ``refreshed_at``, ``source``, ``models`` (new ids) and ``path``; ``None`` without one."""
    path = cache_path(environ)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"path": str(path), "error": f"unreadable ({exc})", "models": {}}
    if not isinstance(raw, dict) or not isinstance(raw.get("models"), dict):
        return {"path": str(path), "error": "not a glmkit model cache", "models": {}}
    return {**raw, "path": str(path)}


def infer(model_id: str, *, plan: bool) -> dict[str, Any]:
    """A catalog row for a model only a listing names: each field guessed from the id, and ``inferred`` naming them.

    Reference silent (§3.4: the listing carries ``data[].id`` only): the kind from words in the id (ocr, asr,
    image, video; else chat); images for ``glm-<n>v`` ids and the Flash series (GLM-5.3-Flash reads them);
    a chat model of today's generation: always thinks (efforts low/high/max), streams tool arguments.
    """
    low = model_id.lower()
    kind = next((k for word, k in _KINDS if word in low), "chat")
    row: dict[str, Any] = {"kind": kind, "plan": plan}
    if kind == "chat":
        vision = bool(_VISION_ID.search(low))
        row.update(
            thinking="always",
            efforts=["low", "high", "max"],
            effort_map={"none": "low", "minimal": "low", "medium": "high", "xhigh": "max"},
            modalities=["text", "image", "video", "file"] if vision else ["text"],
            vision=vision,
            tool_stream=True,
        )
    row["inferred"] = [k for k in row if k != "plan"]
    return row


def refresh(listed: list[str], *, source: str, plan: bool, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge a ``/models`` listing into the cached catalog (written 0600); what was new, known and not listed."""
    from glmkit._fileio import atomic_write

    installed = _installed()
    ids = sorted({i.strip().lower() for i in listed if isinstance(i, str) and i.strip()})
    new = {i: infer(i, plan=plan) for i in ids if i not in installed}
    state = {
        "refreshed_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "installed_catalog": installed_date(),
        "source": source,
        "listed": ids,
        "models": new,
    }
    path = cache_path(environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(state, indent=2) + "\n", mode=0o600)
    _table.cache_clear()
    chat = [m for m, info in installed.items() if info.kind == "chat" and (info.plan or not plan)]
    return {
        "path": str(path),
        "listed": len(ids),
        "new": new,
        "known": [i for i in ids if i in installed],
        "not_listed": sorted(m for m in chat if m not in ids),
    }
