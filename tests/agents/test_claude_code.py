"""The real Claude Code (pinned in tests/agents/pins.toml) through ``glm serve``, in translate and passthrough mode.

Each scenario runs ``claude -p ... --output-format stream-json --verbose`` in a scratch folder with a private
HOME, and asserts on what Claude Code itself reports (its result event, the files it wrote, its cache).
The emulator's answers are steered by markers in the prompt (docs/emulator.md): ``[emulator:no-tools]``
for a plain answer, ``[emulator:round=Tool {json}]`` for the exact tool calls of each round.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from agent_corpus import save
from agent_harness import Agent, Gateway, Recorder, Sandbox

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

MODES = ["translate", "passthrough"]
# Claude Code's stream watchdog at its floor (10 s without a byte aborts the request; the default is 5 minutes)
# a pay-as-you-go key for the fallback scenario (the emulator takes any key of the right shape)
PAYG_KEY = "fedcba9876543210fedcba9876543210.payAsYouGo000001"
IDLE_10S = {"CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS": "10000", "CLAUDE_STREAM_IDLE_TIMEOUT_MS": "10000"}


@dataclass
class Run:
    """One ``claude -p`` run: its exit code, its stream-json events and its stderr."""

    returncode: int
    events: list[dict[str, Any]]
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        found = [e for e in self.events if e.get("type") == "result"]
        assert found, f"no result event (exit {self.returncode}): {self.stderr[-2000:]}"
        return found[-1]

    @property
    def text(self) -> str:
        return str(self.result.get("result", ""))

    def tool_uses(self) -> list[dict[str, Any]]:
        return [
            b
            for e in self.events
            if e.get("type") == "assistant"
            for b in e["message"].get("content") or []
            if b.get("type") == "tool_use"
        ]

    def ok(self) -> dict[str, Any]:
        """The result event, asserting that Claude Code reports success."""
        result = self.result
        assert self.returncode == 0 and not result.get("is_error"), json.dumps(result)[:3000]
        return result


def record(scenario: str, served: Gateway, rec: Recorder, sandbox: Sandbox) -> None:
    """Keep the run's requests for the corpus (when ``GLMKIT_AGENTS_RECORD=1``)."""
    save("claude-code", scenario, served.mode, rec.requests, sandbox.home, sandbox.cwd)


def claude(agent: Agent, sandbox: Sandbox, base_url: str, prompt: str, *args: str, **env: str) -> Run:
    """Run ``claude -p PROMPT ARGS`` against ``base_url`` in the sandbox (no stdin, no telemetry, no updater)."""
    environ = sandbox.env(
        agent,
        **{
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_AUTH_TOKEN": "glmkit-test",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            **env,
        },
    )
    command = [str(agent.bin), "-p", prompt, "--output-format", "stream-json", "--verbose", *args]
    out = subprocess.run(
        command, cwd=sandbox.cwd, env=environ, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240
    )
    events = []
    for line in out.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return Run(out.returncode, events, out.stderr)


@pytest.fixture
def cc(agent_bin: Callable[[str], Agent]) -> Agent:
    return agent_bin("claude")


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def served(mode: str, emulator: Callable[..., str], gateway: Callable[..., Gateway]) -> Gateway:
    """``glm serve`` in this mode, in front of a fresh ``glm emulate``."""
    return gateway(emulator(), mode)


def test_plain_prompt(cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]) -> None:
    """A plain prompt: Claude Code's first request (with its ``role: system`` message) is answered by GLM."""
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, "Say hello [emulator:no-tools]")
    result = run.ok()
    assert "on the glmkit emulator" in run.text and "glm-5.3" in run.text  # the GLM model answered
    assert result["num_turns"] == 1
    first = rec.bodies()[0]
    assert any(m["role"] == "system" for m in first["messages"])  # what the gateway refused before
    record("plain", served, rec, sandbox)


def test_continue_second_turn(
    cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]
) -> None:
    """``-c`` continues the conversation: the second turn's request carries the first turn, and it is answered."""
    rec = recorder(served.url)
    first = claude(cc, sandbox, rec.url, "Remember the word kiwi [emulator:no-tools]")
    first.ok()
    second = claude(cc, sandbox, rec.url, "Which word did I ask you to remember? [emulator:no-tools]", "-c")
    second.ok()
    assert "Which word did I ask you to remember" in second.text
    last = json.dumps(rec.bodies()[-1]["messages"])
    assert "Remember the word kiwi" in last and first.text[:40] in last  # the first turn, question and answer
    record("continue", served, rec, sandbox)


