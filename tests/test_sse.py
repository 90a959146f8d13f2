from hypothesis import given
from hypothesis import strategies as st

from glmkit._sse import Event, SSEDecoder, encode

RAW = (
    b'data: {"a":1}\r\n\r\n'
    b": a comment\n"
    b"data: line one\ndata: line two\n\n"
    b"event: error\nid: 7\nretry: 100\ndata: boom\n\n"
    b"data:no-space\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    Event(b'{"a":1}'),
    Event(b"line one\nline two"),
    Event(b"boom", "error", "7", 100),
    Event(b"no-space", None, "7"),
    Event(b"[DONE]", None, "7"),
]


def decode(chunks: list[bytes]) -> list[Event]:
    d = SSEDecoder()
    out: list[Event] = []
    for c in chunks:
        out.extend(d.feed(c))
    return out


def test_decoder_handles_crlf_comments_multiline_fields_and_done() -> None:
    assert decode([RAW]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(RAW)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [RAW[a:b] for a, b in zip([0, *points], [*points, len(RAW)], strict=True)]
    assert decode(chunks) == EXPECTED


def test_cr_only_line_ends_and_a_split_crlf() -> None:
    assert decode([b"data: x\r", b"\r", b"data: y\r\n", b"\r\n"]) == [Event(b"x"), Event(b"y")]


def test_unterminated_event_is_not_dispatched() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: partial") == []
    assert d.pending


@given(st.text(), st.one_of(st.none(), st.sampled_from(["error", "message_start"])))
def test_encode_round_trips(text: str, event: str | None) -> None:
    assert decode([encode(text, event=event)]) == [
        Event(text.replace("\r\n", "\n").replace("\r", "\n").encode(), event)
    ]


def _cut(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(raw)) for c in cuts})
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]


@given(st.lists(st.integers(min_value=0, max_value=len(RAW)), max_size=12))
def test_feed_data_gives_the_same_events_as_feed(cuts: list[int]) -> None:
    # feed_data (the stream hot path) may hand out a plain data event as its bare bytes
    d = SSEDecoder()
    got = [item for c in _cut(RAW, cuts) for item in d.feed_data(c)]
    assert [(g, None) if isinstance(g, bytes) else (g.data, g.event) for g in got] == [
        (e.data, e.event) for e in EXPECTED
    ]


GLM = b'data: {"choices":[{"delta":{"content":"a"}}]}\n\nevent: error\ndata: {"error":{}}\n\ndata: [DONE]\n\n'


@given(st.lists(st.integers(min_value=0, max_value=len(GLM)), max_size=8))
def test_feed_data_plain_events_are_bare_bytes(cuts: list[int]) -> None:
    d = SSEDecoder()
    got = [item for c in _cut(GLM, cuts) for item in d.feed_data(c)]
    assert got == [b'{"choices":[{"delta":{"content":"a"}}]}', Event(b'{"error":{}}', "error"), b"[DONE]"]
