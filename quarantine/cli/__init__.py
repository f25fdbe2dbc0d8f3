"""Command line entry point (Typer).

Sub-commands live in small modules; each exposes ``register(app)``.  Heavy
libraries are imported inside the commands, never at import time, so that
``quarantine verify TEXT`` starts fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="quarantine",
    help="植物检疫证书签发与核验 / Signed plant-quarantine certificates: issue, verify, decode.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from quarantine.cli import (
        db,
        decode,
        demo,
        federation,
        inspection,
        issue,
        keys,
        serve,
        status,
        tokens,
        verify,
    )

    keys.register(app)
    issue.register(app)
    verify.register(app)
    decode.register(app)
    serve.register(app)
    db.register(app)
    tokens.register(app)
    status.register(app)
    demo.register(app)
    federation.register(app)
    inspection.register(app)  # trace, alerts, violations, credit


def main() -> None:
    """Console-script entry point."""
    _register_all()
    app()
