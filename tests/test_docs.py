"""Every example marked runnable in docs/*.md runs against the emulator.

A fenced block runs when the line before its opening fence is ``<!-- run -->``:

- ```` ```python ````: executed as a script (its own namespace, a temporary working directory). The
  blocks say themselves how they reach the emulator (``from glmkit.testing import offline_client``),
  so what the reader sees is what runs.
- ```` ```bash ````: run by ``bash -e -o pipefail`` with the venv's ``glm`` first on ``PATH``; the
  commands carry ``--offline`` themselves. ``<!-- run: emulator -->`` also exports ``ZAI_BASE_URL``
  and ``ZAI_API_KEY`` for an emulator on a free loopback port, as the docs' "start `glm emulate`"
  step would. ``<!-- run: exit=N -->`` expects that exit status.

Shell blocks, and Python blocks marked ``<!-- run: e2e -->`` (they start servers as subprocesses),
carry the ``e2e`` marker: ``-m "not e2e"`` runs the in-process examples alone, in a few seconds.

Blocks left unmarked need a real key, the network, or a program that is not installed here.
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from glmkit.testing import TEST_KEY, EmulatorServer

DOCS = Path(__file__).resolve().parent.parent / "docs"
BIN = Path(sys.executable).parent
_MARK = re.compile(r"^<!--\s*run(?::\s*(?P<opts>.*?))?\s*-->$")
_FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")


@dataclass
class Block:
    doc: str
    line: int
    lang: str
    code: str
    opts: dict[str, str]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _opts(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").replace(",", " ").split():
        key, _, value = part.partition("=")
        out[key] = value
    return out


def extract(path: Path) -> list[Block]:
    """The marked blocks of one Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        mark = _MARK.match(lines[i].strip())
        if mark is None:
            i += 1
            continue
        fence = _FENCE.match(lines[i + 1]) if i + 1 < len(lines) else None
        if fence is None:
            raise AssertionError(f"{path.name}:{i + 1}: '<!-- run -->' must be followed by a ``` fence")
        end = i + 2
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        blocks.append(Block(path.name, i + 3, fence["lang"], "\n".join(lines[i + 2 : end]) + "\n", _opts(mark["opts"])))
        i = end + 1
    return blocks


BLOCKS = [b for doc in sorted(DOCS.glob("*.md")) for b in extract(doc)]


def test_every_doc_has_runnable_examples() -> None:
    docs = {p.name for p in DOCS.glob("*.md")} - {"api.md"}
    assert docs, "docs/ is empty"
    assert docs <= {b.doc for b in BLOCKS}, f"docs without a runnable example: {docs - {b.doc for b in BLOCKS}}"


@pytest.fixture(scope="module")
def docs_emulator():  # type: ignore[no-untyped-def]
    with EmulatorServer(job_seconds=0.0) as server:
        yield server


def _param(block: Block) -> object:
    marks = [pytest.mark.e2e] if block.lang != "python" or "e2e" in block.opts else []
    return pytest.param(block, id=block.id, marks=marks)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS if b.lang == "python"])
def test_python_example(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")  # blocks may start `glm`
    # Examples that build a real Client read the default config file: keep this machine's out of them.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code = compile(block.code, f"docs/{block.doc}:{block.line}", "exec")
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(code, namespace)
    # An example is a script: what it leaves open closes when the script ends, as the interpreter's exit would.
    namespace.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS if b.lang in ("bash", "sh", "console")])
def test_shell_example(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZAI_", "GLM_", "ZHIPUAI_", "ANTHROPIC_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GLMKIT_HOME"] = str(tmp_path / "glmkit-home")
    env["HOME"] = str(tmp_path / "home")  # `glm setup` examples write tool configs under a throwaway home
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    if "emulator" in block.opts:
        server = request.getfixturevalue("docs_emulator")
        env["ZAI_BASE_URL"] = server.base_url
        env["ZAI_API_KEY"] = TEST_KEY
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=25,
    )
    expected = int(block.opts.get("exit", "0"))
    assert proc.returncode == expected, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


RESOURCES = ("chat", "models", "tokenizer", "audio", "images", "videos", "web_search", "reader")
RESOURCES += ("layout_parsing", "agents", "files", "batches", "quota", "responses")


def _surface(obj: object, path: str, out: set[str]) -> None:
    cls = type(obj)
    if "__call__" in cls.__dict__:
        out.add(path)
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = getattr(cls, name)
        if isinstance(attr, property) or type(attr).__name__ == "cached_property":
            sub = getattr(obj, name)
            if type(sub).__module__.startswith("glmkit.resources"):
                _surface(sub, f"{path}.{name}", out)
        elif callable(attr):
            out.add(f"{path}.{name}")


def test_api_index_lists_every_method() -> None:
    from glmkit.testing import async_offline_client, offline_client

    live: set[str] = set()
    live_async: set[str] = set()
    client, aclient = offline_client(), async_offline_client()
    for name in RESOURCES:
        _surface(getattr(client, name), f"client.{name}", live)
        _surface(getattr(aclient, name), f"client.{name}", live_async)
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"<code>(client\.[a-z_.]+)\(", text))
    assert live == live_async, f"sync/async differ: {live ^ live_async}"
    assert listed - {"client.with_options", "client.close", "client.settings"} == live, (
        f"missing from api.md: {sorted(live - listed)}; in api.md but gone: {sorted(listed - live)}"
    )


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_docs_resolve() -> None:
    root = DOCS.parent
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            assert file.exists(), f"{doc.name}: broken link {target}"
            assert file.is_relative_to(root), f"{doc.name}: link leaves the repository: {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
                assert anchor in {_anchor(h) for h in headings}, f"{doc.name}: no heading for #{anchor} in {file.name}"