def test_tool_loop_reads_and_writes_files(
    cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]
) -> None:
    """A two-round tool loop in the scratch folder: Read our file, then Write another from what it read."""
    (sandbox.cwd / "note.txt").write_text("hello from glmkit\n")
    rec = recorder(served.url)
    read = json.dumps({"file_path": str(sandbox.cwd / "note.txt")})
    write = json.dumps({"file_path": str(sandbox.cwd / "copy.txt"), "content": "copied: $RESULT"})
    prompt = f"Copy note.txt to copy.txt [emulator:round=Read {read}] [emulator:round=Write {write}]"
    run = claude(cc, sandbox, rec.url, prompt, "--allowedTools", "Read,Write")
    run.ok()
    assert [u["name"] for u in run.tool_uses()] == ["Read", "Write"]
    assert "hello from glmkit" in (sandbox.cwd / "copy.txt").read_text()  # the Read result went round the loop
    assert not run.result.get("permission_denials")
    record("tool-loop", served, rec, sandbox)


def test_image_goes_to_the_vision_model(
    cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]
) -> None:
    """Claude Code reads a PNG; the request with the image is answered by the vision model, and the answer returns."""
    from media_samples import png

    (sandbox.cwd / "shot.png").write_bytes(png(64, 48))
    rec = recorder(served.url)
    read = json.dumps({"file_path": str(sandbox.cwd / "shot.png")})
    run = claude(cc, sandbox, rec.url, f"What is in shot.png? [emulator:round=Read {read}]", "--allowedTools", "Read")
    run.ok()
    assert any(b.get("type") == "image" for b in _blocks_of(rec.bodies()[-1]))  # Claude Code sent the image
    used = [r["model_used"] for r in served.ledger("/v1/messages", at_least=2)]
    assert used[-1] == "glm-4.6v", used
    assert run.text
    record("image", served, rec, sandbox)


def _blocks_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in body["messages"]:
        for b in m["content"] if isinstance(m["content"], list) else []:
            out.append(b)
            if b.get("type") == "tool_result" and isinstance(b.get("content"), list):
                out.extend(b["content"])
    return out


def upstream(mode: str) -> str:
    """The emulator path ``glm serve`` calls for /v1/messages in ``mode`` (where faults are armed)."""
    return "/chat/completions" if mode == "translate" else "/anthropic/v1/messages"


def test_fan_out_subagents_under_a_concurrency_limit_of_one(
    cc: Agent,
    mode: str,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
) -> None:
    """Three subagents at once against an upstream that takes one request at a time: the gateway queues, every
    subagent finishes, and no 1302/429 reaches Claude Code."""
    served = gateway(emulator("--max-concurrency", "1", "--chunk-delay", "0.05"), mode)
    rec = recorder(served.url)
    agents = " && ".join(
        "Agent " + json.dumps({"description": f"part {n}", "prompt": f"Say part {n} [emulator:no-tools]",
                               "subagent_type": "general-purpose", "run_in_background": False})
        for n in (1, 2, 3)
    )  # fmt: skip
    run = claude(cc, sandbox, rec.url, f"Split the work [emulator:round={agents}]", "--allowedTools", "Agent")
    result = run.ok()
    assert [u["name"] for u in run.tool_uses() if u["name"] == "Agent"] == ["Agent"] * 3
    stats = result.get("subagent_stats") or {}
    assert stats.get("completed") == 3, stats
    assert 429 not in rec.statuses() and all(s == 200 for s in rec.statuses()), rec.statuses()
    answered = [json.dumps(b) for b in rec.bodies() if "Say part" in json.dumps(b["messages"][:2])]
    assert len(answered) >= 3  # each subagent asked the model itself
    record("fan-out", served, rec, sandbox)


