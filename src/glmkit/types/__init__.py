"""The wire contract: request TypedDicts and response models, one module per resource.

Nothing here imports httpx or the client; the SDK, gateway, MCP server and emulator share these.
"""

from glmkit.types._base import JSONObject, JSONValue, RawResponse

__all__ = ["JSONObject", "JSONValue", "RawResponse"]
