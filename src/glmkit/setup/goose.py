"""Goose: the Anthropic-compatible provider in config.yaml; the key goes only where Goose reads keys.

Goose ignores keys in ``config.yaml``; it reads them from the keyring, from ``secrets.yaml`` when it
uses file-based secret storage, or from the environment. So the key is merged into ``secrets.yaml``
only when that file already exists (mode 0600), and otherwise the user is told how to store it.
"""

from __future__ import annotations

from pathlib import Path

from glmkit.setup._files import SetupError
from glmkit.setup._tool import Edit, Plan, Tool, expand


class Goose(Tool):
    """Goose, with its secrets file."""

    def plan(
        self, values: dict[str, str], *, project: bool = False, mcp: bool = False, cwd: Path | None = None
    ) -> Plan:
        """The config.yaml edits, plus secrets.yaml when Goose stores secrets in a file."""
        if project:
            raise SetupError("Goose has no project-level config file.", hint="Run `glm setup goose` without --project.")
        plan = super().plan(values, project=project, mcp=mcp, cwd=cwd)
        secrets = expand(self.facts["secrets"], values)
        if secrets.exists():
            plan.edits.append(
                Edit(secrets, "yaml", [(("ANTHROPIC_API_KEY",), values["token"])], secret=True, role="secrets")
            )
        else:
            plan.notes.append(
                "Goose keeps keys in the system keyring: store it with `goose configure` (provider anthropic), "
                'or start Goose with `glm run goose` / `eval "$(glm env goose)"`.'
            )
        return plan


TOOL = Goose("goose")