def test_spent_plan_is_shown_once_without_retries(
    cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]
) -> None:
    """A spent plan (1308): Claude Code shows the plan's message once and does not retry."""
    served.arm(path=upstream(served.mode), code="1308", times=-1)
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, "Say hello [emulator:no-tools]")
    assert run.result.get("is_error")
    assert "Usage limit reached" in run.text or "1308" in run.text, run.text
    assert rec.statuses() == [429], rec.statuses()  # one request: no retry loop
    assert rec.requests[-1]["response_headers"].get("x-should-retry") == "false"


def test_overloaded_upstream_is_retried_by_claude_code(
    cc: Agent,
    mode: str,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
) -> None:
    """An overloaded upstream (1305, twice): the gateway passes it on as 529 (its own retries off here),
    Claude Code retries and then succeeds."""
    served = gateway(emulator(), mode, env={"GLM_MAX_RETRIES": "0"})
    served.arm(path=upstream(mode), code="1305", times=2)
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, "Say hello [emulator:no-tools]")
    run.ok()
    assert "on the glmkit emulator" in run.text
    assert rec.statuses() == [529, 529, 200], rec.statuses()


def test_model_discovery_and_a_discovered_model(
    cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]
) -> None:
    """Gateway model discovery fills Claude Code's cache with ids it keeps; ``--model`` with one of them reaches
    the GLM model it names."""
    rec = recorder(served.url)
    discover = {"CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"}
    claude(cc, sandbox, rec.url, "Say hello [emulator:no-tools]", **discover).ok()
    assert "GET /v1/models" in rec.paths()
    cache = json.loads((sandbox.home / ".claude" / "cache" / "gateway-models.json").read_text())
    ids = json.dumps(cache)
    for wanted in ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-glm-5.3-flash"):
        assert wanted in ids, cache
    run = claude(
        cc, sandbox, rec.url, "Who answers? [emulator:no-tools]", "--model", "claude-glm-5.3-flash", **discover
    )
    run.ok()
    assert "This is glm-5.3-flash on the glmkit emulator" in run.text
    assert rec.bodies()[-1]["model"] == "claude-glm-5.3-flash"
    record("discovery", served, rec, sandbox)


def test_context_too_long_compacts_and_goes_on(
    cc: Agent,
    mode: str,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
) -> None:
    """Two turns each reading a big file, under ``max_context = 45000``: the second turn's request outgrows it, the
    gateway answers ``prompt is too long: N tokens > 45000 maximum``, and Claude Code compacts and finishes.

    Sizes (gateway estimates, Claude Code 2.1.332): its system prompt and tools about 14,500 tokens, each file
    about 17,000, so one file fits and two do not; a release with a much larger prompt needs a new limit here."""
    config = sandbox.home.parent / "serve-config.toml"
    config.write_text("[gateway]\nmax_context = 45000\n")
    for name, word in (("one.txt", "alpha"), ("two.txt", "omega")):  # different text: Claude Code dedups re-reads
        words = " ".join(f"{word}{i}" for i in range(6000))
        (sandbox.cwd / name).write_text("\n".join(words[i : i + 100] for i in range(0, len(words), 100)))
    served = gateway(emulator(), mode, env={"GLMKIT_CONFIG": str(config)})
    rec = recorder(served.url)
    for n, name in enumerate(("one.txt", "two.txt")):
        read = json.dumps({"file_path": str(sandbox.cwd / name)})
        run = claude(cc, sandbox, rec.url, f"Summarise {name} [emulator:round=Read {read}]", "--allowedTools", "Read",
                     *(["-c"] if n else []))  # fmt: skip
        run.ok()
    refused = [r for r in rec.requests if r.get("status") == 400]
    assert refused, "no request outgrew the limit"
    compacted = [e for e in run.events if e.get("subtype") == "status" and e.get("compact_result")]
    assert [e["compact_result"] for e in compacted] == ["success"], compacted
    assert any(e.get("subtype") == "compact_boundary" for e in run.events)
    assert rec.statuses()[-1] == 200


