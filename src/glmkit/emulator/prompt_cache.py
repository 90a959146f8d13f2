"""Prompt caching as the live API reports it: ``usage.prompt_tokens_details.cached_tokens``.

Live evidence §1 (charmbracelet/fantasy cassettes of api.z.ai, glm-4.7-flash on the coding base, 2026-03-13):
answers routinely report cached tokens. The same request sent again reports all of its prompt but one token as
cached (173 -> 172, 15 -> 14, 225 -> 224), and the next turn of a conversation reports the whole previous
prompt as cached (267 -> 173, 418 -> 279). The emulator caches by message: a request whose leading messages
(same model, same tools) were the leading messages of an earlier request reports those messages' tokens as
cached; a request seen whole reports its prompt less one token.

reference silent: what a first request reports (live shows small counts such as 3 or 43 from a prefix the
server shares between users; here 0), whether the cache is per key (here one cache per emulator), and how long
entries live (here the newest 4,096 prefixes).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

from glmkit._tokens import estimate_messages

__all__ = ["PromptCache", "cached_tokens"]

_CANON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode


class PromptCache:
    """The message prefixes seen, newest last, bounded."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def lookup_and_store(self, model: str, tools: Any, messages: list[Any]) -> int:
        """Cached tokens for this prompt; its prefixes are remembered for the next request."""
        digest = hashlib.sha256(_CANON([model, tools or []]).encode())
        keys = []
        for message in messages:
            digest.update(_CANON(message).encode() + b"\x00")
            keys.append(digest.copy().digest())
        hit = next((k for k in range(len(keys), 0, -1) if keys[k - 1] in self._seen), 0)
        for key in keys:
            self._seen[key] = None
            self._seen.move_to_end(key)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        if hit == 0:
            return 0
        if hit == len(keys):
            return max(estimate_messages(messages) - 1, 0)
        return estimate_messages(messages[:hit])


def cached_tokens(extra: dict[str, Any], model: str, tools: Any, messages: list[Any]) -> int:
    """The cached tokens of a request, from the cache kept in the emulator's ``state.extra``."""
    cache = extra.get("prompt_cache")
    if cache is None:
        cache = extra["prompt_cache"] = PromptCache()
    return cache.lookup_and_store(model, tools, messages)
