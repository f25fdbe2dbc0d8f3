"""``quarantine demo``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the command(s) of this module to ``app``."""