def test_plan_limit_headers_what_claude_code_does_with_them(
    cc: Agent,
    mode: str,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
    record_property: Callable[[str, object], None],
) -> None:
    """The gateway sends ``anthropic-ratelimit-unified-*`` headers built from the plan monitor (5-hour window 85 %
    used here) and they reach Claude Code; what it reports about them is recorded as a test property."""
    import httpx

    upstream_url = emulator()
    httpx.post(
        f"{upstream_url}/api/_emulator/quota", json={"5h": {"percentage": 85, "reset_in": 3600}}
    ).raise_for_status()
    served = gateway(upstream_url, mode)
    warm = {"model": "claude-opus-5-5", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(100):  # the first answer starts the monitor read; a later one carries its headers
        got = httpx.post(f"{served.url}/v1/messages", json=warm, timeout=30, headers={"user-agent": "claude-cli/0"})
        if "anthropic-ratelimit-unified-5h-utilization" in got.headers:
            break
    assert got.headers["anthropic-ratelimit-unified-5h-utilization"] == "0.85"
    assert got.headers["anthropic-ratelimit-unified-5h-status"] == "allowed_warning"
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, "Say hello [emulator:no-tools]")
    run.ok()
    assert rec.requests[-1]["response_headers"].get("anthropic-ratelimit-unified-status") == "allowed_warning"
    # What this release does with them, recorded rather than asserted (a release that starts to honour them on a
    # plain ANTHROPIC_BASE_URL is good news, not a failure): 2.1.332 in print mode emits no rate_limit_event and
    # puts nothing about them in its result; its statusline (interactive only) is not exercised here.
    events = [e for e in run.events if e.get("type") == "rate_limit_event"]
    record_property("rate_limit_events", json.dumps(events))


def test_long_tool_argument_does_not_trip_the_idle_timeout(
    cc: Agent,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
) -> None:
    """GLM writes a whole file as a Write argument; the emulator goes silent while it writes unless asked for
    ``tool_stream`` (0.5 s a 256-character fragment: 12 s here). Claude Code's byte-idle watchdog is set to its
    floor, 10 s. Through the gateway (``tool_stream`` asked for, argument fragments relayed as ``input_json_delta``,
    pings while silent) the stream is never idle, the file is written and nothing is asked twice."""
    content, prompt = _big_write(sandbox)
    served = gateway(emulator("--chunk-delay", "0.5"), "translate")
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, prompt, "--allowedTools", "Write",
                 **IDLE_10S)  # fmt: skip
    run.ok()
    assert (sandbox.cwd / "big.txt").read_text() == content
    assert [bool(b.get("stream")) for b in rec.bodies()] == [True, True]  # no stream dropped for silence, no re-ask


def _big_write(sandbox: Sandbox) -> tuple[str, str]:
    """A file of about 6,100 characters (24 emulator fragments of 256) and the prompt whose round writes it."""
    content = "\n".join(f"line {i}: " + "x" * 60 for i in range(90))
    write = json.dumps({"file_path": str(sandbox.cwd / "big.txt"), "content": content})
    return content, f"Write big.txt [emulator:round=Write {write}]"


@pytest.mark.parametrize("pings", [True, False], ids=["pings", "no-pings"])
def test_silent_upstream_is_kept_alive_by_pings(
    cc: Agent,
    pings: bool,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
) -> None:
    """The same long Write argument on a model that cannot stream tool arguments (glm-4.5: no ``tool_stream``): the
    upstream is silent for 12 s. With the gateway's keep-alive pings (every 5 s) Claude Code's 10 s watchdog never
    fires and the round is asked once; with pings turned off (the control) the watchdog fires and Claude Code asks
    for the whole round again."""
    content, prompt = _big_write(sandbox)
    config = sandbox.home.parent / "serve-config.toml"
    config.write_text("[gateway]\nping_interval = %s\n" % (5 if pings else 3600))
    served = gateway(emulator("--chunk-delay", "0.5"), "translate", env={"GLMKIT_CONFIG": str(config)})
    rec = recorder(served.url)
    run = claude(cc, sandbox, rec.url, prompt, "--allowedTools", "Write",
                 "--model", "claude-glm-4.5", CLAUDE_CODE_MAX_RETRIES="0", **IDLE_10S)  # fmt: skip
    assert "tool_stream" not in rec.bodies()[0] and served.ledger()[0]["model_used"] == "glm-4.5"
    assert (sandbox.cwd / "big.txt").read_text() == content
    streamed = [bool(b.get("stream")) for b in rec.bodies()]
    if pings:
        run.ok()
        assert streamed == [True, True], streamed  # the Write round and the final answer, each asked once
    else:
        # Claude Code 2.1.332 does not die of the timeout: it drops the silent stream and asks for the same round
        # again without streaming, so the plan pays for that round twice (and the wait doubles).
        assert streamed == [True, False, True], streamed


