"""Writing a plan: render every file first, back up, write atomically; undo; and the diff for --dry-run.

Backups live in ``<data dir>/setup-backups/<tool>/<timestamp>/`` with a ``manifest.json`` naming each
file, whether it existed, and the hash of what glmkit wrote; ``undo`` restores the newest one (deleting
files that glmkit created) and refuses when a file changed since, unless forced.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glmkit._errors import redact
from glmkit._fileio import atomic_write
from glmkit.setup._files import SetupError, set_value, validate
from glmkit.setup._tool import Edit

__all__ = ["Change", "apply_changes", "backups_dir", "diff_text", "render", "undo"]


@dataclass
class Change:
    """One file's before and after."""

    path: Path
    secret: bool  # it holds the key: written with mode 0600
    before: str | None  # None: the file does not exist yet
    after: str

    @property
    def changed(self) -> bool:
        """Whether writing would change the file."""
        return self.before != self.after


def backups_dir(tool: str) -> Path:
    """Where a tool's backups live."""
    from glmkit._config import data_dir

    return data_dir() / "setup-backups" / tool


def _read(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SetupError(f"Cannot read {path}: {exc.strerror}.", hint="Check its permissions.") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SetupError(f"{path} is not UTF-8 text; it was left untouched.", hint="Fix or move it away.") from None


def render(edits: list[Edit]) -> list[Change]:
    """Each file's before/after text; raises ``SetupError`` (nothing written) when a file cannot be read."""
    changes: dict[Path, Change] = {}
    for edit in edits:
        ch = changes.get(edit.path)
        if ch is None:
            before = _read(edit.path)
            ch = changes[edit.path] = Change(edit.path, edit.secret, before, before or "")
        ch.secret = ch.secret or edit.secret
        text = ch.after
        try:
            validate(text, edit.format)
            for key_path, value in edit.sets:
                text = set_value(text, edit.format, key_path, value)
        except SetupError as exc:
            raise SetupError(
                f"{edit.path} is not valid {edit.format.upper()} or cannot be merged safely ({exc}); nothing was changed.",
                hint="Fix the file by hand (or move it away) and run the command again.",
            ) from None
        ch.after = text
    return list(changes.values())


def diff_text(changes: list[Change], secrets: list[str]) -> str:
    """A unified diff of the changes with secrets shown redacted."""
    out: list[str] = []
    for ch in changes:
        if not ch.changed:
            continue
        before = (ch.before or "").splitlines(keepends=True)
        after = ch.after.splitlines(keepends=True)
        src = str(ch.path) if ch.before is not None else "/dev/null"
        out.extend(difflib.unified_diff(before, after, fromfile=src, tofile=str(ch.path)))
    text = "".join(out)
    for secret in secrets:
        if secret:
            text = text.replace(secret, redact(secret))
    return text


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_changes(tool: str, changes: list[Change]) -> Path | None:
    """Back up and write the changed files; returns the backup folder (``None`` when nothing changed)."""
    todo = [ch for ch in changes if ch.changed]
    if not todo:
        return None
    for ch in todo:  # another program may have written the file since we read it
        if _read(ch.path) != ch.before:
            raise SetupError(
                f"{ch.path} changed while glmkit was preparing it; nothing was written.", hint="Run again."
            )
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    folder = backups_dir(tool) / stamp
    from glmkit._fileio import private_dir

    private_dir(folder.parent)  # 0700 (and so are the folders it makes) before a key is copied in
    folder.mkdir(mode=0o700)
    files: list[dict[str, Any]] = []
    manifest = {"tool": tool, "created": stamp, "files": files}
    for n, ch in enumerate(todo):
        entry = {"path": str(ch.path), "existed": ch.before is not None, "backup": None, "mode": None}
        if ch.before is not None:
            name = f"{n}-{ch.path.name}"
            shutil.copy2(ch.path, folder / name)
            os.chmod(folder / name, 0o600)  # it may hold a key
            entry["backup"] = name
            entry["mode"] = ch.path.stat().st_mode & 0o777
        entry["written_sha256"] = _sha(ch.after)
        files.append(entry)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for ch in todo:
        if ch.secret:
            mode: int | None = 0o600
        elif ch.before is not None:
            mode = ch.path.stat().st_mode & 0o777
        else:
            mode = None
        atomic_write(ch.path, ch.after, mode=mode)
    return folder


def undo(tool: str, *, force: bool = False) -> list[str]:
    """Restore the newest backup of ``tool``; returns what was done, one line per file."""
    root = backups_dir(tool)
    folders = sorted(p for p in root.iterdir() if (p / "manifest.json").exists()) if root.exists() else []
    if not folders:
        raise SetupError(f"No glmkit backup for {tool}.", hint=f"Nothing to undo; `glm setup {tool}` makes one.")
    folder = folders[-1]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if not force:
        for entry in manifest["files"]:
            current = _read(Path(entry["path"]))
            if current is not None and _sha(current) != entry.get("written_sha256"):
                raise SetupError(
                    f"{entry['path']} changed after glmkit wrote it; undo would lose those changes.",
                    hint=f"Compare it with {folder}, or run with --force to restore anyway.",
                )
    done = []
    for entry in manifest["files"]:
        path = Path(entry["path"])
        if entry["existed"]:
            text = (folder / entry["backup"]).read_bytes().decode("utf-8")
            atomic_write(path, text, mode=entry.get("mode"))
            done.append(f"restored {path}")
        else:
            path.unlink(missing_ok=True)
            done.append(f"removed {path} (glmkit had created it)")
    shutil.rmtree(folder)
    return done
