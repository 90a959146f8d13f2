"""The README's command blocks can be pasted into a shell: one command per line, so no line chains two `glm`
commands with `|` (pasted, `glm doctor | glm usage` would run as a pipeline, the first command's output lost)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)
_GLM_AFTER_OPERATOR = re.compile(r"(?:\||&&|;)\s*glm\s")


def test_readme_command_blocks_have_one_glm_command_per_line() -> None:
    blocks = _BLOCK.findall(README.read_text(encoding="utf-8"))
    assert blocks
    for block in blocks:
        for line in block.splitlines():
            command = line.split("  #", 1)[0]  # the comment column may name other commands
            if command.lstrip().startswith("glm "):
                assert not _GLM_AFTER_OPERATOR.search(command), f"two glm commands on one line: {line!r}"