def test_spent_window_goes_on_pay_as_you_go(
    cc: Agent,
    emulator: Callable[..., str],
    gateway: Callable[..., Gateway],
    sandbox: Sandbox,
    recorder: Callable[[str], Recorder],
) -> None:
    """The plan's 5-hour window is spent (the emulator answers 1308 on the coding endpoint). With the opt-in
    pay-as-you-go fallback (a key and a daily cap), a tool-using session goes on through the general endpoint, and
    every answer says it was billed (``x-glm-billed: payg``, ledger ``billed = 'payg'`` with its cost)."""
    import httpx

    upstream_url = emulator()
    httpx.post(
        f"{upstream_url}/api/_emulator/quota", json={"5h": {"percentage": 100, "reset_in": 7200}}, timeout=5
    ).raise_for_status()
    config = sandbox.home.parent / "serve-config.toml"
    config.write_text(f'[gateway]\nfallback_key = "{PAYG_KEY}"\nfallback_cap_usd = 1.0\n')
    served = gateway(upstream_url, "translate", env={"GLMKIT_CONFIG": str(config)})
    (sandbox.cwd / "note.txt").write_text("hello from glmkit\n")
    rec = recorder(served.url)
    read = json.dumps({"file_path": str(sandbox.cwd / "note.txt")})
    run = claude(cc, sandbox, rec.url, f"Read note.txt [emulator:round=Read {read}]", "--allowedTools", "Read")
    run.ok()
    assert [u["name"] for u in run.tool_uses()] == ["Read"]
    answers = [r for r in rec.requests if r["path"] == "/v1/messages"]
    assert len(answers) >= 2 and all(r["response_headers"].get("x-glm-billed") == "payg" for r in answers)
    rows = served.ledger("/v1/messages", at_least=len(answers))
    assert [r["billed"] for r in rows] == ["payg"] * len(answers), rows
    assert all(r["cost_usd"] > 0 and "plan 1308: sent pay-as-you-go" in r["notes"] for r in rows), rows


def test_a_session_killed_during_a_tool_call_goes_on(
    cc: Agent, served: Gateway, sandbox: Sandbox, recorder: Callable[[str], Recorder]
) -> None:
    """Claude Code is killed while a tool runs (its transcript ends on a tool call without a result, the shape Z.AI
    refuses); ``claude -c`` then goes on. Claude Code 2.1.332 closes the call itself ("[Tool call interrupted ...]");
    a release that sends the bare call gets the pre-flight's repair instead: either way the session continues."""
    import signal
    import time

    rec = recorder(served.url)
    bash = json.dumps({"command": "python3 -c 'import time; time.sleep(120)'", "description": "wait"})
    environ = sandbox.env(cc, ANTHROPIC_BASE_URL=rec.url, ANTHROPIC_AUTH_TOKEN="glmkit-test", DISABLE_AUTOUPDATER="1",
                          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_TELEMETRY="1")  # fmt: skip
    command = [str(cc.bin), "-p", f"Wait [emulator:round=Bash {bash}]", "--allowedTools", "Bash"]
    first = subprocess.Popen(command, cwd=sandbox.cwd, env=environ, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _running("sleep(120)") and time.monotonic() < deadline:  # until the tool runs
            time.sleep(0.2)
        assert _running("sleep(120)"), "the Bash tool never started"
        time.sleep(2)  # Claude Code writes its transcript as the tool starts
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    run = claude(cc, sandbox, rec.url, "Go on [emulator:no-tools]", "-c")
    run.ok()
    last = [b for b in rec.bodies() if "Go on" in json.dumps(b["messages"])][-1]["messages"]
    calls = [b for m in last if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_use"]
    assert calls and calls[0]["name"] == "Bash", last  # the interrupted call is in the continued conversation
    assert rec.statuses()[-1] == 200


def _running(needle: str) -> bool:
    """Whether a process whose command line holds ``needle`` runs on this machine (read from /proc)."""
    from pathlib import Path

    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:
            continue
    return False
